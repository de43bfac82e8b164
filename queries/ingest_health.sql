-- What each table holds from each source (Control Room or tenant): its rows and the
-- records of it rejected at ingest (rejected_records), when rows last arrived
-- (_ingested_at: the ingest that first stored a row; a record stored again keeps it), and
-- whether the source is stale: no new row for stale_hours before now (a source with rejects
-- only is stale). A rejected line whose source is not known (not JSON) has an empty source.
-- param: stale_hours DOUBLE 24 hours without a new row after which a source is stale
WITH received AS (
    SELECT 'automation_anywhere' AS vendor, 'aa_bot_runs' AS table_name, control_room AS source, COUNT(*) AS rows, MAX(_ingested_at) AS last_ingested_at FROM aa_bot_runs GROUP BY control_room
    UNION ALL
    SELECT 'automation_anywhere', 'aa_executions', control_room, COUNT(*), MAX(_ingested_at) FROM aa_executions GROUP BY control_room
    UNION ALL
    SELECT 'automation_anywhere', 'aa_audit_events', control_room, COUNT(*), MAX(_ingested_at) FROM aa_audit_events GROUP BY control_room
    UNION ALL
    SELECT 'automation_anywhere', 'aa_task_metadata', control_room, COUNT(*), MAX(_ingested_at) FROM aa_task_metadata GROUP BY control_room
    UNION ALL
    SELECT 'automation_anywhere', 'aa_task_variable_profiles', control_room, COUNT(*), MAX(_ingested_at) FROM aa_task_variable_profiles GROUP BY control_room
    UNION ALL
    SELECT 'automation_anywhere', 'aa_task_logs', control_room, COUNT(*), MAX(_ingested_at) FROM aa_task_logs GROUP BY control_room
    UNION ALL
    SELECT 'uipath', 'uipath_job_events', tenant, COUNT(*), MAX(_ingested_at) FROM uipath_job_events GROUP BY tenant
    UNION ALL
    SELECT 'uipath', 'uipath_queue_item_events', tenant, COUNT(*), MAX(_ingested_at) FROM uipath_queue_item_events GROUP BY tenant
    UNION ALL
    SELECT 'uipath', 'uipath_machine_events', tenant, COUNT(*), MAX(_ingested_at) FROM uipath_machine_events GROUP BY tenant
    UNION ALL
    SELECT 'uipath', 'uipath_robot_logs', tenant, COUNT(*), MAX(_ingested_at) FROM uipath_robot_logs GROUP BY tenant
    UNION ALL
    SELECT 'uipath', 'uipath_other_events', tenant, COUNT(*), MAX(_ingested_at) FROM uipath_other_events GROUP BY tenant
),
rejected AS (
    SELECT
        CASE WHEN source = 'uipath' THEN 'uipath' ELSE 'automation_anywhere' END AS vendor,
        table_name,
        control_room AS source,
        COUNT(*) AS rejects,
        MAX(_ingested_at) AS last_rejected_at
    FROM rejected_records
    GROUP BY 1, 2, 3
),
together AS (
    SELECT
        COALESCE(r.vendor, j.vendor) AS vendor,
        COALESCE(r.source, j.source) AS source,
        COALESCE(r.table_name, j.table_name) AS table_name,
        COALESCE(r.rows, 0) AS rows,
        COALESCE(j.rejects, 0) AS rejects,
        r.last_ingested_at,
        j.last_rejected_at
    FROM received AS r
    FULL JOIN rejected AS j
        ON r.vendor = j.vendor AND r.source = j.source AND r.table_name = j.table_name
)
SELECT
    vendor,
    source,
    table_name,
    rows,
    rejects,
    last_ingested_at,
    last_rejected_at,
    ROUND((date_part('epoch', now()) - date_part('epoch', last_ingested_at)) / 3600.0, 1) AS hours_since,
    COALESCE(date_part('epoch', now()) - date_part('epoch', last_ingested_at) > $stale_hours * 3600.0, true) AS stale
FROM together
ORDER BY vendor, source, table_name
