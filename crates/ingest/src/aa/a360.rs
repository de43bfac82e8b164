//! Automation 360 audit ingest through `POST /v1/audit/messages/list`: `createdOn` windows
//! in the filter, ascending sort, `page.offset`/`page.length` paging reconciled with
//! `totalFilter`, rows upserted by id.
//!
//! The cursor is the end of the last window fetched whole, in milliseconds since the
//! epoch, stored as the Delta application transaction `aa-audit/<control room>` of
//! `aa_audit_events`. The next ingest starts `overlap` before it, so that events the
//! Control Room writes late are caught; the key (`control_room`, `event_id`) keeps the
//! overlap from adding anything twice.

use std::collections::HashSet;
use std::time::Instant;

use botlake_lake::catalog::AA_AUDIT_EVENTS;
use botlake_lake::{Checkpoint, Lake};
use chrono::{DateTime, SecondsFormat, Utc};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::aa::botinsight::{Reconcile, Summary};
use crate::aa::client::Client;
use crate::aa::records::{AuditApi, AuditBatchBuilder};
use crate::aa::runs::Rows;
use crate::decode::Unexpected;
use crate::progress::{Event, Observer};
use crate::quarantine::{Origin, Quarantine};
use crate::{Error, Result};

/// What to ingest and how.
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
    format!(
        "aa-audit/{}",
        crate::aa::botinsight::cursor_part(control_room)
    )
}

/// The cursor of `control_room`'s last A360 audit ingest, if there was one.
pub async fn stored_cursor(lake: &Lake, control_room: &str) -> Result<Option<DateTime<Utc>>> {
    let version = lake.cursor(&AA_AUDIT_EVENTS, &app_id(control_room)).await?;
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
    /// The request body for `offset` within the window `from..to`.
    fn body(&self, from: DateTime<Utc>, to: DateTime<Utc>, offset: u64) -> Value {
        let leaf = |operator: &str, field: &str, value: String| json!({ "operator": operator, "field": field, "value": value });
        let mut operands = vec![
            leaf("ge", "createdOn", timestamp(from)),
            leaf("lt", "createdOn", timestamp(to)),
        ];
        if let Some(s) = &self.status {
            operands.push(leaf("eq", "status", s.clone()));
        }
        if let Some(a) = &self.activity {
            operands.push(leaf("substring", "activityType", a.clone()));
        }
        if let Some(u) = &self.user {
            operands.push(leaf("substring", "userName", u.clone()));
        }
        json!({
            "filter": { "operator": "and", "operands": operands },
            "sort": [{ "field": "createdOn", "direction": "asc" }],
            "page": { "offset": offset.to_string(), "length": self.page_length.to_string() },
        })
    }
}

const PATH: &str = "v1/audit/messages/list";

/// What `rejected_records.source` says for audit events.
pub const SOURCE: &str = "aa-audit";

/// Ingests A360 audit events from the Control Room behind `client` into `lake`.
pub async fn ingest_audit(
    client: &Client,
    lake: &Lake,
    config: &AuditIngestConfig,
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
        None => match stored_cursor(lake, &config.control_room).await? {
            Some(c) => c - config.overlap,
            None => end - config.window,
        },
    };
    if from >= end {
        return Err(Error::NothingToFetch {
            from: from.to_string(),
            to: end.to_string(),
        });
    }
    let mut summary = Summary {
        table: AA_AUDIT_EVENTS.name,
        from: Some(from.date_naive()),
        ..Summary::default()
    };
    let mut start = from;
    while start < end {
        let stop = (start + config.window).min(end);
        window(client, lake, config, start, stop, observer, &mut summary).await?;
        summary.cursor = Some(stop.date_naive());
        start = stop;
    }
    summary.elapsed = started.elapsed();
    Ok(summary)
}

async fn fetch(
    client: &Client,
    config: &AuditIngestConfig,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    offset: u64,
    observer: &dyn Observer,
) -> Result<(ListPage, usize)> {
    let body = config.body(from, to, offset);
    client
        .post_shaped(PATH, &body, observer, |b| ListPage::parse(b))
        .await
}

async fn window(
    client: &Client,
    lake: &Lake,
    config: &AuditIngestConfig,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    observer: &dyn Observer,
    summary: &mut Summary,
) -> Result<()> {
    let received_at = Utc::now();
    let mut builder = AuditBatchBuilder::new(&config.control_room, AuditApi::A360, received_at);
    let mut ids: HashSet<String> = HashSet::new();
    let mut quarantine = Quarantine::new();
    let length = config.page_length;

    let (first, bytes) = fetch(client, config, from, to, 0, observer).await?;
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
    summary.windows += 1;
    let mut pending = Some((first, bytes, 0u64));
    let mut rest = futures::stream::iter(1..pages)
        .map(|p| async move {
            fetch(client, config, from, to, p * length, observer)
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
            match builder.push(raw) {
                Ok(_) => {
                    ids.insert(builder.last_id.clone());
                }
                Err(reason) => {
                    quarantine.reject(
                        AA_AUDIT_EVENTS.name,
                        || format!("{PATH} offset {offset} record {i}"),
                        reason,
                        raw.get().to_string(),
                    );
                }
            }
        }
        summary.pages += 1;
        summary.bytes += bytes as u64;
        observer.on(Event::Page {
            records: page.records().len() as u64,
            bytes: bytes as u64,
        });
        if builder.len() >= config.commit_rows {
            commit(
                lake,
                config,
                &mut builder,
                &mut quarantine,
                from,
                received_at,
                observer,
                summary,
            )
            .await?;
        }
        if lenient && short {
            break;
        }
    }
    drop(rest);
    let fetched = (ids.len() + quarantine.distinct()) as u64;
    summary.records += fetched;
    summary.rejected += quarantine.distinct() as u64;
    if fetched != expected && fetched != last_total {
        let message = format!(
            "window {}..{}: fetched {fetched} distinct events but totalFilter is {expected}",
            timestamp(from),
            timestamp(to)
        );
        if !lenient {
            return Err(Error::Reconcile {
                from: from.date_naive(),
                to: to.date_naive(),
                expected,
                fetched,
                cause: crate::Mismatch::AuditChanged,
            });
        }
        summary.warnings.push(message);
    }
    commit(
        lake,
        config,
        &mut builder,
        &mut quarantine,
        to,
        received_at,
        observer,
        summary,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn commit(
    lake: &Lake,
    config: &AuditIngestConfig,
    builder: &mut AuditBatchBuilder,
    quarantine: &mut Quarantine,
    cursor: DateTime<Utc>,
    received_at: DateTime<Utc>,
    observer: &dyn Observer,
    summary: &mut Summary,
) -> Result<()> {
    let origin = Origin {
        source: SOURCE,
        control_room: &config.control_room,
    };
    quarantine
        .commit(lake, origin, received_at, observer)
        .await?;
    // The cursor never moves back: a mid-window commit keeps the stored one if it is later.
    let stored = stored_cursor(lake, &config.control_room).await?;
    let cursor = stored.map_or(cursor, |s| s.max(cursor));
    let checkpoint = Checkpoint {
        app_id: app_id(&config.control_room),
        version: cursor.timestamp_millis(),
        description: timestamp(cursor),
        extra: Vec::new(),
    };
    let batch = builder.finish().map_err(|source| Error::Arrow { source })?;
    let stats = lake
        .upsert(&AA_AUDIT_EVENTS, vec![batch], Some(&checkpoint))
        .await?;
    summary.inserted += stats.inserted;
    summary.updated += stats.updated;
    summary.unchanged += stats.unchanged;
    observer.on(Event::Committed {
        table: AA_AUDIT_EVENTS.name,
        stats,
    });
    Ok(())
}
