//! botlake's scan of the day files answers every table and view exactly as Delta's own
//! table provider does (`--delta-scan`), over a lake that every ingest path wrote.

use crate::common::{botlake, lake_path, sorted_lines, stderr};

/// The answer of `statement`, a JSON object a row (sorted: not every view orders its rows).
async fn answer(lake: &str, delta_scan: bool, statement: &str) -> Vec<String> {
    let mut args = vec!["--lake", lake, "--no-rollups", "--format", "ndjson"];
    if delta_scan {
        args.push("--delta-scan");
    }
    args.extend_from_slice(&["sql", statement]);
    let out = botlake(&args).await;
    assert!(out.status.success(), "{statement}: {}", stderr(&out));
    sorted_lines(&out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_table_and_view_reads_as_through_delta() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_path(dir.path());
    let out = botlake(&["--lake", &lake, "demo", "--runs", "3000"]).await;
    assert!(out.status.success(), "{}", stderr(&out));

    let names = answer(
        &lake,
        false,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'lake'",
    )
    .await;
    let names: Vec<String> = names
        .iter()
        .map(|line| {
            let row: serde_json::Value = serde_json::from_str(line).unwrap();
            row["table_name"].as_str().unwrap().to_string()
        })
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    for expected in [
        "aa_bot_runs",
        "aa_task_logs",
        "uipath_job_events",
        "kpi_daily",
        "runs",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    // queue_sla measures open items until now(): two runs seconds apart differ there.
    let mut statements: Vec<String> = names
        .iter()
        .map(|n| match *n {
            "queue_sla" => "SELECT * EXCLUDE (late_s) FROM queue_sla".to_string(),
            n => format!("SELECT * FROM {n}"),
        })
        .collect();
    statements.extend(
        [
            "SELECT count(*) FROM aa_bot_runs",
            "SELECT queue_item_key, late_s FROM queue_sla WHERE done_at IS NOT NULL",
            "SELECT count(*), min(day), max(day) FROM aa_bot_runs \
             WHERE day >= (SELECT max(day) FROM aa_bot_runs) - INTERVAL '3' DAY",
            "SELECT day, count(*) FROM aa_audit_events WHERE day = DATE '1999-01-01' GROUP BY day",
            "SELECT status, day, count(*) FROM aa_bot_runs WHERE day > DATE '2000-01-01' \
             AND (day < current_date() - INTERVAL '5' DAY OR status = 'FAILED') GROUP BY 1, 2",
        ]
        .map(str::to_string),
    );
    let mut rows = 0;
    for statement in &statements {
        let ours = answer(&lake, false, statement).await;
        let delta = answer(&lake, true, statement).await;
        assert_eq!(ours, delta, "{statement}");
        rows += ours.len();
    }
    // A LIMIT without ORDER BY may pick any rows; as many as asked. (deltalake 1.1's own
    // provider returns every row when the partition column alone is selected.)
    let limited = "SELECT day FROM uipath_job_events LIMIT 3";
    assert_eq!(answer(&lake, false, limited).await.len(), 3);
    assert!(rows > 10_000, "the lake has rows to compare: {rows}");
}
