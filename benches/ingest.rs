//! Ingest benchmark: Bot Insight `getbotrundata` pages (JSON) into Parquet partitioned by
//! day, by botlake (`botlake ingest aa-pages`: committed Delta rows, upserted by key), DuckDB
//! (`read_json` with declared columns + `COPY ... (FORMAT parquet, PARTITION_BY day)`) and
//! pyarrow (`read_json` + `write_dataset`), on the same pages in the same run.
//!
//! `cargo bench --bench ingest`. The pages come from `botlake sim pages` (written once per
//! size into `BOTLAKE_BENCH_DIR`, default `target/bench`: 1000 runs a page, 100 pages a file);
//! the peers from the virtualenv of `benches/compare/setup.sh`. Every engine runs in a
//! fresh process limited to 2 threads, into an empty directory, `BOTLAKE_BENCH_REPS` (3)
//! times, alternated between engines; the fastest run is kept, peak RSS is the highest of
//! all runs (the process's VmHWM, polled every 5 ms). `botlake` is `--no-rollups` (pages to
//! committed rows, as the peers); `botlake+rollups` also brings the rollups up to date, as
//! `botlake ingest` does by default. botlake also runs once more over its own output
//! ("again"): every row arrives a second time, is matched by key and left alone.
//! Each engine's rows are counted after its run and must equal the runs generated.
//!
//! Settings: `BOTLAKE_BENCH_RUNS` (1,000,000), `BOTLAKE_BENCH_REPS` (3),
//! `BOTLAKE_BENCH_ENGINES` (`duckdb,pyarrow`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

#[path = "common/mod.rs"]
mod common;
use common::{ROOT, env_or, machine, python};

const BOTLAKE: &str = env!("CARGO_BIN_EXE_botlake");

/// One run of one engine.
#[derive(Debug, Clone, Serialize)]
struct Measure {
    secs: f64,
    peak_rss_mb: f64,
    rows: u64,
    disk_mb: f64,
}

#[derive(Serialize)]
struct Report {
    runs: u64,
    files: usize,
    json_mb: f64,
    machine: String,
    reps: usize,
    /// Per engine: the fastest run, with the highest peak RSS of all its runs.
    engines: Vec<(String, Measure)>,
}

/// Runs `command` to its end; its wall time and peak resident memory.
fn measure(mut command: Command) -> (Duration, f64, String) {
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the engine starts");
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0f64;
    let status = loop {
        if let Some(line) = std::fs::read_to_string(&status_path).ok().and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(String::from)
        }) {
            let kb: f64 = line
                .split_whitespace()
                .nth(1)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0);
            peak_kb = peak_kb.max(kb);
        }
        if let Some(status) = child.try_wait().expect("the engine can be waited for") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = started.elapsed();
    let output = child.wait_with_output().expect("the engine's output");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        status.success(),
        "the engine failed: {}\n{}",
        stdout,
        String::from_utf8_lossy(&output.stderr)
    );
    (elapsed, peak_kb / 1024.0, stdout)
}

fn disk_bytes(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => disk_bytes(&e.path()),
            _ => e.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}

fn botlake_rows(lake: &Path) -> u64 {
    let out = Command::new(BOTLAKE)
        .arg("--lake")
        .arg(lake)
        .args([
            "sql",
            "--format",
            "csv",
            "SELECT count(*) AS n FROM aa_bot_runs",
        ])
        .output()
        .expect("botlake runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("a count, got {text}"))
}

/// One ingest of `files` by `engine` into `out`.
fn run(engine: &str, out: &Path, files: &[PathBuf], again: bool) -> Measure {
    if !again {
        let _ = std::fs::remove_dir_all(out);
    }
    let command = if engine.starts_with("botlake") {
        let mut c = Command::new(BOTLAKE);
        c.arg("--lake").arg(out);
        if engine == "botlake" {
            // Pages to committed rows, as the peers do; `botlake+rollups` also brings the
            // rollups up to date, as `botlake ingest` does by default.
            c.arg("--no-rollups");
        }
        c.args(["ingest", "aa-pages", "--control-room", "bench"])
            .args(files);
        c
    } else {
        let mut c = Command::new(python());
        c.arg(Path::new(ROOT).join("benches/compare/ingest_peer.py"))
            .arg(engine)
            .arg(out)
            .args(files);
        c
    };
    let (elapsed, peak_rss_mb, stdout) = measure(command);
    let rows = if engine.starts_with("botlake") {
        botlake_rows(out)
    } else {
        let v: serde_json::Value = serde_json::from_str(stdout.trim()).expect("the peer's JSON");
        v["rows"].as_u64().expect("a row count")
    };
    Measure {
        secs: elapsed.as_secs_f64(),
        peak_rss_mb,
        rows,
        disk_mb: disk_bytes(out) as f64 / 1e6,
    }
}

fn main() {
    let runs: u64 = env_or("BOTLAKE_BENCH_RUNS", 1_000_000);
    let reps: usize = env_or::<usize>("BOTLAKE_BENCH_REPS", 3).max(1);
    let dir = common::bench_dir();
    let pages = dir.join(format!("pages-{runs}"));
    if !pages.join("complete").exists() {
        eprintln!("writing {runs} runs as pages into {}", pages.display());
        let _ = std::fs::remove_dir_all(&pages);
        let status = Command::new(BOTLAKE)
            .args([
                "sim",
                "pages",
                "--end",
                "2026-11-01",
                "--runs",
                &runs.to_string(),
            ])
            .arg("--out")
            .arg(&pages)
            .status()
            .expect("botlake runs");
        assert!(status.success(), "botlake sim pages failed");
        std::fs::write(pages.join("complete"), b"").unwrap();
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&pages)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let json_mb = files
        .iter()
        .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
        .sum::<u64>() as f64
        / 1e6;

    let mut engines = vec!["botlake".to_string(), "botlake+rollups".to_string()];
    engines.extend(
        std::env::var("BOTLAKE_BENCH_ENGINES")
            .unwrap_or_else(|_| "duckdb,pyarrow".into())
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    );
    let mut best: Vec<Option<Measure>> = vec![None; engines.len()];
    for rep in 0..reps {
        for (i, engine) in engines.iter().enumerate() {
            let out = dir.join(format!("ingest-out-{engine}"));
            let m = run(engine, &out, &files, false);
            eprintln!(
                "run {}/{reps} {engine}: {:.2} s, peak RSS {:.0} MB, {} rows",
                rep + 1,
                m.secs,
                m.peak_rss_mb,
                m.rows
            );
            assert_eq!(m.rows, runs, "{engine} wrote {} rows of {runs}", m.rows);
            best[i] = Some(match best[i].take() {
                None => m,
                Some(b) => Measure {
                    peak_rss_mb: b.peak_rss_mb.max(m.peak_rss_mb),
                    ..if m.secs < b.secs { m } else { b }
                },
            });
        }
    }
    let again = run("botlake", &dir.join("ingest-out-botlake"), &files, true);
    assert_eq!(
        again.rows, runs,
        "the second botlake ingest changed the row count"
    );
    let mut results: Vec<(String, Measure)> = engines
        .iter()
        .cloned()
        .zip(best.into_iter().map(|m| m.expect("measured")))
        .collect();
    results.insert(2, ("botlake (again, all unchanged)".into(), again));

    let ours = results[0].1.secs;
    println!(
        "\n{runs} runs on {} pages in {} files ({json_mb:.0} MB of JSON), {}; best of {reps} \
         runs per engine, peak RSS the highest\n",
        runs.div_ceil(1000),
        files.len(),
        machine()
    );
    println!(
        "| engine | wall s | rows/s | MB/s of JSON | peak RSS MB | on disk MB | botlake ÷ engine |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (engine, m) in &results {
        let ratio = if engine.starts_with("botlake") {
            String::new()
        } else {
            format!("{:.2}", ours / m.secs)
        };
        println!(
            "| {engine} | {:.2} | {:.0} | {:.0} | {:.0} | {:.0} | {ratio} |",
            m.secs,
            runs as f64 / m.secs,
            json_mb / m.secs,
            m.peak_rss_mb,
            m.disk_mb,
        );
    }
    let report = Report {
        runs,
        files: files.len(),
        json_mb,
        machine: machine(),
        reps,
        engines: results,
    };
    let json = dir.join(format!("ingest-{runs}.json"));
    std::fs::write(&json, serde_json::to_vec_pretty(&report).unwrap()).unwrap();
    eprintln!("\nwritten to {}", json.display());
}
