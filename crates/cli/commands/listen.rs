//! `botlake listen`: the Splunk HEC receiver until Ctrl-C or SIGTERM, which commit what is
//! held before the process exits.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Result;
use botlake_ingest::uipath::hec::{self, HecConfig, HecStats};

use super::Globals;
use crate::UserError;
use crate::args::ListenArgs;

/// Runs the receiver.
pub async fn run(g: &Globals, args: ListenArgs) -> Result<ExitCode> {
    let lake = g.lake()?;
    let token = std::env::var(&args.token_env)
        .ok()
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| {
            UserError(format!(
                "no HEC token: set {} to the token senders present (Authorization: Splunk <token>)",
                args.token_env
            ))
        })?;
    let config = HecConfig {
        tenant: args.tenant,
        flush_interval: Duration::from_millis(args.flush_ms),
        flush_events: args.flush_events as usize,
        max_pending: args.max_pending as usize,
        max_pending_bytes: (args.max_pending_mb as usize) << 20,
        max_body_bytes: (args.max_body_mb as usize) << 20,
        compact_every: args.compact_every,
        max_connections: args.max_connections as usize,
        header_timeout: Duration::from_secs(args.header_timeout_secs),
        body_timeout: Duration::from_secs(args.body_timeout_secs),
        body_limit_name: Some("--max-body-mb".into()),
        ..HecConfig::new(token)
    };
    let receiver = hec::start(lake.clone(), args.hec, config, crate::signals::shutdown()).await?;
    // The URL goes to standard output so that scripts can read it.
    // A server goes on whether or not anyone reads where it is.
    let _ = writeln!(
        std::io::stdout(),
        "http://{}/services/collector/event",
        receiver.addr()
    );
    g.info(format!(
        "receiving HEC events into {}; Ctrl-C or SIGTERM commits what is held and stops",
        lake.url()
    ));
    let status = (args.status_secs > 0 && g.verbosity >= 0).then(|| {
        tokio::spawn(report_status(
            receiver.stats(),
            Duration::from_secs(args.status_secs),
        ))
    });
    let trim = tokio::spawn(give_back_memory_when_quiet(receiver.stats()));
    let stats = receiver.wait().await?;
    trim.abort();
    if let Some(status) = status {
        status.abort();
    }
    g.info(format!("stopped: {}", Totals::of(&stats)));
    Ok(ExitCode::SUCCESS)
}

/// What a receiver has done since it started.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Totals {
    requests: u64,
    events: u64,
    rejected: u64,
    commits: u64,
    compactions: u64,
    busy: u64,
}

impl Totals {
    fn of(stats: &HecStats) -> Totals {
        Totals {
            requests: stats.requests.load(Ordering::Relaxed),
            events: stats.events.load(Ordering::Relaxed),
            rejected: stats.rejected.load(Ordering::Relaxed),
            commits: stats.commits.load(Ordering::Relaxed),
            compactions: stats.compactions.load(Ordering::Relaxed),
            busy: stats.busy.load(Ordering::Relaxed),
        }
    }
}

impl std::fmt::Display for Totals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} requests, {} events, {} rejected, {} commits, {} compactions, {} busy answers",
            self.requests, self.events, self.rejected, self.commits, self.compactions, self.busy
        )
    }
}

/// How often [`give_back_memory_when_quiet`] looks.
const QUIET_CHECK: Duration = Duration::from_secs(2);

/// Once a burst of events has been committed and none came in for [`QUIET_CHECK`], gives
/// the memory the burst freed back to the system: glibc's malloc keeps freed pages in its
/// arenas for reuse, so a receiver that took one burst would otherwise hold its peak
/// for as long as it runs.
async fn give_back_memory_when_quiet(stats: Arc<HecStats>) {
    let mut interval = tokio::time::interval(QUIET_CHECK);
    interval.tick().await;
    let mut last = Totals::of(&stats);
    let mut trimmed = true;
    loop {
        interval.tick().await;
        let now = Totals::of(&stats);
        if now != last {
            trimmed = false;
        } else if !trimmed {
            crate::alloc::give_back_free_memory();
            trimmed = true;
        }
        last = now;
    }
}

/// Every `every`, when anything came in since the last line, prints the totals and the rate
/// of events since then, so that whoever watches a receiver running for days sees it work.
async fn report_status(stats: Arc<HecStats>, every: Duration) {
    let mut interval = tokio::time::interval(every);
    interval.tick().await;
    let mut last = Totals::of(&stats);
    loop {
        interval.tick().await;
        let now = Totals::of(&stats);
        if now != last {
            let rate = (now.events - last.events) as f64 / every.as_secs_f64();
            say!("received {now}; {rate:.0} events/s");
            last = now;
        }
    }
}
