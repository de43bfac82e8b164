-- Bots ranked by volume, runtime and failure rate (RANK: ties share a rank). A bot is one
-- of a source (Control Room or tenant): bots of one name in two sources are two.
-- Only bots with at least min_runs finished runs get a failure-rate rank.
-- param: min_runs BIGINT 10 finished runs a bot needs for a failure-rate rank
-- param: from DATE NULL first day included (NULL: from the first)
-- param: to DATE NULL last day included (NULL: to the last)
WITH b AS (
    SELECT
        vendor,
        source,
        bot,
        COUNT(*) AS runs,
        SUM(CASE WHEN finished THEN 1 ELSE 0 END) AS finished,
        SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed,
        COALESCE(SUM(CAST(ROUND(duration_s * 1000) AS BIGINT)), 0) / 3600000.0 AS runtime_hours
    FROM runs
    WHERE (CAST($from AS DATE) IS NULL OR day >= $from) AND (CAST($to AS DATE) IS NULL OR day <= $to)
        AND (CAST($from AS DATE) IS NULL OR utc_day >= first_utc_day($from)) AND (CAST($to AS DATE) IS NULL OR utc_day <= last_utc_day($to))
    GROUP BY vendor, source, bot
),
r AS (
    SELECT
        *,
        CAST(failed AS DOUBLE) / NULLIF(finished, 0) AS failure_rate,
        finished >= $min_runs AS eligible
    FROM b
)
SELECT
    vendor,
    source,
    bot,
    runs,
    finished,
    failed,
    ROUND(runtime_hours, 2) AS runtime_hours,
    ROUND(failure_rate, 4) AS failure_rate,
    RANK() OVER (ORDER BY runs DESC) AS volume_rank,
    RANK() OVER (ORDER BY runtime_hours DESC) AS runtime_rank,
    CASE WHEN eligible THEN RANK() OVER (PARTITION BY eligible ORDER BY failure_rate DESC) END AS failure_rank
FROM r
ORDER BY volume_rank, vendor, source, bot
