//! Shared helpers: running the real binary, starting the simulator, reading the lake.

use std::path::Path;
use std::process::Output;
use std::sync::Arc;

use botlake_sim::{Dataset, Faults, Server, ServerConfig, SimConfig};
use chrono::NaiveDate;

/// The last day of simulated runs is the day before this.
pub const END: (i32, u32, u32) = (2026, 11, 1);

pub fn end() -> NaiveDate {
    NaiveDate::from_ymd_opt(END.0, END.1, END.2).unwrap()
}

/// A small Control Room: 30 days of `runs` runs ending at [`END`].
pub fn dataset(seed: u64, runs: usize) -> Arc<Dataset> {
    Arc::new(Dataset::generate(SimConfig::new(seed, runs, end())))
}

/// Starts the simulator on a loopback port.
pub async fn sim(data: Arc<Dataset>, config: ServerConfig) -> Server {
    botlake_sim::server::start(data, config, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("the simulator starts")
}

/// Faults at `rate`, with short delays so tests stay quick.
pub fn faults(rate: f64) -> Faults {
    Faults {
        rate,
        retry_after_secs: 1,
        slow: std::time::Duration::from_millis(100),
    }
}

/// Runs `botlake` with `args` and the simulator's password in the environment.
pub async fn botlake(args: &[&str]) -> Output {
    botlake_env(args, &[("BOTLAKE_AA_PASSWORD", "botlake-demo")]).await
}

/// Runs `botlake` with `args` and `env`, with no inherited BOTLAKE_* or AWS_* variables.
pub async fn botlake_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_botlake"));
    for (k, _) in std::env::vars() {
        if k.starts_with("BOTLAKE_") || k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    cmd.args(args).envs(env.iter().copied());
    cmd.output().await.expect("the botlake binary runs")
}

/// `botlake ingest aa-botinsight` against `server` into `lake`, with quick retries and the
/// last fetched day fixed to the simulation's last day.
pub async fn ingest(server: &Server, lake: &str, extra: &[&str]) -> Output {
    let url = server.url();
    let to = (end() - chrono::Duration::days(1)).to_string();
    let mut args = vec![
        "--lake",
        lake,
        "ingest",
        "aa-botinsight",
        "--url",
        &url,
        "--user",
        "botlake",
        "--control-room",
        "test",
        "--to",
        &to,
        "--retry-base-ms",
        "10",
    ];
    if !extra.contains(&"--only") {
        args.extend_from_slice(&["--only", "runs"]);
    }
    args.extend_from_slice(extra);
    botlake(&args).await
}

/// Runs SQL through the binary and returns the CSV rows (without the header).
pub async fn sql(lake: &str, sql: &str) -> Vec<Vec<String>> {
    let out = botlake(&["--lake", lake, "--format", "csv", "sql", sql]).await;
    assert!(out.status.success(), "{sql}: {}", stderr(&out));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

/// Row count, distinct run ids and id sum of `aa_bot_runs`.
pub async fn run_totals(lake: &str) -> (u64, u64, i64) {
    let rows = sql(
        lake,
        "SELECT count(*), count(DISTINCT run_id), coalesce(sum(run_id), 0) FROM aa_bot_runs",
    )
    .await;
    let r = &rows[0];
    (
        r[0].parse().unwrap(),
        r[1].parse().unwrap(),
        r[2].parse().unwrap(),
    )
}

/// Asserts that `aa_bot_runs` holds every run of `truth` exactly once.
pub async fn assert_exactly_once(lake: &str, truth: botlake_sim::Truth) {
    assert_eq!(
        run_totals(lake).await,
        (truth.runs, truth.runs, truth.id_sum),
        "rows, distinct run ids and id sum"
    );
}

/// The lines of a command's standard output, sorted (for answers without a defined order).
pub fn sorted_lines(out: &Output) -> Vec<String> {
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn lake_path(dir: &Path) -> String {
    dir.join("lake").to_str().unwrap().to_string()
}

pub fn config(faults: Faults) -> ServerConfig {
    ServerConfig {
        faults,
        ..ServerConfig::default()
    }
}

/// A test peer `.ci/peers` installs: `$env` if set, else `path` in the clone, which must
/// hold `check` (itself if empty).
pub fn peer(env: &str, path: &str, check: &str) -> std::path::PathBuf {
    if let Some(p) = std::env::var_os(env) {
        return std::path::PathBuf::from(p);
    }
    let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path);
    // Joining "" would add a `/`, which a file does not take.
    let checked = if check.is_empty() {
        p.clone()
    } else {
        p.join(check)
    };
    assert!(
        checked.exists(),
        "{} not found: run `bash .ci/peers` (what .ci/run does) or set {env}",
        checked.display()
    );
    p
}

/// What a terminal showed of `botlake --lake LAKE --format csv sql` with `lines` typed
/// (tests/prompt/drive.py; a line starting with ! is run by the shell instead), with
/// `env` set for both.
pub fn at_the_prompt(lake: &str, env: &[(&str, &str)], lines: &[&str]) -> String {
    let out = std::process::Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/prompt/drive.py"
        ))
        .args([
            env!("CARGO_BIN_EXE_botlake"),
            "--lake",
            lake,
            "--format",
            "csv",
            "sql",
        ])
        .arg("--")
        .args(lines)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{shown}{}", stderr(&out));
    shown
}
