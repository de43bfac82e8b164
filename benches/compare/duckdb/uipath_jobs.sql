-- DuckDB variant: DuckDB cannot CAST a TIMESTAMPTZ to BIGINT; epoch_us() gives the same
-- microseconds, and // is DuckDB's integer division (its / divides as DOUBLE).
-- One row per UiPath job: its latest state, and its times gathered over all its events
-- (an event may leave CreationTime out). finished: Successful, Faulted or Stopped.
-- duration_s: end - start of a finished job, in seconds; wait_s: start - creation.
WITH latest AS (
    SELECT
        tenant,
        job_key,
        state,
        process_name,
        display_name,
        robot_name,
        host_machine_name,
        folder_name,
        ROW_NUMBER() OVER (
            PARTITION BY tenant, job_key
            ORDER BY timestamp DESC, x_opt_sequence_number DESC NULLS LAST
        ) AS newest
    FROM uipath_job_events
    WHERE job_key IS NOT NULL
),
times AS (
    SELECT
        tenant,
        job_key,
        MIN(COALESCE(
            creation_time,
            CASE WHEN lower(event_type) = 'job.created' THEN timestamp END
        )) AS creation_time,
        MIN(start_time) AS start_time,
        MAX(end_time) AS end_time,
        COUNT(*) AS events
    FROM uipath_job_events
    WHERE job_key IS NOT NULL
    GROUP BY tenant, job_key
)
SELECT
    l.tenant,
    l.job_key,
    l.process_name,
    l.display_name,
    l.robot_name,
    l.host_machine_name,
    l.folder_name,
    l.state,
    l.state IN ('Successful', 'Faulted', 'Stopped') AS finished,
    t.creation_time,
    t.start_time,
    t.end_time,
    CASE WHEN l.state IN ('Successful', 'Faulted', 'Stopped')
        THEN (epoch_us(t.end_time) - epoch_us(t.start_time)) / 1000000.0
    END AS duration_s,
    (epoch_us(t.start_time) - epoch_us(t.creation_time)) / 1000000.0 AS wait_s,
    t.events,
    CAST(COALESCE(t.start_time, t.creation_time) AS DATE) AS day,
    CAST(COALESCE(t.start_time, t.creation_time) AS DATE) AS utc_day
FROM latest l
JOIN times t ON t.tenant = l.tenant AND t.job_key = l.job_key
WHERE l.newest = 1
ORDER BY l.tenant, t.creation_time, l.job_key
