-- Stress: ORDER BY ... LIMIT over all columns of every run (the 100 longest runs).
SELECT *
FROM aa_bot_runs
ORDER BY time_taken_ms DESC NULLS LAST, run_id
LIMIT 100
