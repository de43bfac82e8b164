-- Daily run KPIs per vendor: volumes, success and failure rates over finished runs (4
-- decimals), the mean duration of finished runs in seconds (1 decimal) and their run time in
-- hours (2 decimals), and how many bots ran (a bot is one of a source: bots of one name in
-- two Control Rooms or tenants are two). Running runs count in the volumes, not the rates.
-- Bots are counted from a first grouping by bot: COUNT(DISTINCT ...) keeps a hash set per
-- group.
WITH per_bot AS (
    SELECT
        day,
        vendor,
        source,
        bot,
        COUNT(*) AS runs,
        SUM(CASE WHEN finished THEN 1 ELSE 0 END) AS finished,
        SUM(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END) AS succeeded,
        SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed,
        SUM(CASE WHEN status = 'stopped' THEN 1 ELSE 0 END) AS stopped,
        SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END) AS running,
        SUM(duration_ms) AS duration_ms_sum,
        COUNT(duration_ms) AS duration_ms_count
    FROM runs
    GROUP BY day, vendor, source, bot
),
d AS (
    SELECT
        day,
        vendor,
        SUM(runs) AS runs,
        SUM(finished) AS finished,
        SUM(succeeded) AS succeeded,
        SUM(failed) AS failed,
        SUM(stopped) AS stopped,
        SUM(running) AS running,
        COUNT(bot) AS bots,
        CAST(SUM(duration_ms_sum) AS DOUBLE) / SUM(duration_ms_count) / 1000.0 AS avg_duration_s,
        SUM(duration_ms_sum) / 3600000.0 AS runtime_hours
    FROM per_bot
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
