-- Failure rate per bot per day, with the rate over the 7 calendar days ending that day.
-- Rates count finished runs only; days without finished runs have a NULL daily rate.
-- The days from and to are shown; the 6 days before from count in its 7-day rates.
-- param: from DATE NULL first day included (NULL: from the first)
-- param: to DATE NULL last day included (NULL: to the last)
WITH d AS (
    SELECT
        vendor,
        source,
        bot,
        day,
        COUNT(*) AS runs,
        SUM(CASE WHEN finished THEN 1 ELSE 0 END) AS finished,
        SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed
    FROM runs
    WHERE (CAST($from AS DATE) IS NULL OR day >= CAST($from AS DATE) - INTERVAL '6' DAY) AND (CAST($to AS DATE) IS NULL OR day <= $to)
        AND (CAST($from AS DATE) IS NULL OR utc_day >= first_utc_day(CAST($from AS DATE) - INTERVAL '6' DAY)) AND (CAST($to AS DATE) IS NULL OR utc_day <= last_utc_day($to))
    GROUP BY vendor, source, bot, day
),
-- The rates, before the days are picked: a filter next to the window would leave out the
-- days before from from the 7-day rates.
r AS (
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
    FROM d
    WINDOW w AS (PARTITION BY vendor, source, bot ORDER BY day RANGE BETWEEN INTERVAL '6' DAY PRECEDING AND CURRENT ROW)
)
SELECT *
FROM r
WHERE (CAST($from AS DATE) IS NULL OR day >= $from) AND (CAST($to AS DATE) IS NULL OR day <= $to)
ORDER BY vendor, source, bot, day
