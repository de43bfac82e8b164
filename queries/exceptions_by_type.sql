-- UiPath transaction exceptions per process per day, ApplicationException (system errors,
-- usually retried) against BusinessException (bad data, not retried), with the distinct
-- reasons. Counted from the robots' "Transaction Ended" logs, which name the process.
-- param: from DATE NULL first day included (NULL: from the first)
-- param: to DATE NULL last day included (NULL: to the last)
SELECT
    tenant,
    process_name,
    day,
    processing_exception_type AS exception_type,
    COUNT(*) AS exceptions,
    COUNT(DISTINCT transaction_id) AS queue_items,
    array_to_string(array_sort(array_agg(DISTINCT processing_exception_reason)), '; ') AS reasons
FROM (
    SELECT
        * EXCLUDE (day),
        CASE WHEN utc_days() THEN day ELSE local_day(timestamp) END AS day
    FROM uipath_robot_logs
    -- The UTC days (the partitions) that the local days overlap.
    WHERE (CAST($from AS DATE) IS NULL OR day >= first_utc_day($from))
        AND (CAST($to AS DATE) IS NULL OR day <= last_utc_day($to))
) AS e
WHERE processing_exception_type IN ('ApplicationException', 'BusinessException')
    AND (CAST($from AS DATE) IS NULL OR day >= $from) AND (CAST($to AS DATE) IS NULL OR day <= $to)
GROUP BY tenant, process_name, day, processing_exception_type
ORDER BY tenant, process_name, day, exception_type
