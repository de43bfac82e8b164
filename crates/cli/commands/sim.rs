//! `botlake sim serve`: a simulated Control Room on a local port.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context, Result};
use botlake_sim::{Dataset, Faults, Generation, Pagination, ServerConfig, SimConfig};
use chrono::Utc;

use super::Globals;
use crate::UserError;
use crate::args::{GenerationArg, PaginationArg, SimPagesArgs, SimServeArgs, SimUipathArgs};

/// Serves until Ctrl-C or SIGTERM, then prints what it served.
pub async fn serve(g: &Globals, args: SimServeArgs) -> Result<ExitCode> {
    let end = args
        .end
        .unwrap_or_else(|| Utc::now().date_naive() + chrono::Duration::days(1));
    let config = SimConfig {
        bots: usize::from(args.bots),
        runners: usize::from(args.runners),
        days: args.days,
        ..SimConfig::new(args.seed, args.runs, end)
    };
    let started = std::time::Instant::now();
    let data = Arc::new(Dataset::generate(config));
    let now = args.now.unwrap_or_else(|| Utc::now().min(data.end_time()));
    g.info(format!(
        "generated {} runs of {} bots on {} runners, {} task logs of {} tasks and {} audit events, {} to {} (clock {now}) in {:.1} s",
        data.runs.len(),
        data.bots.len(),
        data.runners.len(),
        data.task_logs.len(),
        data.tasks.len(),
        data.audit.len(),
        data.config.start(),
        data.config.end,
        started.elapsed().as_secs_f64()
    ));
    let server_config = ServerConfig {
        user: args.user,
        password: args.password,
        pagination: match args.pagination {
            PaginationArg::Offset => Pagination::Offset,
            PaginationArg::Page => Pagination::Page,
        },
        faults: Faults {
            rate: args.fault_rate,
            retry_after_secs: args.retry_after,
            slow: Duration::from_millis(args.slow_ms),
        },
        max_window_days: args.max_window_days,
        max_log_window_days: args.max_log_window_days,
        token_ttl: args.token_ttl_secs.map(std::time::Duration::from_secs),
        token_uses: args.token_uses,
        bearer_only: args.bearer_only,
        generation: match args.generation {
            GenerationArg::V11 | GenerationArg::Auto => Generation::V11,
            GenerationArg::V113 => Generation::V113,
            GenerationArg::A360 => Generation::A360,
        },
        now: Some(now),
        bad_record_every: args.bad_record_every,
        cp1252_every: args.cp1252_every,
        ..ServerConfig::default()
    };
    let (server_user, server_password) =
        (server_config.user.clone(), server_config.password.clone());
    let task_names: Vec<&str> = data.tasks.iter().take(2).map(|t| t.name).collect();
    let addr = SocketAddr::new(args.host, args.port);
    let server = botlake_sim::server::start(data, server_config, addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    // The URL goes to standard output so that scripts can read it.
    // A server goes on whether or not anyone reads where it is.
    let _ = writeln!(std::io::stdout(), "{}", server.url());
    // The demo's own password is no secret; one the user set is not shown.
    let password = if std::env::var_os("BOTLAKE_SIM_PASSWORD").is_some() {
        "the password of BOTLAKE_SIM_PASSWORD".to_string()
    } else {
        format!("password {}", server_password)
    };
    g.info(format!(
        "serving Bot Insight (11.x) and the A360 audit API; log in as {} with {password}, e.g.\n  \
         BOTLAKE_AA_PASSWORD=... botlake --lake LAKE ingest aa-botinsight --url {} --user {} \
         --control-room prod --tasks \"{}\"\nCtrl-C stops",
        server_user,
        server.url(),
        server_user,
        task_names.join(",")
    ));
    crate::signals::shutdown().await;
    let stats = server.stats();
    g.info(format!(
        "served {} requests, {} pages, {} logins, {} token refreshes, {} faults",
        stats.requests.load(Ordering::Relaxed),
        stats.pages.load(Ordering::Relaxed),
        stats.logins.load(Ordering::Relaxed),
        stats.refreshes.load(Ordering::Relaxed),
        stats.faults.load(Ordering::Relaxed)
    ));
    server.stop().await?;
    Ok(ExitCode::SUCCESS)
}

/// Writes a simulated UiPath event stream.
pub async fn uipath(g: &Globals, args: SimUipathArgs) -> Result<ExitCode> {
    use std::io::Write;
    let end = args.end.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let config = botlake_sim::uipath::UipathConfig {
        days: args.days,
        tenant: args.tenant,
        ..botlake_sim::uipath::UipathConfig::new(args.seed, args.jobs, end)
    };
    let events = botlake_sim::uipath::generate(&config);
    if let Some(url) = &args.hec {
        let token = std::env::var(&args.token_env)
            .ok()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| crate::UserError(format!("no HEC token: set {}", args.token_env)))?;
        let started = std::time::Instant::now();
        let acked =
            botlake_sim::uipath::push_hec(url.as_str(), &token, &events.lines, args.batch as usize)
                .await
                .map_err(|e| anyhow::anyhow!("pushing to {url}: {e}"))?;
        g.info(format!(
            "pushed {acked} events to {url} in {:.1} s",
            started.elapsed().as_secs_f64()
        ));
        return Ok(ExitCode::SUCCESS);
    }
    let sink: Box<dyn Write> = if args.out == "-" {
        Box::new(std::io::stdout().lock())
    } else {
        let file = std::fs::File::create(&args.out)
            .with_context(|| format!("cannot create {}", args.out))?;
        if args.out.ends_with(".gz") {
            Box::new(flate2::write::GzEncoder::new(
                file,
                flate2::Compression::fast(),
            ))
        } else {
            Box::new(file)
        }
    };
    let mut sink = std::io::BufWriter::new(sink);
    for line in &events.lines {
        writeln!(sink, "{line}")?;
    }
    sink.into_inner().map_err(|e| e.into_error())?.flush()?;
    let [jobs, items, machines, logs, other] = events.counts;
    g.info(format!(
        "{} events: {jobs} job, {items} queue item, {machines} machine, {logs} robot log, {other} other; {} jobs finished ({} faulted)",
        events.lines.len(),
        events.finished_jobs,
        events.faulted_jobs
    ));
    Ok(ExitCode::SUCCESS)
}

/// Writes the plan's runs as `getbotrundata` pages.
pub async fn pages(g: &Globals, args: SimPagesArgs) -> Result<ExitCode> {
    if std::fs::read_dir(&args.out).is_ok_and(|mut d| d.next().is_some()) {
        return Err(UserError(format!(
            "{} is not empty; sim pages writes into a new or empty directory",
            args.out.display()
        ))
        .into());
    }
    let config = args.plan.config();
    let started = std::time::Instant::now();
    g.info(format!(
        "writing {} runs, {} to {}, as Bot Insight pages into {}",
        config.runs,
        config.start(),
        config.end,
        args.out.display()
    ));
    let out = args.out.clone();
    let per_file = args.pages_per_file as usize;
    let written = tokio::task::spawn_blocking(move || {
        let plan = botlake_sim::RunPlan::new(config);
        botlake_sim::pages::write_run_pages(&plan, &out, per_file)
    })
    .await
    .context("the page writer panicked")?
    .with_context(|| format!("cannot write pages into {}", args.out.display()))?;
    g.info(format!(
        "wrote {} runs on {} pages in {} files ({:.0} MB) in {:.1} s",
        written.records,
        written.pages,
        written.files.len(),
        written.bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    ));
    Ok(ExitCode::SUCCESS)
}
