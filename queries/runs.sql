-- One row per run of every vendor, with a normalised status.
-- Automation Anywhere: every Bot Insight run (11.x and Automation 360 run data) and every
-- Automation 360 execution (the activity API, which also sees deployments that failed and
-- runs in progress). A Control Room that gives both counts each run once: a run-data row
-- is left out where an execution of the same Control Room and bot file started in the same
-- second (the two APIs' ids differ); the execution counts. UiPath: every job (uipath_jobs).
-- The vendors' statuses: Bot Insight's COMPLETED is succeeded, FAILED failed, STOPPED
-- stopped, any other (IN_PROGRESS, RUN_PAUSED, missing) running; an execution's COMPLETED
-- is succeeded, RUN_FAILED, RUN_TIMED_OUT and DEPLOY_FAILED failed, RUN_ABORTED stopped,
-- any other (DEPLOYED, RUNNING, RUN_PAUSED, UPDATE, UNKNOWN, ...) running; UiPath's
-- Successful is succeeded, Faulted failed, Stopped stopped, any other (Pending, Running,
-- ...) running.
-- status: succeeded, failed, stopped or running; a run whose status is not final (in
-- progress, pending, missing) is running. finished is true for final statuses only, and
-- never NULL: running runs count in volumes, never in rates.
-- duration_s: seconds, to the millisecond: Bot Insight's timeTaken where given, else end -
-- start (an execution's end - start); NULL while running.
-- day: the day the run started (a UiPath job never started: was created) in the session's
-- time zone (--tz, UTC by default); utc_day: the same in UTC, the partition of Automation
-- Anywhere's rows (a filter on it reads only the files of its days).
SELECT
    'automation_anywhere' AS vendor,
    control_room AS source,
    CAST(run_id AS VARCHAR) AS run_id,
    file_name AS bot,
    user_name AS runner,
    host_name AS host,
    start_time,
    end_time,
    CASE status
        WHEN 'COMPLETED' THEN 'succeeded'
        WHEN 'FAILED' THEN 'failed'
        WHEN 'STOPPED' THEN 'stopped'
        ELSE 'running'
    END AS status,
    COALESCE(status IN ('COMPLETED', 'FAILED', 'STOPPED'), false) AS finished,
    CASE WHEN status IN ('COMPLETED', 'FAILED', 'STOPPED') THEN time_taken_ms / 1000.0 END AS duration_s,
    CASE WHEN utc_days() THEN day ELSE local_day(start_time) END AS day,
    day AS utc_day
FROM aa_bot_runs AS r
WHERE NOT EXISTS (
    SELECT 1 FROM aa_executions AS e
    WHERE e.control_room = r.control_room
      AND e.file_name = r.file_name
      AND date_trunc('second', e.start_time) = date_trunc('second', r.start_time)
)
UNION ALL
SELECT
    'automation_anywhere' AS vendor,
    control_room AS source,
    execution_id AS run_id,
    file_name AS bot,
    user_name AS runner,
    device_name AS host,
    start_time,
    end_time,
    CASE status
        WHEN 'COMPLETED' THEN 'succeeded'
        WHEN 'RUN_FAILED' THEN 'failed'
        WHEN 'RUN_TIMED_OUT' THEN 'failed'
        WHEN 'DEPLOY_FAILED' THEN 'failed'
        WHEN 'RUN_ABORTED' THEN 'stopped'
        ELSE 'running'
    END AS status,
    COALESCE(status IN ('COMPLETED', 'RUN_FAILED', 'RUN_TIMED_OUT', 'DEPLOY_FAILED', 'RUN_ABORTED'), false) AS finished,
    CASE
        WHEN status IN ('COMPLETED', 'RUN_FAILED', 'RUN_TIMED_OUT', 'DEPLOY_FAILED', 'RUN_ABORTED')
            AND end_time >= start_time
        THEN (CAST(end_time AS BIGINT) - CAST(start_time AS BIGINT)) / 1000000.0
    END AS duration_s,
    CASE WHEN utc_days() THEN day ELSE local_day(start_time) END AS day,
    day AS utc_day
FROM aa_executions
UNION ALL
SELECT
    'uipath' AS vendor,
    tenant AS source,
    job_key AS run_id,
    process_name AS bot,
    robot_name AS runner,
    host_machine_name AS host,
    start_time,
    end_time,
    CASE state
        WHEN 'Successful' THEN 'succeeded'
        WHEN 'Faulted' THEN 'failed'
        WHEN 'Stopped' THEN 'stopped'
        ELSE 'running'
    END AS status,
    finished,
    ROUND(duration_s, 3) AS duration_s,
    day,
    utc_day
FROM uipath_jobs
