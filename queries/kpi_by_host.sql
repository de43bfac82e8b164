-- Per host (Bot Runner device) and day: runs, busy hours of finished runs, and utilisation.
-- busy_hours sums durations of runs that started that day; utilisation = busy_hours / 24.
-- Bots are counted from a first grouping by bot: with one group per host and day,
-- COUNT(DISTINCT bot) keeps a hash set per group and is several times slower.
WITH per_bot AS (
    SELECT
        day,
        vendor,
        host,
        bot,
        COUNT(*) AS runs,
        SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed,
        SUM(duration_ms) AS duration_ms
    FROM runs
    GROUP BY day, vendor, host, bot
)
SELECT
    day,
    vendor,
    host,
    SUM(runs) AS runs,
    SUM(failed) AS failed,
    COUNT(bot) AS bots,
    ROUND(COALESCE(SUM(duration_ms), 0) / 3600000.0, 2) AS busy_hours,
    ROUND(COALESCE(SUM(duration_ms), 0) / 3600000.0 / 24.0, 4) AS utilisation
FROM per_bot
GROUP BY day, vendor, host
ORDER BY day, vendor, host
