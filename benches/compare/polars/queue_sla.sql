-- Polars variant: minutes times an INTERVAL (Polars cannot cast text to an interval),
-- now() made UTC to compare with UTC times, date_part('epoch', ...) for to_unixtime().
-- UiPath queue items past their deadline: their DueDate, or creation plus the queue's SLA
-- minutes (SLA 0 means none). An item counts when it was done after the deadline, or is
-- still open now that the deadline has passed; late_s is how late, in seconds (until now for
-- open items).
WITH deadlines AS (
    SELECT
        *,
        CASE WHEN sla_in_minutes BETWEEN 1 AND 5270400
            THEN creation_time + sla_in_minutes * INTERVAL '1 minute'
        END AS sla_deadline,
        CASE WHEN status IN ('Successful', 'Failed', 'Abandoned') THEN end_processing END AS done_at
    FROM uipath_queue_items
),
breaches AS (
    SELECT
        *,
        COALESCE(done_at, (now() AT TIME ZONE 'UTC')) AS measured_at,
        COALESCE(done_at, (now() AT TIME ZONE 'UTC')) > due_date AS past_due_date,
        COALESCE(done_at, (now() AT TIME ZONE 'UTC')) > sla_deadline AS past_sla
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
WHERE COALESCE(past_due_date, false) OR COALESCE(past_sla, false)
ORDER BY tenant, queue_name, creation_time, queue_item_key
