//! Ingest of Bot Insight's paged endpoints (`getbotrundata`, `gettasklogdata`,
//! `getaudittraildata`): date windows within the API's limit, every page of every window
//! fetched with bounded concurrency, the count reconciled with `totalRecords`, and rows
//! committed with the cursor in the same commit.
//!
//! The cursor is the first day the next ingest must fetch again: the end of the last
//! window, or earlier if a run that started then was still in progress (so that its final
//! status replaces the in-progress row). It is stored as a Delta application transaction
//! (`aa-botinsight/runs/<control room>`, `.../tasklogs/<control room>/<task>`,
//! `.../audit/<control room>`) whose version is the cursor's day number, so it survives
//! checkpoints and log cleanup.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use botlake_lake::catalog::{AA_AUDIT_EVENTS, AA_BOT_RUNS, AA_TASK_LOGS, REJECTED_RECORDS};
use botlake_lake::{Checkpoint, Lake, TableDef};
use chrono::{DateTime, NaiveDate, Utc};
use futures::StreamExt;

use crate::client::Client;
use crate::decode::{
    Rejected, Rows, RunBatchBuilder, RunPage, not_utf8, record_hash, rejected_batch,
};
use crate::progress::{Event, Observer};
use crate::records::{AuditApi, AuditBatchBuilder, TaskLogBatchBuilder};
use crate::{Error, Result};

/// Records per page, as Bot Insight serves them.
pub const PAGE_SIZE: u64 = 1000;

/// How the Control Room counts `startIndex`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pagination {
    /// A record offset incremented by 1000 (the OpenAPI spec).
    #[default]
    Offset,
    /// A page number (the Bot Insight 11.3 documentation).
    Page,
}

impl Pagination {
    fn start_index(self, page: u64) -> u64 {
        match self {
            Pagination::Offset => page * PAGE_SIZE,
            Pagination::Page => page,
        }
    }

    fn other(self) -> &'static str {
        match self {
            Pagination::Offset => "page",
            Pagination::Page => "offset",
        }
    }
}

/// Where Bot Insight's v11 API lives on a Control Room, relative to its URL.
pub const DEFAULT_API_PATH: &str = "v2/botinsight/data/api";

/// What to do when the records fetched do not add up to `totalRecords`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reconcile {
    /// Fail the window (nothing of it is lost: the cursor stays before it).
    #[default]
    Strict,
    /// Page until a short page and report the difference as a warning, for servers
    /// whose `totalRecords` cannot be trusted (mock servers, some proxies).
    Lenient,
}

/// One of Bot Insight's paged endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint<'a> {
    /// `getbotrundata` into `aa_bot_runs`.
    Runs,
    /// `gettasklogdata/{task}` into `aa_task_logs`.
    TaskLogs {
        /// The task's Analytics name.
        task: &'a str,
    },
    /// `getaudittraildata` into `aa_audit_events`.
    Audit,
}

impl Endpoint<'_> {
    /// The table it lands in.
    pub fn table(self) -> &'static TableDef {
        match self {
            Endpoint::Runs => &AA_BOT_RUNS,
            Endpoint::TaskLogs { .. } => &AA_TASK_LOGS,
            Endpoint::Audit => &AA_AUDIT_EVENTS,
        }
    }

    /// The application id under which the cursor of `control_room` is stored.
    pub fn app_id(self, control_room: &str) -> String {
        match self {
            Endpoint::Runs => format!("aa-botinsight/runs/{control_room}"),
            Endpoint::TaskLogs { task } => format!("aa-botinsight/tasklogs/{control_room}/{task}"),
            Endpoint::Audit => format!("aa-botinsight/audit/{control_room}"),
        }
    }

    /// The request for page `index` of the window `from..to`, relative to the API path.
    fn path(self, index: u64, from: NaiveDate, to: NaiveDate) -> String {
        match self {
            Endpoint::Runs => format!("getbotrundata/{index}/{from}?endDate={to}"),
            Endpoint::TaskLogs { task } => format!(
                "gettasklogdata/{}/{index}/{from}?endDate={to}",
                path_segment(task)
            ),
            Endpoint::Audit => format!("getaudittraildata/{index}/{from}?endDate={to}"),
        }
    }

    pub(crate) fn builder(
        self,
        control_room: &str,
        received_at: DateTime<Utc>,
    ) -> Box<dyn Rows + Send> {
        match self {
            Endpoint::Runs => Box::new(RunBatchBuilder::new(control_room, received_at)),
            Endpoint::TaskLogs { task } => {
                Box::new(TaskLogBatchBuilder::new(control_room, task, received_at))
            }
            Endpoint::Audit => Box::new(AuditBatchBuilder::new(
                control_room,
                AuditApi::V11,
                received_at,
            )),
        }
    }
}

/// A task name (or any text) as one percent-encoded URL path segment.
pub fn path_segment(text: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(text, SEGMENT).to_string()
}

/// What to ingest and how.
#[derive(Debug, Clone)]
pub struct RunIngestConfig {
    /// The name rows carry in `control_room`.
    pub control_room: String,
    /// First day to fetch; the stored cursor if not given, else the last `window_days`.
    pub from: Option<NaiveDate>,
    /// Last day to fetch; today (UTC) if not given.
    pub to: Option<NaiveDate>,
    /// Longest window one request may cover (60 days in the spec).
    pub window_days: u32,
    /// How `startIndex` counts.
    pub pagination: Pagination,
    /// Pages in flight at once.
    pub concurrency: usize,
    /// Rows to gather before committing; bounds memory whatever the window holds.
    pub commit_rows: usize,
    /// Runs still in progress after this many days are taken as hung and no longer hold
    /// the cursor back.
    pub revisit_days: u32,
    /// What a count that does not add up means.
    pub reconcile: Reconcile,
    /// Where the v11 API lives, relative to the Control Room's URL.
    pub api_path: String,
}

impl RunIngestConfig {
    /// Defaults for `control_room`: 60-day windows, offset pagination, 4 pages at once.
    pub fn new(control_room: &str) -> RunIngestConfig {
        RunIngestConfig {
            control_room: control_room.to_string(),
            from: None,
            to: None,
            window_days: 60,
            pagination: Pagination::Offset,
            concurrency: 4,
            commit_rows: 100_000,
            revisit_days: 7,
            reconcile: Reconcile::Strict,
            api_path: DEFAULT_API_PATH.to_string(),
        }
    }
}

/// What an ingest did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// The table it landed in.
    pub table: &'static str,
    /// Counts that did not add up, under [`Reconcile::Lenient`].
    pub warnings: Vec<String>,
    /// Date windows fetched.
    pub windows: u64,
    /// Pages fetched.
    pub pages: u64,
    /// Records received (distinct).
    pub records: u64,
    /// Bytes of JSON received.
    pub bytes: u64,
    /// Runs new to the lake.
    pub inserted: u64,
    /// Runs whose row changed (a new status, usually).
    pub updated: u64,
    /// Runs already in the lake as they are.
    pub unchanged: u64,
    /// Records that did not fit and went to `rejected_records`.
    pub rejected: u64,
    /// First day fetched.
    pub from: Option<NaiveDate>,
    /// The cursor stored for the next ingest.
    pub cursor: Option<NaiveDate>,
    /// Wall time.
    pub elapsed: Duration,
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")
}

/// The cursor of `control_room`'s last ingest of `endpoint`, if there was one.
pub async fn stored_cursor(
    lake: &Lake,
    endpoint: Endpoint<'_>,
    control_room: &str,
) -> Result<Option<NaiveDate>> {
    let version = lake
        .cursor(endpoint.table(), &endpoint.app_id(control_room))
        .await?;
    Ok(version.map(|v| epoch() + chrono::Duration::days(v)))
}

fn checkpoint(endpoint: Endpoint<'_>, control_room: &str, cursor: NaiveDate) -> Checkpoint {
    Checkpoint {
        app_id: endpoint.app_id(control_room),
        version: (cursor - epoch()).num_days(),
        description: cursor.to_string(),
    }
}

/// Ingests bot runs from the Control Room behind `client` into `lake`.
pub async fn ingest_runs(
    client: &Client,
    lake: &Lake,
    config: &RunIngestConfig,
    observer: &dyn Observer,
) -> Result<Summary> {
    ingest(client, lake, config, Endpoint::Runs, observer).await
}

/// Ingests one paged endpoint from the Control Room behind `client` into `lake`.
pub async fn ingest(
    client: &Client,
    lake: &Lake,
    config: &RunIngestConfig,
    endpoint: Endpoint<'_>,
    observer: &dyn Observer,
) -> Result<Summary> {
    if config.window_days == 0 || config.concurrency == 0 || config.commit_rows == 0 {
        return Err(Error::Config(
            "window days, concurrency and commit rows must be at least 1".into(),
        ));
    }
    let started = Instant::now();
    let today = config.to.unwrap_or_else(|| Utc::now().date_naive());
    let end = today + chrono::Duration::days(1);
    let window = chrono::Duration::days(i64::from(config.window_days));
    let from = match config.from {
        Some(d) => d,
        None => stored_cursor(lake, endpoint, &config.control_room)
            .await?
            .unwrap_or(end - window),
    };
    if from > today {
        return Err(Error::Config(format!(
            "--from {from} is after the last day to fetch ({today})"
        )));
    }
    let mut run = Run {
        fetcher: Fetcher {
            client,
            config,
            endpoint,
            observer,
        },
        endpoint,
        lake,
        config,
        observer,
        today,
        hold: None,
        summary: Summary {
            table: endpoint.table().name,
            from: Some(from),
            ..Summary::default()
        },
    };
    let mut start = from;
    while start < end {
        let stop = (start + window).min(end);
        run.window(start, stop).await?;
        start = stop;
    }
    run.summary.elapsed = started.elapsed();
    Ok(run.summary)
}

/// The read-only half of an ingest, which concurrent page fetches share.
#[derive(Clone, Copy)]
struct Fetcher<'a> {
    client: &'a Client,
    config: &'a RunIngestConfig,
    endpoint: Endpoint<'a>,
    observer: &'a dyn Observer,
}

impl Fetcher<'_> {
    async fn fetch(self, from: NaiveDate, to: NaiveDate, page: u64) -> Result<(RunPage, usize)> {
        let index = self.config.pagination.start_index(page);
        let api = self.config.api_path.trim_matches('/');
        let request = self.endpoint.path(index, from, to);
        let path = if api.is_empty() {
            request
        } else {
            format!("{api}/{request}")
        };
        self.client
            .get(&path, self.observer, |bytes| RunPage::parse(bytes))
            .await
    }
}

struct Run<'a> {
    fetcher: Fetcher<'a>,
    endpoint: Endpoint<'a>,
    lake: &'a Lake,
    config: &'a RunIngestConfig,
    observer: &'a dyn Observer,
    today: NaiveDate,
    /// The earliest start day of a run seen in progress, which the cursor must not pass.
    hold: Option<NaiveDate>,
    summary: Summary,
}

impl Run<'_> {
    fn cursor_at(&self, day: NaiveDate) -> NaiveDate {
        self.hold.map_or(day, |h| h.min(day))
    }

    async fn window(&mut self, from: NaiveDate, to: NaiveDate) -> Result<()> {
        let received_at = Utc::now();
        let mut builder = self
            .endpoint
            .builder(&self.config.control_room, received_at);
        let mut rejected: Vec<Rejected> = Vec::new();
        let mut ids: HashSet<i64> = HashSet::new();
        let mut rejected_hashes: HashSet<String> = HashSet::new();

        let fetcher = self.fetcher;
        let (first, bytes) = fetcher.fetch(from, to, 0).await?;
        let lenient = self.config.reconcile == Reconcile::Lenient;
        let expected = first.total().unwrap_or(first.records.len() as u64);
        let pages = if !lenient {
            expected.div_ceil(PAGE_SIZE).max(1)
        } else if (first.records.len() as u64) < PAGE_SIZE {
            1
        } else {
            // Until a short page says the window is done.
            u64::MAX
        };
        self.observer.on(Event::Window {
            from,
            to,
            total: expected,
            pages,
        });
        self.summary.windows += 1;
        let mut last_total = expected;
        let mut pending = Some((first, bytes));
        let mut rest = futures::stream::iter(1..pages)
            .map(|p| async move { fetcher.fetch(from, to, p).await.map(|r| (p, r)) })
            .buffered(self.config.concurrency);
        let mut page_no = 0;
        loop {
            let (page, bytes) = match pending.take() {
                Some(first) => first,
                None => match rest.next().await {
                    Some(next) => {
                        let (p, r) = next?;
                        page_no = p;
                        r
                    }
                    None => break,
                },
            };
            if let Some(t) = page.total() {
                last_total = t;
            }
            let short = (page.records.len() as u64) < PAGE_SIZE;
            let index = self.config.pagination.start_index(page_no);
            for (i, raw) in page.records.iter().enumerate() {
                let location = || format!("{} record {i}", self.endpoint.path(index, from, to));
                if page.mended
                    && let Some((reason, raw)) = not_utf8(raw.get())
                {
                    if rejected_hashes.insert(record_hash(&raw)) {
                        rejected.push(Rejected {
                            location: location(),
                            reason,
                            raw,
                        });
                    }
                    continue;
                }
                match builder.push(raw) {
                    Ok(decoded) => {
                        ids.insert(decoded.id);
                        let recent = self.today - decoded.day
                            <= chrono::Duration::days(i64::from(self.config.revisit_days));
                        if decoded.in_progress && recent {
                            self.hold = Some(self.hold.map_or(decoded.day, |h| h.min(decoded.day)));
                        }
                    }
                    Err(reason) => {
                        if rejected_hashes.insert(record_hash(raw.get())) {
                            rejected.push(Rejected {
                                location: location(),
                                reason,
                                raw: raw.get().to_string(),
                            });
                        }
                    }
                }
            }
            self.summary.pages += 1;
            self.summary.bytes += bytes as u64;
            self.observer.on(Event::Page {
                records: page.records.len() as u64,
                bytes: bytes as u64,
            });
            if builder.len() >= self.config.commit_rows {
                // The window is not done: the cursor stays where it can restart the window.
                let cursor = self.cursor_at(from);
                self.commit(builder.as_mut(), &mut rejected, cursor, received_at)
                    .await?;
            }
            if lenient && short {
                break;
            }
        }
        drop(rest);

        let fetched = (ids.len() + rejected_hashes.len()) as u64;
        self.summary.records += fetched;
        self.summary.rejected += rejected_hashes.len() as u64;
        if fetched != expected && fetched != last_total && lenient {
            self.summary.warnings.push(format!(
                "window {from}..{to}: fetched {fetched} distinct records but totalRecords is {expected}"
            ));
        } else if fetched != expected && fetched != last_total {
            let hint = if fetched < expected {
                format!(
                    "pages are missing: the Control Room may count startIndex differently; try --pagination {}",
                    self.config.pagination.other()
                )
            } else {
                "the Control Room's data changed while it was read; run the ingest again".into()
            };
            // What was committed of this window stays (it is correct data); the cursor
            // did not move, so the next ingest fetches the whole window again.
            return Err(Error::Reconcile {
                from,
                to,
                expected,
                fetched,
                hint,
            });
        }
        let cursor = self.cursor_at(to.min(self.today));
        self.commit(builder.as_mut(), &mut rejected, cursor, received_at)
            .await?;
        self.summary.cursor = Some(cursor);
        Ok(())
    }

    async fn commit(
        &mut self,
        builder: &mut (dyn Rows + Send),
        rejected: &mut Vec<Rejected>,
        cursor: NaiveDate,
        received_at: DateTime<Utc>,
    ) -> Result<()> {
        if !rejected.is_empty() {
            // Rejects first: if the run commit below fails, they are still kept, and
            // their key makes the next attempt add them only once.
            let batch = rejected_batch(
                "aa-botinsight",
                &self.config.control_room,
                self.endpoint.table().name,
                received_at,
                rejected,
            )
            .map_err(|source| Error::Arrow { source })?;
            let stats = self
                .lake
                .upsert(&REJECTED_RECORDS, vec![batch], None)
                .await?;
            self.observer.on(Event::Committed {
                table: REJECTED_RECORDS.name,
                stats,
            });
            rejected.clear();
        }
        let batch = builder.finish().map_err(|source| Error::Arrow { source })?;
        let table = self.endpoint.table();
        let stats = self
            .lake
            .upsert(
                table,
                vec![batch],
                Some(&checkpoint(
                    self.endpoint,
                    &self.config.control_room,
                    cursor,
                )),
            )
            .await?;
        self.summary.inserted += stats.inserted;
        self.summary.updated += stats.updated;
        self.summary.unchanged += stats.unchanged;
        self.observer.on(Event::Committed {
            table: table.name,
            stats,
        });
        Ok(())
    }
}
