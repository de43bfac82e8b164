//! Typed decoding of task logs, audit records, task metadata and variable profiles into
//! their tables, record by record like runs.

use std::collections::BTreeMap;
use std::sync::Arc;

use botlake_lake::catalog::{
    AA_AUDIT_EVENTS, AA_TASK_LOGS, AA_TASK_METADATA, AA_TASK_VARIABLE_PROFILES,
};
use chrono::{DateTime, NaiveDate, Utc};
use datafusion::arrow::array::{
    ArrayRef, Date32Array, Date32Builder, Float64Array, Int64Array, Int64Builder, MapBuilder,
    RecordBatch, StringArray, StringBuilder, TimestampMicrosecondArray,
    TimestampMicrosecondBuilder,
};
use datafusion::arrow::error::ArrowError;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::aa::runs::{Decoded, Rows};
use crate::decode::{TimeRange, Unexpected, constant, epoch_days};

/// The UTC day of a time in a [`TimeRange`].
fn day_of(micros: i64) -> NaiveDate {
    DateTime::from_timestamp_micros(micros)
        .expect("a time in range has a date")
        .date_naive()
}

fn timestamps(b: &mut TimestampMicrosecondBuilder) -> ArrayRef {
    Arc::new(b.finish().with_timezone("UTC"))
}

fn repeated_time(micros: i64, n: usize) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from(vec![micros; n]).with_timezone("UTC"))
}

/// A KPI value as sent: the spec says text, Control Rooms also send numbers and booleans.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Number(serde_json::Number),
    Bool(bool),
    Null,
}

impl Scalar {
    fn into_text(self) -> Option<String> {
        match self {
            Scalar::Text(s) => Some(s),
            Scalar::Number(n) => Some(n.to_string()),
            Scalar::Bool(b) => Some(b.to_string()),
            Scalar::Null => None,
        }
    }
}

/// A `TaskLogRecord` of the spec.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskLogRecord {
    id: i64,
    task_name: Option<String>,
    run_date: String,
    #[serde(default)]
    variables: Option<BTreeMap<String, Scalar>>,
}

/// Why a task log record is rejected that names no task when none was asked for.
pub const TASK_NOT_NAMED: &str = "the record has no taskName, and no task was named";

/// Builds `aa_task_logs` batches. A record's task is its own `taskName`, else the task
/// it was asked for by: saved pages may mix tasks, and their file names say none.
pub struct TaskLogBatchBuilder {
    control_room: String,
    task_name: Option<String>,
    ingested_at: i64,
    range: TimeRange,
    log_id: Int64Builder,
    task: StringBuilder,
    run_date: TimestampMicrosecondBuilder,
    variables: MapBuilder<StringBuilder, StringBuilder>,
    day: Date32Builder,
    rows: usize,
}

impl TaskLogBatchBuilder {
    /// An empty builder for logs asked for by `task_name` (if they were).
    pub fn new(control_room: &str, task_name: Option<&str>, ingested_at: DateTime<Utc>) -> Self {
        TaskLogBatchBuilder {
            control_room: control_room.to_string(),
            task_name: task_name.map(str::to_string),
            ingested_at: ingested_at.timestamp_micros(),
            range: TimeRange::received(ingested_at),
            log_id: Int64Builder::new(),
            task: StringBuilder::new(),
            run_date: TimestampMicrosecondBuilder::new(),
            variables: MapBuilder::new(None, StringBuilder::new(), StringBuilder::new()),
            day: Date32Builder::new(),
            rows: 0,
        }
    }
}

impl Rows for TaskLogBatchBuilder {
    fn push(&mut self, raw: &RawValue) -> Result<Decoded, String> {
        let r: TaskLogRecord =
            serde_json::from_str(raw.get()).map_err(|e| format!("not a TaskLogRecord: {e}"))?;
        let task = match (r.task_name.as_deref(), self.task_name.as_deref()) {
            (Some(t), _) if !t.is_empty() => t,
            (_, Some(t)) => t,
            _ => return Err(TASK_NOT_NAMED.to_string()),
        };
        let run = self.range.parse("runDate", &r.run_date)?;
        let day = day_of(run);
        self.task.append_value(task);
        self.log_id.append_value(r.id);
        self.run_date.append_value(run);
        match r.variables {
            Some(vars) => {
                for (name, value) in vars {
                    self.variables.keys().append_value(name);
                    self.variables.values().append_option(value.into_text());
                }
                self.variables.append(true).map_err(|e| e.to_string())?;
            }
            None => self.variables.append(false).map_err(|e| e.to_string())?,
        }
        self.day.append_value(epoch_days(day));
        self.rows += 1;
        Ok(Decoded {
            id: r.id,
            day,
            in_progress: false,
        })
    }

    fn len(&self) -> usize {
        self.rows
    }

    fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let n = std::mem::take(&mut self.rows);
        let schema = AA_TASK_LOGS.schema.clone();
        let variables = self.variables.finish();
        let variables = datafusion::arrow::compute::cast(
            &variables,
            schema.field_with_name("variables")?.data_type(),
        )?;
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(constant(&self.control_room, n)),
                Arc::new(self.log_id.finish()),
                Arc::new(self.task.finish()),
                timestamps(&mut self.run_date),
                variables,
                repeated_time(self.ingested_at, n),
                Arc::new(self.day.finish()),
            ],
        )
    }
}

/// An audit record's id: an integer in v11, a string in A360.
#[derive(Deserialize)]
#[serde(untagged)]
enum AuditId {
    Int(i64),
    Text(String),
}

/// An `AuditRecord` of the spec, or an A360 audit message (the same fields).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuditRecord {
    id: AuditId,
    activity_type: Option<String>,
    created_by: Option<String>,
    created_on: String,
    detail: Option<String>,
    environment_name: Option<String>,
    event_description: Option<String>,
    host_name: Option<String>,
    object_name: Option<String>,
    request_id: Option<String>,
    source: Option<String>,
    status: Option<String>,
    user_name: Option<String>,
}

/// Which audit API records come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditApi {
    /// Bot Insight's `getaudittraildata`: integer ids.
    V11,
    /// Automation 360's `/v1/audit/messages/list`: string ids.
    A360,
}

impl AuditApi {
    /// The value of the `api` column.
    pub fn name(self) -> &'static str {
        match self {
            AuditApi::V11 => "v11",
            AuditApi::A360 => "a360",
        }
    }
}

/// Builds `aa_audit_events` batches.
pub struct AuditBatchBuilder {
    control_room: String,
    api: AuditApi,
    ingested_at: i64,
    range: TimeRange,
    event_id: StringBuilder,
    text: [StringBuilder; 12],
    created_on: TimestampMicrosecondBuilder,
    day: Date32Builder,
    rows: usize,
    /// The id of the last record pushed, as stored.
    pub last_id: String,
}

impl AuditBatchBuilder {
    /// An empty builder for audit events of `control_room` from `api`.
    pub fn new(control_room: &str, api: AuditApi, ingested_at: DateTime<Utc>) -> Self {
        AuditBatchBuilder {
            control_room: control_room.to_string(),
            api,
            ingested_at: ingested_at.timestamp_micros(),
            range: TimeRange::received(ingested_at),
            event_id: StringBuilder::new(),
            text: std::array::from_fn(|_| StringBuilder::new()),
            created_on: TimestampMicrosecondBuilder::new(),
            day: Date32Builder::new(),
            rows: 0,
            last_id: String::new(),
        }
    }
}

impl Rows for AuditBatchBuilder {
    fn push(&mut self, raw: &RawValue) -> Result<Decoded, String> {
        let r: AuditRecord =
            serde_json::from_str(raw.get()).map_err(|e| format!("not an AuditRecord: {e}"))?;
        let (id, numeric) = match (r.id, self.api) {
            (AuditId::Int(i), _) => (i.to_string(), i),
            (AuditId::Text(s), AuditApi::A360) => {
                let hash = u64::from_str_radix(&crate::quarantine::record_hash(&s), 16)
                    .expect("a hash is hex");
                (s, hash as i64)
            }
            (AuditId::Text(s), AuditApi::V11) => {
                return Err(format!("id {s:?} is not an integer"));
            }
        };
        let created = self.range.parse("createdOn", &r.created_on)?;
        let day = day_of(created);
        self.event_id.append_value(&id);
        let texts = [
            Some(self.api.name().to_string()),
            r.activity_type,
            r.status,
            r.user_name,
            r.created_by,
            // created_on goes between created_by and the rest; see finish().
            r.event_description,
            r.environment_name,
            r.host_name,
            r.source,
            r.object_name,
            r.detail,
            r.request_id,
        ];
        for (b, v) in self.text.iter_mut().zip(texts) {
            b.append_option(v);
        }
        self.created_on.append_value(created);
        self.day.append_value(epoch_days(day));
        self.rows += 1;
        self.last_id = id;
        Ok(Decoded {
            id: numeric,
            day,
            in_progress: false,
        })
    }

    fn len(&self) -> usize {
        self.rows
    }

    fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let n = std::mem::take(&mut self.rows);
        let mut text: Vec<ArrayRef> = self
            .text
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        let rest = text.split_off(5);
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(constant(&self.control_room, n)),
            Arc::new(self.event_id.finish()),
        ];
        columns.extend(text);
        columns.push(timestamps(&mut self.created_on));
        columns.extend(rest);
        columns.push(repeated_time(self.ingested_at, n));
        columns.push(Arc::new(self.day.finish()));
        RecordBatch::try_new(AA_AUDIT_EVENTS.schema.clone(), columns)
    }
}

/// `gettaskmetadata`'s answer.
#[derive(Debug, Deserialize)]
pub struct TaskMetadata {
    /// The variables (`[]` if the task has none).
    pub variables: Vec<TaskVariable>,
}

impl TaskMetadata {
    /// The answer `body`; [`Unexpected`] without `variables` (or with `null` for it).
    pub fn parse(body: &[u8]) -> serde_json::Result<Result<TaskMetadata, Unexpected>> {
        #[derive(Deserialize)]
        struct Answer {
            #[serde(default)]
            variables: Option<Vec<TaskVariable>>,
        }
        let answer: Answer = serde_json::from_slice(body)?;
        Ok(match answer.variables {
            Some(variables) => Ok(TaskMetadata { variables }),
            None => Err(Unexpected::lacking("variables", body)),
        })
    }
}

/// A KPI variable of a task.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskVariable {
    /// Its name.
    pub name: String,
    /// `STRING`, `NUMBER`, `DATE`, ...
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Its dashboard name.
    pub display_name: Option<String>,
}

/// The `aa_task_metadata` rows of one task.
pub fn metadata_batch(
    control_room: &str,
    task_name: &str,
    metadata: &TaskMetadata,
    ingested_at: DateTime<Utc>,
) -> Result<RecordBatch, ArrowError> {
    let vars = &metadata.variables;
    let n = vars.len();
    RecordBatch::try_new(
        AA_TASK_METADATA.schema.clone(),
        vec![
            Arc::new(constant(control_room, n)),
            Arc::new(constant(task_name, n)),
            Arc::new(StringArray::from_iter_values(vars.iter().map(|v| &v.name))),
            Arc::new(StringArray::from_iter(
                vars.iter().map(|v| v.kind.as_deref()),
            )),
            Arc::new(StringArray::from_iter(
                vars.iter().map(|v| v.display_name.as_deref()),
            )),
            repeated_time(ingested_at.timestamp_micros(), n),
        ],
    )
}

/// `gettaskvariableprofile`'s answer, with its profiles still raw: under `profiles` as the
/// OpenAPI spec has it, or `profileVariables` as the 11.3 documentation shows it.
#[derive(Debug)]
pub struct ProfilePage {
    /// The profiles, not yet decoded.
    pub profiles: Vec<Box<RawValue>>,
    /// The range the answer says it covers (`from`, `to`), where it says one.
    pub from: Option<NaiveDate>,
    /// See `from`.
    pub to: Option<NaiveDate>,
}

impl ProfilePage {
    /// The answer `body`; [`Unexpected`] with neither list, or with a `from` or `to` that
    /// is not a date.
    pub fn parse(body: &[u8]) -> serde_json::Result<Result<ProfilePage, Unexpected>> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Answer {
            #[serde(default)]
            profiles: Option<Vec<Box<RawValue>>>,
            #[serde(default)]
            profile_variables: Option<Vec<Box<RawValue>>>,
            #[serde(default)]
            from: Option<String>,
            #[serde(default)]
            to: Option<String>,
        }
        let answer: Answer = serde_json::from_slice(body)?;
        let Some(profiles) = answer.profiles.or(answer.profile_variables) else {
            return Ok(Err(Unexpected::lacking(
                "profiles or profileVariables",
                body,
            )));
        };
        let date = |field: &'static str, text: Option<String>| match text {
            None => Ok(None),
            Some(t) => profile_date(&t)
                .map(Some)
                .ok_or_else(|| Unexpected::field(field, &t, "a date")),
        };
        let range = date("from", answer.from).and_then(|from| Ok((from, date("to", answer.to)?)));
        Ok(range.map(|(from, to)| ProfilePage { profiles, from, to }))
    }
}

/// A profile's `from` or `to`: a date, or a date-time whose date is taken.
fn profile_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    let date = text.get(..10).unwrap_or(text);
    NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .ok()
        .filter(|_| text.len() == 10 || crate::decode::parse_timestamp(text).is_some())
}

/// A `VariableProfile` of the spec (`totalValue`, `runCount`), or of the 11.3
/// documentation (`sumOfValue`, `totalRecords`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VariableProfile {
    variable_name: String,
    #[serde(alias = "sumOfValue")]
    total_value: Option<Scalar>,
    #[serde(alias = "totalRecords")]
    run_count: Option<i64>,
}

/// Builds `aa_task_variable_profiles` rows for one task and date range.
pub struct ProfileBatchBuilder {
    key: (String, String, i32, i32),
    ingested_at: i64,
    variable: Vec<String>,
    total: Vec<Option<String>>,
    runs: Vec<Option<i64>>,
}

impl ProfileBatchBuilder {
    /// An empty builder for the profiles of `task_name` over `from..=to`.
    pub fn new(
        control_room: &str,
        task_name: &str,
        from: NaiveDate,
        to: NaiveDate,
        ingested_at: DateTime<Utc>,
    ) -> Self {
        ProfileBatchBuilder {
            key: (
                control_room.to_string(),
                task_name.to_string(),
                epoch_days(from),
                epoch_days(to),
            ),
            ingested_at: ingested_at.timestamp_micros(),
            variable: Vec::new(),
            total: Vec::new(),
            runs: Vec::new(),
        }
    }

    /// Decodes one profile, or says why it does not fit.
    pub fn push(&mut self, raw: &RawValue) -> Result<(), String> {
        let p: VariableProfile =
            serde_json::from_str(raw.get()).map_err(|e| format!("not a VariableProfile: {e}"))?;
        self.variable.push(p.variable_name);
        self.total.push(p.total_value.and_then(Scalar::into_text));
        self.runs.push(p.run_count);
        Ok(())
    }

    /// The rows as a batch; `total_value_number` is `total_value` where it is a number.
    pub fn finish(self) -> Result<RecordBatch, ArrowError> {
        let n = self.variable.len();
        let (control_room, task, from, to) = &self.key;
        let numbers = Float64Array::from_iter(self.total.iter().map(|t| {
            t.as_deref()
                .and_then(|s| s.trim().replace(',', "").parse::<f64>().ok())
                .filter(|x| x.is_finite())
        }));
        RecordBatch::try_new(
            AA_TASK_VARIABLE_PROFILES.schema.clone(),
            vec![
                Arc::new(constant(control_room, n)),
                Arc::new(constant(task, n)),
                Arc::new(Date32Array::from(vec![*from; n])),
                Arc::new(Date32Array::from(vec![*to; n])),
                Arc::new(StringArray::from_iter_values(self.variable)),
                Arc::new(StringArray::from_iter(self.total)),
                Arc::new(numbers),
                Arc::new(Int64Array::from(self.runs)),
                repeated_time(self.ingested_at, n),
            ],
        )
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
    fn task_logs_keep_variables_whole() {
        let mut b = TaskLogBatchBuilder::new("prod", Some("Claims 50% Review"), Utc::now());
        b.push(&raw(
            r#"{"id":7,"taskName":"x","runDate":"2026-10-01T10:00:00Z","variables":{"b":"2","a":3.5,"c":null}}"#,
        ))
        .unwrap();
        let err = b
            .push(&raw(
                r#"{"id":8,"runDate":"2026-10-01T10:00:00Z","variables":[1]}"#,
            ))
            .unwrap_err();
        assert!(err.contains("TaskLogRecord"), "{err}");
        let batch = b.finish().unwrap();
        assert_eq!(batch.num_rows(), 1);
        let map = batch.column_by_name("variables").unwrap().as_map();
        let keys: Vec<_> = map.keys().as_string::<i32>().iter().flatten().collect();
        assert_eq!(keys, ["a", "b", "c"]);
        let values = map.values().as_string::<i32>();
        assert_eq!(values.value(0), "3.5");
        assert!(values.is_null(2));
    }

    // Saved pages may mix tasks: a record's own taskName says whose it is, the task it was
    // asked for by only where it names none; with neither it is rejected with the reason.
    #[test]
    fn a_task_log_record_belongs_to_the_task_it_names() {
        let record = |id: u32, task: &str| {
            let name = match task {
                "" => String::new(),
                t => format!(r#""taskName":"{t}","#),
            };
            raw(&format!(
                r#"{{"id":{id},{name}"runDate":"2026-10-01T10:00:00Z","variables":{{}}}}"#
            ))
        };
        let mut asked = TaskLogBatchBuilder::new("prod", Some("Asked"), Utc::now());
        let mut unnamed = TaskLogBatchBuilder::new("prod", None, Utc::now());
        for b in [&mut asked, &mut unnamed] {
            b.push(&record(1, "Invoices")).unwrap();
            b.push(&record(2, "Claims")).unwrap();
        }
        asked.push(&record(3, "")).unwrap();
        assert_eq!(unnamed.push(&record(3, "")).unwrap_err(), TASK_NOT_NAMED);
        let names = |b: &mut TaskLogBatchBuilder| {
            let batch = b.finish().unwrap();
            let names = batch
                .column_by_name("task_name")
                .unwrap()
                .as_string::<i32>();
            names
                .iter()
                .flatten()
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&mut asked), ["Invoices", "Claims", "Asked"]);
        assert_eq!(names(&mut unnamed), ["Invoices", "Claims"]);
    }

    #[test]
    fn audit_ids_follow_the_api() {
        let record = |id: &str| {
            format!(r#"{{"id":{id},"createdOn":"2026-10-01T10:00:00Z","status":"Successful"}}"#)
        };
        let mut v11 = AuditBatchBuilder::new("prod", AuditApi::V11, Utc::now());
        assert!(v11.push(&raw(&record("12"))).is_ok());
        assert!(v11.push(&raw(&record("\"XlHj6G4B\""))).is_err());
        let mut a360 = AuditBatchBuilder::new("prod", AuditApi::A360, Utc::now());
        a360.push(&raw(&record("\"XlHj6G4B\""))).unwrap();
        assert_eq!(a360.last_id, "XlHj6G4B");
        let batch = a360.finish().unwrap();
        let api = batch.column_by_name("api").unwrap().as_string::<i32>();
        assert_eq!(api.value(0), "a360");
        let status = batch.column_by_name("status").unwrap().as_string::<i32>();
        assert_eq!(status.value(0), "Successful");
    }

    #[test]
    fn profile_totals_are_numbers_where_they_parse() {
        let from = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
        let mut b = ProfileBatchBuilder::new("prod", "t", from, from, Utc::now());
        b.push(&raw(
            r#"{"variableName":"amount","totalValue":"1,234.50","runCount":3}"#,
        ))
        .unwrap();
        b.push(&raw(
            r#"{"variableName":"region","totalValue":"North","runCount":3}"#,
        ))
        .unwrap();
        assert!(b.push(&raw(r#"{"variableName":5}"#)).is_err());
        let batch = b.finish().unwrap();
        let numbers = batch
            .column_by_name("total_value_number")
            .unwrap()
            .as_primitive::<datafusion::arrow::datatypes::Float64Type>();
        assert_eq!(numbers.value(0), 1234.5);
        assert!(numbers.is_null(1));
    }

    // The spec's shape and the 11.3 documentation's land the same rows; an answer with
    // neither list, or whose range is not dates, is unexpected, never zero profiles.
    #[test]
    fn profiles_come_in_either_shape_with_their_own_range() {
        let spec = br#"{"taskName":"t","from":"2026-10-01","to":"2026-10-31",
            "profiles":[{"variableName":"amount","totalValue":"4","runCount":2}]}"#;
        let doc =
            br#"{"taskId":"462b","taskName":"t","totalRecords":2,"from":"2026-10-01T00:00:00Z",
            "to":"2026-10-31","profileVariables":[{"variableName":"amount","displayName":"Amount",
            "attributeType":"NUMERIC","totalRecords":2,"totalNullRecords":0,"sumOfValue":4,
            "minimumValue":"2","maximumValue":"2","averageOfValues":2}]}"#;
        let rows = |body: &[u8]| {
            let page = ProfilePage::parse(body).unwrap().unwrap();
            let day = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
            let (from, to) = (page.from.unwrap_or(day), page.to.unwrap_or(day));
            let mut b = ProfileBatchBuilder::new("prod", "t", from, to, Utc::now());
            for p in &page.profiles {
                b.push(p).unwrap();
            }
            let batch = b.finish().unwrap();
            batch.project(&[2, 3, 4, 5, 6, 7]).unwrap()
        };
        assert_eq!(rows(spec), rows(doc));
        assert_eq!(rows(spec).num_rows(), 1);
        let lacking = br#"{"taskName":"t","data":[]}"#;
        assert_eq!(
            ProfilePage::parse(lacking)
                .unwrap()
                .unwrap_err()
                .to_string(),
            "without profiles or profileVariables (its keys: data, taskName)"
        );
        let bad = br#"{"from":"01/10/2026","profiles":[]}"#;
        assert_eq!(
            ProfilePage::parse(bad).unwrap().unwrap_err().to_string(),
            r#"with from "01/10/2026", which is not a date"#
        );
        let empty = ProfilePage::parse(br#"{"profileVariables":[]}"#).unwrap();
        assert!(empty.unwrap().profiles.is_empty());
    }
}
