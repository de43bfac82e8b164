-- Run KPIs per runner (the user or robot that ran the bots) over the days from and to (all by default).
-- runner is the user a bot ran as (Automation Anywhere's user_name) or the robot that ran a
-- job (UiPath's robot_name), of a source (Control Room or tenant): runners of one name in
-- two sources are two. Volumes, success and failure rates over finished runs,
-- durations, and how many bots the runner ran.
-- Bots are counted from a first grouping by bot, as kpi_by_host does: COUNT(DISTINCT bot)
-- keeps a hash set per group.
-- param: from DATE NULL first day included (NULL: from the first)
-- param: to DATE NULL last day included (NULL: to the last)
WITH per_bot AS (
    SELECT
        vendor,
        source,
        runner,
        bot,
        COUNT(*) AS runs,
        SUM(CASE WHEN finished THEN 1 ELSE 0 END) AS finished,
        SUM(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END) AS succeeded,
        SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed,
        SUM(CASE WHEN status = 'stopped' THEN 1 ELSE 0 END) AS stopped,
        SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END) AS running,
        SUM(CAST(ROUND(duration_s * 1000) AS BIGINT)) AS duration_ms,
        COUNT(duration_s) AS durations,
        MAX(CAST(ROUND(duration_s * 1000) AS BIGINT)) AS max_duration_ms,
        MIN(start_time) AS first_run,
        MAX(start_time) AS last_run
    FROM runs
    WHERE (CAST($from AS DATE) IS NULL OR day >= $from) AND (CAST($to AS DATE) IS NULL OR day <= $to)
        AND (CAST($from AS DATE) IS NULL OR utc_day >= first_utc_day($from)) AND (CAST($to AS DATE) IS NULL OR utc_day <= last_utc_day($to))
    GROUP BY vendor, source, runner, bot
),
u AS (
    SELECT
        vendor,
        source,
        runner,
        SUM(runs) AS runs,
        SUM(finished) AS finished,
        SUM(succeeded) AS succeeded,
        SUM(failed) AS failed,
        SUM(stopped) AS stopped,
        SUM(running) AS running,
        COUNT(bot) AS bots,
        SUM(duration_ms) AS duration_ms,
        SUM(durations) AS durations,
        MAX(max_duration_ms) AS max_duration_ms,
        MIN(first_run) AS first_run,
        MAX(last_run) AS last_run
    FROM per_bot
    GROUP BY vendor, source, runner
)
SELECT
    vendor,
    source,
    runner,
    runs,
    finished,
    succeeded,
    failed,
    stopped,
    running,
    bots,
    ROUND(CAST(succeeded AS DOUBLE) / NULLIF(finished, 0), 4) AS success_rate,
    ROUND(CAST(failed AS DOUBLE) / NULLIF(finished, 0), 4) AS failure_rate,
    ROUND(CAST(duration_ms AS DOUBLE) / NULLIF(durations, 0) / 1000.0, 1) AS avg_duration_s,
    ROUND(max_duration_ms / 1000.0, 1) AS max_duration_s,
    ROUND(duration_ms / 3600000.0, 2) AS runtime_hours,
    first_run,
    last_run
FROM u
ORDER BY runs DESC, vendor, source, runner
