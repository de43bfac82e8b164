-- Daily run KPIs per vendor: volumes, success and failure rates over finished runs (4
-- decimals), the mean duration of finished runs in seconds (1 decimal) and their run time in
-- hours (2 decimals), and how many bots ran (a bot is one of a source: bots of one name in
-- two Control Rooms or tenants are two). Running runs count in the volumes, not the rates.
-- Made of runs_bot_day, so that it reads the rollup where there is one.
-- param: from DATE NULL first day included (NULL: from the first)
-- param: to DATE NULL last day included (NULL: to the last)
-- param: source VARCHAR NULL only the runs of this source, a Control Room or tenant (NULL: all)
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
FROM (
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
    FROM runs_bot_day
    WHERE (CAST($from AS DATE) IS NULL OR day >= $from) AND (CAST($to AS DATE) IS NULL OR day <= $to)
        AND (CAST($source AS VARCHAR) IS NULL OR source = $source)
    GROUP BY day, vendor
) AS d
ORDER BY day, vendor
