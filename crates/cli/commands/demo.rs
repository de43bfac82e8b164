//! `botlake demo`: a simulated Control Room on a loopback port, ingested over real HTTP into
//! a local lake, then the daily KPIs and the bot ranking.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use botlake_ingest::botinsight::RunIngestConfig;
use botlake_ingest::client::{Client, Credentials, RetryPolicy, Secret};
use botlake_lake::Lake;
use botlake_sim::{Dataset, ServerConfig, SimConfig};
use chrono::Utc;

use super::Globals;
use crate::args::{DemoArgs, Format};
use crate::output::Output;

/// Where the demo's lake goes without --lake.
const DEFAULT_LAKE: &str = "./botlake-demo";

/// Runs the demo.
pub async fn run(g: &Globals, args: DemoArgs) -> Result<ExitCode> {
    let location = g.lake.clone().unwrap_or_else(|| DEFAULT_LAKE.to_string());
    let lake = Lake::parse(&location)?;
    let end = Utc::now().date_naive() + chrono::Duration::days(1);
    let data = Arc::new(Dataset::generate(SimConfig::new(args.seed, args.runs, end)));
    let sim = ServerConfig {
        now: Some(Utc::now()),
        ..ServerConfig::default()
    };
    let credentials = Credentials {
        user: sim.user.clone(),
        secret: Secret::Password(sim.password.clone()),
    };
    let server = botlake_sim::server::start(data.clone(), sim, "127.0.0.1:0".parse()?)
        .await
        .context("cannot start the simulator on a loopback port")?;
    g.info(format!(
        "simulated Control Room at {} ({} bots, {} runners, {} runs from {} to today)",
        server.url(),
        data.bots.len(),
        data.runners.len(),
        data.runs.len(),
        data.config.start()
    ));
    let client = Client::new(server.url().parse()?, credentials, RetryPolicy::default())?;
    let config = RunIngestConfig::new("demo");
    let summary = super::ingest::ingest_runs(g, &lake, &client, &config).await;
    server.stop().await?;
    summary?;

    let session = g.session(&lake).await?;
    let table = Output::new(Format::Table, None);
    println!("\nDaily KPIs, last 7 days (view kpi_daily):");
    let df = session
        .sql("SELECT * FROM kpi_daily ORDER BY day DESC LIMIT 7")
        .await?;
    table.write_stream(df.execute_stream().await?).await?;
    println!("\nTop 10 bots by volume (view bot_ranking):");
    let df = session
        .sql("SELECT * FROM bot_ranking ORDER BY volume_rank, bot LIMIT 10")
        .await?;
    table.write_stream(df.execute_stream().await?).await?;
    let lake_arg = shell_quote(&location);
    println!(
        "\nExplore further:\n  botlake --lake {lake_arg} views\n  botlake --lake {lake_arg} query kpi_by_bot --format csv\n  botlake --lake {lake_arg} query bot_ranking --param min_runs=50\n  botlake --lake {lake_arg} query failure_rate_daily -o failures.parquet --format parquet\n  botlake --lake {lake_arg} sql \"SELECT status, count(*) FROM runs GROUP BY status\"\n  botlake --lake {lake_arg} sql"
    );
    Ok(ExitCode::SUCCESS)
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-:".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}
