-- Stress: a high-cardinality GROUP BY over every run (bot x runner x day groups).
SELECT file_name, user_name, day, COUNT(*) AS runs, SUM(time_taken_ms) AS time_taken_ms, MAX(total_lines) AS max_lines
FROM aa_bot_runs
GROUP BY file_name, user_name, day
