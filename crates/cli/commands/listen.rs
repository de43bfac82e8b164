//! `botlake listen`: the Splunk HEC receiver until Ctrl-C or SIGTERM, which commit what is
//! held before the process exits.

use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Result;
use botlake_ingest::hec::{self, HecConfig};

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
        max_body_bytes: (args.max_body_mb as usize) << 20,
        compact_every: args.compact_every,
        ..HecConfig::new(token)
    };
    let receiver = hec::start(
        lake.clone(),
        args.hec,
        config,
        super::sim::shutdown_signal(),
    )
    .await?;
    // The URL goes to standard output so that scripts can read it.
    println!("http://{}/services/collector/event", receiver.addr());
    g.info(format!(
        "receiving HEC events into {}; Ctrl-C or SIGTERM commits what is held and stops",
        lake.url()
    ));
    let stats = receiver.wait().await?;
    g.info(format!(
        "stopped: {} requests, {} events, {} rejected, {} commits, {} compactions, {} busy answers",
        stats.requests.load(Ordering::Relaxed),
        stats.events.load(Ordering::Relaxed),
        stats.rejected.load(Ordering::Relaxed),
        stats.commits.load(Ordering::Relaxed),
        stats.compactions.load(Ordering::Relaxed),
        stats.busy.load(Ordering::Relaxed),
    ));
    Ok(ExitCode::SUCCESS)
}
