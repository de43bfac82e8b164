//! What the comparison benches share: settings from the environment, the peers'
//! virtualenv, and a description of the machine.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The allocator of the `botlake` binary, so that what a bench times in process is what a
/// user's `botlake` does.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The workspace root.
pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The environment variable `name` parsed, or `default`.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Where a bench keeps its data sets and reports: `BOTLAKE_BENCH_DIR`, default `target/bench`.
pub fn bench_dir() -> PathBuf {
    std::env::var("BOTLAKE_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(ROOT).join("target/bench"))
}

/// The Python of the peers' virtualenv, set up by `benches/compare/setup.sh` if needed.
pub fn python() -> PathBuf {
    let dir = Path::new(ROOT).join("benches/compare");
    let python = dir.join(".venv/bin/python");
    let ok = python.exists()
        && Command::new(&python)
            .args(["-c", "import duckdb, polars, pyarrow"])
            .status()
            .is_ok_and(|s| s.success());
    if !ok {
        let status = Command::new("bash")
            .arg(dir.join("setup.sh"))
            .status()
            .expect("bash runs");
        assert!(status.success(), "benches/compare/setup.sh failed");
    }
    python
}

/// Threads of botlake's in-process runtime: the peers' limit, which `compare/peer.py` sets
/// (DuckDB's `threads`, `POLARS_MAX_THREADS`).
#[allow(dead_code)]
pub const THREADS: usize = 2;

/// botlake's async runtime, limited to [`THREADS`] workers as the peers are. (The ingest
/// bench runs the `botlake` binary instead.)
#[allow(dead_code)]
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(THREADS)
        .enable_all()
        .build()
        .expect("the runtime starts")
}

/// Cores and CPU model.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores, {cpu}")
}
