-- UiPath queue items past their deadline: their DueDate, or creation plus the queue's SLA
-- minutes (SLA 0 means none, and so does one beyond ten years, which ingest rejects: its
-- deadline would overflow). An item counts when it was done after the deadline, or is
-- still open now that the deadline has passed; late_s is how late, in seconds (until
-- now for open items).
-- param: from DATE NULL first day included (NULL: from the first)
-- param: to DATE NULL last day included (NULL: to the last)
WITH deadlines AS (
    SELECT
        *,
        CASE WHEN sla_in_minutes BETWEEN 1 AND 5270400
            THEN creation_time + CAST(CAST(sla_in_minutes AS VARCHAR) || ' minutes' AS INTERVAL)
        END AS sla_deadline,
        CASE WHEN status IN ('Successful', 'Failed', 'Abandoned') THEN end_processing END AS done_at
    FROM uipath_queue_items
),
breaches AS (
    SELECT
        *,
        COALESCE(done_at, now()) AS measured_at,
        COALESCE(done_at, now()) > due_date AS past_due_date,
        COALESCE(done_at, now()) > sla_deadline AS past_sla
    FROM deadlines
)
SELECT
    tenant,
    queue_name,
    queue_item_key,
    status,
    creation_time,
    due_date,
    sla_deadline,
    done_at,
    COALESCE(past_due_date, false) AS past_due_date,
    COALESCE(past_sla, false) AS past_sla,
    ROUND((date_part('epoch', measured_at) - date_part('epoch', LEAST(
        COALESCE(due_date, sla_deadline),
        COALESCE(sla_deadline, due_date)
    ))), 1) AS late_s,
    day
FROM breaches
WHERE (COALESCE(past_due_date, false) OR COALESCE(past_sla, false))
    AND (CAST($from AS DATE) IS NULL OR day >= $from) AND (CAST($to AS DATE) IS NULL OR day <= $to)
ORDER BY tenant, queue_name, creation_time, queue_item_key
