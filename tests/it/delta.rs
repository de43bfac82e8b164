//! The lake is the contract: a Delta reader botlake does not contain (the `deltalake`
//! Python package, delta-rs's binding at another release) reads every table as botlake
//! does, after the commits that change a table's files: many appends (and so
//! checkpoints), a merge that replaces rows, a compaction and a vacuum.

use std::path::PathBuf;

use serde_json::Value;

use crate::common::{botlake, end, lake_path, stderr, stdout};

/// The virtualenv's Python, where `.ci/peers` installed `deltalake`.
fn python() -> PathBuf {
    crate::common::peer("BOTLAKE_DELTA_PYTHON", ".ci/venv/bin/python", "")
}

/// Runs botlake on `lake`, which must succeed; its standard output.
async fn run(lake: &str, args: &[&str]) -> String {
    let mut all = vec!["--lake", lake];
    all.extend_from_slice(args);
    let out = botlake(&all).await;
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

/// The NDJSON lines of `text`, each row as its JSON text, sorted.
fn sorted_rows(rows: impl Iterator<Item = Value>) -> Vec<String> {
    let mut rows: Vec<String> = rows.map(|r| r.to_string()).collect();
    rows.sort();
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_delta_reader_reads_every_table_as_botlake_does() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_path(dir.path());
    let end = end().to_string();
    // Small commits: more than ten per table, so that readers start from a checkpoint.
    run(
        &lake,
        &[
            "sim",
            "gen",
            "--runs",
            "12000",
            "--bots",
            "30",
            "--runners",
            "8",
            "--days",
            "20",
            "--end",
            &end,
            "--seed",
            "3",
            "--control-room",
            "cr",
            "--commit-rows",
            "500",
            "--uipath-jobs",
            "150",
        ],
    )
    .await;
    // Runs fetched again with another status: a merge rewrites their files.
    let first = run(
        &lake,
        &[
            "--format",
            "ndjson",
            "sql",
            "SELECT run_id, start_time FROM aa_bot_runs ORDER BY run_id LIMIT 3",
        ],
    )
    .await;
    let records: Vec<String> = first
        .lines()
        .map(|l| {
            let run: Value = serde_json::from_str(l).unwrap();
            format!(
                r#"{{"id":{},"userName":"again","hostName":"h","fileName":"f.atmx","startTime":{},"status":"STOPPED"}}"#,
                run["run_id"], run["start_time"]
            )
        })
        .collect();
    let page = dir.path().join("again.json");
    std::fs::write(
        &page,
        format!(r#"{{"botRunDataList":[{}]}}"#, records.join(",")),
    )
    .unwrap();
    let page = page.to_str().unwrap();
    run(&lake, &["ingest", "aa-pages", page, "--control-room", "cr"]).await;
    run(&lake, &["compact"]).await;
    run(&lake, &["vacuum", "--retention-hours", "0"]).await;
    let stopped = run(
        &lake,
        &[
            "--format",
            "csv",
            "sql",
            "SELECT count(*) FROM aa_bot_runs WHERE user_name = 'again' AND status = 'STOPPED'",
        ],
    )
    .await;
    assert_eq!(stopped, "count(*)\n3\n");

    // Every table written, with its key.
    let tables: Vec<&botlake_lake::TableDef> = botlake_lake::catalog::tables()
        .into_iter()
        .chain(botlake_lake::catalog::rollups())
        .filter(|t| {
            dir.path()
                .join("lake")
                .join(t.name)
                .join("_delta_log")
                .is_dir()
        })
        .collect();
    assert!(
        tables.len() >= 8,
        "{:?}",
        tables.iter().map(|t| t.name).collect::<Vec<_>>()
    );
    let mut args = vec![
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/delta/read.py")
            .to_str()
            .unwrap()
            .to_string(),
        dir.path().join("lake").to_str().unwrap().to_string(),
    ];
    args.extend(
        tables
            .iter()
            .map(|t| format!("{}={}", t.name, t.key.join(","))),
    );
    let out = std::process::Command::new(python())
        .args(&args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Value = serde_json::from_slice(&out.stdout).unwrap();

    let versions: Vec<Value> = run(&lake, &["--format", "ndjson", "tables"])
        .await
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for t in tables {
        let their = &theirs[t.name];
        // The same columns, partitioned the same way.
        let columns: Vec<String> = run(&lake, &["--format", "ndjson", "describe", t.name])
            .await
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["column"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        let their_columns: Vec<String> = serde_json::from_value(their["columns"].clone()).unwrap();
        assert_eq!(columns, their_columns, "{}", t.name);
        let partitions: Vec<&str> = t.partition.into_iter().collect();
        assert_eq!(
            their["partition_columns"],
            serde_json::json!(partitions),
            "{}",
            t.name
        );
        // The same version, where botlake lists it.
        if let Some(ours) = versions.iter().find(|v| v["table"] == t.name) {
            assert_eq!(ours["version"], their["version"], "{}", t.name);
        }
        // The same rows: as many, as many values in every column, the same keys.
        let counts = columns
            .iter()
            .map(|c| format!("count(\"{c}\") AS \"{c}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let ours: Value = serde_json::from_str(
            run(
                &lake,
                &[
                    "--format",
                    "json",
                    "sql",
                    &format!("SELECT count(*) AS \"*\", {counts} FROM {}", t.name),
                ],
            )
            .await
            .trim(),
        )
        .unwrap();
        let ours = &ours[0];
        assert_eq!(ours["*"], their["rows"], "{}", t.name);
        for c in &columns {
            assert_eq!(ours[c], their["non_null"][c], "{}.{c}", t.name);
        }
        let keys = t.key.join(", ");
        let our_keys = sorted_rows(
            run(
                &lake,
                &[
                    "--format",
                    "ndjson",
                    "sql",
                    &format!("SELECT {keys} FROM {}", t.name),
                ],
            )
            .await
            .lines()
            .map(|l| {
                let row: serde_json::Map<String, Value> = serde_json::from_str(l).unwrap();
                Value::Array(t.key.iter().map(|k| row[*k].clone()).collect())
            }),
        );
        let their_keys = sorted_rows(their["keys"].as_array().unwrap().iter().cloned());
        assert_eq!(our_keys.len(), their_keys.len(), "{}", t.name);
        assert!(our_keys == their_keys, "{}: the keys differ", t.name);
    }
}
