-- Audit activity per day: events by Control Room, activity type and status, and how many
-- users they came from. Covers both audit APIs (v11 getaudittraildata and A360).
SELECT
    day,
    control_room,
    activity_type,
    status,
    COUNT(*) AS events,
    COUNT(DISTINCT user_name) AS users
FROM aa_audit_events
GROUP BY day, control_room, activity_type, status
ORDER BY day, control_room, activity_type, status
