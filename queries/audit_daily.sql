-- Audit activity per day: events by Control Room, activity type and status, and how many
-- users they came from. Covers both audit APIs (v11 getaudittraildata and A360).
-- param: from DATE NULL first day included (NULL: from the first)
-- param: to DATE NULL last day included (NULL: to the last)
SELECT
    day,
    control_room,
    activity_type,
    status,
    COUNT(*) AS events,
    COUNT(DISTINCT user_name) AS users
FROM aa_audit_events
WHERE (CAST($from AS DATE) IS NULL OR day >= $from) AND (CAST($to AS DATE) IS NULL OR day <= $to)
GROUP BY day, control_room, activity_type, status
ORDER BY day, control_room, activity_type, status
