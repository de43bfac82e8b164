//! UiPath Insights real-time events (one JSON object per event, as the export writes them to
//! Splunk or an Event Hub): routing by `EventType`, typed decoding into the UiPath tables,
//! and commits that make re-ingesting the same events add nothing.
//!
//! An event is either the whole export envelope (`body` plus the Event Hubs metadata
//! `x-opt-sequence-number`, `x-opt-offset`, `x-opt-enqueued-time`, `Diagnostic-Id`) or the
//! body alone. Its identity, the key of every UiPath table, is a hash of its type (in lower
//! case), entity key, timestamp and sequence number.

mod events;
mod files;
pub mod hec;

use std::collections::HashMap;

use botlake_lake::catalog::{
    UIPATH_JOB_EVENTS, UIPATH_MACHINE_EVENTS, UIPATH_OTHER_EVENTS, UIPATH_QUEUE_ITEM_EVENTS,
    UIPATH_ROBOT_LOGS,
};
use botlake_lake::{Lake, TableDef, UpsertStats};
use chrono::Utc;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::error::ArrowError;

use events::Decoder;
pub use events::event_time;
pub use files::{CommitEvery, FileSummary, MAX_LINE, ingest_reader, open_ndjson};

use crate::decode::rows::RowBuilder;
use crate::progress::{Event, Observer};
use crate::quarantine::{self, Origin, Quarantine, Rejected};
use crate::{Error, Result};

/// The `source` of UiPath rows in `rejected_records`.
pub const SOURCE: &str = "uipath";

/// Which table an event type goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// `job.*`.
    Job,
    /// `queueItem.*`.
    QueueItem,
    /// `machine.*`, `machineSession.*`.
    Machine,
    /// `robotlog`.
    RobotLog,
    /// Anything else.
    Other,
}

impl Route {
    /// The route of `event_type`, matched without regard to case.
    pub fn of(event_type: &str) -> Route {
        let t = event_type.trim().to_ascii_lowercase();
        if t.starts_with("job.") {
            Route::Job
        } else if t.starts_with("queueitem.") {
            Route::QueueItem
        } else if t.starts_with("machine.") || t.starts_with("machinesession.") {
            Route::Machine
        } else if t == "robotlog" {
            Route::RobotLog
        } else {
            Route::Other
        }
    }

    /// Its table.
    pub fn table(self) -> &'static TableDef {
        match self {
            Route::Job => &UIPATH_JOB_EVENTS,
            Route::QueueItem => &UIPATH_QUEUE_ITEM_EVENTS,
            Route::Machine => &UIPATH_MACHINE_EVENTS,
            Route::RobotLog => &UIPATH_ROBOT_LOGS,
            Route::Other => &UIPATH_OTHER_EVENTS,
        }
    }

    /// Every route, in the order commits go.
    pub const ALL: [Route; 5] = [
        Route::Job,
        Route::QueueItem,
        Route::Machine,
        Route::RobotLog,
        Route::Other,
    ];
}

/// Decoded events, by table, waiting for a commit.
pub struct Batcher {
    decoder: Decoder,
    /// The rows of each route, in the order of [`Route::ALL`], as Arrow.
    rows: [RowBuilder; 5],
    quarantine: Quarantine,
    /// Events decoded per table since the last [`Batcher::take`].
    pub counts: HashMap<Route, u64>,
}

/// What one event decoded to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded {
    /// It lands in this route's table.
    Event(Route),
    /// It went to `rejected_records`.
    Rejected,
}

impl Batcher {
    /// An empty batcher; rows carry `tenant` if given, else the event's `TenantName`.
    pub fn new(tenant: Option<String>) -> Batcher {
        Batcher {
            decoder: Decoder::new(tenant),
            rows: Route::ALL.map(|route| {
                RowBuilder::new(route.table().schema.clone(), ROWS_PER_BATCH)
                    .expect("UiPath tables have only the column types rows are built into")
            }),
            quarantine: Quarantine::new(),
            counts: HashMap::new(),
        }
    }

    /// Events waiting, rejects included.
    pub fn len(&self) -> usize {
        self.rows.iter().map(RowBuilder::len).sum::<usize>() + self.quarantine.waiting()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Decodes one event; one that does not fit goes to the rejects with `location`.
    pub fn push(&mut self, text: &str, location: impl FnOnce() -> String) -> Decoded {
        match self.decoder.decode(text, &mut self.rows) {
            Ok(route) => {
                *self.counts.entry(route).or_default() += 1;
                Decoded::Event(route)
            }
            Err((route, reason)) => {
                let table = route.table().name;
                self.quarantine
                    .reject(table, location, reason, text.to_string());
                Decoded::Rejected
            }
        }
    }

    /// Sends `raw`, an event that could not be read, to the rejects with `reason` and
    /// `location` (once per batch).
    pub fn reject(&mut self, raw: String, reason: String, location: String) -> Decoded {
        let table = Route::Other.table().name;
        self.quarantine.reject(table, || location, reason, raw);
        Decoded::Rejected
    }

    /// The waiting events as batches per table, and the rejects; the batcher starts empty
    /// again.
    pub fn take(&mut self) -> Result<Taken, ArrowError> {
        let mut out = Vec::new();
        for (route, rows) in Route::ALL.into_iter().zip(&mut self.rows) {
            let batches = rows.take()?;
            if !batches.is_empty() {
                out.push((route, batches));
            }
        }
        self.counts.clear();
        Ok((out, self.quarantine.take()))
    }
}

/// Batches by route, and the rejects.
pub type Taken = (Vec<(Route, Vec<RecordBatch>)>, Vec<Rejected>);

/// Rows of a table in one Arrow batch.
const ROWS_PER_BATCH: usize = 8192;

/// What a commit of UiPath events did.
#[derive(Debug, Clone, Default)]
pub struct Committed {
    /// Per table: rows new to it, and rows it already had.
    pub tables: Vec<(&'static str, UpsertStats)>,
    /// Events rejected.
    pub rejected: u64,
}

/// Commits what `batcher` holds: rejects first, then one upsert per table.
pub async fn commit(
    lake: &Lake,
    batcher: &mut Batcher,
    observer: &dyn Observer,
) -> Result<Committed> {
    let (batches, rejected) = batcher.take().map_err(|source| Error::Arrow { source })?;
    let mut committed = Committed {
        rejected: rejected.len() as u64,
        ..Committed::default()
    };
    let tenant = batcher.decoder.tenant.clone().unwrap_or_default();
    let origin = Origin {
        source: SOURCE,
        control_room: &tenant,
    };
    quarantine::commit(lake, origin, Utc::now(), &rejected, observer).await?;
    for (route, batches) in batches {
        let table = route.table();
        let stats = lake.upsert(table, batches, None).await?;
        observer.on(Event::Committed {
            table: table.name,
            stats,
        });
        committed.tables.push((table.name, stats));
    }
    Ok(committed)
}

#[cfg(test)]
pub(crate) mod tests {
    use datafusion::arrow::array::AsArray;

    use super::*;

    pub(crate) const JOB: &str = r#"{"body":{"Job":{"Key":"j-1","CreationTime":null,"State":"Running","StartTime":"2026-11-01T08:00:00Z","EndTime":null,"ProcessName":"Invoices","DisplayName":"Invoices","RobotName":"r1","HostMachineName":"M1"},"EventType":"job.started","SchemaVersion":"0.0.1","Timestamp":"2026-11-01T08:00:01Z","TenantKey":"t-key","TenantName":"Acme","FolderName":"Shared","FullFolderPath":"Shared","FolderKey":"f-1"},"x-opt-sequence-number":17,"x-opt-offset":"4096","x-opt-enqueued-time":1793520001000,"Diagnostic-Id":"d-1"}"#;

    #[test]
    fn routes_ignore_case() {
        assert_eq!(Route::of("queueitem.added"), Route::QueueItem);
        assert_eq!(Route::of("queueItem.retried"), Route::QueueItem);
        assert_eq!(Route::of("machineSession.status"), Route::Machine);
        assert_eq!(Route::of("machine.unassign"), Route::Machine);
        assert_eq!(Route::of("RobotLog"), Route::RobotLog);
        assert_eq!(Route::of("process.created"), Route::Other);
    }

    #[test]
    fn routes_are_declared_in_the_order_of_all() {
        for (i, route) in Route::ALL.into_iter().enumerate() {
            assert_eq!(route as usize, i);
        }
    }

    #[test]
    fn an_enveloped_job_event_fills_every_column() {
        let mut b = Batcher::new(None);
        assert_eq!(b.push(JOB, || "f:1".into()), Decoded::Event(Route::Job));
        // The body alone (as some exports send it) is the same event.
        let body = JOB
            .split_once(r#"{"body":"#)
            .unwrap()
            .1
            .split_once(r#","x-opt-sequence-number""#)
            .unwrap()
            .0;
        assert_eq!(b.push(body, || "f:2".into()), Decoded::Event(Route::Job));
        assert_eq!(b.push("{not json", || "f:3".into()), Decoded::Rejected);
        let (batches, rejected) = b.take().unwrap();
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].location, "f:3");
        let batch = &batches[0].1[0];
        assert_eq!(batch.num_rows(), 2);
        let col = |n: &str| batch.column_by_name(n).unwrap().clone();
        assert_eq!(col("tenant").as_string::<i32>().value(0), "Acme");
        assert_eq!(col("job_key").as_string::<i32>().value(1), "j-1");
        assert_eq!(col("diagnostic_id").as_string::<i32>().value(0), "d-1");
        let seq = col("x_opt_sequence_number");
        let seq = seq.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        assert_eq!(seq.value(0), 17);
        assert!(datafusion::arrow::array::Array::is_null(seq, 1));
        // Without the sequence number it is another identity.
        let ids = col("event_id");
        assert_ne!(
            ids.as_string::<i32>().value(0),
            ids.as_string::<i32>().value(1)
        );
    }

    // Regression: `x-opt-enqueued-time` 9999999999999999 (milliseconds) overflowed a
    // `* 1000`: `ingest uipath` panicked (exit 101) and the receiver's committer died for
    // good. Values out of range (far-future ends, SLAs past any deadline arithmetic) are
    // rejected with the field that is, and the events around them go on.
    #[test]
    fn values_out_of_range_are_rejected_with_the_field_never_a_panic() {
        let queue = |sla: &str| {
            format!(
                r#"{{"EventType":"queueItem.added","Timestamp":"2026-11-01T08:00:00Z","TenantName":"T","QueueItem":{{"Key":"i-1","Status":"New","SecondsInPreviousAttempt":1.5}},"Queue":{{"Name":"Q","SlaInMinutes":{sla}}}}}"#
            )
        };
        let cases = [
            (
                JOB.replace("1793520001000", "9999999999999999"),
                "x-opt-enqueued-time",
            ),
            (
                JOB.replace("1793520001000", "-9223372036854775808"),
                "x-opt-enqueued-time",
            ),
            (JOB.replace("1793520001000", "1e300"), "x-opt-enqueued-time"),
            (
                JOB.replace(r#""EndTime":null"#, r#""EndTime":"+200000-01-01T00:00:00""#),
                "EndTime",
            ),
            (
                JOB.replace(r#""EndTime":null"#, r#""EndTime":"2300-01-01T00:00:00Z""#),
                "EndTime",
            ),
            (
                JOB.replace("2026-11-01T08:00:01Z", "1969-07-20T20:17:00Z"),
                "Timestamp",
            ),
            (queue("200000000"), "SlaInMinutes"),
            (queue("-5"), "SlaInMinutes"),
            (
                queue("30").replace("1.5", "1e300"),
                "SecondsInPreviousAttempt",
            ),
        ];
        let mut b = Batcher::new(None);
        for (i, (event, _)) in cases.iter().enumerate() {
            let decoded = b.push(event, || format!("case {i}"));
            assert_eq!(decoded, Decoded::Rejected, "case {i}: {event}");
        }
        // The ones in range around them land.
        assert_eq!(b.push(JOB, || "ok".into()), Decoded::Event(Route::Job));
        assert_eq!(
            b.push(&queue("30"), || "ok".into()),
            Decoded::Event(Route::QueueItem)
        );
        let (batches, rejected) = b.take().unwrap();
        assert_eq!(batches.len(), 2);
        assert_eq!(rejected.len(), cases.len());
        for (r, (_, field)) in rejected.iter().zip(&cases) {
            assert!(
                r.reason.contains(field),
                "{} does not name {field}",
                r.reason
            );
        }
    }

    #[test]
    fn bad_times_and_types_are_rejected_with_the_reason() {
        let mut b = Batcher::new(Some("t".into()));
        let bad_time = JOB.replace("2026-11-01T08:00:00Z", "yesterday");
        let bad_type = JOB.replace(r#""Key":"j-1""#, r#""Key":42"#);
        assert_eq!(b.push(&bad_time, || "a".into()), Decoded::Rejected);
        assert_eq!(b.push(&bad_type, || "b".into()), Decoded::Rejected);
        let (_, rejected) = b.take().unwrap();
        assert!(
            rejected[0].reason.contains("StartTime"),
            "{}",
            rejected[0].reason
        );
        assert!(
            rejected[1].reason.contains("job event"),
            "{}",
            rejected[1].reason
        );
    }
}
