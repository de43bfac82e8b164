-- Polars variant: Polars SQL has no array_sort; ARRAY_AGG(DISTINCT x ORDER BY x) sorts instead.
-- UiPath transaction exceptions per process per day, ApplicationException (system errors,
-- usually retried) against BusinessException (bad data, not retried), with the distinct
-- reasons. Counted from the robots' "Transaction Ended" logs, which name the process.
SELECT
    tenant,
    process_name,
    day,
    processing_exception_type AS exception_type,
    COUNT(*) AS exceptions,
    COUNT(DISTINCT transaction_id) AS queue_items,
    array_to_string(array_agg(DISTINCT processing_exception_reason ORDER BY processing_exception_reason), '; ') AS reasons
FROM uipath_robot_logs
WHERE processing_exception_type IN ('ApplicationException', 'BusinessException')
GROUP BY tenant, process_name, day, processing_exception_type
ORDER BY tenant, process_name, day, exception_type
