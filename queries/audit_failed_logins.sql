-- Unsuccessful logins per user per day, with the hosts they came from.
-- A login is an activity type containing LOGIN; unsuccessful is the status Unsuccessful
-- (A360) or Failed/Failure (v11 Control Rooms), in any case.
-- param: from DATE NULL first day included (NULL: from the first)
-- param: to DATE NULL last day included (NULL: to the last)
SELECT
    day,
    control_room,
    user_name,
    COUNT(*) AS failed_logins,
    MIN(created_on) AS first_attempt,
    MAX(created_on) AS last_attempt,
    COUNT(DISTINCT host_name) AS hosts,
    array_to_string(array_sort(array_agg(DISTINCT host_name)), ', ') AS host_names
FROM (
    SELECT
        * EXCLUDE (day),
        CASE WHEN utc_days() THEN day ELSE local_day(created_on) END AS day
    FROM aa_audit_events
    -- The UTC days (the partitions) that the local days overlap.
    WHERE (CAST($from AS DATE) IS NULL OR day >= first_utc_day($from))
        AND (CAST($to AS DATE) IS NULL OR day <= last_utc_day($to))
) AS e
WHERE upper(activity_type) LIKE '%LOGIN%'
    AND upper(status) IN ('UNSUCCESSFUL', 'FAILED', 'FAILURE')
    AND (CAST($from AS DATE) IS NULL OR day >= $from) AND (CAST($to AS DATE) IS NULL OR day <= $to)
GROUP BY day, control_room, user_name
ORDER BY day, control_room, user_name
