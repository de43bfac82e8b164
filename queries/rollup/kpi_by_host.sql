-- kpi_by_host from runs_host_day, which already has one row per vendor, host and day.
SELECT
    day,
    vendor,
    host,
    runs,
    failed,
    bots,
    ROUND(COALESCE(duration_ms_sum, 0) / 3600000.0, 2) AS busy_hours,
    ROUND(COALESCE(duration_ms_sum, 0) / 3600000.0 / 24.0, 4) AS utilisation
FROM runs_host_day
ORDER BY day, vendor, host
