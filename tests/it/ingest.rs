//! Bot Insight ingest through the real binary against the simulator: exactly once under
//! faults, incremental, status updates, pagination modes, rejects and crashes.

use std::sync::atomic::Ordering;

use botlake_sim::{Pagination, ServerConfig};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_still_land_every_run_exactly_once_and_a_rerun_adds_nothing() {
    let data = dataset(7, 20_000);
    let truth = data.truth(data.end_time().timestamp_millis());
    let server = sim(data, config(faults(0.2))).await;
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_path(dir.path());

    // 7-day windows make several windows; 30-odd pages each get 20 % faults.
    let out = ingest(
        &server,
        &lake,
        &["--from", "2026-09-25", "--window-days", "7"],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        server.stats().faults.load(Ordering::Relaxed) > 3,
        "faults were injected"
    );
    assert_exactly_once(&lake, truth).await;
    assert!(
        stderr(&out).contains(&format!("{} new, 0 updated", truth.runs)),
        "{}",
        stderr(&out)
    );

    // The same window again: every run is already there as it is.
    let out = ingest(
        &server,
        &lake,
        &["--from", "2026-09-25", "--window-days", "7"],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(" 0 new, 0 updated"),
        "{}",
        stderr(&out)
    );
    assert_exactly_once(&lake, truth).await;
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_runs_replace_their_in_progress_rows_from_the_stored_cursor() {
    let data = dataset(11, 4000);
    let end = data.end_time();
    let earlier = end - chrono::Duration::hours(5);
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_path(dir.path());

    let server = sim(
        data.clone(),
        ServerConfig {
            now: Some(earlier),
            ..ServerConfig::default()
        },
    )
    .await;
    let out = ingest(&server, &lake, &["--from", "2026-10-01"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    server.stop().await.unwrap();
    let before = data.truth(earlier.timestamp_millis());
    let in_progress = sql(
        &lake,
        "SELECT count(*) FROM aa_bot_runs WHERE status = 'IN_PROGRESS'",
    )
    .await;
    assert_eq!(in_progress[0][0], before.in_progress.to_string());

    // The clock moves on: no --from, so the ingest starts from the stored cursor.
    let server = sim(
        data.clone(),
        ServerConfig {
            now: Some(end),
            ..ServerConfig::default()
        },
    )
    .await;
    let out = ingest(&server, &lake, &[]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    server.stop().await.unwrap();
    let after = data.truth(end.timestamp_millis());
    assert_exactly_once(&lake, after).await;
    let in_progress = sql(
        &lake,
        "SELECT count(*) FROM aa_bot_runs WHERE status = 'IN_PROGRESS'",
    )
    .await;
    assert_eq!(in_progress[0][0], after.in_progress.to_string());
    let err = stderr(&out);
    let updated: u64 = err
        .split(" updated")
        .next()
        .and_then(|s| s.rsplit(", ").next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no updated count in {err}"));
    assert!(updated > 0, "in-progress runs were updated: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_number_pagination_works_when_told_and_fails_loudly_when_not() {
    let data = dataset(3, 3500);
    let truth = data.truth(data.end_time().timestamp_millis());
    let server = sim(
        data,
        ServerConfig {
            pagination: Pagination::Page,
            ..ServerConfig::default()
        },
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_path(dir.path());

    let out = ingest(&server, &lake, &["--from", "2026-09-25"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("totalRecords is"), "{err}");
    assert!(err.contains("try --pagination page"), "{err}");

    let out = ingest(
        &server,
        &lake,
        &["--from", "2026-09-25", "--pagination", "page"],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_exactly_once(&lake, truth).await;
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_that_do_not_fit_are_kept_in_rejected_records_once() {
    let data = dataset(5, 2500);
    let now = data.end_time().timestamp_millis();
    let truth = data.truth(now);
    let bad = (truth.runs / 97) as usize;
    let server = sim(
        data,
        ServerConfig {
            bad_record_every: Some(97),
            ..ServerConfig::default()
        },
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_path(dir.path());
    for _ in 0..2 {
        let out = ingest(&server, &lake, &["--from", "2026-09-25"]).await;
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("{bad} rejected")),
            "{}",
            stderr(&out)
        );
        let rows = sql(
            &lake,
            "SELECT count(*), min(reason), min(table_name) FROM rejected_records",
        )
        .await;
        assert_eq!(rows[0][0], bad.to_string());
        assert!(rows[0][1].contains("startTime"), "{:?}", rows[0]);
        assert_eq!(rows[0][2], "aa_bot_runs");
        let (n, distinct, _) = run_totals(&lake).await;
        assert_eq!(
            (n, distinct),
            (truth.runs - bad as u64, truth.runs - bad as u64)
        );
    }
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_sent_in_windows_1252_are_rejected_with_their_bytes_and_the_rest_lands() {
    let data = dataset(6, 2500);
    let truth = data.truth(data.end_time().timestamp_millis());
    let bad = (truth.runs / 89) as usize;
    // With faults, truncated pages among them: a mended page cut short is retried.
    let server = sim(
        data,
        ServerConfig {
            cp1252_every: Some(89),
            faults: faults(0.2),
            ..ServerConfig::default()
        },
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_path(dir.path());
    for _ in 0..2 {
        let out = ingest(&server, &lake, &["--from", "2026-09-25"]).await;
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        let rows = sql(
            &lake,
            r#"SELECT count(*), min(reason), min(table_name),
                      sum(CASE WHEN strpos(raw, '"firstName":"Jos\xE9"') > 0 THEN 1 ELSE 0 END)
               FROM rejected_records"#,
        )
        .await;
        assert_eq!(rows[0][0], bad.to_string(), "{rows:?}");
        assert!(rows[0][1].starts_with("not UTF-8: bytes 0xE9"), "{rows:?}");
        assert_eq!(rows[0][2], "aa_bot_runs");
        assert_eq!(rows[0][3], bad.to_string(), "{rows:?}");
        let (n, distinct, _) = run_totals(&lake).await;
        assert_eq!(
            (n, distinct),
            (truth.runs - bad as u64, truth.runs - bad as u64)
        );
    }
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_ingest_loses_and_duplicates_nothing_on_the_next_run() {
    let data = dataset(13, 20_000);
    let truth = data.truth(data.end_time().timestamp_millis());
    // Commits of 500 rows make about 40 commits: plenty of moments to kill it in.
    let server = sim(data, ServerConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_path(dir.path());
    let log = std::path::Path::new(&lake).join("aa_bot_runs/_delta_log");
    let url = server.url();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_botlake"))
        .args([
            "--lake",
            &lake,
            "ingest",
            "aa-botinsight",
            "--url",
            &url,
            "--user",
            "botlake",
            "--control-room",
            "test",
            "--from",
            "2026-09-25",
            "--to",
            "2026-10-31",
            "--commit-rows",
            "500",
            "--concurrency",
            "1",
            "--max-attempts",
            "100",
            "--retry-base-ms",
            "10",
        ])
        .env("BOTLAKE_AA_PASSWORD", "botlake-demo")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once a few commits have landed.
    let commits = || {
        std::fs::read_dir(&log)
            .map(|d| {
                d.filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .path()
                        .extension()
                        .is_some_and(|x| x == "json")
                })
                .count()
            })
            .unwrap_or(0)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while commits() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "no commits within 120 s"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the ingest ended before it was killed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    let (partial, distinct, _) = run_totals(&lake).await;
    assert_eq!(partial, distinct, "no duplicates after the kill");
    assert!(partial < truth.runs, "the kill came before the end");

    let out = ingest(&server, &lake, &[]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_exactly_once(&lake, truth).await;
    server.stop().await.unwrap();
}
