-- Per host (Bot Runner device) and day: runs, busy hours of finished runs, and utilisation.
-- busy_hours sums durations of runs that started that day; utilisation = busy_hours / 24.
SELECT
    day,
    vendor,
    host,
    COUNT(*) AS runs,
    SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed,
    COUNT(DISTINCT bot) AS bots,
    ROUND(COALESCE(SUM(duration_ms), 0) / 3600000.0, 2) AS busy_hours,
    ROUND(COALESCE(SUM(duration_ms), 0) / 3600000.0 / 24.0, 4) AS utilisation
FROM runs
GROUP BY day, vendor, host
ORDER BY day, vendor, host
