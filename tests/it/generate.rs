//! `botlake sim gen`: the generated lake holds exactly the runs the simulator would serve
//! for the same configuration, and it refuses to write into a lake that has them already.

use botlake_sim::{Dataset, SimConfig};

use crate::common::{botlake, end, lake_path, sql, stderr};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_generated_lake_is_the_simulators_control_room() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_path(dir.path());
    let end = end().to_string();
    // Small commits, so that several chunks (and days split between them) are exercised.
    let args = [
        "--lake",
        &lake,
        "sim",
        "gen",
        "--runs",
        "30000",
        "--bots",
        "60",
        "--runners",
        "15",
        "--days",
        "45",
        "--end",
        &end,
        "--seed",
        "7",
        "--commit-rows",
        "4000",
        "--uipath-jobs",
        "100",
    ];
    let out = botlake(&args).await;
    assert!(out.status.success(), "{}", stderr(&out));

    let data = Dataset::generate(SimConfig {
        bots: 60,
        runners: 15,
        days: 45,
        ..SimConfig::new(7, 30_000, crate::common::end())
    });
    let truth = data.truth(data.end_time().timestamp_millis());
    let rows = sql(
        &lake,
        "SELECT count(*), sum(run_id), sum(CASE WHEN status = 'IN_PROGRESS' THEN 1 ELSE 0 END), \
         sum(CASE WHEN status = 'FAILED' THEN 1 ELSE 0 END), count(DISTINCT run_id) FROM aa_bot_runs",
    )
    .await;
    assert_eq!(
        rows[0],
        [
            truth.runs.to_string(),
            truth.id_sum.to_string(),
            truth.in_progress.to_string(),
            truth.failed.to_string(),
            truth.runs.to_string()
        ]
    );
    // Task logs: one per completed run of a task's bot; audit events as served.
    let logs = data.log_truth(data.end_time().timestamp_millis());
    let rows = sql(&lake, "SELECT count(*) FROM aa_task_logs").await;
    assert_eq!(rows[0][0], logs.logs.to_string());
    let audit = data.audit_truth(data.end_time().timestamp_millis());
    let rows = sql(
        &lake,
        "SELECT count(*), sum(CAST(event_id AS BIGINT)) FROM aa_audit_events",
    )
    .await;
    assert_eq!(
        rows[0],
        [audit.events.to_string(), audit.id_sum.to_string()]
    );
    // Every view answers over it, UiPath jobs included.
    let rows = sql(
        &lake,
        "SELECT vendor, count(*) FROM runs GROUP BY vendor ORDER BY vendor",
    )
    .await;
    assert_eq!(rows[0][0], "automation_anywhere");
    assert_eq!(rows[1][0], "uipath");

    // A second run would duplicate every run: refused, nothing written.
    let out = botlake(&args).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("only writes new lakes"),
        "{}",
        stderr(&out)
    );
    let rows = sql(&lake, "SELECT count(*) FROM aa_bot_runs").await;
    assert_eq!(rows[0][0], truth.runs.to_string());
}
