-- One row per UiPath queue item: its latest status, exception and queue, how often it was
-- retried, and the processing time of its last attempt. The status is normalised here, once
-- for every view: UiPath's statuses in their documented case (New, InProgress, Failed,
-- Successful, Abandoned, Retried, Deleted) whatever case they arrive in, another as it came.
-- final: Successful, Failed or Abandoned (what Insights treats as history); never NULL.
WITH latest AS (
    SELECT
        tenant,
        queue_item_key,
        status,
        priority,
        queue_name,
        sla_in_minutes,
        process_exception_type,
        process_exception_reason,
        due_date,
        ROW_NUMBER() OVER (
            PARTITION BY tenant, queue_item_key
            ORDER BY timestamp DESC, x_opt_sequence_number DESC NULLS LAST
        ) AS newest
    FROM uipath_queue_item_events
    WHERE queue_item_key IS NOT NULL
),
attempts AS (
    SELECT
        tenant,
        queue_item_key,
        MIN(creation_time) AS creation_time,
        MAX(start_processing) AS start_processing,
        MAX(end_processing) AS end_processing,
        MAX(retry_number) AS retries,
        SUM(CASE WHEN lower(event_type) = 'queueitem.transactionfailed' THEN 1 ELSE 0 END) AS failures
    FROM uipath_queue_item_events
    WHERE queue_item_key IS NOT NULL
    GROUP BY tenant, queue_item_key
),
items AS (
    SELECT
        tenant,
        queue_item_key,
        CASE lower(trim(status))
            WHEN 'new' THEN 'New'
            WHEN 'inprogress' THEN 'InProgress'
            WHEN 'failed' THEN 'Failed'
            WHEN 'successful' THEN 'Successful'
            WHEN 'abandoned' THEN 'Abandoned'
            WHEN 'retried' THEN 'Retried'
            WHEN 'deleted' THEN 'Deleted'
            ELSE status
        END AS status,
        priority,
        queue_name,
        sla_in_minutes,
        process_exception_type,
        process_exception_reason,
        due_date
    FROM latest
    WHERE newest = 1
)
SELECT
    l.tenant,
    l.queue_item_key,
    l.queue_name,
    l.priority,
    l.status,
    COALESCE(l.status IN ('Successful', 'Failed', 'Abandoned'), false) AS final,
    l.process_exception_type,
    l.process_exception_reason,
    COALESCE(a.retries, 0) AS retries,
    a.failures,
    a.creation_time,
    a.start_processing,
    a.end_processing,
    CASE WHEN a.end_processing >= a.start_processing
        THEN (CAST(a.end_processing AS BIGINT) - CAST(a.start_processing AS BIGINT)) / 1000000.0
    END AS processing_s,
    l.due_date,
    l.sla_in_minutes,
    local_day(a.creation_time) AS day
FROM items l
JOIN attempts a ON a.tenant = l.tenant AND a.queue_item_key = l.queue_item_key
ORDER BY l.tenant, a.creation_time, l.queue_item_key
