//! Bot run ingest from Bot Insight's `getbotrundata`: date windows within the API's limit,
//! every page of every window fetched with bounded concurrency, the count reconciled with
//! `totalRecords`, and rows committed with the cursor in the same commit.
//!
//! The cursor is the first day the next ingest must fetch again: the end of the last
//! window, or earlier if a run that started then was still in progress (so that its final
//! status replaces the in-progress row). It is stored as the Delta application transaction
//! `aa-botinsight/runs/<control room>` whose version is the cursor's day number, so it
//! survives checkpoints and log cleanup.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use botlake_lake::catalog::{AA_BOT_RUNS, REJECTED_RECORDS};
use botlake_lake::{Checkpoint, Lake};
use chrono::{DateTime, NaiveDate, Utc};
use futures::StreamExt;

use crate::client::Client;
use crate::decode::{Rejected, RunBatchBuilder, RunPage, record_hash, rejected_batch};
use crate::progress::{Event, Observer};
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
        }
    }
}

/// What an ingest did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
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

/// The application id under which the cursor of `control_room` is stored.
pub fn app_id(control_room: &str) -> String {
    format!("aa-botinsight/runs/{control_room}")
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")
}

/// The cursor of `control_room`'s last ingest, if there was one.
pub async fn stored_cursor(lake: &Lake, control_room: &str) -> Result<Option<NaiveDate>> {
    let version = lake.cursor(&AA_BOT_RUNS, &app_id(control_room)).await?;
    Ok(version.map(|v| epoch() + chrono::Duration::days(v)))
}

fn checkpoint(control_room: &str, cursor: NaiveDate) -> Checkpoint {
    Checkpoint {
        app_id: app_id(control_room),
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
        None => stored_cursor(lake, &config.control_room)
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
            observer,
        },
        lake,
        config,
        observer,
        today,
        hold: None,
        summary: Summary {
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
    observer: &'a dyn Observer,
}

impl Fetcher<'_> {
    async fn fetch(self, from: NaiveDate, to: NaiveDate, page: u64) -> Result<(RunPage, usize)> {
        let index = self.config.pagination.start_index(page);
        let path = format!("v2/botinsight/data/api/getbotrundata/{index}/{from}?endDate={to}");
        self.client
            .get(&path, self.observer, |bytes| serde_json::from_slice(bytes))
            .await
    }
}

struct Run<'a> {
    fetcher: Fetcher<'a>,
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
        let mut builder = RunBatchBuilder::new(&self.config.control_room, received_at);
        let mut rejected: Vec<Rejected> = Vec::new();
        let mut ids: HashSet<i64> = HashSet::new();
        let mut rejected_hashes: HashSet<String> = HashSet::new();

        let fetcher = self.fetcher;
        let (first, bytes) = fetcher.fetch(from, to, 0).await?;
        let expected = first.total_records.unwrap_or(first.records.len() as u64);
        let pages = expected.div_ceil(PAGE_SIZE).max(1);
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
            if let Some(t) = page.total_records {
                last_total = t;
            }
            let index = self.config.pagination.start_index(page_no);
            for (i, raw) in page.records.iter().enumerate() {
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
                                location: format!(
                                    "getbotrundata/{index}/{from}?endDate={to} record {i}"
                                ),
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
                self.commit(&mut builder, &mut rejected, cursor, received_at)
                    .await?;
            }
        }
        drop(rest);

        let fetched = (ids.len() + rejected_hashes.len()) as u64;
        self.summary.records += fetched;
        self.summary.rejected += rejected_hashes.len() as u64;
        if fetched != expected && fetched != last_total {
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
        self.commit(&mut builder, &mut rejected, cursor, received_at)
            .await?;
        self.summary.cursor = Some(cursor);
        Ok(())
    }

    async fn commit(
        &mut self,
        builder: &mut RunBatchBuilder,
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
                AA_BOT_RUNS.name,
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
        let stats = self
            .lake
            .upsert(
                &AA_BOT_RUNS,
                vec![batch],
                Some(&checkpoint(&self.config.control_room, cursor)),
            )
            .await?;
        self.summary.inserted += stats.inserted;
        self.summary.updated += stats.updated;
        self.summary.unchanged += stats.unchanged;
        self.observer.on(Event::Committed {
            table: AA_BOT_RUNS.name,
            stats,
        });
        Ok(())
    }
}
