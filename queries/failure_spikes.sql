-- Bot-days whose failure rate spiked above the bot's baseline of the 7 days before.
-- The baseline is the bot's failure rate over the 7 days before the day (failure_rate_daily's
-- 7-day rate, less the day).
-- A spike has at least min_finished finished runs on the day and in its baseline, at least
-- min_failed failed runs, and a failure rate at least factor times the baseline's (so over a
-- baseline without failures, min_failed failures are a spike). A day without a baseline
-- (no finished run in the 7 days before) is never a spike, whatever the parameters.
-- excess_failures: the day's failures beyond what the baseline rate predicts for its
-- finished runs. A bot is one of a source (Control Room or tenant). Newest first. The days
-- from and to are shown; the 7 days before from are the baselines of its first days.
-- param: min_finished BIGINT 5 finished runs the day and its baseline each need
-- param: min_failed BIGINT 3 failed runs the day needs
-- param: factor DOUBLE 2 times the baseline's failure rate that the day's must reach
-- param: from DATE NULL first day included (NULL: from the first)
-- param: to DATE NULL last day included (NULL: to the last)
WITH w AS (
    SELECT
        vendor,
        source,
        bot,
        day,
        finished,
        failed,
        SUM(finished) OVER d8 - finished AS baseline_finished,
        SUM(failed) OVER d8 - failed AS baseline_failed
    FROM runs_bot_day
    WHERE (CAST($from AS DATE) IS NULL OR day >= CAST($from AS DATE) - INTERVAL '7' DAY) AND (CAST($to AS DATE) IS NULL OR day <= $to)
    -- The day and the 7 before it, less the day: a frame that ends at the current row.
    WINDOW d8 AS (PARTITION BY vendor, source, bot ORDER BY day RANGE BETWEEN INTERVAL '7' DAY PRECEDING AND CURRENT ROW)
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
    AND (CAST($from AS DATE) IS NULL OR day >= $from) AND (CAST($to AS DATE) IS NULL OR day <= $to)
    AND baseline_finished >= $min_finished
    AND baseline_finished > 0
    AND failed >= $min_failed
    AND failed * baseline_finished >= $factor * finished * baseline_failed
ORDER BY day DESC, excess_failures DESC, vendor, source, bot
