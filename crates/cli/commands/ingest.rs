//! `botlake ingest`: the sources' configurations from flags and `botlake.toml`,
//! credentials, progress on the terminal, and one summary line per table.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use botlake_ingest::aa::a360::{self, AuditIngestConfig, List};
use botlake_ingest::aa::botinsight::{
    self, Endpoint, Generation, Pagination, Reconcile, RunIngestConfig, Summary,
};
use botlake_ingest::aa::client::{Client, Credentials, RetryPolicy, Secret};
use botlake_ingest::aa::{pages, tasks};
use botlake_ingest::progress::{Event, Observer};
use botlake_ingest::uipath;
use botlake_lake::Lake;
use chrono::{NaiveDate, Utc};
use indicatif::{ProgressBar, ProgressStyle};

use super::Globals;
use crate::UserError;
use crate::args::{
    AuditArgs, AuthArg, BotInsightArgs, ConnectionArgs, GenerationArg, IngestArgs, IngestSource,
    PagesArgs, PaginationArg, Part, ReconcileArg, UipathArgs,
};
use crate::config::RoomConfig;

/// Exit code of an ingest that landed everything it could but rejected some records.
pub const EXIT_REJECTED: u8 = 3;

/// The environment variables secrets come from when the configuration names none.
const PASSWORD_ENV: &str = "BOTLAKE_AA_PASSWORD";
const API_KEY_ENV: &str = "BOTLAKE_AA_API_KEY";
const TOKEN_ENV: &str = "BOTLAKE_AA_TOKEN";

/// Runs `botlake ingest`.
pub async fn run(g: &Globals, args: IngestArgs) -> Result<ExitCode> {
    let lake = g.lake()?;
    let rejected = match args.source {
        _ if args.all => all(g, &lake, &args.rooms).await?,
        Some(IngestSource::AaBotInsight(a)) => {
            let source = Resolved::botinsight(g, a)?;
            botinsight_source(g, &lake, &source).await?
        }
        Some(IngestSource::AaAudit(a)) => {
            let source = Resolved::audit(g, a)?;
            audit_source(g, &lake, &source).await?
        }
        Some(IngestSource::Uipath(a)) => uipath_files(g, &lake, a).await?,
        Some(IngestSource::AaPages(a)) => page_files(g, &lake, a).await?,
        None => {
            return Err(
                UserError("name a source (aa-botinsight, aa-audit) or pass --all".into()).into(),
            );
        }
    };
    Ok(exit_code(g, rejected))
}

/// Ingests UiPath NDJSON files; returns the number of rejected lines.
async fn uipath_files(g: &Globals, lake: &Lake, args: UipathArgs) -> Result<u64> {
    let progress = Progress::bytes(g, plain_size(&args.files));
    let mut summary = uipath::FileSummary::default();
    for file in &args.files {
        let name = if file == "-" { "stdin" } else { file.as_str() };
        let reader =
            uipath::open_ndjson(file).map_err(|e| UserError(format!("cannot read {name}: {e}")))?;
        g.info(format!(
            "ingesting UiPath events from {name} into {}",
            lake.url()
        ));
        let result = uipath::ingest_reader(
            lake,
            reader,
            name,
            args.tenant.clone(),
            uipath::CommitEvery {
                events: args.commit_rows as usize,
                bytes: u64::from(args.commit_mb) << 20,
            },
            &progress,
            &mut summary,
        )
        .await;
        if let Err(e) = result {
            progress.finish();
            return Err(e.into());
        }
    }
    progress.finish();
    report_uipath(g, &summary);
    Ok(summary.rejected)
}

/// The bytes `files` hold, if all are plain files: then they are the bytes to read (a
/// gzip file holds fewer than it gives, standard input is not known in advance).
fn plain_size(files: &[String]) -> Option<u64> {
    files.iter().try_fold(0, |total, file| {
        if file == "-" {
            return None;
        }
        let mut magic = [0u8; 2];
        let mut f = std::fs::File::open(file).ok()?;
        let read = std::io::Read::read(&mut f, &mut magic).ok()?;
        let gzip = read == 2 && magic == [0x1f, 0x8b];
        (!gzip).then(|| Some(total + f.metadata().ok()?.len()))?
    })
}

/// A page file (or standard input), opened plain or gzip when first read.
struct OpenOnRead {
    path: String,
    reader: Option<Box<dyn std::io::BufRead + Send>>,
}

impl std::io::Read for OpenOnRead {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let reader = match &mut self.reader {
            Some(reader) => reader,
            None => self.reader.insert(uipath::open_ndjson(&self.path)?),
        };
        reader.read(out)
    }
}

/// Ingests Bot Insight page files; returns the number of rejected records.
async fn page_files(g: &Globals, lake: &Lake, args: PagesArgs) -> Result<u64> {
    let mut inputs = Vec::with_capacity(args.files.len());
    for file in &args.files {
        let name = if file == "-" { "stdin" } else { file.as_str() };
        // Every file opens before anything is read, so a typo fails fast; its buffers come
        // when it is read, so that a hundred files do not hold a hundred of them.
        if file != "-" {
            std::fs::File::open(file).map_err(|e| UserError(format!("cannot read {name}: {e}")))?;
        }
        inputs.push(pages::Input {
            name: name.to_string(),
            reader: Box::new(OpenOnRead {
                path: file.clone(),
                reader: None,
            }),
        });
    }
    g.info(format!(
        "ingesting Bot Insight pages from {} file(s) into {} as control room {}",
        inputs.len(),
        lake.url(),
        args.control_room
    ));
    let total = inputs.len() as u64;
    let config = pages::PagesConfig {
        control_room: args.control_room,
        task: args.task,
        commit_rows: args.commit_rows as usize,
    };
    let progress = Progress::new(g);
    let mut summary = pages::PagesSummary::default();
    let result = pages::ingest(lake, inputs, &config, &progress, &mut summary).await;
    progress.finish();
    for (table, records) in &summary.records {
        let new = summary.inserted.get(table).copied().unwrap_or_default();
        let updated = summary.updated.get(table).copied().unwrap_or_default();
        g.info(format!(
            "{table}: {records} records, {new} new, {updated} updated, {} unchanged",
            records.saturating_sub(new + updated)
        ));
    }
    let secs = summary.elapsed.as_secs_f64();
    let records: u64 = summary.records.values().sum();
    // Files read to their end: all of them, unless one failed.
    let files = if summary.files < total {
        format!("{} of {total}", summary.files)
    } else {
        total.to_string()
    };
    g.info(format!(
        "{} pages ({:.1} MB) from {files} file(s) in {secs:.1} s: {:.0} records/s, {} commits, {} rejected",
        summary.pages,
        summary.bytes as f64 / 1e6,
        records as f64 / secs.max(1e-9),
        summary.commits,
        summary.rejected
    ));
    result?;
    Ok(summary.rejected)
}

/// One line per UiPath table that received events.
pub fn report_uipath(g: &Globals, s: &uipath::FileSummary) {
    for route in uipath::Route::ALL {
        let table = route.table().name;
        if let Some(events) = s.events.get(table) {
            let new = s.inserted.get(table).copied().unwrap_or_default();
            g.info(format!(
                "{table}: {events} events, {new} new, {} already there",
                events.saturating_sub(new)
            ));
        }
    }
    g.info(format!(
        "{} lines ({:.1} MB) in {:.1} s, {} rejected",
        s.lines,
        s.bytes as f64 / 1e6,
        s.elapsed.as_secs_f64(),
        s.rejected
    ));
}

/// Exit 3 and a hint when records were rejected.
pub fn exit_code(g: &Globals, rejected: u64) -> ExitCode {
    if rejected > 0 {
        g.info(format!(
            "{rejected} records were rejected: see `botlake sql \"SELECT * FROM rejected_records\"`"
        ));
        ExitCode::from(EXIT_REJECTED)
    } else {
        ExitCode::SUCCESS
    }
}

/// Every source of every Control Room of the configuration file, in turn. A failing
/// Control Room does not stop the others; the first failure is returned at the end.
async fn all(g: &Globals, lake: &Lake, only: &[String]) -> Result<u64> {
    let rooms: Vec<(String, RoomConfig)> = g
        .config
        .control_room
        .iter()
        .filter(|(name, _)| only.is_empty() || only.contains(name))
        .map(|(n, r)| (n.clone(), r.clone()))
        .collect();
    if rooms.is_empty() {
        return Err(UserError(match &g.config_path {
            Some(p) => format!("{} has no [control_room.NAME] sections to ingest", p.display()),
            None => "no configuration file: --all ingests the Control Rooms of botlake.toml (or --config FILE)".into(),
        })
        .into());
    }
    for name in only {
        if !g.config.control_room.contains_key(name) {
            return Err(UserError(format!("no [control_room.{name}] in the configuration")).into());
        }
    }
    let mut rejected = 0;
    let mut first_error = None;
    for (name, room) in rooms {
        let sources = room
            .sources
            .clone()
            .unwrap_or_else(|| vec!["aa-botinsight".into()]);
        for kind in sources {
            g.info(format!("== {name}: {kind}"));
            let source = Resolved::new(name.clone(), room.clone());
            let result = match kind.as_str() {
                "aa-audit" => audit_source(g, lake, &source).await,
                _ => botinsight_source(g, lake, &source).await,
            };
            match result {
                Ok(r) => rejected += r,
                Err(e) => {
                    say!("error: {name} ({kind}): {e:#}");
                    first_error.get_or_insert(e);
                }
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(rejected),
    }
}

/// One Control Room with everything needed to ingest it: the file's section with the
/// flags laid over it.
pub struct Resolved {
    /// The value of `control_room`.
    pub name: String,
    /// Its settings.
    pub room: RoomConfig,
    /// Bot Insight: first and last day.
    pub days: (Option<NaiveDate>, Option<NaiveDate>),
    /// A360 audit: the time range and the filter flags.
    pub audit: AuditFilter,
    /// Start at the oldest day the Control Room keeps when `days.0` lies before it.
    pub clamp: bool,
}

/// The A360 audit flags that have no place in the file.
#[derive(Default)]
pub struct AuditFilter {
    /// First event time.
    pub from: Option<chrono::DateTime<Utc>>,
    /// Events before this time.
    pub to: Option<chrono::DateTime<Utc>>,
    /// `status` eq.
    pub status: Option<String>,
    /// `activityType` substring.
    pub activity: Option<String>,
    /// `userName` substring.
    pub user: Option<String>,
}

fn over<T>(flag: Option<T>, file: Option<T>) -> Option<T> {
    flag.or(file)
}

impl Resolved {
    /// A Control Room of the file as it stands.
    pub fn new(name: String, room: RoomConfig) -> Resolved {
        Resolved {
            name,
            room,
            days: (None, None),
            audit: AuditFilter::default(),
            clamp: false,
        }
    }

    fn with_connection(g: &Globals, c: ConnectionArgs, user: Option<String>) -> Result<Resolved> {
        if let Some(name) = &c.control_room
            && c.url.is_none()
            && !g.config.control_room.contains_key(name)
            && g.config_path.is_some()
        {
            return Err(UserError(format!(
                "no [control_room.{name}] in the configuration and no --url"
            ))
            .into());
        }
        let file = g.config.room(c.control_room.as_deref());
        let room = RoomConfig {
            url: over(c.url, file.url.clone()),
            user: over(user, file.user.clone()),
            password_env: over(c.password_env, file.password_env.clone()),
            api_key_env: over(c.api_key_env, file.api_key_env.clone()),
            auth: over(c.auth, file.auth),
            token_env: over(c.token_env, file.token_env.clone()),
            concurrency: over(c.concurrency, file.concurrency),
            commit_rows: over(c.commit_rows, file.commit_rows),
            commit_secs: over(c.commit_secs, file.commit_secs),
            max_attempts: over(c.max_attempts, file.max_attempts),
            retry_base_ms: over(c.retry_base_ms, file.retry_base_ms),
            reconcile: over(c.reconcile, file.reconcile),
            ..file
        };
        let name = c
            .control_room
            .or_else(|| {
                room.url
                    .as_deref()
                    .and_then(|u| url::Url::parse(u).ok())
                    .and_then(|u| u.host_str().map(str::to_string))
            })
            .unwrap_or_else(|| "default".into());
        Ok(Resolved::new(name, room))
    }

    fn botinsight(g: &Globals, a: BotInsightArgs) -> Result<Resolved> {
        let mut r = Self::with_connection(g, a.connection, a.user)?;
        let room = &mut r.room;
        if !a.only.is_empty() {
            let names = a.only.iter().map(|p| {
                match p {
                    Part::Runs => "runs",
                    Part::Audit => "audit",
                    Part::Tasks => "tasks",
                    Part::Executions => "executions",
                }
                .to_string()
            });
            room.only = Some(names.collect());
        }
        if !a.tasks.is_empty() {
            room.tasks = Some(a.tasks);
        }
        room.window_days = over(a.window_days, room.window_days);
        room.log_window_days = over(a.log_window_days, room.log_window_days);
        room.overlap_days = over(a.overlap_days, room.overlap_days);
        room.pagination = over(a.pagination, room.pagination);
        room.api_path = over(a.api_path, room.api_path.take());
        room.generation = over(a.generation, room.generation);
        r.days = (a.from, a.to);
        r.clamp = a.clamp;
        // An Automation 360 audit log is read by time: the same days.
        let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
        r.audit.from = a.from.and_then(midnight);
        r.audit.to = a.to.and_then(|d| d.succ_opt()).and_then(midnight);
        Ok(r)
    }

    fn audit(g: &Globals, a: AuditArgs) -> Result<Resolved> {
        let mut r = Self::with_connection(g, a.connection, a.login)?;
        let room = &mut r.room;
        room.audit_window_hours = over(a.window_hours, room.audit_window_hours);
        room.overlap_minutes = over(a.overlap_minutes, room.overlap_minutes);
        room.page_length = over(a.page_length, room.page_length);
        room.refresh_minutes = over(a.refresh_minutes, room.refresh_minutes);
        r.audit = AuditFilter {
            from: a.from,
            to: a.to,
            status: a.status,
            activity: a.activity,
            user: a.user,
        };
        Ok(r)
    }

    fn url(&self) -> Result<url::Url> {
        let url = self.room.url.as_deref().ok_or_else(|| {
            UserError(format!(
                "no URL for Control Room {}: pass --url, set BOTLAKE_AA_URL, or set url in [control_room.{}]",
                self.name, self.name
            ))
        })?;
        Ok(crate::args::parse_url(url).map_err(UserError)?)
    }

    /// The secret from the environment variable the configuration names, else from the
    /// default variables, else from a prompt on a terminal. Never echoed.
    fn secret(&self, user: &str, url: &url::Url) -> Result<Secret> {
        let named = [
            (
                self.room.token_env.as_deref(),
                Secret::Token as fn(String) -> Secret,
            ),
            (self.room.password_env.as_deref(), Secret::Password),
            (self.room.api_key_env.as_deref(), Secret::ApiKey),
        ];
        let value = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let mut unset = Vec::new();
        for (name, make) in named {
            if let Some(name) = name {
                match value(name) {
                    Some(v) => return Ok(make(v)),
                    None => unset.push(name),
                }
            }
        }
        if !unset.is_empty() {
            return Err(UserError(format!(
                "no secret for {user} at Control Room {}: {} is not set",
                self.name,
                unset.join(" / ")
            ))
            .into());
        }
        for (name, make) in [
            (PASSWORD_ENV, Secret::Password as fn(String) -> Secret),
            (API_KEY_ENV, Secret::ApiKey),
            (TOKEN_ENV, Secret::Token),
        ] {
            if let Some(v) = value(name) {
                return Ok(make(v));
            }
        }
        if std::io::stdin().is_terminal() {
            let p = rpassword::prompt_password(format!("password for {user} at {url}: "))?;
            return Ok(Secret::Password(p));
        }
        Err(UserError(format!(
            "no secret for {user} at Control Room {}: set {PASSWORD_ENV}, {API_KEY_ENV} or {TOKEN_ENV} (or the variable its configuration names), or run on a terminal to be asked",
            self.name
        ))
        .into())
    }

    fn client(&self) -> Result<Client> {
        let url = self.url()?;
        let user = self.room.user.clone().unwrap_or_default();
        let secret = self.secret(&user, &url)?;
        if user.is_empty() && !matches!(secret, Secret::Token(_)) {
            return Err(UserError(format!(
                "no user for Control Room {}: pass --user (--login for aa-audit), set BOTLAKE_AA_USER, or set user in [control_room.{}]",
                self.name, self.name
            ))
            .into());
        }
        Ok(Client::new(
            url,
            Credentials { user, secret },
            RetryPolicy {
                max_attempts: self.room.max_attempts.unwrap_or(8),
                base_delay: Duration::from_millis(self.room.retry_base_ms.unwrap_or(200)),
                ..RetryPolicy::default()
            },
        )?
        .with_bearer(self.room.auth == Some(AuthArg::Bearer)))
    }

    /// How old an Automation 360 token may get before it is refreshed.
    fn refresh(&self) -> Duration {
        Duration::from_secs(60 * u64::from(self.room.refresh_minutes.unwrap_or(15)))
    }

    fn reconcile(&self) -> Reconcile {
        match self.room.reconcile {
            Some(ReconcileArg::Lenient) => Reconcile::Lenient,
            _ => Reconcile::Strict,
        }
    }

    /// The Bot Insight configuration.
    pub fn run_config(&self) -> RunIngestConfig {
        let room = &self.room;
        let defaults = RunIngestConfig::new(&self.name);
        RunIngestConfig {
            from: self.days.0,
            to: self.days.1,
            window_days: room.window_days.unwrap_or(defaults.window_days),
            overlap_days: room.overlap_days.unwrap_or(defaults.overlap_days),
            pagination: match room.pagination {
                Some(PaginationArg::Page) => Pagination::Page,
                _ => Pagination::Offset,
            },
            concurrency: room.concurrency.map_or(defaults.concurrency, usize::from),
            commit_rows: room
                .commit_rows
                .map_or(defaults.commit_rows, |c| c as usize),
            commit_interval: room.commit_secs.map_or(defaults.commit_interval, |s| {
                Duration::from_secs(u64::from(s))
            }),
            reconcile: self.reconcile(),
            api_path: room.api_path.clone().unwrap_or(defaults.api_path.clone()),
            generation: self.generation(),
            ..defaults
        }
    }

    /// Which Control Room answers, as the flags or the file say (11.x if they say auto or
    /// nothing: see [`generation_of`]).
    pub fn generation(&self) -> Generation {
        match self.room.generation {
            Some(GenerationArg::V113) => Generation::V113,
            Some(GenerationArg::A360) => Generation::A360,
            Some(GenerationArg::V11 | GenerationArg::Auto) | None => Generation::V11,
        }
    }
}

/// Ingests what `source` asks of Bot Insight; returns the number of rejected records.
pub async fn botinsight_source(g: &Globals, lake: &Lake, source: &Resolved) -> Result<u64> {
    // Every generation before Automation 360 .25 wants API keys with `\` escaped.
    let client = source.client()?.with_api_key_escaping(true);
    let generation = generation_of(g, source, &client).await?;
    let a360 = generation == Generation::A360;
    // Automation 360 tokens expire after 20 minutes.
    let client = match a360 {
        false => client,
        true => client.with_token_refresh(Some(source.refresh())),
    };
    let parts = source.room.only.clone().unwrap_or_else(|| match a360 {
        false => vec!["runs".into(), "audit".into(), "tasks".into()],
        true => vec!["runs".into(), "executions".into(), "audit".into()],
    });
    let mut config = source.run_config();
    config.generation = generation;
    g.info(format!(
        "ingesting {} of Control Room {} ({}) from {} into {}",
        parts.join(", "),
        source.name,
        generation.name(),
        client.base(),
        lake.url()
    ));
    let mut rejected = 0;
    let has = |p: &str| parts.iter().any(|x| x == p);
    if has("runs") {
        let config = RunIngestConfig {
            from: kept(g, source, &client, config.from, RUN_DATA_DAYS, "run data").await?,
            ..config.clone()
        };
        let s = paged(g, lake, &client, &config, Endpoint::Runs).await?;
        rejected += report(g, &s);
    }
    if has("executions") && a360 {
        rejected += list_with(g, lake, &client, source, List::Executions).await?;
    } else if has("executions") {
        g.info(format!(
            "Control Room {} is {}, which has no activity API of Automation 360: executions skipped",
            source.name,
            generation.name()
        ));
    }
    if has("audit") && a360 {
        rejected += list_with(g, lake, &client, source, List::Audit).await?;
    } else if has("audit") {
        let s = paged(g, lake, &client, &config, Endpoint::Audit).await?;
        rejected += report(g, &s);
    }
    if has("tasks") && a360 {
        g.info(format!(
            "Control Room {} is Automation 360, whose Bot Insight has no task endpoints of 11.x: tasks skipped",
            source.name
        ));
    } else if has("tasks") {
        let tasks = source.room.tasks.clone().unwrap_or_default();
        if tasks.is_empty() {
            g.info(format!(
                "no tasks for Control Room {}: pass --tasks or set tasks in [control_room.{}] to ingest task data",
                source.name, source.name
            ));
        } else {
            let log_window = source.room.log_window_days.unwrap_or(90);
            let config = RunIngestConfig {
                from: kept(g, source, &client, config.from, TASK_LOG_DAYS, "task logs").await?,
                ..config
            };
            rejected += task_data(g, lake, &client, &config, log_window, &tasks).await?;
        }
    }
    Ok(rejected)
}

/// Days of run data a Control Room keeps.
const RUN_DATA_DAYS: i64 = 60;
/// Days of task logs a Control Room keeps.
const TASK_LOG_DAYS: i64 = 90;

/// Logs in to `client`'s Control Room unless a token is at hand, retries said on the
/// terminal as every request's are.
async fn login(g: &Globals, client: &Client) -> Result<()> {
    let progress = Progress::new(g);
    let result = client.ensure_login(&progress).await;
    progress.finish();
    Ok(result?)
}

/// The generation of `source`'s Control Room: the one the flags or file name, else (auto,
/// the default) the one its login answer shows, said on the terminal.
async fn generation_of(g: &Globals, source: &Resolved, client: &Client) -> Result<Generation> {
    if !matches!(source.room.generation, Some(GenerationArg::Auto) | None) {
        return Ok(source.generation());
    }
    login(g, client).await?;
    let name = &source.name;
    Ok(match client.login_named_a_tenant() {
        Some(true) => {
            g.info(format!(
                "Control Room {name}: detected Automation 360 (its login answer names a tenant); set --generation or generation to say otherwise"
            ));
            Generation::A360
        }
        Some(false) => {
            g.info(format!(
                "Control Room {name}: detected 11.x (its login answer names no tenant); set --generation 11.3 for one that answers as 11.3's documentation says"
            ));
            Generation::V11
        }
        None => {
            g.info(format!(
                "Control Room {name}: taken as 11.x (with a token given there is no login answer to tell by); set --generation (11.x, 11.3, a360) to say which"
            ));
            Generation::V11
        }
    })
}

/// `from`, where it lies within the `keeps` days (of `what`) the Control Room keeps by its
/// clock (its answers' `Date`); before them, the oldest day it keeps with `--clamp`, said
/// on the terminal, else an error that gives both ways on. A range without `--from` (the
/// cursor's) and a Control Room whose clock is unknown (a token given, no answer yet) are
/// taken as they are.
async fn kept(
    g: &Globals,
    source: &Resolved,
    client: &Client,
    from: Option<NaiveDate>,
    keeps: i64,
    what: &str,
) -> Result<Option<NaiveDate>> {
    let Some(from) = from else { return Ok(None) };
    login(g, client).await?;
    let Some(today) = client.server_now().map(|t| t.date_naive()) else {
        return Ok(Some(from));
    };
    let oldest = today - chrono::Duration::days(keeps);
    if from >= oldest {
        return Ok(Some(from));
    }
    let said = format!(
        "--from {from} lies beyond the {keeps} days of {what} Control Room {} keeps (its clock says {today})",
        source.name
    );
    if source.clamp {
        g.info(format!(
            "{said}: starting at {oldest}, the oldest day it can give"
        ));
        return Ok(Some(oldest));
    }
    Err(UserError(format!(
        "{said}: pass --clamp to start at {oldest}, the oldest day it can give, or --from {oldest} or later"
    ))
    .into())
}

/// Ingests metadata, logs and variable profiles of `tasks`; returns the rejected records.
pub async fn task_data(
    g: &Globals,
    lake: &Lake,
    client: &Client,
    config: &RunIngestConfig,
    log_window_days: u32,
    tasks: &[String],
) -> Result<u64> {
    let progress = Progress::new(g);
    let metadata = tasks::ingest_metadata(client, lake, config, tasks, &progress).await;
    progress.finish();
    let mut rejected = report(g, &metadata?);

    let logs_config = RunIngestConfig {
        window_days: log_window_days,
        ..config.clone()
    };
    let mut total = Summary {
        table: botlake_lake::catalog::AA_TASK_LOGS.name,
        ..Summary::default()
    };
    for task in tasks {
        let s = paged(g, lake, client, &logs_config, Endpoint::TaskLogs { task }).await?;
        if g.verbosity >= 1 {
            report(g, &s);
        }
        total.from = total.from.min(s.from).or(s.from);
        total.cursor = total.cursor.min(s.cursor).or(s.cursor);
        add(&mut total, &s);
    }
    rejected += report(g, &total);

    let to = config.to.unwrap_or_else(|| Utc::now().date_naive());
    let from = config
        .from
        .unwrap_or(to - chrono::Duration::days(i64::from(config.window_days) - 1));
    let progress = Progress::new(g);
    let profiles = tasks::ingest_profiles(client, lake, config, tasks, from, to, &progress).await;
    progress.finish();
    rejected += report(g, &profiles?);
    Ok(rejected)
}

fn add(total: &mut Summary, s: &Summary) {
    total.windows += s.windows;
    total.pages += s.pages;
    total.records += s.records;
    total.bytes += s.bytes;
    total.inserted += s.inserted;
    total.updated += s.updated;
    total.unchanged += s.unchanged;
    total.rejected += s.rejected;
    total.elapsed += s.elapsed;
    total.warnings.extend(s.warnings.iter().cloned());
}

/// Ingests the A360 audit log of `source`; returns the number of rejected records.
pub async fn audit_source(g: &Globals, lake: &Lake, source: &Resolved) -> Result<u64> {
    let client = source.client()?.with_token_refresh(Some(source.refresh()));
    list_with(g, lake, &client, source, List::Audit).await
}

/// Ingests the A360 audit log or executions (`list`) of `source` through `client`.
pub async fn list_with(
    g: &Globals,
    lake: &Lake,
    client: &Client,
    source: &Resolved,
    list: List,
) -> Result<u64> {
    let room = &source.room;
    let defaults = AuditIngestConfig::new(&source.name);
    let f = &source.audit;
    let config = AuditIngestConfig {
        from: f.from,
        to: f.to,
        window: room
            .audit_window_hours
            .map_or(defaults.window, |h| chrono::Duration::hours(i64::from(h))),
        overlap: room.overlap_minutes.map_or(defaults.overlap, |m| {
            chrono::Duration::minutes(i64::from(m))
        }),
        page_length: room.page_length.map_or(defaults.page_length, u64::from),
        // A first ingest of executions reaches as far back as one of run data, so that
        // `runs` has executions wherever it has run data of the Control Room.
        first: (list == List::Executions).then(|| {
            let days = room.window_days.map_or(RUN_DATA_DAYS, i64::from);
            chrono::Duration::days(days.min(RUN_DATA_DAYS))
        }),
        concurrency: room.concurrency.map_or(defaults.concurrency, usize::from),
        commit_rows: room
            .commit_rows
            .map_or(defaults.commit_rows, |c| c as usize),
        status: f.status.clone(),
        activity: f.activity.clone(),
        user: f.user.clone(),
        reconcile: source.reconcile(),
        ..defaults
    };
    let what = match list {
        List::Audit => "audit log",
        List::Executions => "executions",
    };
    g.info(format!(
        "ingesting the A360 {what} of Control Room {} from {} into {}",
        source.name,
        client.base(),
        lake.url()
    ));
    let progress = Progress::new(g);
    let result = a360::ingest(client, lake, &config, list, &progress).await;
    progress.finish();
    let summary = result?;
    Ok(report(g, &summary))
}

/// Runs one paged Bot Insight ingest with progress on the terminal.
pub async fn paged(
    g: &Globals,
    lake: &Lake,
    client: &Client,
    config: &RunIngestConfig,
    endpoint: Endpoint<'_>,
) -> Result<Summary> {
    let progress = Progress::new(g);
    let result = botinsight::ingest(client, lake, config, endpoint, &progress).await;
    progress.finish();
    Ok(result?)
}

/// Prints the summary line of one table; returns its rejected records.
pub fn report(g: &Globals, s: &Summary) -> u64 {
    for w in &s.warnings {
        say!("warning: {}: {w}", s.table);
    }
    let cursor = s
        .cursor
        .map(|c| format!("; next ingest starts at {c}"))
        .unwrap_or_default();
    if let Some((day, page)) = s.resumed {
        g.info(format!(
            "{}: went on where the last ingest was cut short (the window from {day}, page {page})",
            s.table
        ));
    }
    g.info(format!(
        "{}: {} requests, {} records ({:.1} MB) in {:.1} s: {} new, {} updated, {} unchanged, {} rejected{cursor}",
        s.table,
        s.pages,
        s.records,
        s.bytes as f64 / 1e6,
        s.elapsed.as_secs_f64(),
        s.inserted,
        s.updated,
        s.unchanged,
        s.rejected,
    ));
    s.rejected
}

struct Progress {
    bar: Option<ProgressBar>,
    verbosity: i8,
}

impl Progress {
    /// Pages fetched or read, against the pages the windows announced.
    fn new(g: &Globals) -> Progress {
        Progress::with_bar(
            g,
            0,
            "{spinner} {msg} [{bar:30}] {pos}/{len} pages {per_sec} eta {eta}",
        )
    }

    /// Bytes of files read, against `total` if it is known (plain files).
    fn bytes(g: &Globals, total: Option<u64>) -> Progress {
        match total {
            Some(total) => Progress::with_bar(
                g,
                total,
                "{spinner} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            ),
            None => Progress::with_bar(g, 0, "{spinner} {bytes} {bytes_per_sec}"),
        }
    }

    /// A bar on standard error if it is a terminal (and not -q).
    fn with_bar(g: &Globals, length: u64, template: &str) -> Progress {
        let bar = (g.verbosity >= 0 && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(length);
            bar.set_style(
                ProgressStyle::with_template(template)
                    .expect("a valid template")
                    .progress_chars("=> "),
            );
            bar
        });
        Progress {
            bar,
            verbosity: g.verbosity,
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    fn line(&self, line: String) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => say!("{line}"),
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
            Event::Read { bytes } => {
                if let Some(bar) = &self.bar {
                    bar.inc(bytes);
                }
            }
            Event::Retrying {
                url,
                attempt,
                reason,
                delay,
            } => {
                // Every retry with -v; without, once a request has failed a few times in a
                // row, so that a server that is down does not look like a hang.
                if self.verbosity >= 1 {
                    self.line(format!(
                        "retrying {url} in {} ms (attempt {attempt} failed: {reason})",
                        delay.as_millis()
                    ));
                } else if self.verbosity == 0 && attempt >= 3 {
                    // The innermost cause is enough here.
                    let cause = reason.rsplit(": ").next().unwrap_or(reason);
                    self.line(format!(
                        "{url}: attempt {attempt} failed ({cause}); retrying in {:.1} s",
                        delay.as_secs_f64()
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

#[cfg(test)]
mod tests {
    #[test]
    fn the_bytes_to_read_are_known_for_plain_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("a.ndjson");
        std::fs::write(&plain, "{}\n{}\n").unwrap();
        let gzip = dir.path().join("b.ndjson");
        std::fs::write(&gzip, [0x1f, 0x8b, 8, 0]).unwrap();
        let name = |p: &std::path::Path| p.to_str().unwrap().to_string();
        assert_eq!(super::plain_size(&[name(&plain), name(&plain)]), Some(12));
        assert_eq!(super::plain_size(&[name(&plain), name(&gzip)]), None);
        assert_eq!(super::plain_size(&[name(&plain), "-".into()]), None);
    }
}
