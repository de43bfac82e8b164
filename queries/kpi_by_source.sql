-- Run KPIs per vendor and source (Control Room or tenant) over the days from and to (all by
-- default): volumes, success and failure rates over finished runs (4 decimals), the mean
-- duration of finished runs in seconds (1 decimal), their run time in hours (2 decimals), and
-- how many bots ran. The fleet summary of `botlake report`. Running runs count in the
-- volumes, not the rates. Made of runs_bot_day, so that it reads the rollup where there is one.
-- param: from DATE NULL first day included (NULL: from the first)
-- param: to DATE NULL last day included (NULL: to the last)
SELECT
    vendor,
    source,
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
    ROUND(runtime_hours, 2) AS runtime_hours,
    first_day,
    last_day
FROM (
    SELECT
        vendor,
        source,
        SUM(runs) AS runs,
        SUM(finished) AS finished,
        SUM(succeeded) AS succeeded,
        SUM(failed) AS failed,
        SUM(stopped) AS stopped,
        SUM(running) AS running,
        COUNT(DISTINCT bot) AS bots,
        CAST(SUM(duration_ms_sum) AS DOUBLE) / SUM(duration_ms_count) / 1000.0 AS avg_duration_s,
        SUM(duration_ms_sum) / 3600000.0 AS runtime_hours,
        MIN(day) AS first_day,
        MAX(day) AS last_day
    FROM runs_bot_day
    WHERE (CAST($from AS DATE) IS NULL OR day >= $from) AND (CAST($to AS DATE) IS NULL OR day <= $to)
    GROUP BY vendor, source
) AS s
ORDER BY vendor, source
