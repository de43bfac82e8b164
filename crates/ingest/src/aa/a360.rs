//! Automation 360 list APIs: the audit log (`POST /v1/audit/messages/list`) and the
//! executions of the activity API (`POST /v3/activity/list`, or `/v2/activity/list` where
//! `v3` answers 404). Time windows in the filter (`createdOn`, `startDateTime`), ascending
//! sort, `page.offset`/`page.length` paging reconciled with `totalFilter`, rows upserted by
//! id.
//!
//! The cursor is the end of the last window fetched whole, in milliseconds since the
//! epoch, stored as a Delta application transaction (`aa-audit/<control room>` of
//! `aa_audit_events`, `aa-executions/<control room>` of `aa_executions`); for executions
//! it stays at the start of the earliest one still going, so that its final status is
//! read. The next ingest starts `overlap` before it, so that records the Control Room
//! writes late are caught; the key keeps the overlap from adding anything twice.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use botlake_lake::catalog::{AA_AUDIT_EVENTS, AA_EXECUTIONS};
use botlake_lake::{Checkpoint, Lake, TableDef};
use chrono::{DateTime, SecondsFormat, Utc};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::aa::botinsight::{Reconcile, Summary};
use crate::aa::client::Client;
use crate::aa::executions::ExecutionBatchBuilder;
use crate::aa::records::{AuditApi, AuditBatchBuilder};
use crate::aa::runs::Rows;
use crate::decode::Unexpected;
use crate::progress::{Event, Observer};
use crate::quarantine::{Origin, Quarantine};
use crate::{Error, Result};

/// One of Automation 360's list APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    /// The audit log into `aa_audit_events`.
    Audit,
    /// The activity API's executions into `aa_executions`.
    Executions,
}

impl List {
    /// The table it lands in.
    pub fn table(self) -> &'static TableDef {
        match self {
            List::Audit => &AA_AUDIT_EVENTS,
            List::Executions => &AA_EXECUTIONS,
        }
    }

    /// What `rejected_records.source` says of its records.
    pub fn source(self) -> &'static str {
        match self {
            List::Audit => SOURCE,
            List::Executions => "aa-activity",
        }
    }

    /// The application id under which its cursor for `control_room` is stored.
    pub fn app_id(self, control_room: &str) -> String {
        let room = crate::aa::botinsight::cursor_part(control_room);
        match self {
            List::Audit => format!("aa-audit/{room}"),
            List::Executions => format!("aa-executions/{room}"),
        }
    }

    /// The paths it is asked at, the preferred first: the next is tried where one answers
    /// 404.
    fn paths(self) -> &'static [&'static str] {
        match self {
            List::Audit => &["v1/audit/messages/list"],
            List::Executions => &["v3/activity/list", "v2/activity/list"],
        }
    }

    /// The field its windows filter and sort by.
    fn time_field(self) -> &'static str {
        match self {
            List::Audit => "createdOn",
            List::Executions => "startDateTime",
        }
    }
}

/// What to ingest from a list API and how.
#[derive(Debug, Clone)]
pub struct AuditIngestConfig {
    /// The name rows carry in `control_room`.
    pub control_room: String,
    /// Start of the first window; the stored cursor less `overlap` if not given, else
    /// `window` before the end.
    pub from: Option<DateTime<Utc>>,
    /// End of the last window (exclusive); now if not given.
    pub to: Option<DateTime<Utc>>,
    /// Longest `createdOn` window one filter covers.
    pub window: chrono::Duration,
    /// How far before the cursor an incremental ingest starts again.
    pub overlap: chrono::Duration,
    /// How far back a first ingest (no `from`, no cursor) starts; `window` if not given.
    pub first: Option<chrono::Duration>,
    /// Records per request (`page.length`).
    pub page_length: u64,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Rows to gather before committing.
    pub commit_rows: usize,
    /// Only events with this `status` (`eq`).
    pub status: Option<String>,
    /// Only events whose `activityType` contains this (`substring`).
    pub activity: Option<String>,
    /// Only events whose `userName` contains this (`substring`).
    pub user: Option<String>,
    /// What a count that does not add up means.
    pub reconcile: Reconcile,
}

impl AuditIngestConfig {
    /// Defaults for `control_room`: 7-day windows, a 15-minute overlap, 1000 per page.
    pub fn new(control_room: &str) -> AuditIngestConfig {
        AuditIngestConfig {
            control_room: control_room.to_string(),
            from: None,
            to: None,
            window: chrono::Duration::days(7),
            overlap: chrono::Duration::minutes(15),
            first: None,
            page_length: 1000,
            concurrency: 4,
            commit_rows: 100_000,
            status: None,
            activity: None,
            user: None,
            reconcile: Reconcile::Strict,
        }
    }
}

/// The application id under which the A360 audit cursor of `control_room` is stored.
pub fn app_id(control_room: &str) -> String {
    List::Audit.app_id(control_room)
}

/// The cursor of `control_room`'s last ingest of `list`, if there was one.
pub async fn stored_cursor(
    lake: &Lake,
    list: List,
    control_room: &str,
) -> Result<Option<DateTime<Utc>>> {
    let version = lake
        .cursor(list.table(), &list.app_id(control_room))
        .await?;
    Ok(version.and_then(DateTime::from_timestamp_millis))
}

/// An Automation 360 list answer (`{"page": {...}, "list": [...]}`), its records raw.
#[derive(Deserialize)]
pub(crate) struct ListPage {
    #[serde(default)]
    page: Option<PageInfo>,
    #[serde(default)]
    pub(crate) list: Option<Vec<Box<RawValue>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    total_filter: Option<Value>,
}

impl ListPage {
    /// The answer `body`; [`Unexpected`] without `list` (or with `null` for it).
    pub(crate) fn parse(body: &[u8]) -> serde_json::Result<Result<ListPage, Unexpected>> {
        let page: ListPage = serde_json::from_slice(body)?;
        Ok(match page.list {
            Some(_) => Ok(page),
            None => Err(Unexpected::lacking("list", body)),
        })
    }

    /// The records.
    pub(crate) fn records(&self) -> &[Box<RawValue>] {
        self.list.as_deref().unwrap_or_default()
    }

    /// `totalFilter`, sent as a number or a string.
    fn total_filter(&self) -> Option<u64> {
        match self.page.as_ref()?.total_filter.as_ref()? {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl AuditIngestConfig {
    /// The request body of `list` for `offset` within the window `from..to`; the status,
    /// activity and user filters are the audit log's.
    fn body(&self, list: List, from: DateTime<Utc>, to: DateTime<Utc>, offset: u64) -> Value {
        let leaf = |operator: &str, field: &str, value: String| json!({ "operator": operator, "field": field, "value": value });
        let time = list.time_field();
        let mut operands = vec![
            leaf("ge", time, timestamp(from)),
            leaf("lt", time, timestamp(to)),
        ];
        if list == List::Audit {
            if let Some(s) = &self.status {
                operands.push(leaf("eq", "status", s.clone()));
            }
            if let Some(a) = &self.activity {
                operands.push(leaf("substring", "activityType", a.clone()));
            }
            if let Some(u) = &self.user {
                operands.push(leaf("substring", "userName", u.clone()));
            }
        }
        json!({
            "filter": { "operator": "and", "operands": operands },
            "sort": [{ "field": time, "direction": "asc" }],
            "page": { "offset": offset.to_string(), "length": self.page_length.to_string() },
        })
    }
}

/// What `rejected_records.source` says for audit events.
pub const SOURCE: &str = "aa-audit";

/// Ingests A360 audit events from the Control Room behind `client` into `lake`.
pub async fn ingest_audit(
    client: &Client,
    lake: &Lake,
    config: &AuditIngestConfig,
    observer: &dyn Observer,
) -> Result<Summary> {
    ingest(client, lake, config, List::Audit, observer).await
}

/// Ingests A360 executions from the Control Room behind `client` into `lake`.
pub async fn ingest_executions(
    client: &Client,
    lake: &Lake,
    config: &AuditIngestConfig,
    observer: &dyn Observer,
) -> Result<Summary> {
    ingest(client, lake, config, List::Executions, observer).await
}

/// Ingests `list` from the Control Room behind `client` into `lake`.
pub async fn ingest(
    client: &Client,
    lake: &Lake,
    config: &AuditIngestConfig,
    list: List,
    observer: &dyn Observer,
) -> Result<Summary> {
    crate::at_least_one(&[
        ("the records of a page", config.page_length as usize),
        ("the requests in flight", config.concurrency),
        ("the rows of a commit", config.commit_rows),
    ])?;
    if config.window <= chrono::Duration::zero() {
        return Err(Error::Setting {
            setting: "the window",
            allowed: "longer than zero",
        });
    }
    let started = Instant::now();
    let end = config.to.unwrap_or_else(Utc::now);
    let from = match config.from {
        Some(f) => f,
        None => match stored_cursor(lake, list, &config.control_room).await? {
            Some(c) => c - config.overlap,
            None => end - config.first.unwrap_or(config.window),
        },
    };
    if from >= end {
        return Err(Error::NothingToFetch {
            from: from.to_string(),
            to: end.to_string(),
        });
    }
    let run = ListRun {
        client,
        lake,
        config,
        list,
        observer,
        path: AtomicUsize::new(0),
    };
    let mut state = State {
        hold: None,
        summary: Summary {
            table: list.table().name,
            from: Some(from.date_naive()),
            ..Summary::default()
        },
    };
    let mut start = from;
    while start < end {
        let stop = (start + config.window).min(end);
        run.window(start, stop, &mut state).await?;
        start = stop;
    }
    state.summary.elapsed = started.elapsed();
    Ok(state.summary)
}

/// The rows of a list's records.
enum Builder {
    Audit(AuditBatchBuilder),
    Executions(ExecutionBatchBuilder),
}

impl Builder {
    fn rows(&mut self) -> &mut dyn Rows {
        match self {
            Builder::Audit(b) => b,
            Builder::Executions(b) => b,
        }
    }

    fn last_id(&self) -> &str {
        match self {
            Builder::Audit(b) => &b.last_id,
            Builder::Executions(b) => &b.last_id,
        }
    }

    /// The start of the earliest record seen that may still change.
    fn earliest_running(&self) -> Option<DateTime<Utc>> {
        match self {
            Builder::Audit(_) => None,
            Builder::Executions(b) => b.earliest_running.and_then(DateTime::from_timestamp_micros),
        }
    }
}

/// One ingest of a list: what its concurrent requests share.
struct ListRun<'a> {
    client: &'a Client,
    lake: &'a Lake,
    config: &'a AuditIngestConfig,
    list: List,
    observer: &'a dyn Observer,
    /// Which of the list's paths answers (the ones before it answered 404).
    path: AtomicUsize,
}

/// What an ingest of a list has seen so far.
struct State {
    /// The start of the earliest record seen still going, which the cursor must not pass.
    hold: Option<DateTime<Utc>>,
    summary: Summary,
}

impl ListRun<'_> {
    /// Page `offset` of the window `from..to`; a 404 from one of the list's paths moves
    /// on to the next, for this request and every later one.
    async fn fetch(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        offset: u64,
    ) -> Result<(ListPage, usize)> {
        let body = self.config.body(self.list, from, to, offset);
        let paths = self.list.paths();
        loop {
            let at = self.path.load(Ordering::Relaxed).min(paths.len() - 1);
            let answer = self
                .client
                .post_shaped(paths[at], &body, self.observer, |b| ListPage::parse(b))
                .await;
            match answer {
                Err(Error::Refused { status: 404, .. }) if at + 1 < paths.len() => {
                    tracing::info!(
                        "{} answered 404: asking {} instead",
                        paths[at],
                        paths[at + 1]
                    );
                    let _ = self.path.compare_exchange(
                        at,
                        at + 1,
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    );
                }
                other => return other,
            }
        }
    }

    /// Fetches and commits the window `from..to`.
    async fn window(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        state: &mut State,
    ) -> Result<()> {
        let (config, list, observer) = (self.config, self.list, self.observer);
        let received_at = Utc::now();
        let mut builder = match list {
            List::Audit => Builder::Audit(AuditBatchBuilder::new(
                &config.control_room,
                AuditApi::A360,
                received_at,
            )),
            List::Executions => Builder::Executions(ExecutionBatchBuilder::new(
                &config.control_room,
                received_at,
            )),
        };
        let mut ids: HashSet<String> = HashSet::new();
        let mut quarantine = Quarantine::new();
        let length = config.page_length;
        let table = list.table().name;

        let (first, bytes) = self.fetch(from, to, 0).await?;
        let lenient = config.reconcile == Reconcile::Lenient;
        let expected = first.total_filter().unwrap_or(first.records().len() as u64);
        let pages = if lenient && (first.records().len() as u64) < length {
            1
        } else if lenient {
            u64::MAX
        } else {
            expected.div_ceil(length).max(1)
        };
        observer.on(Event::Window {
            from: from.date_naive(),
            to: to.date_naive(),
            total: expected,
            pages: pages.min(expected.div_ceil(length).max(1)),
        });
        state.summary.windows += 1;
        let mut pending = Some((first, bytes, 0u64));
        let mut rest = futures::stream::iter(1..pages)
            .map(|p| async move {
                self.fetch(from, to, p * length)
                    .await
                    .map(|(page, bytes)| (page, bytes, p * length))
            })
            .buffered(config.concurrency);
        let mut last_total = expected;
        loop {
            let (page, bytes, offset) = match pending.take() {
                Some(first) => first,
                None => match rest.next().await {
                    Some(next) => next?,
                    None => break,
                },
            };
            if let Some(t) = page.total_filter() {
                last_total = t;
            }
            let short = (page.records().len() as u64) < length;
            for (i, raw) in page.records().iter().enumerate() {
                match builder.rows().push(raw) {
                    Ok(_) => {
                        ids.insert(builder.last_id().to_string());
                    }
                    Err(reason) => {
                        let path = list.paths()[0];
                        quarantine.reject(
                            table,
                            || format!("{path} offset {offset} record {i}"),
                            reason,
                            raw.get().to_string(),
                        );
                    }
                }
            }
            state.summary.pages += 1;
            state.summary.bytes += bytes as u64;
            observer.on(Event::Page {
                records: page.records().len() as u64,
                bytes: bytes as u64,
            });
            if builder.rows().len() >= config.commit_rows {
                // Mid-window, the cursor stays where the window starts.
                self.commit(&mut builder, &mut quarantine, from, received_at, state)
                    .await?;
            }
            if lenient && short {
                break;
            }
        }
        drop(rest);
        let fetched = (ids.len() + quarantine.distinct()) as u64;
        state.summary.records += fetched;
        state.summary.rejected += quarantine.distinct() as u64;
        if fetched != expected && fetched != last_total {
            if !lenient {
                return Err(Error::Reconcile {
                    from: from.date_naive(),
                    to: to.date_naive(),
                    expected,
                    fetched,
                    cause: crate::Mismatch::AuditChanged,
                });
            }
            state.summary.warnings.push(format!(
                "window {}..{}: fetched {fetched} distinct records but totalFilter is {expected}",
                timestamp(from),
                timestamp(to)
            ));
        }
        self.commit(&mut builder, &mut quarantine, to, received_at, state)
            .await?;
        state.summary.cursor = Some(to.date_naive());
        Ok(())
    }

    /// Commits what `builder` and `quarantine` hold (rejects first), with the cursor at
    /// `cursor`, or at the earliest start of a record still going, if earlier.
    async fn commit(
        &self,
        builder: &mut Builder,
        quarantine: &mut Quarantine,
        cursor: DateTime<Utc>,
        received_at: DateTime<Utc>,
        state: &mut State,
    ) -> Result<()> {
        let (config, list) = (self.config, self.list);
        let origin = Origin {
            source: list.source(),
            control_room: &config.control_room,
        };
        quarantine
            .commit(self.lake, origin, received_at, self.observer)
            .await?;
        if let Some(t) = builder.earliest_running() {
            state.hold = Some(state.hold.map_or(t, |h| h.min(t)));
        }
        let cursor = state.hold.map_or(cursor, |h| h.min(cursor));
        // The cursor never moves back: a mid-window commit keeps the stored one if later.
        let stored = stored_cursor(self.lake, list, &config.control_room).await?;
        let cursor = stored.map_or(cursor, |s| s.max(cursor));
        let checkpoint = Checkpoint {
            app_id: list.app_id(&config.control_room),
            version: cursor.timestamp_millis(),
            description: timestamp(cursor),
            extra: Vec::new(),
        };
        let batch = builder
            .rows()
            .finish()
            .map_err(|source| Error::Arrow { source })?;
        let stats = self
            .lake
            .upsert(list.table(), vec![batch], Some(&checkpoint))
            .await?;
        state.summary.inserted += stats.inserted;
        state.summary.updated += stats.updated;
        state.summary.unchanged += stats.unchanged;
        self.observer.on(Event::Committed {
            table: list.table().name,
            stats,
        });
        Ok(())
    }
}
