-- Failure rate per bot per day, with the rate over the 7 calendar days ending that day.
-- Rates count finished runs only; days without finished runs have a NULL daily rate.
WITH d AS (
    SELECT
        vendor,
        source,
        bot,
        day,
        COUNT(*) AS runs,
        SUM(CASE WHEN finished THEN 1 ELSE 0 END) AS finished,
        SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed
    FROM runs
    GROUP BY vendor, source, bot, day
)
SELECT
    vendor,
    source,
    bot,
    day,
    runs,
    finished,
    failed,
    ROUND(CAST(failed AS DOUBLE) / NULLIF(finished, 0), 4) AS failure_rate,
    SUM(finished) OVER w AS finished_7d,
    SUM(failed) OVER w AS failed_7d,
    ROUND(CAST(SUM(failed) OVER w AS DOUBLE) / NULLIF(SUM(finished) OVER w, 0), 4) AS failure_rate_7d
FROM d
WINDOW w AS (PARTITION BY vendor, source, bot ORDER BY day RANGE BETWEEN INTERVAL '6' DAY PRECEDING AND CURRENT ROW)
ORDER BY vendor, source, bot, day
