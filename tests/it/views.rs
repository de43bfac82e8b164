//! Views through the command line, where what is tested needs a parameter or a lake that
//! the `.slt` files cannot make: lakes built from saved Bot Insight pages of hand-made
//! runs.

use crate::common::{botlake, lake_path, stderr, stdout};

/// A Bot Insight run record: `bot` ran on `day` at `hour`, for `minutes`, ending `status`.
pub(crate) fn run(id: i64, bot: &str, day: &str, hour: u32, minutes: u32, status: &str) -> String {
    let start = format!("{day}T{hour:02}:00:00Z");
    let end = chrono::DateTime::parse_from_rfc3339(&start).unwrap()
        + chrono::Duration::minutes(i64::from(minutes));
    format!(
        r#"{{"id":{id},"userName":"u","hostName":"H","fileName":"{bot}","startTime":"{start}","endTime":"{}","status":"{status}","timeTaken":{}}}"#,
        end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        u64::from(minutes) * 60_000
    )
}

/// A lake of control room `cr` holding `runs`, ingested as one saved page.
pub(crate) async fn lake_of(dir: &std::path::Path, runs: &[String]) -> String {
    let page = format!(
        r#"{{"totalRecords":{},"botRunDataList":[{}]}}"#,
        runs.len(),
        runs.join(",")
    );
    let file = dir.join("page.json");
    std::fs::write(&file, page).unwrap();
    let lake = lake_path(dir);
    let out = botlake(&[
        "--lake",
        &lake,
        "ingest",
        "aa-pages",
        "--control-room",
        "cr",
        file.to_str().unwrap(),
    ])
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    lake
}

// Regression (issue 29, 4): with min_finished=0, every bot's first day was a spike against
// a NULL baseline. A spike needs a baseline, whatever the parameters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spike_needs_a_baseline_whatever_the_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let mut runs = Vec::new();
    // X fails 4 of 4 on its first day: no baseline.
    for i in 0..4 {
        runs.push(run(i, "X.atmx", "2026-10-01", 8 + i as u32, 5, "FAILED"));
    }
    // Y: 5 runs without failure on 10-02, then 4 failures of 5 on 10-03: a spike.
    for i in 0..5 {
        runs.push(run(
            10 + i,
            "Y.atmx",
            "2026-10-02",
            8 + i as u32,
            5,
            "COMPLETED",
        ));
        let status = if i < 4 { "FAILED" } else { "COMPLETED" };
        runs.push(run(20 + i, "Y.atmx", "2026-10-03", 8 + i as u32, 5, status));
    }
    let lake = lake_of(dir.path(), &runs).await;
    for min_finished in ["0", "1"] {
        let out = botlake(&[
            "--lake",
            &lake,
            "--format",
            "csv",
            "query",
            "failure_spikes",
            "-p",
            &format!("min_finished={min_finished}"),
        ])
        .await;
        assert!(out.status.success(), "{}", stderr(&out));
        let rows: Vec<String> = stdout(&out).lines().skip(1).map(str::to_string).collect();
        assert_eq!(rows.len(), 1, "min_finished={min_finished}: {rows:?}");
        assert!(
            rows[0].contains("Y.atmx") && rows[0].contains("2026-10-03"),
            "{rows:?}"
        );
    }
}
