-- kpi_by_bot from runs_bot_day (one row per vendor, source, bot and day): the same result.
-- param: from DATE NULL first day included (NULL: from the first)
-- param: to DATE NULL last day included (NULL: to the last)
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
FROM (
    SELECT
        vendor,
        source,
        bot,
        SUM(runs) AS runs,
        SUM(finished) AS finished,
        SUM(succeeded) AS succeeded,
        SUM(failed) AS failed,
        SUM(stopped) AS stopped,
        SUM(running) AS running,
        CAST(SUM(duration_ms_sum) AS DOUBLE) / SUM(duration_ms_count) / 1000.0 AS avg_duration_s,
        MAX(duration_ms_max) / 1000.0 AS max_duration_s,
        SUM(duration_ms_sum) / 3600000.0 AS runtime_hours,
        MIN(first_run) AS first_run,
        MAX(last_run) AS last_run
    FROM runs_bot_day
    WHERE (CAST($from AS DATE) IS NULL OR day >= $from) AND (CAST($to AS DATE) IS NULL OR day <= $to)
    GROUP BY vendor, source, bot
) AS b
ORDER BY runs DESC, vendor, source, bot
