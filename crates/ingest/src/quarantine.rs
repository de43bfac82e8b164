//! Quarantine: records that did not fit go to `rejected_records` with their reason, where
//! they came from, and the record as received, while the rest of their page lands.
//!
//! Every source gathers its rejects in a [`Quarantine`] (which keeps each record once) and
//! commits them with [`Quarantine::commit`] before the rows they came with: if the rows'
//! commit fails, the rejects are kept all the same, and their key (source, Control Room,
//! record hash) makes the next attempt add them only once.
//!
//! `table_name` is the table a record was meant for: the endpoint's table for Automation
//! Anywhere, the table of the event's type for UiPath. A UiPath event whose type cannot be
//! read goes where unknown types go, `uipath_other_events`.

use std::collections::HashSet;
use std::sync::Arc;

use botlake_lake::catalog::REJECTED_RECORDS;
use botlake_lake::{Lake, UpsertStats};
use chrono::{DateTime, Utc};
use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray, TimestampMicrosecondArray};
use datafusion::arrow::error::ArrowError;

use crate::decode::constant;
use crate::progress::{Event, Observer};
use crate::{Error, Result};

/// A record that did not fit.
#[derive(Debug, Clone)]
pub struct Rejected {
    /// The table it was meant for.
    pub table: &'static str,
    /// Where it came from (request and position).
    pub location: String,
    /// Why it was rejected.
    pub reason: String,
    /// The record as received.
    pub raw: String,
}

/// A stable 64-bit FNV-1a hash of a record, its identity in `rejected_records` (and of
/// UiPath events, in their tables).
pub fn record_hash(raw: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in raw.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Where rejects are committed from: what `rejected_records.source` and `control_room`
/// say of them.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// The source (`aa-botinsight`, `aa-audit`, `aa-pages`, `uipath`).
    pub source: &'a str,
    /// The Control Room, or UiPath tenant.
    pub control_room: &'a str,
}

/// Rejected records waiting for their commit, each kept once.
#[derive(Debug, Default)]
pub struct Quarantine {
    waiting: Vec<Rejected>,
    /// Hashes of every record rejected since the quarantine was made or last forgot.
    seen: HashSet<String>,
}

impl Quarantine {
    /// An empty quarantine.
    pub fn new() -> Quarantine {
        Quarantine::default()
    }

    /// Keeps `raw`, meant for `table`, with `reason` and the location `location` gives,
    /// unless the same record was kept already; says whether it was new.
    pub fn reject(
        &mut self,
        table: &'static str,
        location: impl FnOnce() -> String,
        reason: String,
        raw: String,
    ) -> bool {
        let new = self.seen.insert(record_hash(&raw));
        if new {
            self.waiting.push(Rejected {
                table,
                location: location(),
                reason,
                raw,
            });
        }
        new
    }

    /// Adds rejects another quarantine kept (the upsert by key keeps a record once).
    pub fn extend(&mut self, rejected: Vec<Rejected>) {
        self.waiting.extend(rejected);
    }

    /// Rejects waiting for a commit.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Distinct records rejected since the quarantine was made or last forgot, committed
    /// or not.
    pub fn distinct(&self) -> usize {
        self.seen.len()
    }

    /// The waiting rejects, handed over; what was seen is forgotten, so that the next
    /// record is kept even if it was seen before.
    pub fn take(&mut self) -> Vec<Rejected> {
        self.seen.clear();
        std::mem::take(&mut self.waiting)
    }

    /// Commits the waiting rejects, if any, as received at `received_at` from `origin`;
    /// what was seen is remembered, so a record seen again is not counted again.
    pub async fn commit(
        &mut self,
        lake: &Lake,
        origin: Origin<'_>,
        received_at: DateTime<Utc>,
        observer: &dyn Observer,
    ) -> Result<Option<UpsertStats>> {
        let stats = commit(lake, origin, received_at, &self.waiting, observer).await?;
        self.waiting.clear();
        Ok(stats)
    }
}

/// Commits `rejected`, if any, as received at `received_at` from `origin` (the one write of
/// `rejected_records`).
pub async fn commit(
    lake: &Lake,
    origin: Origin<'_>,
    received_at: DateTime<Utc>,
    rejected: &[Rejected],
    observer: &dyn Observer,
) -> Result<Option<UpsertStats>> {
    if rejected.is_empty() {
        return Ok(None);
    }
    let batch =
        rejected_batch(origin, received_at, rejected).map_err(|source| Error::Arrow { source })?;
    let stats = lake.upsert(&REJECTED_RECORDS, vec![batch], None).await?;
    observer.on(Event::Committed {
        table: REJECTED_RECORDS.name,
        stats,
    });
    Ok(Some(stats))
}

/// A `rejected_records` batch of `rejected`.
fn rejected_batch(
    origin: Origin<'_>,
    received_at: DateTime<Utc>,
    rejected: &[Rejected],
) -> Result<RecordBatch, ArrowError> {
    let n = rejected.len();
    let text = |v: &str| Arc::new(constant(v, n)) as ArrayRef;
    let ts = |v: i64| {
        Arc::new(TimestampMicrosecondArray::from(vec![v; n]).with_timezone("UTC")) as ArrayRef
    };
    let strings = |f: &dyn Fn(&Rejected) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(rejected.iter().map(f)))
    };
    let now = Utc::now().timestamp_micros();
    RecordBatch::try_new(
        REJECTED_RECORDS.schema.clone(),
        vec![
            text(origin.source),
            text(origin.control_room),
            strings(&|r| r.table),
            Arc::new(StringArray::from_iter_values(
                rejected.iter().map(|r| record_hash(&r.raw)),
            )),
            strings(&|r| &r.location),
            strings(&|r| &r.reason),
            strings(&|r| &r.raw),
            ts(received_at.timestamp_micros()),
            ts(now),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_hash_is_stable() {
        assert_eq!(record_hash("abc"), record_hash("abc"));
        assert_ne!(record_hash("abc"), record_hash("abd"));
        assert_eq!(record_hash(""), "cbf29ce484222325");
    }

    #[test]
    fn a_record_is_kept_once_until_handed_over() {
        let mut q = Quarantine::new();
        let mut located = 0;
        let mut reject = |q: &mut Quarantine, raw: &str| {
            q.reject(
                "t",
                || {
                    located += 1;
                    "here".into()
                },
                "bad".into(),
                raw.into(),
            )
        };
        assert!(reject(&mut q, "a"));
        assert!(!reject(&mut q, "a"));
        assert!(reject(&mut q, "b"));
        assert_eq!((q.waiting(), q.distinct()), (2, 2));
        let taken = q.take();
        assert_eq!(taken.len(), 2);
        assert_eq!((q.waiting(), q.distinct()), (0, 0));
        assert!(reject(&mut q, "a"), "forgotten once handed over");
        assert_eq!(located, 3, "a location is made only for a record kept");
        let batch = rejected_batch(
            Origin {
                source: "s",
                control_room: "c",
            },
            Utc::now(),
            &taken,
        )
        .unwrap();
        assert_eq!(batch.num_rows(), 2);
        let hashes = batch.column_by_name("record_hash").unwrap();
        let hashes = hashes.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(hashes.value(0), record_hash("a"));
    }
}
