-- failure_rate_daily from runs_bot_day, which already has one row per vendor, source, bot
-- and day.
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
WINDOW w AS (PARTITION BY vendor, source, bot ORDER BY day RANGE BETWEEN INTERVAL '6' DAY PRECEDING AND CURRENT ROW)
ORDER BY vendor, source, bot, day
