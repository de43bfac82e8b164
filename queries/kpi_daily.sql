-- Daily run KPIs per vendor: volumes, success and failure rates over finished runs, durations.
WITH d AS (
    SELECT
        day,
        vendor,
        COUNT(*) AS runs,
        SUM(CASE WHEN finished THEN 1 ELSE 0 END) AS finished,
        SUM(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END) AS succeeded,
        SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed,
        SUM(CASE WHEN status = 'stopped' THEN 1 ELSE 0 END) AS stopped,
        SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END) AS running,
        COUNT(DISTINCT bot) AS bots,
        AVG(duration_ms) / 1000.0 AS avg_duration_s,
        SUM(duration_ms) / 3600000.0 AS runtime_hours
    FROM runs
    GROUP BY day, vendor
)
SELECT
    day,
    vendor,
    runs,
    finished,
    succeeded,
    failed,
    stopped,
    running,
    bots,
    ROUND(CAST(succeeded AS DOUBLE) / NULLIF(finished, 0), 4) AS success_rate,
    ROUND(CAST(failed AS DOUBLE) / NULLIF(finished, 0), 4) AS failure_rate,
    ROUND(avg_duration_s, 1) AS avg_duration_s,
    ROUND(runtime_hours, 2) AS runtime_hours
FROM d
ORDER BY day, vendor
