-- Polars variant: Polars SQL has no array_sort; ARRAY_AGG(DISTINCT x ORDER BY x) sorts instead.
-- Unsuccessful logins per user per day, with the hosts they came from.
-- A login is an activity type containing LOGIN; unsuccessful is the status Unsuccessful
-- (A360) or Failed/Failure (v11 Control Rooms), in any case.
SELECT
    day,
    control_room,
    user_name,
    COUNT(*) AS failed_logins,
    MIN(created_on) AS first_attempt,
    MAX(created_on) AS last_attempt,
    COUNT(DISTINCT host_name) AS hosts,
    array_to_string(array_agg(DISTINCT host_name ORDER BY host_name), ', ') AS host_names
FROM aa_audit_events
WHERE upper(activity_type) LIKE '%LOGIN%'
    AND upper(status) IN ('UNSUCCESSFUL', 'FAILED', 'FAILURE')
GROUP BY day, control_room, user_name
ORDER BY day, control_room, user_name
