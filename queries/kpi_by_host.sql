-- Per host (Bot Runner device) of a source (Control Room or tenant) and day: the runs that started that day, how many failed,
-- how many bots ran, and the host's busy hours and utilisation. busy_hours is the run time
-- that fell on the day, each run split at midnight (of the session's zone, UTC by default: --tz) over the days it ran
-- on (runs_host_day), and utilisation = busy_hours / the day's hours (23 or 25 where the
-- clocks change). Runs that overlap on one host add up
-- (several Bot Runners on one device, a UiPath machine with several slots): utilisation is
-- the average number of runs at once, and above 1 only when runs overlapped (1.5: one and a
-- half runs at once all day long).
-- param: from DATE NULL first day included (NULL: from the first)
-- param: to DATE NULL last day included (NULL: to the last)
SELECT
    busy_day AS day,
    vendor,
    source,
    host,
    SUM(runs) AS runs,
    SUM(failed) AS failed,
    SUM(bots) AS bots,
    ROUND(SUM(busy_ms) / 3600000.0, 2) AS busy_hours,
    ROUND(SUM(busy_ms) * 1000.0 / (
        local_midnight_us(CAST(CAST(busy_day AS INTEGER) AS BIGINT) + 1)
        - local_midnight_us(CAST(CAST(busy_day AS INTEGER) AS BIGINT))
    ), 4) AS utilisation
FROM runs_host_day
WHERE (CAST($from AS DATE) IS NULL OR busy_day >= $from) AND (CAST($to AS DATE) IS NULL OR busy_day <= $to)
    -- A run's time is cut at 366 days: only the runs started from 366 days before
    -- from to the day to can fall on the days (and their days' files are all read).
    AND (CAST($from AS DATE) IS NULL OR day >= CAST($from AS DATE) - INTERVAL '366' DAY)
    AND (CAST($to AS DATE) IS NULL OR day <= $to)
GROUP BY busy_day, vendor, source, host
ORDER BY day, vendor, source, host
