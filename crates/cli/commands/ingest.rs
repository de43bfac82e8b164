//! `botlake ingest aa-botinsight`: credentials, progress on the terminal, and the summary.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use botlake_ingest::botinsight::{self, Pagination, RunIngestConfig, Summary};
use botlake_ingest::client::{Client, Credentials, RetryPolicy, Secret};
use botlake_ingest::progress::{Event, Observer};
use botlake_lake::Lake;
use indicatif::{ProgressBar, ProgressStyle};

use super::Globals;
use crate::UserError;
use crate::args::{BotInsightArgs, PaginationArg};

/// Exit code of an ingest that landed everything it could but rejected some records.
pub const EXIT_REJECTED: u8 = 3;

/// The environment variable holding the password.
const PASSWORD_ENV: &str = "BOTLAKE_AA_PASSWORD";
/// The environment variable holding the API key.
const API_KEY_ENV: &str = "BOTLAKE_AA_API_KEY";

/// Ingests bot runs from Bot Insight.
pub async fn run(g: &Globals, args: BotInsightArgs) -> Result<ExitCode> {
    let lake = g.lake()?;
    let secret = secret(&args)?;
    let control_room = args
        .control_room
        .clone()
        .or_else(|| args.url.host_str().map(str::to_string))
        .unwrap_or_else(|| "default".into());
    let client = Client::new(
        args.url.clone(),
        Credentials {
            user: args.user.clone(),
            secret,
        },
        RetryPolicy {
            max_attempts: args.max_attempts,
            base_delay: Duration::from_millis(args.retry_base_ms),
            ..RetryPolicy::default()
        },
    )?;
    let config = RunIngestConfig {
        from: args.from,
        to: args.to,
        window_days: args.window_days,
        pagination: match args.pagination {
            PaginationArg::Offset => Pagination::Offset,
            PaginationArg::Page => Pagination::Page,
        },
        concurrency: usize::from(args.concurrency),
        commit_rows: args.commit_rows as usize,
        ..RunIngestConfig::new(&control_room)
    };
    let summary = ingest_runs(g, &lake, &client, &config).await?;
    Ok(if summary.rejected > 0 {
        g.info(format!(
            "{} records were rejected: see `botlake sql \"SELECT * FROM rejected_records\"`",
            summary.rejected
        ));
        ExitCode::from(EXIT_REJECTED)
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs a Bot Insight run ingest with progress on the terminal and prints its summary.
pub async fn ingest_runs(
    g: &Globals,
    lake: &Lake,
    client: &Client,
    config: &RunIngestConfig,
) -> Result<Summary> {
    let bar = (g.verbosity >= 0 && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {msg} [{bar:30}] {pos}/{len} pages {per_sec} eta {eta}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        bar
    });
    let progress = Progress {
        bar: bar.clone(),
        verbosity: g.verbosity,
    };
    g.info(format!(
        "ingesting bot runs of {} from {} into {}",
        config.control_room,
        client.base(),
        lake.url()
    ));
    let result = botinsight::ingest_runs(client, lake, config, &progress).await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let summary = result?;
    g.info(format!(
        "aa_bot_runs: {} windows, {} pages, {} records ({:.1} MB) in {:.1} s: {} new, {} updated, {} unchanged, {} rejected; next ingest starts at {}",
        summary.windows,
        summary.pages,
        summary.records,
        summary.bytes as f64 / 1e6,
        summary.elapsed.as_secs_f64(),
        summary.inserted,
        summary.updated,
        summary.unchanged,
        summary.rejected,
        summary
            .cursor
            .map(|c| c.to_string())
            .unwrap_or_else(|| "-".into()),
    ));
    Ok(summary)
}

/// The secret from the environment, or from a prompt on a terminal. Never echoed.
fn secret(args: &BotInsightArgs) -> Result<Secret> {
    if let Some(p) = std::env::var(PASSWORD_ENV).ok().filter(|s| !s.is_empty()) {
        return Ok(Secret::Password(p));
    }
    if let Some(k) = std::env::var(API_KEY_ENV).ok().filter(|s| !s.is_empty()) {
        return Ok(Secret::ApiKey(k));
    }
    if std::io::stdin().is_terminal() {
        let p =
            rpassword::prompt_password(format!("password for {} at {}: ", args.user, args.url))?;
        return Ok(Secret::Password(p));
    }
    Err(UserError(format!(
        "no secret for {}: set {PASSWORD_ENV} or {API_KEY_ENV}, or run on a terminal to be asked",
        args.user
    ))
    .into())
}

struct Progress {
    bar: Option<ProgressBar>,
    verbosity: i8,
}

impl Progress {
    fn line(&self, line: String) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }
}

impl Observer for Progress {
    fn on(&self, event: Event<'_>) {
        match event {
            Event::Window {
                from,
                to,
                total,
                pages,
            } => {
                if let Some(bar) = &self.bar {
                    bar.inc_length(pages);
                    bar.set_message(format!("{from}..{to}"));
                }
                if self.verbosity >= 1 {
                    self.line(format!(
                        "window {from}..{to}: {total} records in {pages} pages"
                    ));
                }
            }
            Event::Page { .. } => {
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                }
            }
            Event::Retrying {
                url,
                attempt,
                reason,
                delay,
            } => {
                if self.verbosity >= 1 {
                    self.line(format!(
                        "retrying {url} in {} ms (attempt {attempt} failed: {reason})",
                        delay.as_millis()
                    ));
                }
            }
            Event::Committed { table, stats } => {
                if self.verbosity >= 1 {
                    self.line(format!(
                        "committed {table} version {}: {} new, {} updated, {} unchanged",
                        stats.version, stats.inserted, stats.updated, stats.unchanged
                    ));
                }
            }
        }
    }
}
