//! The CLI's surface: errors a user can cause, their exit codes, and output formats.

use botlake_sim::ServerConfig;

use crate::common::*;

/// Replaces the temporary directory in messages, so snapshots are stable.
fn redact(text: &str, dir: &std::path::Path) -> String {
    text.replace(dir.to_str().unwrap(), "[TMP]")
}

/// A lake with the simulator's runs in it.
async fn demo_lake(dir: &std::path::Path) -> String {
    let lake = lake_path(dir);
    let server = sim(dataset(1, 1500), ServerConfig::default()).await;
    let out = ingest(&server, &lake, &["--from", "2026-10-01"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    server.stop().await.unwrap();
    lake
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_mistakes_exit_with_2_and_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let lake = demo_lake(dir.path()).await;
    let missing = dir.path().join("missing").to_str().unwrap().to_string();
    let cases: [(&str, Vec<&str>); 7] = [
        ("unknown_view", vec!["--lake", &lake, "query", "nope"]),
        ("bad_sql", vec!["--lake", &lake, "sql", "SELEC 1"]),
        (
            "unknown_column",
            vec!["--lake", &lake, "sql", "SELECT nope FROM aa_bot_runs"],
        ),
        (
            "missing_lake",
            vec!["--lake", &missing, "query", "kpi_daily"],
        ),
        ("no_lake_given", vec!["query", "kpi_daily"]),
        (
            "bad_param",
            vec![
                "--lake",
                &lake,
                "query",
                "bot_ranking",
                "--param",
                "min_runs=ten",
            ],
        ),
        (
            "unknown_param",
            vec!["--lake", &lake, "query", "kpi_daily", "--param", "bot=x"],
        ),
    ];
    for (name, args) in cases {
        let out = botlake(&args).await;
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{name}: nothing on stdout");
        insta::assert_snapshot!(name, redact(&stderr(&out), dir.path()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_login_names_the_user_and_never_the_secret() {
    let server = sim(dataset(1, 100), ServerConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_path(dir.path());
    let secret = "Sup3r-Secret\\Value";
    let url = server.url();
    let out = botlake_env(
        &[
            "-vv",
            "--lake",
            &lake,
            "ingest",
            "aa-botinsight",
            "--url",
            &url,
            "--user",
            "botlake",
            "--from",
            "2026-10-01",
            "--to",
            "2026-10-31",
        ],
        &[("BOTLAKE_AA_PASSWORD", secret)],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(all.contains("login as botlake refused"), "{all}");
    assert!(!all.contains("Sup3r"), "the secret leaked: {all}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_formats_and_named_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let lake = demo_lake(dir.path()).await;

    // kpi_by_bot's numbers agree with the raw table.
    let bots = sql(&lake, "SELECT sum(runs), sum(failed) FROM kpi_by_bot").await;
    let raw = sql(
        &lake,
        "SELECT count(*), sum(CASE WHEN status = 'FAILED' THEN 1 ELSE 0 END) FROM aa_bot_runs",
    )
    .await;
    assert_eq!(bots, raw);

    let out = botlake(&["--lake", &lake, "--format", "json", "query", "kpi_daily"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json.as_array().is_some_and(|a| !a.is_empty()));

    let out = botlake(&[
        "--lake",
        &lake,
        "--format",
        "ndjson",
        "query",
        "kpi_by_host",
    ])
    .await;
    let lines = String::from_utf8(out.stdout).unwrap();
    assert!(
        lines
            .lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
    );

    // A higher threshold leaves fewer bots with a failure-rate rank.
    let ranked = |min: &'static str| {
        let lake = lake.clone();
        async move {
            let out = botlake(&[
                "--lake",
                &lake,
                "--format",
                "csv",
                "query",
                "bot_ranking",
                "--param",
                &format!("min_runs={min}"),
            ])
            .await;
            assert!(out.status.success(), "{}", stderr(&out));
            String::from_utf8(out.stdout)
                .unwrap()
                .lines()
                .skip(1)
                .filter(|l| !l.ends_with(','))
                .count()
        }
    };
    assert!(ranked("1").await > ranked("100").await);

    let file = dir.path().join("runs.parquet");
    let out = botlake(&[
        "--lake",
        &lake,
        "--format",
        "parquet",
        "-o",
        file.to_str().unwrap(),
        "query",
        "runs",
    ])
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let back = sql(
        &lake,
        &format!("SELECT count(*) FROM '{}'", file.to_str().unwrap()),
    )
    .await;
    let runs = sql(&lake, "SELECT count(*) FROM runs").await;
    assert_eq!(back, runs);

    let script = dir.path().join("two.sql");
    std::fs::write(&script, "SELECT 1 AS a;\nSELECT 2 AS b;").unwrap();
    let out = botlake(&[
        "--lake",
        &lake,
        "--format",
        "csv",
        "sql",
        "-f",
        script.to_str().unwrap(),
    ])
    .await;
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "a\n1\nb\n2\n");
}
