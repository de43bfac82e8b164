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
FROM aa_audit_events
WHERE upper(activity_type) LIKE '%LOGIN%'
    AND upper(status) IN ('UNSUCCESSFUL', 'FAILED', 'FAILURE')
    AND (CAST($from AS DATE) IS NULL OR day >= $from) AND (CAST($to AS DATE) IS NULL OR day <= $to)
GROUP BY day, control_room, user_name
ORDER BY day, control_room, user_name
