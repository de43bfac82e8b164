-- One row per UiPath job: its latest state, and its times gathered over all its events
-- (an event may leave CreationTime out). The state is normalised here, once for every view:
-- UiPath's states in their documented case (Pending, Running, Stopping, Terminating,
-- Suspended, Resumed, Successful, Faulted, Stopped) whatever case they arrive in, another as
-- it came. finished: Successful, Faulted or Stopped; never NULL.
-- duration_s: end - start of a finished job, in seconds; wait_s: start - creation.
-- day: the day the job started, or was created if it never started, in the session's time
-- zone (--tz, UTC by default); utc_day: the same in UTC.
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
),
jobs AS (
    SELECT
        tenant,
        job_key,
        CASE lower(trim(state))
            WHEN 'pending' THEN 'Pending'
            WHEN 'running' THEN 'Running'
            WHEN 'stopping' THEN 'Stopping'
            WHEN 'terminating' THEN 'Terminating'
            WHEN 'suspended' THEN 'Suspended'
            WHEN 'resumed' THEN 'Resumed'
            WHEN 'successful' THEN 'Successful'
            WHEN 'faulted' THEN 'Faulted'
            WHEN 'stopped' THEN 'Stopped'
            ELSE state
        END AS state,
        process_name,
        display_name,
        robot_name,
        host_machine_name,
        folder_name
    FROM latest
    WHERE newest = 1
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
    COALESCE(l.state IN ('Successful', 'Faulted', 'Stopped'), false) AS finished,
    t.creation_time,
    t.start_time,
    t.end_time,
    CASE WHEN l.state IN ('Successful', 'Faulted', 'Stopped')
        THEN (CAST(t.end_time AS BIGINT) - CAST(t.start_time AS BIGINT)) / 1000000.0
    END AS duration_s,
    (CAST(t.start_time AS BIGINT) - CAST(t.creation_time AS BIGINT)) / 1000000.0 AS wait_s,
    t.events,
    local_day(COALESCE(t.start_time, t.creation_time)) AS day,
    CAST(COALESCE(t.start_time, t.creation_time) AS DATE) AS utc_day
FROM jobs l
JOIN times t ON t.tenant = l.tenant AND t.job_key = l.job_key
ORDER BY l.tenant, t.creation_time, l.job_key
