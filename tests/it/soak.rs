//! A crash soak: an ingest killed at random moments again and again, each run going on
//! from the last one's commits, then one whole ingest; the lake must equal a clean
//! reference row for row. Bounded by time: BOTLAKE_SOAK_SECS (default 90) seconds of
//! kills; BOTLAKE_SOAK_SEED picks other moments.

use std::process::Stdio;
use std::time::{Duration, Instant};

use botlake_sim::{ServerConfig, Truth};

use crate::common::*;

/// A SplitMix64 step: the kill moments, reproducible from the seed.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Every run as the lake holds it, but for when it was ingested, in run order.
async fn runs_of(lake: &str) -> Vec<Vec<String>> {
    sql(
        lake,
        "SELECT control_room, run_id, user_name, host_name, file_name, start_time, end_time, \
         status, total_lines, time_taken_ms, success, day FROM aa_bot_runs ORDER BY run_id",
    )
    .await
}

// Regression (issue 28, 11): with a 60-day window and kills every 0.2 to 6 s, the lake
// stayed at 21,996 of 99,735 runs for 38 kills in a row: the cursor moved only once a
// window was done, so every ingest started the window over. Now where the pass stands
// rides in every commit (every 2 s), and each ingest goes on from there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ingest_killed_again_and_again_makes_progress_and_ends_exact() {
    let budget = Duration::from_secs(env_u64("BOTLAKE_SOAK_SECS", 90));
    let mut seed = env_u64("BOTLAKE_SOAK_SEED", 2028);
    let data = dataset(7, 40_000);
    let truth: Truth = data.truth(data.end_time().timestamp_millis());
    // One window of 60 days holds the whole data set, and each page takes 250 ms: a whole
    // ingest takes 10 s or more, longer than any run it is let have.
    let server = sim(
        data,
        ServerConfig {
            page_delay: Duration::from_millis(250),
            faults: faults(0.05),
            ..ServerConfig::default()
        },
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_path(dir.path());
    let started = Instant::now();
    let mut kills = 0;
    let mut finished = 0;
    let mut rows_seen = Vec::new();
    while started.elapsed() < budget {
        let url = server.url();
        let to = (end() - chrono::Duration::days(1)).to_string();
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_botlake"))
            .args([
                "-q",
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
                "--only",
                "runs",
                "--to",
                &to,
                "--window-days",
                "60",
                "--concurrency",
                "1",
                "--commit-secs",
                "1",
                "--retry-base-ms",
                "10",
            ])
            .env("BOTLAKE_AA_PASSWORD", "botlake-demo")
            .env_remove("BOTLAKE_LAKE")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        // Killed after 0.2 to 4.2 s, unless it finishes first. Once a pass is done, the
        // next ingests go over the days held back by runs in progress, and are killed
        // there too.
        let after = Duration::from_millis(200 + next(&mut seed) % 4000);
        match tokio::time::timeout(after, child.wait()).await {
            Ok(status) => {
                let status = status.unwrap();
                let out = child.wait_with_output().await.unwrap();
                assert!(status.success(), "{}", stderr(&out));
                finished += 1;
            }
            Err(_) => {
                child.kill().await.unwrap();
                kills += 1;
            }
        }
        let (rows, distinct, _) = run_totals(&lake).await;
        assert_eq!(rows, distinct, "no run stored twice after kill {kills}");
        rows_seen.push(rows);
    }
    // Progress under kills: every run was in the lake before the kills stopped.
    assert_eq!(
        rows_seen.last().copied(),
        Some(truth.runs),
        "{kills} ingests killed in {budget:?}, {finished} finished: rows after each {rows_seen:?}"
    );
    assert!(
        kills > 0,
        "the first ingest was never cut short: nothing was tried"
    );
    assert!(
        rows_seen.windows(2).all(|w| w[0] <= w[1]),
        "rows went back: {rows_seen:?}"
    );
    eprintln!("{kills} kills, {finished} finished; rows after each: {rows_seen:?}");
    // An ingest let run to its end after the kills (on a loaded machine none of those
    // ingests may have ended within its 0.2 to 4.2 s: each goes over the days held back
    // by runs in progress, then refreshes the rollups) leaves every run exactly once, as
    // a clean ingest does.
    let out = ingest(&server, &lake, &[]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_exactly_once(&lake, truth).await;

    let clean = lake_path(&dir.path().join("clean"));
    let out = ingest(
        &server,
        &clean,
        &["--window-days", "60", "--concurrency", "8"],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(runs_of(&lake).await, runs_of(&clean).await);
    server.stop().await.unwrap();
}
