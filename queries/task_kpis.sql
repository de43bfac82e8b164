-- Task KPIs per task per day: runs (log records) and, for each KPI variable, how many runs
-- reported a value, how many of those values are not numbers, and the sum, average (4
-- decimals), minimum and maximum of the numbers. A variable is numeric when its metadata
-- says NUMBER, or, without metadata, when every value it has (on any of the days from and to) is a number; a
-- variable without metadata that has any other value is not numeric, and its row says so
-- with its values counted and no sum, never a sum over the values that happen to parse.
-- A variable whose metadata gives another type (STRING, DATE) has no row. Blank values are
-- not reported. A day with runs but no variable has one row with variable_name NULL.
-- param: from DATE NULL first day included (NULL: from the first)
-- param: to DATE NULL last day included (NULL: to the last)
WITH runs AS (
    SELECT control_room, task_name, day, COUNT(*) AS runs
    FROM (
        SELECT
            * EXCLUDE (day),
            CASE WHEN utc_days() THEN day ELSE local_day(run_date) END AS day
        FROM aa_task_logs
        -- The UTC days (the partitions) that the local days overlap.
        WHERE (CAST($from AS DATE) IS NULL OR day >= first_utc_day($from))
            AND (CAST($to AS DATE) IS NULL OR day <= last_utc_day($to))
    ) AS e
    WHERE (CAST($from AS DATE) IS NULL OR day >= $from) AND (CAST($to AS DATE) IS NULL OR day <= $to)
    GROUP BY control_room, task_name, day
),
reported AS (
    SELECT control_room, task_name, day, variable_name, variable_type, number_value
    FROM task_log_values
    WHERE value IS NOT NULL AND trim(value) <> ''
        AND (CAST($from AS DATE) IS NULL OR day >= $from) AND (CAST($to AS DATE) IS NULL OR day <= $to)
),
-- Each variable's kind, over all its values of the days.
kinds AS (
    SELECT
        control_room,
        task_name,
        variable_name,
        MAX(variable_type) IS NOT NULL AS typed,
        CASE
            WHEN MAX(variable_type) IS NOT NULL THEN upper(MAX(variable_type)) = 'NUMBER'
            ELSE COUNT(*) = COUNT(number_value)
        END AS numeric
    FROM reported
    GROUP BY control_room, task_name, variable_name
),
kpis AS (
    SELECT
        v.control_room,
        v.task_name,
        v.day,
        v.variable_name,
        k.numeric,
        COUNT(*) AS reported,
        COUNT(*) - COUNT(v.number_value) AS not_numbers,
        CASE WHEN k.numeric THEN SUM(v.number_value) END AS total,
        CASE WHEN k.numeric THEN AVG(v.number_value) END AS average,
        CASE WHEN k.numeric THEN MIN(v.number_value) END AS minimum,
        CASE WHEN k.numeric THEN MAX(v.number_value) END AS maximum
    FROM reported v
    JOIN kinds k
        ON k.control_room = v.control_room
        AND k.task_name = v.task_name
        AND k.variable_name = v.variable_name
    WHERE k.numeric OR NOT k.typed
    GROUP BY v.control_room, v.task_name, v.day, v.variable_name, k.numeric
)
SELECT
    r.control_room,
    r.task_name,
    r.day,
    r.runs,
    k.variable_name,
    k.numeric,
    k.reported,
    k.not_numbers,
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
