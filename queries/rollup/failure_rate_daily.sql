-- failure_rate_daily from runs_bot_day, which already has one row per vendor, source, bot
-- and day.
-- param: from DATE NULL first day included (NULL: from the first)
-- param: to DATE NULL last day included (NULL: to the last)
WITH r AS (
    SELECT
        vendor,
        source,
        bot,
        day,
        runs,
        finished,
        failed,
        ROUND(CAST(failed AS DOUBLE) / NULLIF(finished, 0), 4) AS failure_rate,
        SUM(finished) OVER w AS finished_7d,
        SUM(failed) OVER w AS failed_7d,
        ROUND(CAST(SUM(failed) OVER w AS DOUBLE) / NULLIF(SUM(finished) OVER w, 0), 4) AS failure_rate_7d
    FROM runs_bot_day
    WHERE (CAST($from AS DATE) IS NULL OR day >= CAST($from AS DATE) - INTERVAL '6' DAY) AND (CAST($to AS DATE) IS NULL OR day <= $to)
    WINDOW w AS (PARTITION BY vendor, source, bot ORDER BY day RANGE BETWEEN INTERVAL '6' DAY PRECEDING AND CURRENT ROW)
)
SELECT *
FROM r
WHERE (CAST($from AS DATE) IS NULL OR day >= $from) AND (CAST($to AS DATE) IS NULL OR day <= $to)
ORDER BY vendor, source, bot, day
