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
FROM (
    SELECT
        * EXCLUDE (day),
        CASE WHEN utc_days() THEN day ELSE local_day(created_on) END AS day
    FROM aa_audit_events
    -- The UTC days (the partitions) that the local days overlap.
    WHERE (CAST($from AS DATE) IS NULL OR day >= first_utc_day($from))
        AND (CAST($to AS DATE) IS NULL OR day <= last_utc_day($to))
) AS e
WHERE (CAST($from AS DATE) IS NULL OR day >= $from) AND (CAST($to AS DATE) IS NULL OR day <= $to)
GROUP BY day, control_room, activity_type, status
ORDER BY day, control_room, activity_type, status
