//! botlake against DuckDB and Polars, side by side in one run, over the same Parquet files.
//!
//! `cargo bench --bench compare`. The lake comes from `botlake sim gen` (generated once per
//! size into `BOTLAKE_BENCH_DIR`, default `target/bench`), the peers from PyPI into a
//! virtualenv by `benches/compare/setup.sh` (run here if needed). Every built-in view and the
//! stress queries of `benches/compare/stress/` run on each engine, limited to 2 threads:
//!
//! - results first: each engine's answer is compared with botlake's (rows in any order,
//!   numbers to 10 significant digits, rounded numbers to one unit of their last decimal,
//!   counted as rounding ties); a difference is reported, never hidden;
//! - hot: `BOTLAKE_BENCH_REPS` (5) runs per engine, alternated between engines, best kept;
//! - cold: `BOTLAKE_BENCH_COLD_REPS` (3) runs per engine, each in a fresh process, the clock
//!   covering opening the tables, alternated between engines, median kept.
//!
//! It prints the times, the botlake ÷ peer ratios and their geometric mean (ClickBench's
//! method: each time + 10 ms), and writes them as JSON beside the lake. Views that a peer
//! cannot run as written use its variant from `benches/compare/<engine>/`, marked †.
//!
//! Settings: `BOTLAKE_BENCH_RUNS` (1,000,000), `BOTLAKE_BENCH_LAKE` (an existing lake
//! instead), `BOTLAKE_BENCH_ENGINES` (`duckdb,polars`), `BOTLAKE_BENCH_ONLY` (query names),
//! `BOTLAKE_BENCH_COLD` (`0` skips cold runs), `BOTLAKE_BENCH_ROLLUPS` (`1`: botlake brings
//! the rollups up to date, timed, and answers from them; the peers still read raw rows),
//! `BOTLAKE_BENCH_MEMORY` (botlake's memory limit, as `--memory-limit` takes it: `4G`).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use botlake_lake::{Lake, catalog};
use botlake_query::{QueryDef, Session, SessionOptions};
use datafusion::arrow::array::{Array, ArrayRef, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use serde::{Deserialize, Serialize};

#[path = "common/mod.rs"]
mod common;
use common::{ROOT, env_or, machine, python};

/// One query: a built-in view (its file's SQL) or a stress query.
struct Query {
    name: String,
    sql: String,
    path: PathBuf,
}

fn queries(session: &Session) -> Vec<Query> {
    queries_of(session.queries())
}

/// The views of `defs` and the stress queries, by name.
fn queries_of(defs: &[QueryDef]) -> Vec<Query> {
    let mut out: Vec<Query> = defs
        .iter()
        .map(|q| Query {
            name: q.name.clone(),
            sql: q.sql.clone(),
            path: Path::new(ROOT)
                .join("queries")
                .join(format!("{}.sql", q.name)),
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    let dir = Path::new(ROOT).join("benches/compare/stress");
    let mut stress: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("benches/compare/stress exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    stress.sort();
    for path in stress {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let sql = std::fs::read_to_string(&path).unwrap();
        out.push(Query { name, sql, path });
    }
    out
}

/// The queries BOTLAKE_BENCH_ONLY names, or all.
fn timed(all: &[Query]) -> Vec<&Query> {
    let only = std::env::var("BOTLAKE_BENCH_ONLY").ok();
    let only: Option<Vec<&str>> = only.as_deref().map(|o| o.split(',').collect());
    all.iter()
        .filter(|q| only.as_ref().is_none_or(|o| o.contains(&q.name.as_str())))
        .collect()
}

/// botlake's session options from the environment: raw rows unless BOTLAKE_BENCH_ROLLUPS=1.
fn options() -> SessionOptions {
    let memory_limit = std::env::var("BOTLAKE_BENCH_MEMORY")
        .ok()
        .map(|v| botlake_query::parse_size(&v).expect("BOTLAKE_BENCH_MEMORY is a size such as 4G"));
    SessionOptions {
        rollups: env_or::<u8>("BOTLAKE_BENCH_ROLLUPS", 0) == 1,
        memory_limit,
        ..SessionOptions::default()
    }
}

/// What the peers need to see the lake as botlake does.
#[derive(Serialize)]
struct Manifest {
    tables: BTreeMap<String, ManifestTable>,
    /// Views in an order that puts each after the views it reads.
    views: Vec<String>,
    sql: BTreeMap<String, String>,
    params: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct ManifestTable {
    files: Vec<String>,
    partitioned: bool,
}

async fn manifest(lake: &Lake, session: &Session, queries: &[Query]) -> Manifest {
    let mut tables = BTreeMap::new();
    for t in catalog::tables() {
        let files = lake
            .files(t)
            .await
            .expect("the table's files are listed")
            .into_iter()
            .map(|u| match url::Url::parse(&u) {
                Ok(url) if url.scheme() == "file" => {
                    url.to_file_path().unwrap().to_string_lossy().to_string()
                }
                _ => u,
            })
            .collect();
        tables.insert(
            t.name.to_string(),
            ManifestTable {
                files,
                partitioned: t.partition.is_some(),
            },
        );
    }
    // Views that others read come first.
    let first = [
        "uipath_jobs",
        "uipath_queue_items",
        "runs",
        "runs_bot_day",
        "runs_host_day",
        "task_log_values",
    ];
    let mut views: Vec<String> = first.iter().map(|s| s.to_string()).collect();
    let mut rest: Vec<String> = session
        .queries()
        .iter()
        .map(|q| q.name.clone())
        .filter(|n| !first.contains(&n.as_str()))
        .collect();
    rest.sort();
    views.extend(rest);
    let sql = queries
        .iter()
        .map(|q| (q.name.clone(), q.path.to_string_lossy().to_string()))
        .collect();
    let mut params = BTreeMap::new();
    for q in session.queries() {
        for p in &q.params {
            params.insert(p.name.clone(), p.default.to_string());
        }
    }
    Manifest {
        tables,
        views,
        sql,
        params,
    }
}

#[derive(Deserialize, Serialize, Clone, Debug, Default)]
struct Reply {
    ms: Option<f64>,
    rows: Option<u64>,
    error: Option<String>,
    #[serde(default)]
    variant: bool,
}

/// A peer engine in its own Python process, answering runs on stdin.
struct Peer {
    engine: String,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

fn peer_script() -> PathBuf {
    Path::new(ROOT).join("benches/compare/peer.py")
}

impl Peer {
    fn start(engine: &str, manifest: &Path) -> Peer {
        let mut child = Command::new(python())
            .arg(peer_script())
            .args([engine, manifest.to_str().unwrap(), "serve"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the peer starts");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert!(line.contains("ready"), "{engine} did not start: {line:?}");
        Peer {
            engine: engine.to_string(),
            child,
            stdin,
            stdout,
        }
    }

    fn run(&mut self, name: &str, out: Option<&Path>) -> Reply {
        let out = out.map(|p| p.to_str().unwrap()).unwrap_or_default();
        writeln!(self.stdin, "run {name} {out}").unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("{}: unreadable answer {line:?}: {e}", self.engine))
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn run_botlake(session: &Session, q: &Query) -> (f64, Vec<RecordBatch>) {
    let started = Instant::now();
    let df = match session.query(&q.name, &[]).await {
        Ok(df) => df,
        Err(_) => session.sql(&q.sql).await.expect("the stress query plans"),
    };
    let batches = df.collect().await.expect("the query runs");
    (started.elapsed().as_secs_f64() * 1000.0, batches)
}

/// A column as comparable text: numbers as their shortest text, times as microseconds.
fn column_text(array: &ArrayRef) -> Vec<String> {
    let n = array.len();
    let text = |a: &ArrayRef| -> Vec<String> {
        let f = ArrayFormatter::try_new(a.as_ref(), &FormatOptions::default()).unwrap();
        (0..n)
            .map(|i| {
                if a.is_null(i) {
                    "NULL".to_string()
                } else {
                    f.value(i).to_string()
                }
            })
            .collect()
    };
    match array.data_type() {
        t if t.is_numeric() => {
            let a = cast(array, &DataType::Float64).unwrap();
            let a = a
                .as_any()
                .downcast_ref::<datafusion::arrow::array::Float64Array>()
                .unwrap();
            (0..n)
                .map(|i| {
                    if a.is_null(i) {
                        return "NULL".to_string();
                    }
                    let v = a.value(i);
                    if v.fract() == 0.0 && v.abs() < 1e15 {
                        format!("{}", v as i64)
                    } else {
                        // Shortest text that reads back as the same number: a rounded
                        // value keeps its few decimals, which `same_number` relies on.
                        format!("{v}")
                    }
                })
                .collect()
        }
        DataType::Timestamp(..) => {
            let a = cast(array, &DataType::Timestamp(TimeUnit::Microsecond, None)).unwrap();
            text(&cast(&a, &DataType::Int64).unwrap())
        }
        DataType::Utf8View | DataType::LargeUtf8 | DataType::Dictionary(..) => {
            text(&cast(array, &DataType::Utf8).unwrap())
        }
        _ => text(array),
    }
}

/// Column names and sorted rows of a result, for comparing engines.
fn canonical(batches: &[RecordBatch]) -> (Vec<String>, Vec<String>) {
    let mut names = Vec::new();
    let mut rows = Vec::new();
    for b in batches {
        if names.is_empty() {
            names = b
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().to_lowercase())
                .collect();
        }
        let columns: Vec<Vec<String>> = b.columns().iter().map(column_text).collect();
        for i in 0..b.num_rows() {
            rows.push(
                columns
                    .iter()
                    .map(|c| c[i].as_str())
                    .collect::<Vec<_>>()
                    .join(" | "),
            );
        }
    }
    rows.sort();
    (names, rows)
}

fn read_ipc(path: &Path) -> Vec<RecordBatch> {
    let file = std::fs::File::open(path).unwrap();
    datafusion::arrow::ipc::reader::FileReader::try_new(file, None)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Digits after the decimal point of a number as text, if it is short (a rounded value).
fn decimals(text: &str) -> Option<i32> {
    let d = text.split_once('.').map_or(0, |(_, f)| f.len());
    (d <= 6 && !text.contains('e')).then_some(d as i32)
}

/// Whether two cells hold the same number: equal to 10 significant digits, or rounded
/// values one unit apart in their last decimal. The second is a rounding tie: the value
/// sits on the .5 boundary and the engines round it differently (half away from zero or
/// half to even), or their float sums land on either side of it.
fn same_number(a: &str, b: &str) -> Option<bool> {
    let (x, y) = (a.parse::<f64>().ok()?, b.parse::<f64>().ok()?);
    if (x - y).abs() <= 1e-10 * x.abs().max(y.abs()) {
        return Some(true);
    }
    let d = decimals(a)?.max(decimals(b)?);
    Some((x - y).abs() <= 10f64.powi(-d) * (1.0 + 1e-9))
}

fn compare(ours: &(Vec<String>, Vec<String>), theirs: &(Vec<String>, Vec<String>)) -> String {
    if !theirs.0.is_empty() && ours.0 != theirs.0 {
        return format!("columns differ: {:?} vs {:?}", ours.0, theirs.0);
    }
    if ours.1.len() != theirs.1.len() {
        return format!("{} rows vs {}", ours.1.len(), theirs.1.len());
    }
    let mut ties = 0;
    let mut differing = Vec::new();
    for (a, b) in ours.1.iter().zip(&theirs.1).filter(|(a, b)| a != b) {
        let cells = a.split(" | ").zip(b.split(" | ")).filter(|(x, y)| x != y);
        if cells
            .map(|(x, y)| same_number(x, y))
            .all(|s| s == Some(true))
        {
            ties += 1;
        } else {
            differing.push((a, b));
        }
    }
    match (differing.first(), ties) {
        (None, 0) => "same".to_string(),
        (None, t) => format!("same (in {t} rows a rounding tie went the other way)"),
        (Some((a, b)), _) => format!("{} rows differ, first: {a} vs {b}", differing.len()),
    }
}

#[derive(Serialize, Default, Clone)]
struct Cell {
    hot_ms: Option<f64>,
    cold_ms: Option<f64>,
    variant: bool,
    error: Option<String>,
    results: String,
}

#[derive(Serialize)]
struct Report {
    runs: u64,
    lake: String,
    machine: String,
    reps: usize,
    cold_reps: usize,
    engines: Vec<String>,
    /// Whether botlake answered from its rollups (the peers always read raw rows).
    rollups: bool,
    /// Seconds each rollup took to bring up to date before the runs.
    rollup_refresh: Vec<(String, f64)>,
    /// botlake's memory limit in bytes.
    memory_limit: Option<usize>,
    queries: BTreeMap<String, BTreeMap<String, Cell>>,
}

fn cold_botlake(lake: &str, name: &str) {
    let rt = common::runtime();
    rt.block_on(async {
        let started = Instant::now();
        let lake = Lake::parse(lake).unwrap();
        let q = queries_of(&QueryDef::builtin())
            .into_iter()
            .find(|q| q.name == name)
            .expect("a known query");
        // As `botlake query` opens it: the tables the query reads.
        let session = Session::open_for(&lake, &[], &options(), &q.sql)
            .await
            .unwrap();
        let _ = run_botlake(&session, &q).await;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        println!("{}", serde_json::json!({ "ms": ms }));
    });
}

fn cold_run(engine: &str, lake: &str, manifest: &Path, name: &str) -> Reply {
    let out = if engine == "botlake" {
        Command::new(std::env::current_exe().unwrap())
            .args(["--cold-botlake", lake, name])
            .output()
    } else {
        Command::new(python())
            .arg(peer_script())
            .args([engine, manifest.to_str().unwrap(), "cold", name])
            .output()
    }
    .expect("the cold run starts");
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|_| Reply {
        error: Some(format!(
            "cold run failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        )),
        ..Reply::default()
    })
}

fn fmt_ms(cell: &Cell, hot: bool) -> String {
    let ms = if hot { cell.hot_ms } else { cell.cold_ms };
    match ms {
        Some(ms) => format!("{ms:.0}{}", if cell.variant { " †" } else { "" }),
        None => "n/a".to_string(),
    }
}

fn ratio(ours: Option<f64>, theirs: Option<f64>) -> Option<f64> {
    Some((ours? + 10.0) / (theirs? + 10.0))
}

fn geomean(ratios: &[f64]) -> Option<f64> {
    (!ratios.is_empty())
        .then(|| (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64).exp())
}

fn table(report: &Report, hot: bool) -> String {
    let peers = &report.engines[1..];
    let mut s = String::new();
    s.push_str("| query | botlake ms |");
    for p in peers {
        s.push_str(&format!(" {p} ms |"));
    }
    for p in peers {
        s.push_str(&format!(" botlake ÷ {p} |"));
    }
    s.push('\n');
    s.push_str(&"|---".repeat(2 + 2 * peers.len()));
    s.push_str("|\n");
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); peers.len()];
    for (name, cells) in &report.queries {
        let ours = &cells["botlake"];
        let pick = |c: &Cell| if hot { c.hot_ms } else { c.cold_ms };
        s.push_str(&format!("| {name} | {} |", fmt_ms(ours, hot)));
        for p in peers {
            s.push_str(&format!(" {} |", fmt_ms(&cells[p], hot)));
        }
        for (i, p) in peers.iter().enumerate() {
            match ratio(pick(ours), pick(&cells[p])) {
                Some(r) => {
                    ratios[i].push(r);
                    s.push_str(&format!(" {r:.2} |"));
                }
                None => s.push_str(" n/a |"),
            }
        }
        s.push('\n');
    }
    s.push_str("| **geometric mean** | | ");
    s.push_str(&"| ".repeat(peers.len()));
    for r in &ratios {
        match geomean(r) {
            Some(g) => s.push_str(&format!("**{g:.2}** | ")),
            None => s.push_str("n/a | "),
        }
    }
    s.push('\n');
    s
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--cold-botlake") {
        cold_botlake(&args[i + 1], &args[i + 2]);
        return;
    }
    let runs: u64 = env_or("BOTLAKE_BENCH_RUNS", 1_000_000);
    let reps: usize = env_or("BOTLAKE_BENCH_REPS", 5);
    let cold: bool = env_or::<u8>("BOTLAKE_BENCH_COLD", 1) == 1;
    let cold_reps: usize = env_or("BOTLAKE_BENCH_COLD_REPS", 3).max(1);
    let dir = common::bench_dir();
    let lake_dir = std::env::var("BOTLAKE_BENCH_LAKE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| dir.join(format!("lake-{runs}")));
    if !lake_dir.join("aa_bot_runs/_delta_log").exists() {
        eprintln!("generating {runs} runs into {}", lake_dir.display());
        let status = Command::new(env!("CARGO_BIN_EXE_botlake"))
            .arg("--lake")
            .arg(&lake_dir)
            .args([
                "sim",
                "gen",
                "--end",
                "2026-11-01",
                "--runs",
                &runs.to_string(),
            ])
            .status()
            .expect("botlake runs");
        assert!(status.success(), "botlake sim gen failed");
    }
    let lake_arg = lake_dir.to_string_lossy().to_string();
    let mut engines = vec!["botlake".to_string()];
    engines.extend(
        std::env::var("BOTLAKE_BENCH_ENGINES")
            .unwrap_or_else(|_| "duckdb,polars".into())
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    );

    let rt = common::runtime();
    let lake = Lake::parse(&lake_arg).unwrap();
    let options = options();
    let mut rollup_refresh = Vec::new();
    if options.rollups {
        for r in rt
            .block_on(botlake_query::rollup::refresh(&lake, &options))
            .expect("the rollups refresh")
        {
            eprintln!(
                "rollup of {}: {} parts recomputed, {} kept, {} rows in {:.1} s",
                r.view, r.recomputed, r.reused, r.rows, r.seconds
            );
            rollup_refresh.push((r.view.to_string(), r.seconds));
        }
    }
    let session = Arc::new(
        rt.block_on(Session::open_with(&lake, &[], &options))
            .expect("the lake opens"),
    );
    // The peers see every view (one view reads others); only some may be timed.
    let all = queries(&session);
    let queries = timed(&all);
    let manifest_path = dir.join(format!("manifest-{runs}.json"));
    std::fs::create_dir_all(&dir).unwrap();
    let m = rt.block_on(manifest(&lake, &session, &all));
    std::fs::write(&manifest_path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    let mut peers: Vec<Peer> = engines[1..]
        .iter()
        .map(|e| Peer::start(e, &manifest_path))
        .collect();

    let mut report = Report {
        runs,
        lake: lake_arg.clone(),
        machine: machine(),
        reps,
        cold_reps,
        engines: engines.clone(),
        rollups: options.rollups,
        rollup_refresh,
        memory_limit: options.memory_limit,
        queries: BTreeMap::new(),
    };
    let scratch = tempfile::tempdir().unwrap();
    for q in &queries {
        eprintln!("{}", q.name);
        let mut cells: BTreeMap<String, Cell> = BTreeMap::new();
        // Results first (also the warm-up run).
        let (_, batches) = rt.block_on(run_botlake(&session, q));
        let ours = canonical(&batches);
        cells.insert(
            "botlake".into(),
            Cell {
                results: format!("{} rows", ours.1.len()),
                ..Cell::default()
            },
        );
        for peer in &mut peers {
            let out = scratch.path().join(format!("{}.arrow", peer.engine));
            let reply = peer.run(&q.name, Some(&out));
            let results = match &reply.error {
                Some(_) => "n/a".to_string(),
                None => compare(&ours, &canonical(&read_ipc(&out))),
            };
            if results != "same" {
                eprintln!("  {}: {results}", peer.engine);
            }
            cells.insert(
                peer.engine.clone(),
                Cell {
                    variant: reply.variant,
                    error: reply.error,
                    results,
                    ..Cell::default()
                },
            );
        }
        // Hot runs, alternating engines, each rep starting with a different one.
        for rep in 0..reps {
            for k in 0..engines.len() {
                let e = (rep + k) % engines.len();
                let ms = if e == 0 {
                    Some(rt.block_on(run_botlake(&session, q)).0)
                } else if cells[&engines[e]].error.is_none() {
                    peers[e - 1].run(&q.name, None).ms
                } else {
                    None
                };
                let cell = cells.get_mut(&engines[e]).unwrap();
                if let Some(ms) = ms {
                    cell.hot_ms = Some(cell.hot_ms.map_or(ms, |best| best.min(ms)));
                }
            }
        }
        // Cold runs, alternating engines; one fresh process varies by tens of ms, so the
        // median of `cold_reps` is kept.
        if cold {
            let mut times: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
            for _ in 0..cold_reps {
                for e in &engines {
                    if cells[e].error.is_some() {
                        continue;
                    }
                    let reply = cold_run(e, &lake_arg, &manifest_path, &q.name);
                    if let Some(ms) = reply.ms {
                        times.entry(e).or_default().push(ms);
                    }
                }
            }
            for (e, mut t) in times {
                t.sort_by(f64::total_cmp);
                cells.get_mut(e).unwrap().cold_ms = Some(t[t.len() / 2]);
            }
        }
        report.queries.insert(q.name.clone(), cells);
    }
    drop(peers);

    println!(
        "\n{} runs, {} ({} hot runs per engine, best kept; † the engine's own variant of the query)",
        runs, report.machine, reps
    );
    println!(
        "botlake {}{}\n",
        if report.rollups {
            "answers from its rollups where it has one; the peers read raw rows"
        } else {
            "reads raw rows, as the peers do"
        },
        report
            .memory_limit
            .map(|m| format!(", memory limit {} MiB", m >> 20))
            .unwrap_or_default()
    );
    println!("Hot:\n\n{}", table(&report, true));
    if cold {
        println!(
            "Cold (a fresh process each, median of {cold_reps}):\n\n{}",
            table(&report, false)
        );
    }
    println!("Results:\n");
    for (name, cells) in &report.queries {
        let line: Vec<String> = engines[1..]
            .iter()
            .map(|e| {
                let c = &cells[e];
                match &c.error {
                    Some(err) => format!("{e}: cannot run it ({err})"),
                    None => format!("{e}: {}", c.results),
                }
            })
            .collect();
        println!(
            "- {name} ({}): {}",
            cells["botlake"].results,
            line.join("; ")
        );
    }
    let json = dir.join(format!(
        "compare-{runs}{}.json",
        if report.rollups { "-rollups" } else { "" }
    ));
    std::fs::write(&json, serde_json::to_vec_pretty(&report).unwrap()).unwrap();
    eprintln!("\nwritten to {}", json.display());
}
