-- Busy hours per UiPath robot and machine per day: the run time of its finished jobs
-- (counted on the day they started), jobs run, and utilisation (busy hours / 24).
SELECT
    tenant,
    robot_name,
    host_machine_name,
    day,
    COUNT(*) AS jobs,
    SUM(CASE WHEN state = 'Faulted' THEN 1 ELSE 0 END) AS faulted,
    ROUND(SUM(duration_ms) / 3600000.0, 2) AS busy_hours,
    ROUND(SUM(duration_ms) / 86400000.0, 4) AS utilization
FROM uipath_jobs
WHERE finished
GROUP BY tenant, robot_name, host_machine_name, day
ORDER BY tenant, robot_name, host_machine_name, day
