-- Polars variant: Polars SQL has no RANGE window frame over dates; the 7-day sums come
-- from joining each bot-day with the bot's days in [day - 6, day] instead (same result).
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
),
w AS (
    SELECT
        a.vendor,
        a.source,
        a.bot,
        a.day,
        SUM(b.finished) AS finished_7d,
        SUM(b.failed) AS failed_7d
    FROM d a
    JOIN d b
        ON a.vendor = b.vendor AND a.source = b.source AND a.bot = b.bot
        AND b.day BETWEEN a.day - INTERVAL '6 days' AND a.day
    GROUP BY a.vendor, a.source, a.bot, a.day
)
SELECT
    d.vendor,
    d.source,
    d.bot,
    d.day,
    d.runs,
    d.finished,
    d.failed,
    ROUND(CAST(d.failed AS DOUBLE) / NULLIF(d.finished, 0), 4) AS failure_rate,
    w.finished_7d,
    w.failed_7d,
    ROUND(CAST(w.failed_7d AS DOUBLE) / NULLIF(w.finished_7d, 0), 4) AS failure_rate_7d
FROM d
JOIN w ON w.vendor = d.vendor AND w.source = d.source AND w.bot = d.bot AND w.day = d.day
ORDER BY d.vendor, d.source, d.bot, d.day
