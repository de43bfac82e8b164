-- Runs per vendor, host (Bot Runner device) and day: what kpi_by_host is made of.
-- botlake keeps it as a rollup (`botlake rollup`); see README.
-- bots counts the bots that ran on the host that day, from a first grouping by bot
-- (COUNT(DISTINCT bot) with one group per host and day is several times slower).
WITH per_bot AS (
    SELECT
        vendor,
        host,
        day,
        bot,
        COUNT(*) AS runs,
        SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed,
        SUM(duration_ms) AS duration_ms
    FROM runs
    GROUP BY vendor, host, day, bot
)
SELECT
    vendor,
    host,
    day,
    SUM(runs) AS runs,
    SUM(failed) AS failed,
    COUNT(bot) AS bots,
    SUM(duration_ms) AS duration_ms_sum
FROM per_bot
GROUP BY vendor, host, day
