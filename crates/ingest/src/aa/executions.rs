//! Automation 360 executions (`POST /v3/activity/list`) into `aa_executions`, record by
//! record: the one source that sees deployments that failed, runs that timed out and runs
//! still going. Their statuses become the cross-vendor `runs` model in `queries/runs.sql`:
//! `COMPLETED` succeeded; `RUN_FAILED`, `RUN_TIMED_OUT`, `DEPLOY_FAILED` failed;
//! `RUN_ABORTED` stopped; any other (`DEPLOYED`, `RUNNING`, `RUN_PAUSED`, `UPDATE`,
//! `UNKNOWN`, ...) running.

use std::sync::Arc;

use botlake_lake::catalog::AA_EXECUTIONS;
use chrono::{DateTime, Utc};
use datafusion::arrow::array::{
    ArrayRef, Date32Builder, Int64Builder, RecordBatch, StringBuilder, TimestampMicrosecondArray,
    TimestampMicrosecondBuilder,
};
use datafusion::arrow::error::ArrowError;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::aa::runs::{Decoded, Rows};
use crate::decode::{TimeRange, constant, epoch_days};

/// The statuses after which an execution no longer changes.
pub const FINAL_STATUSES: [&str; 5] = [
    "COMPLETED",
    "RUN_FAILED",
    "RUN_TIMED_OUT",
    "DEPLOY_FAILED",
    "RUN_ABORTED",
];

/// Executions still going after this many days are taken as hung and no longer hold the
/// cursor back.
const REVISIT_DAYS: i64 = 7;

/// An execution as the activity API lists it; unknown properties are ignored.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Execution {
    id: ExecutionId,
    automation_name: Option<String>,
    file_name: Option<String>,
    file_path: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    status: Option<String>,
    progress: Option<i64>,
    command: Option<String>,
    user_name: Option<String>,
    device_name: Option<String>,
    start_date_time: String,
    end_date_time: Option<String>,
}

/// A string id, as documented; a number is taken as its text.
#[derive(Deserialize)]
#[serde(untagged)]
enum ExecutionId {
    Text(String),
    Number(i64),
}

/// Builds `aa_executions` batches.
pub struct ExecutionBatchBuilder {
    control_room: String,
    ingested_at: i64,
    range: TimeRange,
    id: StringBuilder,
    /// automationName, fileName, filePath, type, command.
    text: [StringBuilder; 5],
    status: StringBuilder,
    progress: Int64Builder,
    user_name: StringBuilder,
    device_name: StringBuilder,
    start: TimestampMicrosecondBuilder,
    end: TimestampMicrosecondBuilder,
    day: Date32Builder,
    rows: usize,
    /// The id of the last record pushed.
    pub last_id: String,
    /// The earliest start (microseconds) of an execution pushed still going, started within
    /// [`REVISIT_DAYS`] of the ingest.
    pub earliest_running: Option<i64>,
}

impl ExecutionBatchBuilder {
    /// An empty builder for executions of `control_room` ingested at `ingested_at`.
    pub fn new(control_room: &str, ingested_at: DateTime<Utc>) -> Self {
        ExecutionBatchBuilder {
            control_room: control_room.to_string(),
            ingested_at: ingested_at.timestamp_micros(),
            range: TimeRange::received(ingested_at),
            id: StringBuilder::new(),
            text: std::array::from_fn(|_| StringBuilder::new()),
            status: StringBuilder::new(),
            progress: Int64Builder::new(),
            user_name: StringBuilder::new(),
            device_name: StringBuilder::new(),
            start: TimestampMicrosecondBuilder::new(),
            end: TimestampMicrosecondBuilder::new(),
            day: Date32Builder::new(),
            rows: 0,
            last_id: String::new(),
            earliest_running: None,
        }
    }
}

impl Rows for ExecutionBatchBuilder {
    fn push(&mut self, raw: &RawValue) -> Result<Decoded, String> {
        let e: Execution =
            serde_json::from_str(raw.get()).map_err(|e| format!("not an execution: {e}"))?;
        let id = match e.id {
            ExecutionId::Text(s) if !s.is_empty() => s,
            ExecutionId::Text(_) => return Err("id is empty".into()),
            ExecutionId::Number(n) => n.to_string(),
        };
        let start = self.range.parse("startDateTime", &e.start_date_time)?;
        let end = match e.end_date_time.as_deref() {
            None | Some("") => None,
            Some(t) => Some(self.range.parse("endDateTime", t)?),
        };
        let status = e.status.map(|s| s.trim().to_ascii_uppercase());
        let in_progress = !status
            .as_deref()
            .is_some_and(|s| FINAL_STATUSES.contains(&s));
        let day = DateTime::from_timestamp_micros(start)
            .ok_or("startDateTime is out of range")?
            .date_naive();
        let recent = self.ingested_at.saturating_sub(start) <= REVISIT_DAYS * 86_400_000_000;
        if in_progress && recent {
            self.earliest_running = Some(self.earliest_running.map_or(start, |t| t.min(start)));
        }
        self.id.append_value(&id);
        let texts = [
            e.automation_name,
            e.file_name,
            e.file_path,
            e.kind,
            e.command,
        ];
        for (b, v) in self.text.iter_mut().zip(texts) {
            b.append_option(v);
        }
        self.status.append_option(status);
        self.progress.append_option(e.progress);
        self.user_name.append_option(e.user_name);
        self.device_name.append_option(e.device_name);
        self.start.append_value(start);
        self.end.append_option(end);
        self.day.append_value(epoch_days(day));
        self.rows += 1;
        let hash =
            u64::from_str_radix(&crate::quarantine::record_hash(&id), 16).expect("a hash is hex");
        self.last_id = id;
        Ok(Decoded {
            id: hash as i64,
            day,
            in_progress,
        })
    }

    fn len(&self) -> usize {
        self.rows
    }

    fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let n = std::mem::take(&mut self.rows);
        let text = |b: &mut StringBuilder| -> ArrayRef { Arc::new(b.finish()) };
        let utc = |b: &mut TimestampMicrosecondBuilder| -> ArrayRef {
            Arc::new(b.finish().with_timezone("UTC"))
        };
        let [automation, file, path, kind, command] = &mut self.text;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(constant(&self.control_room, n)),
            text(&mut self.id),
            text(automation),
            text(file),
            text(path),
            text(kind),
            text(&mut self.status),
            Arc::new(self.progress.finish()),
            text(command),
            text(&mut self.user_name),
            text(&mut self.device_name),
            utc(&mut self.start),
            utc(&mut self.end),
            Arc::new(
                TimestampMicrosecondArray::from(vec![self.ingested_at; n]).with_timezone("UTC"),
            ),
            Arc::new(self.day.finish()),
        ];
        RecordBatch::try_new(AA_EXECUTIONS.schema.clone(), columns)
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Array, AsArray};

    use super::*;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_string()).unwrap()
    }

    #[test]
    fn executions_decode_with_their_status_and_what_holds_the_cursor() {
        let now = "2026-10-05T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let mut b = ExecutionBatchBuilder::new("cr", now);
        let done = b
            .push(&raw(r#"{"id":"e-1","automationName":"Claims","fileName":"Claims","type":"RUN_NOW",
                "startDateTime":"2026-10-01T08:00:00Z","endDateTime":"2026-10-01T08:05:00Z",
                "status":"completed","progress":100,"deviceName":"H1","userName":"u1","extra":[1]}"#))
            .unwrap();
        assert!(!done.in_progress);
        let running = b
            .push(&raw(
                r#"{"id":"e-2","startDateTime":"2026-10-04T08:00:00Z","status":"RUN_PAUSED"}"#,
            ))
            .unwrap();
        assert!(running.in_progress);
        // Hung for weeks: running, but it no longer holds the cursor.
        b.push(&raw(
            r#"{"id":7,"startDateTime":"2026-09-01T08:00:00Z","status":"RUNNING"}"#,
        ))
        .unwrap();
        for (bad, why) in [
            (r#"{"id":"e-4","status":"COMPLETED"}"#, "startDateTime"),
            (
                r#"{"id":"","startDateTime":"2026-10-01T08:00:00Z"}"#,
                "empty",
            ),
            (
                r#"{"id":"e-5","startDateTime":"yesterday"}"#,
                "startDateTime",
            ),
        ] {
            let e = b.push(&raw(bad)).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
        let start = "2026-10-04T08:00:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(b.earliest_running, Some(start.timestamp_micros()));
        let batch = b.finish().unwrap();
        assert_eq!(batch.num_rows(), 3);
        let ids = batch
            .column_by_name("execution_id")
            .unwrap()
            .as_string::<i32>();
        assert_eq!(
            ids.iter().flatten().collect::<Vec<_>>(),
            ["e-1", "e-2", "7"]
        );
        let status = batch.column_by_name("status").unwrap().as_string::<i32>();
        assert_eq!(status.value(0), "COMPLETED");
        assert!(batch.column_by_name("end_time").unwrap().is_null(1));
    }
}
