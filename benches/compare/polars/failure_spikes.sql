-- Polars variant: Polars SQL has no RANGE window frame over dates; the sums over the day and
-- the 7 before it come from joining each bot-day with the bot's days in [day - 7, day]
-- instead, less the day itself (same result).
WITH s AS (
    SELECT
        a.vendor,
        a.source,
        a.bot,
        a.day,
        SUM(b.finished) AS finished_8d,
        SUM(b.failed) AS failed_8d
    FROM runs_bot_day a
    JOIN runs_bot_day b
        ON a.vendor = b.vendor AND a.source = b.source AND a.bot = b.bot
        AND b.day BETWEEN a.day - INTERVAL '7 days' AND a.day
    GROUP BY a.vendor, a.source, a.bot, a.day
),
w AS (
    SELECT
        d.vendor,
        d.source,
        d.bot,
        d.day,
        d.finished,
        d.failed,
        s.finished_8d - d.finished AS baseline_finished,
        s.failed_8d - d.failed AS baseline_failed
    FROM runs_bot_day d
    JOIN s ON s.vendor = d.vendor AND s.source = d.source AND s.bot = d.bot AND s.day = d.day
)
SELECT
    vendor,
    source,
    bot,
    day,
    finished,
    failed,
    ROUND(CAST(failed AS DOUBLE) / NULLIF(finished, 0), 4) AS failure_rate,
    baseline_finished,
    baseline_failed,
    ROUND(CAST(baseline_failed AS DOUBLE) / NULLIF(baseline_finished, 0), 4) AS baseline_rate,
    ROUND(CAST(failed * baseline_finished AS DOUBLE) / NULLIF(finished * baseline_failed, 0), 2) AS times_baseline,
    ROUND(failed - CAST(finished * baseline_failed AS DOUBLE) / NULLIF(baseline_finished, 0), 1) AS excess_failures
FROM w
WHERE finished >= $min_finished
    AND baseline_finished >= $min_finished
    AND baseline_finished > 0
    AND failed >= $min_failed
    AND failed * baseline_finished >= $factor * finished * baseline_failed
ORDER BY day DESC, excess_failures DESC, vendor, source, bot
