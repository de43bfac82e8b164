-- One row per task log record and KPI variable: the value as sent, the variable's type
-- from the task's metadata (NULL if its metadata was not ingested), and the value as a
-- number where it is one.
WITH v AS (
    SELECT
        control_room,
        task_name,
        log_id,
        run_date,
        CASE WHEN utc_days() THEN day ELSE local_day(run_date) END AS log_day,
        unnest(map_entries(variables)) AS entry
    FROM aa_task_logs
)
SELECT
    v.control_room,
    v.task_name,
    v.log_id,
    v.run_date,
    v.log_day AS day,
    v.entry['key'] AS variable_name,
    m.variable_type,
    v.entry['value'] AS value,
    TRY_CAST(v.entry['value'] AS DOUBLE) AS number_value
FROM v
LEFT JOIN aa_task_metadata m
    ON m.control_room = v.control_room
    AND m.task_name = v.task_name
    AND m.variable_name = v.entry['key']
ORDER BY v.control_room, v.task_name, v.log_id, variable_name
