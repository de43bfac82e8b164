-- Task KPIs per task per day: runs (log records) and, for each numeric KPI variable, how
-- many runs reported it, its sum, average, minimum and maximum. A variable is numeric when
-- its metadata says NUMBER, or, without metadata, where its values parse as numbers.
-- A day with runs but no numeric variable has one row with variable_name NULL.
WITH runs AS (
    SELECT control_room, task_name, day, COUNT(*) AS runs
    FROM aa_task_logs
    GROUP BY control_room, task_name, day
),
kpis AS (
    SELECT
        control_room,
        task_name,
        day,
        variable_name,
        COUNT(number_value) AS reported,
        SUM(number_value) AS total,
        AVG(number_value) AS average,
        MIN(number_value) AS minimum,
        MAX(number_value) AS maximum
    FROM task_log_values
    WHERE number_value IS NOT NULL
        AND (variable_type IS NULL OR upper(variable_type) = 'NUMBER')
    GROUP BY control_room, task_name, day, variable_name
)
SELECT
    r.control_room,
    r.task_name,
    r.day,
    r.runs,
    k.variable_name,
    k.reported,
    ROUND(k.total, 4) AS total,
    ROUND(k.average, 4) AS average,
    k.minimum,
    k.maximum
FROM runs r
LEFT JOIN kpis k
    ON k.control_room = r.control_room
    AND k.task_name = r.task_name
    AND k.day = r.day
ORDER BY r.control_room, r.task_name, r.day, k.variable_name
