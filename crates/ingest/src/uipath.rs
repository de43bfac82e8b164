//! UiPath Insights real-time events (one JSON object per event, as the export writes them to
//! Splunk or an Event Hub): routing by `EventType`, typed decoding into the UiPath tables,
//! and commits that make re-ingesting the same events add nothing.
//!
//! An event is either the whole export envelope (`body` plus the Event Hubs metadata
//! `x-opt-sequence-number`, `x-opt-offset`, `x-opt-enqueued-time`, `Diagnostic-Id`) or the
//! body alone. Its identity, the key of every UiPath table, is a hash of its type (in lower
//! case), entity key, timestamp and sequence number.

use std::collections::HashMap;
use std::io::BufRead;
use std::time::{Duration, Instant};

use botlake_lake::catalog::{
    REJECTED_RECORDS, UIPATH_JOB_EVENTS, UIPATH_MACHINE_EVENTS, UIPATH_OTHER_EVENTS,
    UIPATH_QUEUE_ITEM_EVENTS, UIPATH_ROBOT_LOGS,
};
use botlake_lake::{Lake, TableDef, UpsertStats};
use chrono::{DateTime, Utc};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::error::ArrowError;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::decode::rows::RowBuilder;
use crate::decode::{
    MAX_DURATION_MS, Rejected, TimeRange, bounded, escape_invalid_utf8, parse_timestamp,
    record_hash, rejected_batch,
};
use crate::progress::{Event, Observer};
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

/// A string or a number, as metadata fields arrive.
#[derive(Deserialize)]
#[serde(untagged)]
enum Loose {
    Number(serde_json::Number),
    Text(String),
}

impl Loose {
    fn text(self) -> String {
        match self {
            Loose::Number(n) => n.to_string(),
            Loose::Text(s) => s,
        }
    }

    /// A time in `range`: epoch milliseconds, or an ISO 8601 string; why `field` is not.
    fn micros(self, field: &str, range: TimeRange) -> Result<i64, String> {
        match self {
            Loose::Number(n) => match n.as_i64() {
                Some(ms) => range.millis(field, ms),
                None => Err(format!("{field} {n} is not a time in milliseconds")),
            },
            Loose::Text(s) => range.parse(field, &s),
        }
    }
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    body: Option<&'a RawValue>,
    #[serde(rename = "x-opt-sequence-number", default)]
    sequence_number: Option<i64>,
    #[serde(rename = "x-opt-offset", default)]
    offset: Option<Loose>,
    #[serde(rename = "x-opt-enqueued-time", default)]
    enqueued_time: Option<Loose>,
    #[serde(rename = "Diagnostic-Id", default)]
    diagnostic_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Common {
    event_type: String,
    schema_version: Option<String>,
    timestamp: String,
    tenant_key: Option<String>,
    tenant_name: Option<String>,
    folder_name: Option<String>,
    full_folder_path: Option<String>,
    folder_key: Option<String>,
}

/// The columns every UiPath table shares, as one row.
#[derive(Serialize)]
struct CommonRow {
    tenant: String,
    event_id: String,
    event_type: String,
    schema_version: Option<String>,
    timestamp: i64,
    tenant_key: Option<String>,
    tenant_name: Option<String>,
    folder_name: Option<String>,
    full_folder_path: Option<String>,
    folder_key: Option<String>,
    x_opt_sequence_number: Option<i64>,
    x_opt_offset: Option<String>,
    x_opt_enqueued_time: Option<i64>,
    diagnostic_id: Option<String>,
    #[serde(rename = "_ingested_at")]
    ingested_at: i64,
    day: i32,
}

/// A time field: `null`, empty or an ISO 8601 string in `range`; anything else does not
/// fit.
fn time(range: TimeRange, name: &str, v: Option<String>) -> Result<Option<i64>, String> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => range.parse(name, s).map(Some),
    }
}

/// The longest SLA a queue may have, in minutes: as long as the longest duration. A larger
/// one is a broken record (and past about 153 million minutes, the deadline arithmetic of
/// `queue_sla` overflows).
const MAX_SLA_MINUTES: i64 = MAX_DURATION_MS / 60_000;

/// Seconds a transaction or attempt may say it took, at most.
const MAX_SECONDS: f64 = (MAX_DURATION_MS / 1000) as f64;

/// A JSON value kept whole, as text.
fn whole(v: Option<Box<RawValue>>) -> Option<String> {
    v.map(|r| r.get().to_string()).filter(|s| s != "null")
}

#[derive(Deserialize)]
struct JobBody {
    #[serde(rename = "Job")]
    job: Option<Job>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Job {
    key: Option<String>,
    creation_time: Option<String>,
    state: Option<String>,
    start_time: Option<String>,
    end_time: Option<String>,
    process_name: Option<String>,
    display_name: Option<String>,
    robot_name: Option<String>,
    host_machine_name: Option<String>,
}

#[derive(Serialize)]
struct JobRow {
    #[serde(flatten)]
    common: CommonRow,
    job_key: Option<String>,
    creation_time: Option<i64>,
    state: Option<String>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    process_name: Option<String>,
    display_name: Option<String>,
    robot_name: Option<String>,
    host_machine_name: Option<String>,
}

#[derive(Deserialize)]
struct QueueBody {
    #[serde(rename = "QueueItem")]
    item: Option<QueueItem>,
    #[serde(rename = "Queue")]
    queue: Option<Queue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct QueueItem {
    key: Option<String>,
    queue_definition_id: Option<i64>,
    status: Option<String>,
    review_status: Option<String>,
    due_date: Option<String>,
    priority: Option<String>,
    creation_time: Option<String>,
    start_processing: Option<String>,
    end_processing: Option<String>,
    deffer_date: Option<String>,
    seconds_in_previous_attempt: Option<f64>,
    retry_number: Option<i64>,
    progress: Option<String>,
    analytics_data: Option<Box<RawValue>>,
    output: Option<Box<RawValue>>,
    specific_data: Option<Box<RawValue>>,
    creator_job_id: Option<i64>,
    executor_job_id: Option<i64>,
    process_exception_reason: Option<String>,
    process_exception_details: Option<String>,
    process_exception_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Queue {
    key: Option<String>,
    name: Option<String>,
    description: Option<String>,
    max_number_of_retries: Option<i64>,
    enforce_unique_reference: Option<bool>,
    sla_in_minutes: Option<i64>,
    risk_sla_in_minutes: Option<i64>,
}

#[derive(Serialize, Default)]
struct QueueItemRow {
    queue_item_key: Option<String>,
    queue_definition_id: Option<i64>,
    status: Option<String>,
    review_status: Option<String>,
    due_date: Option<i64>,
    priority: Option<String>,
    creation_time: Option<i64>,
    start_processing: Option<i64>,
    end_processing: Option<i64>,
    deffer_date: Option<i64>,
    seconds_in_previous_attempt: Option<f64>,
    retry_number: Option<i64>,
    progress: Option<String>,
    analytics_data: Option<String>,
    output: Option<String>,
    specific_data: Option<String>,
    creator_job_id: Option<i64>,
    executor_job_id: Option<i64>,
    process_exception_reason: Option<String>,
    process_exception_details: Option<String>,
    process_exception_type: Option<String>,
    queue_key: Option<String>,
    queue_name: Option<String>,
    queue_description: Option<String>,
    max_number_of_retries: Option<i64>,
    enforce_unique_reference: Option<bool>,
    sla_in_minutes: Option<i64>,
    risk_sla_in_minutes: Option<i64>,
}

#[derive(Serialize)]
struct QueueRow {
    #[serde(flatten)]
    common: CommonRow,
    #[serde(flatten)]
    item: QueueItemRow,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MachineBody {
    machine_session: Option<Machine>,
    machine: Option<Machine>,
    machine_assign: Option<Machine>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct Machine {
    machine_key: Option<String>,
    machine_name: Option<String>,
    machine_id: Option<i64>,
    host_machine_name: Option<String>,
    service_username: Option<String>,
    machine_status: Option<String>,
    reporting_time: Option<String>,
    is_unresponsive: Option<bool>,
    automation_cloud_slots: Option<i64>,
    headless_slots: Option<i64>,
    non_production_slots: Option<i64>,
    unattended_slots: Option<i64>,
}

#[derive(Serialize)]
struct MachineRow {
    #[serde(flatten)]
    common: CommonRow,
    machine_key: Option<String>,
    machine_name: Option<String>,
    machine_id: Option<i64>,
    host_machine_name: Option<String>,
    service_username: Option<String>,
    machine_status: Option<String>,
    reporting_time: Option<i64>,
    is_unresponsive: Option<bool>,
    automation_cloud_slots: Option<i64>,
    headless_slots: Option<i64>,
    non_production_slots: Option<i64>,
    unattended_slots: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RobotBody {
    level: Option<String>,
    machine_key: Option<String>,
    robot_log: Option<RobotLog>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RobotLog {
    message: Option<String>,
    level: Option<String>,
    log_type: Option<String>,
    #[serde(rename = "CustomFields", alias = "customFields")]
    custom_fields: Option<Box<RawValue>>,
    #[serde(alias = "timestamp")]
    time_stamp: Option<String>,
    fingerprint: Option<String>,
    windows_identity: Option<String>,
    machine_name: Option<String>,
    file_name: Option<String>,
    initiated_by: Option<String>,
    transaction_execution_time: Option<f64>,
    total_execution_time_in_seconds: Option<f64>,
    queue_item_priority: Option<String>,
    queue_item_review_status: Option<String>,
    queue_name: Option<String>,
    transaction_id: Option<String>,
    transaction_state: Option<String>,
    transaction_status: Option<String>,
    processing_exception_reason: Option<String>,
    processing_exception_type: Option<String>,
    process_name: Option<String>,
    process_version: Option<String>,
    #[serde(alias = "JobId")]
    job_id: Option<String>,
    robot_name: Option<String>,
    machine_id: Option<i64>,
    organization_unit_id: Option<i64>,
    activity_info: Option<Box<RawValue>>,
    #[serde(rename = "MachineKey")]
    machine_key: Option<String>,
}

#[derive(Serialize)]
struct RobotLogRow {
    #[serde(flatten)]
    common: CommonRow,
    event_level: Option<String>,
    machine_key: Option<String>,
    message: Option<String>,
    level: Option<String>,
    log_type: Option<String>,
    time_stamp: Option<i64>,
    fingerprint: Option<String>,
    windows_identity: Option<String>,
    machine_name: Option<String>,
    file_name: Option<String>,
    initiated_by: Option<String>,
    transaction_execution_time: Option<f64>,
    total_execution_time_in_seconds: Option<f64>,
    queue_item_priority: Option<String>,
    queue_item_review_status: Option<String>,
    queue_name: Option<String>,
    transaction_id: Option<String>,
    transaction_state: Option<String>,
    transaction_status: Option<String>,
    processing_exception_reason: Option<String>,
    processing_exception_type: Option<String>,
    process_name: Option<String>,
    process_version: Option<String>,
    job_id: Option<String>,
    robot_name: Option<String>,
    machine_id: Option<i64>,
    organization_unit_id: Option<i64>,
    activity_info: Option<String>,
    custom_fields: Option<String>,
}

#[derive(Serialize)]
struct OtherRow {
    #[serde(flatten)]
    common: CommonRow,
    raw: String,
}

/// Decoded events, by table, waiting for a commit.
pub struct Batcher {
    tenant: Option<String>,
    ingested_at: i64,
    /// The times events may carry.
    range: TimeRange,
    /// The rows of each route, in the order of [`Route::ALL`], as Arrow.
    rows: [RowBuilder; 5],
    rejected: Vec<Rejected>,
    rejected_hashes: std::collections::HashSet<String>,
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
        let now = Utc::now();
        Batcher {
            tenant,
            ingested_at: now.timestamp_micros(),
            range: TimeRange::received(now),
            rows: Route::ALL.map(|route| {
                RowBuilder::new(route.table().schema.clone(), ROWS_PER_BATCH)
                    .expect("UiPath tables have only the column types rows are built into")
            }),
            rejected: Vec::new(),
            rejected_hashes: Default::default(),
            counts: HashMap::new(),
        }
    }

    /// The rows of `route` (routes are declared in the order of [`Route::ALL`]).
    fn rows_of(&mut self, route: Route) -> &mut RowBuilder {
        &mut self.rows[route as usize]
    }

    /// Events waiting, rejects included.
    pub fn len(&self) -> usize {
        self.rows.iter().map(RowBuilder::len).sum::<usize>() + self.rejected.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Decodes one event; one that does not fit goes to the rejects with `location`.
    pub fn push(&mut self, text: &str, location: impl FnOnce() -> String) -> Decoded {
        match self.decode(text) {
            Ok(route) => {
                *self.counts.entry(route).or_default() += 1;
                Decoded::Event(route)
            }
            Err(reason) => self.reject(text.to_string(), reason, location()),
        }
    }

    /// Sends `raw` to the rejects with `reason` and `location` (once per batch).
    pub fn reject(&mut self, raw: String, reason: String, location: String) -> Decoded {
        if self.rejected_hashes.insert(record_hash(&raw)) {
            self.rejected.push(Rejected {
                location,
                reason,
                raw,
            });
        }
        Decoded::Rejected
    }

    fn decode(&mut self, text: &str) -> Result<Route, String> {
        let envelope: Envelope<'_> =
            serde_json::from_str(text).map_err(|e| format!("not a JSON object: {e}"))?;
        let body = envelope.body.map_or(text, RawValue::get);
        let c: Common = serde_json::from_str(body)
            .map_err(|e| format!("missing or invalid common fields: {e}"))?;
        let range = self.range;
        let ts = range.parse("Timestamp", &c.timestamp)?;
        let ts = DateTime::from_timestamp_micros(ts).expect("a time in range has a date");
        let route = Route::of(&c.event_type);
        let parse = |what: &str, e: serde_json::Error| format!("not a {what} event: {e}");
        let (entity, row): (String, Row) = match route {
            Route::Job => {
                let b: JobBody = serde_json::from_str(body).map_err(|e| parse("job", e))?;
                let j = b.job.ok_or("a job event without Job")?;
                (j.key.clone().unwrap_or_default(), Row::Job(j))
            }
            Route::QueueItem => {
                let b: QueueBody =
                    serde_json::from_str(body).map_err(|e| parse("queue item", e))?;
                let item = b.item.ok_or("a queue item event without QueueItem")?;
                (
                    item.key.clone().unwrap_or_default(),
                    Row::Queue(item, b.queue),
                )
            }
            Route::Machine => {
                let b: MachineBody = serde_json::from_str(body).map_err(|e| parse("machine", e))?;
                let m =
                    b.machine_session.or(b.machine).or(b.machine_assign).ok_or(
                        "a machine event without MachineSession, Machine or MachineAssign",
                    )?;
                (m.machine_key.clone().unwrap_or_default(), Row::Machine(m))
            }
            Route::RobotLog => {
                let b: RobotBody = serde_json::from_str(body).map_err(|e| parse("robot log", e))?;
                let log = b.robot_log.ok_or("a robotlog event without RobotLog")?;
                // Logs of one job share timestamps; the fingerprint, else the message,
                // tells them apart.
                let entity = format!(
                    "{}|{}|{}",
                    log.job_id.as_deref().unwrap_or_default(),
                    log.fingerprint.as_deref().unwrap_or_default(),
                    log.message.as_deref().unwrap_or_default()
                );
                (entity, Row::Robot(b.level, b.machine_key, log))
            }
            Route::Other => (record_hash(body), Row::Other(body.to_string())),
        };
        let sequence = envelope.sequence_number;
        let identity = format!(
            "{}|{entity}|{}|{}",
            c.event_type.trim().to_ascii_lowercase(),
            ts.timestamp_micros(),
            sequence.map(|s| s.to_string()).unwrap_or_default()
        );
        let tenant = self
            .tenant
            .clone()
            .or_else(|| c.tenant_name.clone())
            .or_else(|| c.tenant_key.clone())
            .unwrap_or_else(|| "default".into());
        let common = CommonRow {
            tenant,
            event_id: record_hash(&identity),
            event_type: c.event_type,
            schema_version: c.schema_version,
            timestamp: ts.timestamp_micros(),
            tenant_key: c.tenant_key,
            tenant_name: c.tenant_name,
            folder_name: c.folder_name,
            full_folder_path: c.full_folder_path,
            folder_key: c.folder_key,
            x_opt_sequence_number: sequence,
            x_opt_offset: envelope.offset.map(Loose::text),
            x_opt_enqueued_time: envelope
                .enqueued_time
                .map(|t| t.micros("x-opt-enqueued-time", range))
                .transpose()?,
            diagnostic_id: envelope.diagnostic_id,
            ingested_at: self.ingested_at,
            day: crate::decode::epoch_days(ts.date_naive()),
        };
        match row {
            Row::Job(j) => self.rows_of(Route::Job).push(&JobRow {
                common,
                job_key: j.key,
                creation_time: time(range, "CreationTime", j.creation_time)?,
                state: j.state,
                start_time: time(range, "StartTime", j.start_time)?,
                end_time: time(range, "EndTime", j.end_time)?,
                process_name: j.process_name,
                display_name: j.display_name,
                robot_name: j.robot_name,
                host_machine_name: j.host_machine_name,
            }),
            Row::Queue(i, q) => {
                let q = q.unwrap_or(Queue {
                    key: None,
                    name: None,
                    description: None,
                    max_number_of_retries: None,
                    enforce_unique_reference: None,
                    sla_in_minutes: None,
                    risk_sla_in_minutes: None,
                });
                let item = QueueItemRow {
                    queue_item_key: i.key,
                    queue_definition_id: i.queue_definition_id,
                    status: i.status,
                    review_status: i.review_status,
                    due_date: time(range, "DueDate", i.due_date)?,
                    priority: i.priority,
                    creation_time: time(range, "CreationTime", i.creation_time)?,
                    start_processing: time(range, "StartProcessing", i.start_processing)?,
                    end_processing: time(range, "EndProcessing", i.end_processing)?,
                    deffer_date: time(range, "DefferDate", i.deffer_date)?,
                    seconds_in_previous_attempt: bounded(
                        "SecondsInPreviousAttempt",
                        i.seconds_in_previous_attempt,
                        MAX_SECONDS,
                    )?,
                    retry_number: i.retry_number,
                    progress: i.progress,
                    analytics_data: whole(i.analytics_data),
                    output: whole(i.output),
                    specific_data: whole(i.specific_data),
                    creator_job_id: i.creator_job_id,
                    executor_job_id: i.executor_job_id,
                    process_exception_reason: i.process_exception_reason,
                    process_exception_details: i.process_exception_details,
                    process_exception_type: i.process_exception_type,
                    queue_key: q.key,
                    queue_name: q.name,
                    queue_description: q.description,
                    max_number_of_retries: q.max_number_of_retries,
                    enforce_unique_reference: q.enforce_unique_reference,
                    sla_in_minutes: bounded("SlaInMinutes", q.sla_in_minutes, MAX_SLA_MINUTES)?,
                    risk_sla_in_minutes: bounded(
                        "RiskSlaInMinutes",
                        q.risk_sla_in_minutes,
                        MAX_SLA_MINUTES,
                    )?,
                };
                self.rows_of(Route::QueueItem)
                    .push(&QueueRow { common, item })
            }
            Row::Machine(m) => self.rows_of(Route::Machine).push(&MachineRow {
                common,
                machine_key: m.machine_key,
                machine_name: m.machine_name,
                machine_id: m.machine_id,
                host_machine_name: m.host_machine_name,
                service_username: m.service_username,
                machine_status: m.machine_status,
                reporting_time: time(range, "ReportingTime", m.reporting_time)?,
                is_unresponsive: m.is_unresponsive,
                automation_cloud_slots: m.automation_cloud_slots,
                headless_slots: m.headless_slots,
                non_production_slots: m.non_production_slots,
                unattended_slots: m.unattended_slots,
            }),
            Row::Robot(event_level, machine_key, l) => {
                self.rows_of(Route::RobotLog).push(&RobotLogRow {
                    common,
                    event_level,
                    machine_key: machine_key.or(l.machine_key),
                    message: l.message,
                    level: l.level,
                    log_type: l.log_type,
                    time_stamp: time(range, "timeStamp", l.time_stamp)?,
                    fingerprint: l.fingerprint,
                    windows_identity: l.windows_identity,
                    machine_name: l.machine_name,
                    file_name: l.file_name,
                    initiated_by: l.initiated_by,
                    transaction_execution_time: bounded(
                        "transactionExecutionTime",
                        l.transaction_execution_time,
                        MAX_SECONDS,
                    )?,
                    total_execution_time_in_seconds: bounded(
                        "totalExecutionTimeInSeconds",
                        l.total_execution_time_in_seconds,
                        MAX_SECONDS,
                    )?,
                    queue_item_priority: l.queue_item_priority,
                    queue_item_review_status: l.queue_item_review_status,
                    queue_name: l.queue_name,
                    transaction_id: l.transaction_id,
                    transaction_state: l.transaction_state,
                    transaction_status: l.transaction_status,
                    processing_exception_reason: l.processing_exception_reason,
                    processing_exception_type: l.processing_exception_type,
                    process_name: l.process_name,
                    process_version: l.process_version,
                    job_id: l.job_id,
                    robot_name: l.robot_name,
                    machine_id: l.machine_id,
                    organization_unit_id: l.organization_unit_id,
                    activity_info: whole(l.activity_info),
                    custom_fields: whole(l.custom_fields),
                })
            }
            Row::Other(raw) => self.rows_of(Route::Other).push(&OtherRow { common, raw }),
        }
        // Rows are this module's own structs, made for their tables: not fitting is a bug.
        .map_err(|e| format!("the event's row does not fit its table: {e}"))?;
        Ok(route)
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
        self.rejected_hashes.clear();
        self.counts.clear();
        Ok((out, std::mem::take(&mut self.rejected)))
    }
}

/// Batches by route, and the rejects.
pub type Taken = (Vec<(Route, Vec<RecordBatch>)>, Vec<Rejected>);

enum Row {
    Job(Job),
    Queue(QueueItem, Option<Queue>),
    Machine(Machine),
    Robot(Option<String>, Option<String>, RobotLog),
    Other(String),
}

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
    if !rejected.is_empty() {
        let tenant = batcher.tenant.clone().unwrap_or_default();
        let batch = rejected_batch(SOURCE, &tenant, "uipath", Utc::now(), &rejected)
            .map_err(|source| Error::Arrow { source })?;
        let stats = lake.upsert(&REJECTED_RECORDS, vec![batch], None).await?;
        observer.on(Event::Committed {
            table: REJECTED_RECORDS.name,
            stats,
        });
    }
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

/// What a file ingest did.
#[derive(Debug, Clone, Default)]
pub struct FileSummary {
    /// Lines read (blank ones not counted).
    pub lines: u64,
    /// Bytes read (after decompression).
    pub bytes: u64,
    /// Events decoded, per table.
    pub events: HashMap<&'static str, u64>,
    /// Rows new to their table, per table.
    pub inserted: HashMap<&'static str, u64>,
    /// Lines rejected.
    pub rejected: u64,
    /// Wall time.
    pub elapsed: Duration,
}

/// When a file ingest commits: as soon as either many events, or events of this many
/// bytes of text, wait. The bytes bound memory when events are large (a queue item with a
/// big `SpecificData`), the events when they are small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitEvery {
    /// Events.
    pub events: usize,
    /// Bytes of their lines.
    pub bytes: u64,
}

impl Default for CommitEvery {
    fn default() -> CommitEvery {
        CommitEvery {
            events: 50_000,
            bytes: 64 << 20,
        }
    }
}

/// Reads NDJSON events from `reader` (named `name` in rejects) into `lake`, committing
/// as `every` says. The reading (and gzip decoding) happens on a thread of its own, ahead
/// of the decoding, so that a read that waits (standard input) never holds up the task
/// that runs this.
pub async fn ingest_reader(
    lake: &Lake,
    reader: Box<dyn BufRead + Send>,
    name: &str,
    tenant: Option<String>,
    every: CommitEvery,
    observer: &dyn Observer,
    summary: &mut FileSummary,
) -> Result<()> {
    let started = Instant::now();
    let mut batcher = Batcher::new(tenant);
    let mut chunks = read_chunks(reader);
    let mut number = 0u64;
    // Bytes of the lines the batcher holds.
    let mut waiting = 0u64;
    while let Some(chunk) = chunks.recv().await {
        let chunk = match chunk.map_err(|source| Error::Read {
            input: name.to_string(),
            source,
        })? {
            Chunk::Lines(lines) => lines,
            Chunk::Cut { head, bytes, error } => {
                number += 1;
                summary.bytes += bytes;
                summary.lines += 1;
                summary.rejected += 1;
                let raw = if head.is_empty() {
                    format!("(the input ended here: {error})")
                } else {
                    escape_invalid_utf8(&head)
                };
                batcher.reject(
                    raw,
                    format!(
                        "the input ends here in an error ({error}): this line is cut off, \
                         and whatever followed it is lost; the lines before it are kept"
                    ),
                    format!("{name}:{number}"),
                );
                continue;
            }
            Chunk::TooLong { head, bytes } => {
                number += 1;
                summary.bytes += bytes;
                summary.lines += 1;
                summary.rejected += 1;
                batcher.reject(
                    format!("{}...", escape_invalid_utf8(&head)),
                    format!(
                        "a line of {bytes} bytes, longer than the {} MiB an event may take \
                         (its first {} bytes are kept)",
                        MAX_LINE >> 20,
                        head.len()
                    ),
                    format!("{name}:{number}"),
                );
                continue;
            }
        };
        let read = chunk.len() as u64;
        for line in chunk.split_inclusive(|b| *b == b'\n') {
            number += 1;
            summary.bytes += line.len() as u64;
            let decoded = match std::str::from_utf8(line) {
                Ok(text) => {
                    let text = text.trim();
                    if text.is_empty() {
                        continue;
                    }
                    batcher.push(text, || format!("{name}:{number}"))
                }
                // Not UTF-8: rejected, its bytes kept (each invalid one as \xNN).
                Err(e) => batcher.reject(
                    escape_invalid_utf8(line.trim_ascii()),
                    format!("not UTF-8: {e}"),
                    format!("{name}:{number}"),
                ),
            };
            summary.lines += 1;
            match decoded {
                Decoded::Event(route) => {
                    *summary.events.entry(route.table().name).or_default() += 1;
                }
                Decoded::Rejected => summary.rejected += 1,
            }
            waiting += line.len() as u64;
            if batcher.len() >= every.events || waiting >= every.bytes {
                flush(lake, &mut batcher, observer, summary).await?;
                waiting = 0;
            }
        }
        observer.on(Event::Read { bytes: read });
    }
    flush(lake, &mut batcher, observer, summary).await?;
    summary.elapsed += started.elapsed();
    Ok(())
}

/// The longest line an event may take, as long as the longest body `listen` takes: a
/// longer one (a file with no line ends, say) is rejected without being held whole.
pub const MAX_LINE: usize = 64 << 20;

/// Bytes of an over-long line kept in `rejected_records`, to tell what it was.
const LONG_LINE_HEAD: usize = 4096;

/// What [`read_chunks`] hands over.
enum Chunk {
    /// Whole lines.
    Lines(Vec<u8>),
    /// A line longer than [`MAX_LINE`]: its first bytes, and how long it was.
    TooLong { head: Vec<u8>, bytes: u64 },
    /// The input failed (a gzip stream cut short, a disk error) within this line, or
    /// right after the last whole one (then `head` is empty): what was read of it (its
    /// first bytes), how long that was, and the error. Nothing follows.
    Cut {
        head: Vec<u8>,
        bytes: u64,
        error: String,
    },
}

/// Whole lines of `reader`, about a MiB at a time, read on a blocking thread; a read error
/// ends them. Dropping the receiver stops the thread at its next chunk.
fn read_chunks(
    reader: Box<dyn BufRead + Send>,
) -> tokio::sync::mpsc::Receiver<std::io::Result<Chunk>> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::task::spawn_blocking(move || {
        let mut lines = Lines::new(reader);
        loop {
            let (message, last) = match lines.next_chunk() {
                Ok(Some(chunk)) => (Ok(chunk), false),
                Ok(None) => return,
                Err(e) => (Err(e), true),
            };
            if tx.blocking_send(message).is_err() || last {
                return;
            }
        }
    });
    rx
}

/// A reader cut into chunks of whole lines.
struct Lines {
    reader: Box<dyn BufRead + Send>,
    /// Lines read and not handed over, then the start of the next.
    chunk: Vec<u8>,
    /// Where in `chunk` the line being read starts.
    line: usize,
    /// The error the input failed with, once it has: the whole lines before it go first,
    /// then the line it cut, then nothing.
    failed: Option<std::io::Error>,
    /// Whether the input has ended (in an error or not).
    ended: bool,
}

impl Lines {
    /// About this much a chunk.
    const CHUNK: usize = 1 << 20;

    fn new(reader: Box<dyn BufRead + Send>) -> Lines {
        Lines {
            reader,
            chunk: Vec::with_capacity(Self::CHUNK + (Self::CHUNK >> 2)),
            line: 0,
            failed: None,
            ended: false,
        }
    }

    /// The line the input failed in, with the error.
    fn cut(&mut self, error: &std::io::Error) -> Chunk {
        let rest = std::mem::take(&mut self.chunk);
        self.line = 0;
        Chunk::Cut {
            head: rest[..LONG_LINE_HEAD.min(rest.len())].to_vec(),
            bytes: rest.len() as u64,
            error: error.to_string(),
        }
    }

    /// The next chunk of whole lines (the last may lack its line end), or an over-long
    /// line; none at the end.
    fn next_chunk(&mut self) -> std::io::Result<Option<Chunk>> {
        if let Some(error) = self.failed.take() {
            return Ok(Some(self.cut(&error)));
        }
        if self.ended {
            return Ok(None);
        }
        loop {
            // Never more of a line than one byte past the longest.
            let room = MAX_LINE + 1 - (self.chunk.len() - self.line);
            let next = match next_piece(self.reader.as_mut(), room) {
                Ok(next) => next,
                Err(error) => {
                    self.ended = true;
                    if self.line == 0 {
                        return Ok(Some(self.cut(&error)));
                    }
                    self.failed = Some(error);
                    return Ok(Some(self.hand_over()));
                }
            };
            let Some((piece, ends_line)) = next else {
                self.ended = true;
                self.line = 0;
                let rest = std::mem::take(&mut self.chunk);
                return Ok((!rest.is_empty()).then_some(Chunk::Lines(rest)));
            };
            self.chunk.extend_from_slice(piece);
            let taken = piece.len();
            self.reader.consume(taken);
            if ends_line {
                self.line = self.chunk.len();
                if self.chunk.len() >= Self::CHUNK {
                    return Ok(Some(self.hand_over()));
                }
            } else if self.chunk.len() - self.line > MAX_LINE {
                // Whole lines before it first; the long one next time.
                if self.line > 0 {
                    return Ok(Some(self.hand_over()));
                }
                return self.skip_long_line().map(Some);
            }
        }
    }

    /// The whole lines of the chunk, the start of the next line kept.
    fn hand_over(&mut self) -> Chunk {
        let mut next = Vec::with_capacity(Self::CHUNK + (Self::CHUNK >> 2));
        next.extend_from_slice(&self.chunk[self.line..]);
        self.chunk.truncate(self.line);
        self.line = 0;
        Chunk::Lines(std::mem::replace(&mut self.chunk, next))
    }

    /// The line `chunk` starts, read to its end without being kept.
    fn skip_long_line(&mut self) -> std::io::Result<Chunk> {
        let mut bytes = self.chunk.len() as u64;
        let head = self.chunk[..LONG_LINE_HEAD.min(self.chunk.len())].to_vec();
        self.chunk.clear();
        while let Some((piece, ends_line)) = next_piece(self.reader.as_mut(), usize::MAX)? {
            let taken = piece.len();
            bytes += taken as u64;
            self.reader.consume(taken);
            if ends_line {
                break;
            }
        }
        Ok(Chunk::TooLong { head, bytes })
    }
}

/// What `reader` holds next, up to and with the next line end and `room` bytes at most,
/// not consumed, and whether it ends a line; none at the end of the input.
fn next_piece(
    reader: &mut (dyn BufRead + Send),
    room: usize,
) -> std::io::Result<Option<(&[u8], bool)>> {
    // Filled once more past an interruption; the second call only hands over the buffer.
    loop {
        match reader.fill_buf() {
            Ok(_) => break,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let buf = reader.fill_buf()?;
    if buf.is_empty() {
        return Ok(None);
    }
    Ok(Some(match memchr::memchr(b'\n', buf) {
        Some(i) if i < room => (&buf[..=i], true),
        _ => (&buf[..buf.len().min(room)], false),
    }))
}

async fn flush(
    lake: &Lake,
    batcher: &mut Batcher,
    observer: &dyn Observer,
    summary: &mut FileSummary,
) -> Result<()> {
    if batcher.is_empty() {
        return Ok(());
    }
    let committed = commit(lake, batcher, observer).await?;
    for (table, stats) in committed.tables {
        *summary.inserted.entry(table).or_default() += stats.inserted;
    }
    Ok(())
}

/// Opens an NDJSON file, plain or gzip (told by its first bytes), or standard input for `-`.
pub fn open_ndjson(path: &str) -> std::io::Result<Box<dyn BufRead + Send>> {
    let raw: Box<dyn std::io::Read + Send> = if path == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path)?)
    };
    let mut reader = std::io::BufReader::with_capacity(1 << 20, raw);
    let gzip = reader.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    let mut reader: Box<dyn BufRead + Send> = if gzip {
        Box::new(std::io::BufReader::with_capacity(
            1 << 20,
            flate2::bufread::MultiGzDecoder::new(reader),
        ))
    } else {
        Box::new(reader)
    };
    let start = reader.fill_buf()?;
    if let Some(mistake) = not_ndjson(start) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            mistake,
        ));
    }
    // A byte-order mark is no part of the first event.
    if start.starts_with(b"\xEF\xBB\xBF") {
        reader.consume(3);
    }
    Ok(reader)
}

/// What a file starting with `start` is, if it is plainly not NDJSON: a JSON array (one
/// event a line is what the export writes), or not text at all. Each of its lines would
/// be rejected one by one; the file is refused whole instead, with nothing of it read.
fn not_ndjson(start: &[u8]) -> Option<String> {
    let text = start.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(start);
    match text.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => Some(
            "it holds one JSON array, not NDJSON (one event a line); \
             `jq -c '.[]' FILE > FILE.ndjson` writes its events so"
                .into(),
        ),
        _ if text
            .iter()
            .take(4096)
            .any(|b| b.is_ascii_control() && !b.is_ascii_whitespace()) =>
        {
            Some(
                "it is not text (Parquet, Avro or another binary format?): NDJSON is one JSON \
                 event a line, plain or gzip"
                    .into(),
            )
        }
        _ => None,
    }
}

/// The time of an event's envelope, for callers that only need to peek.
pub fn event_time(text: &str) -> Option<DateTime<Utc>> {
    let envelope: Envelope<'_> = serde_json::from_str(text).ok()?;
    let body = envelope.body.map_or(text, RawValue::get);
    let c: Common = serde_json::from_str(body).ok()?;
    parse_timestamp(&c.timestamp)
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::AsArray;

    use super::*;

    const JOB: &str = r#"{"body":{"Job":{"Key":"j-1","CreationTime":null,"State":"Running","StartTime":"2026-11-01T08:00:00Z","EndTime":null,"ProcessName":"Invoices","DisplayName":"Invoices","RobotName":"r1","HostMachineName":"M1"},"EventType":"job.started","SchemaVersion":"0.0.1","Timestamp":"2026-11-01T08:00:01Z","TenantKey":"t-key","TenantName":"Acme","FolderName":"Shared","FullFolderPath":"Shared","FolderKey":"f-1"},"x-opt-sequence-number":17,"x-opt-offset":"4096","x-opt-enqueued-time":1793520001000,"Diagnostic-Id":"d-1"}"#;

    #[test]
    fn lines_come_whole_and_an_over_long_one_is_skipped_not_held() {
        let mut text = b"a\nb".to_vec();
        text.extend(std::iter::repeat_n(b'x', MAX_LINE));
        text.extend_from_slice(b"\nc\nd");
        let mut lines = Lines::new(Box::new(std::io::Cursor::new(text)));
        let mut got = Vec::new();
        while let Some(chunk) = lines.next_chunk().unwrap() {
            got.push(match chunk {
                // Short, so that a failure does not print 64 MiB.
                Chunk::Lines(l) if l.len() > 100 => format!("lines of {} bytes", l.len()),
                Chunk::Lines(l) => String::from_utf8(l).unwrap(),
                Chunk::TooLong { head, bytes } => format!("long {} {bytes}", head.len()),
                Chunk::Cut { error, .. } => format!("cut: {error}"),
            });
        }
        let long = format!("long {LONG_LINE_HEAD} {}", MAX_LINE + 2);
        assert_eq!(got, ["a\n".to_string(), long, "c\nd".to_string()]);
    }

    // Regression: a gzip file cut in the middle ("incomplete deflate stream") committed
    // nothing: the whole lines before the cut are kept now, and the cut line rejected.
    #[test]
    fn a_gzip_stream_cut_short_keeps_its_whole_lines_and_says_where_it_broke() {
        use std::io::Write;
        let text: String = (0..2000).map(|i| format!("{{\"line\":{i}}}\n")).collect();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text.as_bytes()).unwrap();
        let whole = gz.finish().unwrap();
        let cut = whole[..whole.len() * 2 / 3].to_vec();
        let reader = std::io::BufReader::new(flate2::bufread::MultiGzDecoder::new(
            std::io::Cursor::new(cut),
        ));
        let mut lines = Lines::new(Box::new(reader));
        let (mut kept, mut cuts) = (Vec::new(), Vec::new());
        while let Some(chunk) = lines.next_chunk().unwrap() {
            match chunk {
                Chunk::Lines(l) => kept.extend(l),
                Chunk::Cut { head, error, .. } => cuts.push((head, error)),
                Chunk::TooLong { .. } => panic!("no line is long"),
            }
        }
        assert_eq!(cuts.len(), 1, "one cut, at the end");
        let (head, error) = &cuts[0];
        assert!(!error.is_empty());
        // What was kept is whole lines, a prefix of the text, and the cut line follows it.
        let kept = String::from_utf8(kept).unwrap();
        assert!(
            kept.ends_with('\n') && text.starts_with(&kept),
            "{}",
            kept.len()
        );
        assert!(kept.lines().count() > 100, "{}", kept.lines().count());
        let rest = &text[kept.len()..];
        assert!(rest.starts_with(std::str::from_utf8(head).unwrap()));
        assert!(!head.contains(&b'\n'));
    }

    #[test]
    fn files_that_are_plainly_not_ndjson_are_refused_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str, bytes: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            p.to_str().unwrap().to_string()
        };
        let refused = |p: String| open_ndjson(&p).err().map(|e| e.to_string());
        let array = refused(path("a.json", format!("\n [{JOB}]").as_bytes())).unwrap();
        assert!(array.contains("one JSON array"), "{array}");
        let binary = refused(path("a.parquet", b"PAR1\x15\x04\x15\x00")).unwrap();
        assert!(binary.contains("not text"), "{binary}");
        // A file of events, with a byte-order mark, an empty file and a first line that is
        // not JSON (rejected on its own as the file is read) open.
        let mut marked = b"\xEF\xBB\xBF".to_vec();
        marked.extend_from_slice(JOB.as_bytes());
        let mut first = String::new();
        open_ndjson(&path("b.ndjson", &marked))
            .unwrap()
            .read_line(&mut first)
            .unwrap();
        assert_eq!(first, JOB);
        assert_eq!(refused(path("c.ndjson", b"")), None);
        assert_eq!(refused(path("d.ndjson", b"garbage\n{}")), None);
    }

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
