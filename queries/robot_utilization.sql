-- Busy hours per UiPath robot and machine per day: the run time of its finished jobs, split
-- at midnight (of the session's zone, UTC by default: --tz) over the days each job ran on;
-- the finished jobs that started that day and how many of them faulted; utilization = busy
-- hours / the day's hours (23 or 25 where the clocks change). A job stopped before it
-- started counts on the day it was created, with no busy time. A job counts on at most 366
-- days from its start: one that says it ran longer is hung or broken, and its days are not
-- expanded without end (an end in year 200000 took 4 GB).
-- param: from DATE NULL first day included (NULL: from the first)
-- param: to DATE NULL last day included (NULL: to the last)
WITH jobs AS (
    SELECT
        tenant,
        robot_name,
        host_machine_name,
        state,
        CAST(COALESCE(start_time, creation_time) AS BIGINT) AS start_us,
        CASE WHEN start_time IS NOT NULL AND end_time > start_time
            THEN CAST(end_time AS BIGINT)
            ELSE CAST(COALESCE(start_time, creation_time) AS BIGINT)
        END AS end_us
    FROM uipath_jobs
    WHERE finished AND COALESCE(start_time, creation_time) IS NOT NULL
),
-- One row per job and day it ran on (days numbered from 1970-01-01); a job that ends at
-- midnight does not run on the next day.
spans AS (
    SELECT
        tenant,
        robot_name,
        host_machine_name,
        state,
        start_us,
        end_us,
        local_day_number(start_us) AS start_day,
        UNNEST(generate_series(
            local_day_number(start_us),
            LEAST(local_day_number(GREATEST(end_us - 1, start_us)), local_day_number(start_us) + 365)
        )) AS day_number
    FROM jobs
),
-- Each job's run time within each of its days.
portions AS (
    SELECT
        tenant,
        robot_name,
        host_machine_name,
        day_number,
        CASE WHEN day_number = start_day THEN 1 ELSE 0 END AS started,
        CASE WHEN day_number = start_day AND state = 'Faulted' THEN 1 ELSE 0 END AS faulted,
        LEAST(end_us, local_midnight_us(day_number + 1))
            - GREATEST(start_us, local_midnight_us(day_number)) AS busy_us
    FROM spans
)
SELECT
    tenant,
    robot_name,
    host_machine_name,
    CAST(CAST(day_number AS INTEGER) AS DATE) AS day,
    SUM(started) AS jobs,
    SUM(faulted) AS faulted,
    ROUND(SUM(busy_us) / 3600000000.0, 2) AS busy_hours,
    ROUND(SUM(busy_us) / CAST(local_midnight_us(day_number + 1) - local_midnight_us(day_number) AS DOUBLE), 4) AS utilization
FROM portions
WHERE (CAST($from AS DATE) IS NULL OR CAST(CAST(day_number AS INTEGER) AS DATE) >= $from) AND (CAST($to AS DATE) IS NULL OR CAST(CAST(day_number AS INTEGER) AS DATE) <= $to)
GROUP BY tenant, robot_name, host_machine_name, day_number
ORDER BY tenant, robot_name, host_machine_name, day
