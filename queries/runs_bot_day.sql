-- Runs per vendor, source (Control Room or tenant), bot and day, as sums that add up over
-- days: what the per-bot and daily views are made of. botlake keeps it as a rollup (`botlake rollup`); see README.
-- duration_ms_sum / duration_ms_count is the mean duration of finished runs. The sums are in
-- whole milliseconds so that they add up exactly over days: the views over this one give
-- seconds and hours, as every other view does.
SELECT
    vendor,
    source,
    bot,
    day,
    COUNT(*) AS runs,
    SUM(CASE WHEN finished THEN 1 ELSE 0 END) AS finished,
    SUM(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END) AS succeeded,
    SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed,
    SUM(CASE WHEN status = 'stopped' THEN 1 ELSE 0 END) AS stopped,
    SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END) AS running,
    SUM(CAST(ROUND(duration_s * 1000) AS BIGINT)) AS duration_ms_sum,
    COUNT(duration_s) AS duration_ms_count,
    MAX(CAST(ROUND(duration_s * 1000) AS BIGINT)) AS duration_ms_max,
    MIN(start_time) AS first_run,
    MAX(start_time) AS last_run
FROM runs
GROUP BY vendor, source, bot, day
