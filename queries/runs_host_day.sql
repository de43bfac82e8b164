-- Runs and run time per vendor, source (Control Room or tenant), host (Bot Runner device)
-- and day: what kpi_by_host is made of. One row per vendor, source, host, day (the day runs
-- started: under UTC, the partition of their rows) and busy_day (a day their run time fell
-- on). A run's time, from its start for its duration, is split at midnight (of the
-- session's zone, UTC by default: --tz) over the days it ran on, 366 at most: its runs,
-- failed runs and bots count on the row of its own day, and busy_ms on each day's row
-- (whole milliseconds, which add up exactly; kpi_by_host gives hours) is the part of the
-- run time that fell on that day. So a row depends on the runs of its day only, and
-- botlake keeps the view as a rollup (`botlake rollup`) added to and replaced day by day.
-- A run without a duration (running) has no busy time; a duration over 366 days (only a
-- broken record says so) is cut there.
WITH r AS (
    SELECT
        vendor,
        source,
        host,
        day,
        bot,
        status,
        start_us,
        busy_us,
        UNNEST(generate_series(
            local_day_number(start_us),
            local_day_number(start_us + GREATEST(busy_us, 1) - 1)
        )) AS day_number
    FROM (
        SELECT
            vendor,
            source,
            host,
            day,
            bot,
            status,
            -- A run that never started (a pending UiPath job) starts its day, for no time.
            COALESCE(
                CAST(start_time AS BIGINT),
                local_midnight_us(CAST(CAST(day AS INTEGER) AS BIGINT))
            ) AS start_us,
            LEAST(GREATEST(COALESCE(CAST(ROUND(duration_s * 1000) AS BIGINT), 0), 0), 31622400000) * 1000 AS busy_us
        FROM runs
    ) AS timed
),
-- Bots are counted from a first grouping by bot: COUNT(DISTINCT bot) with one group per
-- host and day keeps a hash set per group and is several times slower.
per_bot AS (
    SELECT
        vendor,
        source,
        host,
        day,
        day_number,
        bot,
        SUM(CASE WHEN day_number = local_day_number(start_us) THEN 1 ELSE 0 END) AS runs,
        SUM(CASE WHEN day_number = local_day_number(start_us) AND status = 'failed' THEN 1 ELSE 0 END) AS failed,
        SUM(LEAST(start_us + busy_us, local_midnight_us(day_number + 1))
            - GREATEST(start_us, local_midnight_us(day_number))) AS busy_us
    FROM r
    GROUP BY vendor, source, host, day, day_number, bot
)
SELECT
    vendor,
    source,
    host,
    day,
    CAST(CAST(day_number AS INTEGER) AS DATE) AS busy_day,
    SUM(runs) AS runs,
    SUM(failed) AS failed,
    COUNT(CASE WHEN runs > 0 THEN bot END) AS bots,
    SUM(busy_us) / 1000 AS busy_ms
FROM per_bot
GROUP BY vendor, source, host, day, day_number
