//! `botlake demo`: a simulated Control Room on a loopback port, ingested over real HTTP into
//! a local lake, then the daily KPIs and the bot ranking.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use botlake_ingest::aa::a360::List;
use botlake_ingest::aa::botinsight::{Endpoint, RunIngestConfig};
use botlake_ingest::aa::client::{Client, Credentials, RetryPolicy, Secret};
use botlake_lake::Lake;
use botlake_sim::{Dataset, Generation, Server, ServerConfig, SimConfig};
use chrono::Utc;

use super::{Globals, ingest};
use crate::args::{DemoArgs, Format, GenerationArg};
use crate::config::RoomConfig;
use crate::output::{Destination, Output};

/// Where the demo's lake goes without --lake.
const DEFAULT_LAKE: &str = "./botlake-demo";

/// Runs the demo.
pub async fn run(g: &Globals, args: DemoArgs) -> Result<ExitCode> {
    let (location, lake) = match &g.lake {
        Some((location, lake)) => (location.clone(), lake.clone()?),
        None => (
            DEFAULT_LAKE.to_string(),
            Lake::parse(DEFAULT_LAKE)?.with_delta_scan(g.delta_scan),
        ),
    };
    let end = Utc::now().date_naive() + chrono::Duration::days(1);
    // An Enterprise 11.x Control Room with Bot Insight, and an Automation 360 one: its run
    // data, its executions (the activity API) and its audit log.
    let v11 = Arc::new(Dataset::generate(SimConfig::new(args.seed, args.runs, end)));
    let a360 = Arc::new(Dataset::generate(SimConfig::new(
        args.seed.wrapping_add(1),
        args.runs / 10,
        end,
    )));
    let sim = ServerConfig {
        now: Some(Utc::now()),
        ..ServerConfig::default()
    };
    let credentials = Credentials {
        user: sim.user.clone(),
        secret: Secret::Password(sim.password.clone()),
    };
    let loopback = "127.0.0.1:0".parse()?;
    let server = botlake_sim::server::start(v11.clone(), sim.clone(), loopback)
        .await
        .context("cannot start the simulator on a loopback port")?;
    let sim_a360 = ServerConfig {
        generation: Generation::A360,
        ..sim
    };
    let server_a360 = botlake_sim::server::start(a360.clone(), sim_a360, loopback)
        .await
        .context("cannot start the simulator on a loopback port")?;
    g.info(format!(
        "simulated Control Rooms: demo at {} ({} bots, {} runners, {} runs from {} to today, {} tasks), demo-a360 at {}",
        server.url(),
        v11.bots.len(),
        v11.runners.len(),
        v11.runs.len(),
        v11.config.start(),
        v11.tasks.len(),
        server_a360.url(),
    ));
    let result = ingest_both(g, &lake, &server, &server_a360, &credentials, &v11, &a360).await;
    server.stop().await?;
    server_a360.stop().await?;
    let mut rejected = result?;

    // A UiPath tenant's real-time export, as the NDJSON lines Insights writes.
    let jobs = args.runs / 5;
    let events = botlake_sim::uipath::generate(&botlake_sim::uipath::UipathConfig::new(
        args.seed,
        jobs,
        Utc::now().date_naive(),
    ));
    let export = events.lines.join("\n");
    let mut summary = botlake_ingest::uipath::FileSummary::default();
    botlake_ingest::uipath::ingest_reader(
        &lake,
        Box::new(std::io::Cursor::new(export.into_bytes())),
        "simulated UiPath export",
        None,
        botlake_ingest::uipath::CommitEvery::default(),
        &botlake_ingest::progress::Quiet,
        &mut summary,
    )
    .await?;
    ingest::report_uipath(g, &summary);
    rejected += summary.rejected;
    g.refresh_rollups(&lake).await?;

    let session = g.session(&lake).await?;
    let table = Output::new(Format::Table, Destination::Stdout);
    let mut out = std::io::stdout();
    writeln!(
        out,
        "\nDaily KPIs of both vendors, last 5 days (view kpi_daily):"
    )?;
    let df = session
        .run_sql("SELECT * FROM kpi_daily ORDER BY day DESC, vendor LIMIT 10")
        .await?;
    table.write_stream(df.execute_stream().await?).await?;
    writeln!(
        out,
        "\nTop 4 bots and processes by volume of each source: the 11.x and the Automation 360 Control Room, and the UiPath tenant (view bot_ranking):"
    )?;
    let df = session
        .run_sql(
            "SELECT vendor, source, bot, runs, finished, failed, runtime_hours, failure_rate, \
             volume_rank, runtime_rank, failure_rank FROM (SELECT *, row_number() OVER \
             (PARTITION BY vendor, source ORDER BY volume_rank, bot) AS n FROM bot_ranking) \
             WHERE n <= 4 ORDER BY vendor, source, volume_rank, bot",
        )
        .await?;
    table.write_stream(df.execute_stream().await?).await?;
    let lake_arg = shell_quote(&location);
    writeln!(
        out,
        "\nExplore further:\n  botlake --lake {lake_arg} views\n  botlake --lake {lake_arg} query kpi_by_bot --format csv\n  botlake --lake {lake_arg} query bot_ranking --param min_runs=50\n  botlake --lake {lake_arg} query failure_rate_daily -o failures.parquet\n  botlake --lake {lake_arg} query failure_spikes --param factor=3\n  botlake --lake {lake_arg} query kpi_by_user\n  botlake --lake {lake_arg} query audit_failed_logins\n  botlake --lake {lake_arg} query task_kpis\n  botlake --lake {lake_arg} sql \"SELECT status, count(*) FROM runs GROUP BY status\"\n  botlake --lake {lake_arg} sql"
    )?;
    Ok(ingest::exit_code(g, rejected))
}

async fn ingest_both(
    g: &Globals,
    lake: &Lake,
    v11: &Server,
    a360: &Server,
    credentials: &Credentials,
    data: &Dataset,
    data_a360: &Dataset,
) -> Result<u64> {
    let client = Client::new(
        v11.url().parse()?,
        credentials.clone(),
        RetryPolicy::default(),
    )?;
    let config = RunIngestConfig::new("demo");
    let mut rejected = 0;
    for endpoint in [Endpoint::Runs, Endpoint::Audit] {
        let summary = ingest::paged(g, lake, &client, &config, endpoint).await?;
        rejected += ingest::report(g, &summary);
    }
    let tasks: Vec<String> = data.tasks.iter().map(|t| t.name.to_string()).collect();
    rejected += ingest::task_data(g, lake, &client, &config, 90, &tasks).await?;

    let client = Client::new(
        a360.url().parse()?,
        credentials.clone(),
        RetryPolicy::default(),
    )?;
    let room = RoomConfig {
        generation: Some(GenerationArg::A360),
        ..RoomConfig::default()
    };
    let mut source = ingest::Resolved::new("demo-a360".into(), room);
    let start = data_a360.config.start();
    source.days.0 = Some(start);
    source.audit.from = Some(start.and_hms_opt(0, 0, 0).expect("midnight").and_utc());
    let summary = ingest::paged(g, lake, &client, &source.run_config(), Endpoint::Runs).await?;
    rejected += ingest::report(g, &summary);
    for list in [List::Executions, List::Audit] {
        rejected += ingest::list_with(g, lake, &client, &source, list).await?;
    }
    Ok(rejected)
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
