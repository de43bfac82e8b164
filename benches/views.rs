//! Times every built-in view over a lake of simulated runs, ingested through the simulator's
//! HTTP server as a user's would be. The SQL is the views' own, from `queries/`.
//!
//! `cargo bench --bench views`; `BOTLAKE_BENCH_RUNS` sets the number of runs (200,000).

use std::sync::Arc;

use botlake_ingest::aa::botinsight::{RunIngestConfig, ingest_runs};
use botlake_ingest::aa::client::{Client, Credentials, RetryPolicy, Secret};
use botlake_ingest::progress::Quiet;
use botlake_lake::Lake;
use botlake_query::Session;
use botlake_sim::{Dataset, ServerConfig, SimConfig};
use chrono::NaiveDate;
use criterion::{Criterion, criterion_group, criterion_main};

/// The allocator of the `botlake` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn build_lake(rt: &tokio::runtime::Runtime, dir: &std::path::Path, runs: usize) -> Session {
    rt.block_on(async {
        let end = NaiveDate::from_ymd_opt(2026, 11, 1).expect("a date");
        let data = Arc::new(Dataset::generate(SimConfig::new(42, runs, end)));
        let sim = ServerConfig::default();
        let credentials = Credentials {
            user: sim.user.clone(),
            secret: Secret::Password(sim.password.clone()),
        };
        let server = botlake_sim::server::start(data, sim, "127.0.0.1:0".parse().unwrap())
            .await
            .expect("the simulator starts");
        let lake = Lake::parse(dir.join("lake").to_str().unwrap()).unwrap();
        let client = Client::new(
            server.url().parse().unwrap(),
            credentials,
            RetryPolicy::default(),
        )
        .unwrap();
        let config = RunIngestConfig {
            from: Some(end - chrono::Duration::days(30)),
            to: Some(end - chrono::Duration::days(1)),
            ..RunIngestConfig::new("bench")
        };
        ingest_runs(&client, &lake, &config, &Quiet)
            .await
            .expect("the ingest succeeds");
        server.stop().await.unwrap();
        Session::open(&lake, &[]).await.expect("the lake opens")
    })
}

fn views(c: &mut Criterion) {
    let runs = std::env::var("BOTLAKE_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let session = build_lake(&rt, dir.path(), runs);
    let mut group = c.benchmark_group(format!("views/{runs}"));
    group.sample_size(20);
    for query in session.queries() {
        group.bench_function(&query.name, |b| {
            b.iter(|| {
                rt.block_on(async {
                    let df = session.query(&query.name, &[]).await.unwrap();
                    df.collect().await.unwrap()
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, views);
criterion_main!(benches);
