-- Run KPIs per bot over the days from and to (all by default): volumes, success and failure rates over finished runs, durations.
-- A bot is one of a source (Control Room or tenant): bots of one name in two sources are two.
-- param: from DATE NULL first day included (NULL: from the first)
-- param: to DATE NULL last day included (NULL: to the last)
WITH b AS (
    SELECT
        vendor,
        source,
        bot,
        COUNT(*) AS runs,
        SUM(CASE WHEN finished THEN 1 ELSE 0 END) AS finished,
        SUM(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END) AS succeeded,
        SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed,
        SUM(CASE WHEN status = 'stopped' THEN 1 ELSE 0 END) AS stopped,
        SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END) AS running,
        -- In whole milliseconds, as runs_bot_day sums them: the same answer from its rollup.
        AVG(CAST(ROUND(duration_s * 1000) AS BIGINT)) / 1000.0 AS avg_duration_s,
        MAX(CAST(ROUND(duration_s * 1000) AS BIGINT)) / 1000.0 AS max_duration_s,
        SUM(CAST(ROUND(duration_s * 1000) AS BIGINT)) / 3600000.0 AS runtime_hours,
        MIN(start_time) AS first_run,
        MAX(start_time) AS last_run
    FROM runs
    WHERE (CAST($from AS DATE) IS NULL OR day >= $from) AND (CAST($to AS DATE) IS NULL OR day <= $to)
        AND (CAST($from AS DATE) IS NULL OR utc_day >= first_utc_day($from)) AND (CAST($to AS DATE) IS NULL OR utc_day <= last_utc_day($to))
    GROUP BY vendor, source, bot
)
SELECT
    vendor,
    source,
    bot,
    runs,
    finished,
    succeeded,
    failed,
    stopped,
    running,
    ROUND(CAST(succeeded AS DOUBLE) / NULLIF(finished, 0), 4) AS success_rate,
    ROUND(CAST(failed AS DOUBLE) / NULLIF(finished, 0), 4) AS failure_rate,
    ROUND(avg_duration_s, 1) AS avg_duration_s,
    ROUND(max_duration_s, 1) AS max_duration_s,
    ROUND(runtime_hours, 2) AS runtime_hours,
    first_run,
    last_run
FROM b
ORDER BY runs DESC, vendor, source, bot
