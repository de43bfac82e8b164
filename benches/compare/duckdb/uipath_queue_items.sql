-- DuckDB variant: DuckDB cannot CAST a TIMESTAMPTZ to BIGINT; epoch_us() gives the same
-- microseconds, and // is DuckDB's integer division (its / divides as DOUBLE).
-- One row per UiPath queue item: its latest status, exception and queue, how often it was
-- retried, and the processing time of its last attempt. final: Successful, Failed or
-- Abandoned (what Insights treats as history).
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
)
SELECT
    l.tenant,
    l.queue_item_key,
    l.queue_name,
    l.priority,
    l.status,
    l.status IN ('Successful', 'Failed', 'Abandoned') AS final,
    l.process_exception_type,
    l.process_exception_reason,
    COALESCE(a.retries, 0) AS retries,
    a.failures,
    a.creation_time,
    a.start_processing,
    a.end_processing,
    CASE WHEN a.end_processing >= a.start_processing
        THEN (epoch_us(a.end_processing) - epoch_us(a.start_processing)) / 1000000.0
    END AS processing_s,
    l.due_date,
    l.sla_in_minutes,
    CAST(a.creation_time AS DATE) AS day
FROM latest l
JOIN attempts a ON a.tenant = l.tenant AND a.queue_item_key = l.queue_item_key
WHERE l.newest = 1
ORDER BY l.tenant, a.creation_time, l.queue_item_key
