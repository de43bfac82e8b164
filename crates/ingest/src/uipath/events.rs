//! UiPath events decoded: the export's envelope and body as serde reads them, and the row
//! of the table each event type goes to, every time and amount in its range.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::Route;
use crate::decode::rows::RowBuilder;
use crate::decode::{MAX_DURATION_MS, TimeRange, bounded, epoch_days, parse_timestamp};
use crate::quarantine::record_hash;

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

enum Row {
    Job(Job),
    Queue(QueueItem, Option<Queue>),
    Machine(Machine),
    Robot(Option<String>, Option<String>, RobotLog),
    Other(String),
}

/// How events become rows: the tenant rows carry, when they were received, and the times
/// they may carry.
pub(super) struct Decoder {
    /// The tenant of every row, if given; else the event's `TenantName`.
    pub(super) tenant: Option<String>,
    ingested_at: i64,
    range: TimeRange,
}

impl Decoder {
    pub(super) fn new(tenant: Option<String>) -> Decoder {
        let now = Utc::now();
        Decoder {
            tenant,
            ingested_at: now.timestamp_micros(),
            range: TimeRange::received(now),
        }
    }

    /// Decodes `text` into `rows`, the builders of every route (in the order of
    /// [`Route::ALL`]); or says why it does not fit, with the route it was meant for (the
    /// route of unknown types while its type cannot be read).
    pub(super) fn decode(
        &self,
        text: &str,
        rows: &mut [RowBuilder; 5],
    ) -> Result<Route, (Route, String)> {
        let unread = |reason: String| (Route::Other, reason);
        let envelope: Envelope<'_> =
            serde_json::from_str(text).map_err(|e| unread(format!("not a JSON object: {e}")))?;
        let body = envelope.body.map_or(text, RawValue::get);
        let c: Common = serde_json::from_str(body)
            .map_err(|e| unread(format!("missing or invalid common fields: {e}")))?;
        let route = Route::of(&c.event_type);
        self.decode_routed(route, envelope, body, c, &mut rows[route as usize])
            .map_err(|reason| (route, reason))?;
        Ok(route)
    }

    /// Decodes the body of an event of `route` into its table's `rows`.
    fn decode_routed(
        &self,
        route: Route,
        envelope: Envelope<'_>,
        body: &str,
        c: Common,
        rows: &mut RowBuilder,
    ) -> Result<(), String> {
        let ts = self.range.parse("Timestamp", &c.timestamp)?;
        let (entity, row) = read_row(route, body)?;
        let common = self.common_row(envelope, c, ts, &entity)?;
        append(rows, self.range, common, row)
    }

    /// The columns every table shares, for an event at `ts` (microseconds) of `entity`.
    fn common_row(
        &self,
        envelope: Envelope<'_>,
        c: Common,
        ts: i64,
        entity: &str,
    ) -> Result<CommonRow, String> {
        let sequence = envelope.sequence_number;
        let identity = format!(
            "{}|{entity}|{ts}|{}",
            c.event_type.trim().to_ascii_lowercase(),
            sequence.map(|s| s.to_string()).unwrap_or_default()
        );
        let tenant = self
            .tenant
            .clone()
            .or_else(|| c.tenant_name.clone())
            .or_else(|| c.tenant_key.clone())
            .unwrap_or_else(|| "default".into());
        let day = DateTime::from_timestamp_micros(ts)
            .expect("a time in range has a date")
            .date_naive();
        Ok(CommonRow {
            tenant,
            event_id: record_hash(&identity),
            event_type: c.event_type,
            schema_version: c.schema_version,
            timestamp: ts,
            tenant_key: c.tenant_key,
            tenant_name: c.tenant_name,
            folder_name: c.folder_name,
            full_folder_path: c.full_folder_path,
            folder_key: c.folder_key,
            x_opt_sequence_number: sequence,
            x_opt_offset: envelope.offset.map(Loose::text),
            x_opt_enqueued_time: envelope
                .enqueued_time
                .map(|t| t.micros("x-opt-enqueued-time", self.range))
                .transpose()?,
            diagnostic_id: envelope.diagnostic_id,
            ingested_at: self.ingested_at,
            day: epoch_days(day),
        })
    }
}

/// The typed body of an event of `route`, and its entity (what, with its type, time and
/// sequence number, tells it apart from other events).
fn read_row(route: Route, body: &str) -> Result<(String, Row), String> {
    let parse = |what: &str, e: serde_json::Error| format!("not a {what} event: {e}");
    Ok(match route {
        Route::Job => {
            let b: JobBody = serde_json::from_str(body).map_err(|e| parse("job", e))?;
            let j = b.job.ok_or("a job event without Job")?;
            (j.key.clone().unwrap_or_default(), Row::Job(j))
        }
        Route::QueueItem => {
            let b: QueueBody = serde_json::from_str(body).map_err(|e| parse("queue item", e))?;
            let item = b.item.ok_or("a queue item event without QueueItem")?;
            (
                item.key.clone().unwrap_or_default(),
                Row::Queue(item, b.queue),
            )
        }
        Route::Machine => {
            let b: MachineBody = serde_json::from_str(body).map_err(|e| parse("machine", e))?;
            let m = b
                .machine_session
                .or(b.machine)
                .or(b.machine_assign)
                .ok_or("a machine event without MachineSession, Machine or MachineAssign")?;
            (m.machine_key.clone().unwrap_or_default(), Row::Machine(m))
        }
        Route::RobotLog => {
            let b: RobotBody = serde_json::from_str(body).map_err(|e| parse("robot log", e))?;
            let log = b.robot_log.ok_or("a robotlog event without RobotLog")?;
            // Logs of one job share timestamps; the fingerprint, else the message, tells
            // them apart.
            let entity = format!(
                "{}|{}|{}",
                log.job_id.as_deref().unwrap_or_default(),
                log.fingerprint.as_deref().unwrap_or_default(),
                log.message.as_deref().unwrap_or_default()
            );
            (entity, Row::Robot(b.level, b.machine_key, log))
        }
        Route::Other => (record_hash(body), Row::Other(body.to_string())),
    })
}

/// Appends `row`, with the shared columns `common`, to its table's `rows`; its times must
/// be in `range`.
fn append(
    rows: &mut RowBuilder,
    range: TimeRange,
    common: CommonRow,
    row: Row,
) -> Result<(), String> {
    let pushed = match row {
        Row::Job(j) => rows.push(&JobRow {
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
        Row::Queue(item, queue) => rows.push(&QueueRow {
            common,
            item: queue_item_row(range, item, queue)?,
        }),
        Row::Machine(m) => rows.push(&MachineRow {
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
        Row::Robot(event_level, machine_key, log) => rows.push(&robot_log_row(
            range,
            common,
            event_level,
            machine_key,
            log,
        )?),
        Row::Other(raw) => rows.push(&OtherRow { common, raw }),
    };
    // Rows are this module's own structs, made for their tables: not fitting is a bug.
    pushed.map_err(|e| format!("the event's row does not fit its table: {e}"))
}

/// The columns of a queue item and its queue.
fn queue_item_row(
    range: TimeRange,
    i: QueueItem,
    q: Option<Queue>,
) -> Result<QueueItemRow, String> {
    let q = q.unwrap_or(Queue {
        key: None,
        name: None,
        description: None,
        max_number_of_retries: None,
        enforce_unique_reference: None,
        sla_in_minutes: None,
        risk_sla_in_minutes: None,
    });
    Ok(QueueItemRow {
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
        risk_sla_in_minutes: bounded("RiskSlaInMinutes", q.risk_sla_in_minutes, MAX_SLA_MINUTES)?,
    })
}

/// The columns of a robot log.
fn robot_log_row(
    range: TimeRange,
    common: CommonRow,
    event_level: Option<String>,
    machine_key: Option<String>,
    l: RobotLog,
) -> Result<RobotLogRow, String> {
    Ok(RobotLogRow {
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

/// The time of an event's envelope, for callers that only need to peek.
pub fn event_time(text: &str) -> Option<DateTime<Utc>> {
    let envelope: Envelope<'_> = serde_json::from_str(text).ok()?;
    let body = envelope.body.map_or(text, RawValue::get);
    let c: Common = serde_json::from_str(body).ok()?;
    parse_timestamp(&c.timestamp)
}
