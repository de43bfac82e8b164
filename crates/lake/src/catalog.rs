//! The table catalog: every lake table's Arrow schema, partition column and primary key.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// What the lake knows about one table.
#[derive(Debug, Clone)]
pub struct TableDef {
    /// The table's name, which is also its directory under the lake.
    pub name: &'static str,
    /// One line for `botlake tables`.
    pub description: &'static str,
    /// The Arrow schema, partition column included.
    pub schema: SchemaRef,
    /// The Hive partition column (`day`), if the table is partitioned.
    pub partition: Option<&'static str>,
    /// Columns that identify a row; an upsert replaces the row with the same key.
    pub key: &'static [&'static str],
    /// Whether a row's partition value is fixed for its key, so that an upsert may
    /// match on it and prune every other partition.
    pub partition_follows_key: bool,
}

impl TableDef {
    /// Columns that are neither key nor partition: the ones an upsert may change.
    pub fn value_columns(&self) -> impl Iterator<Item = &str> {
        self.schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .filter(|name| !self.key.contains(name) && Some(*name) != self.partition)
    }
}

/// The name of the ingest-time column every table carries.
pub const INGESTED_AT: &str = "_ingested_at";

/// `Timestamp(Microsecond, "UTC")`, the type of every timestamp in the lake.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// Automation Anywhere bot runs from Bot Insight's `getbotrundata`, of 11.x (`api` is
/// `v11`) or Automation 360 (`a360`).
pub static AA_BOT_RUNS: LazyLock<TableDef> = LazyLock::new(|| TableDef {
    name: "aa_bot_runs",
    description: "Automation Anywhere bot runs (Bot Insight getbotrundata, 11.x or A360; api says which), one row per run",
    schema: Arc::new(Schema::new(vec![
        Field::new("control_room", DataType::Utf8, false),
        Field::new("run_id", DataType::Int64, false),
        Field::new("user_name", DataType::Utf8, true),
        Field::new("first_name", DataType::Utf8, true),
        Field::new("last_name", DataType::Utf8, true),
        Field::new("email", DataType::Utf8, true),
        Field::new("host_name", DataType::Utf8, true),
        Field::new("ip_address", DataType::Utf8, true),
        Field::new("file_name", DataType::Utf8, true),
        Field::new("start_time", timestamp_type(), false),
        Field::new("end_time", timestamp_type(), true),
        Field::new("status", DataType::Utf8, true),
        Field::new("total_lines", DataType::Int64, true),
        Field::new("time_taken_ms", DataType::Int64, true),
        Field::new("success", DataType::Boolean, true),
        // Added in 0.2, so nullable: NULL in rows written before (all from v11). A table
        // an earlier release made gains it after `day` (see `Lake::upsert`).
        Field::new("api", DataType::Utf8, true),
        Field::new(INGESTED_AT, timestamp_type(), false),
        Field::new("day", DataType::Date32, false),
    ])),
    partition: Some("day"),
    key: &["control_room", "run_id"],
    partition_follows_key: true,
});

/// Control Room audit events from Bot Insight's `getaudittraildata` (v11) and the
/// Automation 360 Audit API, in one table; `api` says which.
pub static AA_AUDIT_EVENTS: LazyLock<TableDef> = LazyLock::new(|| TableDef {
    name: "aa_audit_events",
    description: "Automation Anywhere audit events (v11 getaudittraildata and A360 audit messages), one row per event",
    schema: Arc::new(Schema::new(vec![
        Field::new("control_room", DataType::Utf8, false),
        Field::new("event_id", DataType::Utf8, false),
        Field::new("api", DataType::Utf8, false),
        Field::new("activity_type", DataType::Utf8, true),
        Field::new("status", DataType::Utf8, true),
        Field::new("user_name", DataType::Utf8, true),
        Field::new("created_by", DataType::Utf8, true),
        Field::new("created_on", timestamp_type(), false),
        Field::new("event_description", DataType::Utf8, true),
        Field::new("environment_name", DataType::Utf8, true),
        Field::new("host_name", DataType::Utf8, true),
        Field::new("source", DataType::Utf8, true),
        Field::new("object_name", DataType::Utf8, true),
        Field::new("detail", DataType::Utf8, true),
        Field::new("request_id", DataType::Utf8, true),
        Field::new(INGESTED_AT, timestamp_type(), false),
        Field::new("day", DataType::Date32, false),
    ])),
    partition: Some("day"),
    key: &["control_room", "event_id"],
    partition_follows_key: true,
});

/// Automation 360 executions from the activity API (`POST /v3/activity/list`): every
/// deployment and run, finished or not, as the Control Room saw it.
pub static AA_EXECUTIONS: LazyLock<TableDef> = LazyLock::new(|| TableDef {
    name: "aa_executions",
    description: "Automation 360 executions (activity list: deployments and runs, in progress or done), one row per execution",
    schema: Arc::new(Schema::new(vec![
        Field::new("control_room", DataType::Utf8, false),
        Field::new("execution_id", DataType::Utf8, false),
        Field::new("automation_name", DataType::Utf8, true),
        Field::new("file_name", DataType::Utf8, true),
        Field::new("file_path", DataType::Utf8, true),
        Field::new("execution_type", DataType::Utf8, true),
        Field::new("status", DataType::Utf8, true),
        Field::new("progress", DataType::Int64, true),
        Field::new("command", DataType::Utf8, true),
        Field::new("user_name", DataType::Utf8, true),
        Field::new("device_name", DataType::Utf8, true),
        Field::new("start_time", timestamp_type(), false),
        Field::new("end_time", timestamp_type(), true),
        Field::new(INGESTED_AT, timestamp_type(), false),
        Field::new("day", DataType::Date32, false),
    ])),
    partition: Some("day"),
    key: &["control_room", "execution_id"],
    partition_follows_key: true,
});

/// The KPI variables each task declares, from `gettaskmetadata`.
pub static AA_TASK_METADATA: LazyLock<TableDef> = LazyLock::new(|| TableDef {
    name: "aa_task_metadata",
    description: "Automation Anywhere task KPI variables (Bot Insight gettaskmetadata), one row per task and variable",
    schema: Arc::new(Schema::new(vec![
        Field::new("control_room", DataType::Utf8, false),
        Field::new("task_name", DataType::Utf8, false),
        Field::new("variable_name", DataType::Utf8, false),
        Field::new("variable_type", DataType::Utf8, true),
        Field::new("display_name", DataType::Utf8, true),
        Field::new(INGESTED_AT, timestamp_type(), false),
    ])),
    partition: None,
    key: &["control_room", "task_name", "variable_name"],
    partition_follows_key: false,
});

/// Aggregated KPI values per task, variable and date range, from `gettaskvariableprofile`.
pub static AA_TASK_VARIABLE_PROFILES: LazyLock<TableDef> = LazyLock::new(|| TableDef {
    name: "aa_task_variable_profiles",
    description: "Automation Anywhere task KPI totals per date range (Bot Insight gettaskvariableprofile)",
    schema: Arc::new(Schema::new(vec![
        Field::new("control_room", DataType::Utf8, false),
        Field::new("task_name", DataType::Utf8, false),
        // `from`/`to` in the API; reserved words in SQL, so named for what they hold.
        Field::new("from_date", DataType::Date32, false),
        Field::new("to_date", DataType::Date32, false),
        Field::new("variable_name", DataType::Utf8, false),
        Field::new("total_value", DataType::Utf8, true),
        Field::new("total_value_number", DataType::Float64, true),
        Field::new("run_count", DataType::Int64, true),
        Field::new(INGESTED_AT, timestamp_type(), false),
    ])),
    partition: None,
    key: &[
        "control_room",
        "task_name",
        "from_date",
        "to_date",
        "variable_name",
    ],
    partition_follows_key: false,
});

/// The type of `aa_task_logs.variables`: variable name to value as sent.
pub fn variables_type() -> DataType {
    DataType::Map(
        Arc::new(Field::new(
            "entries",
            DataType::Struct(
                vec![
                    Field::new("key", DataType::Utf8, false),
                    Field::new("value", DataType::Utf8, true),
                ]
                .into(),
            ),
            false,
        )),
        false,
    )
}

/// Task log records with their KPI variable values, from `gettasklogdata`.
pub static AA_TASK_LOGS: LazyLock<TableDef> = LazyLock::new(|| TableDef {
    name: "aa_task_logs",
    description: "Automation Anywhere task log records with KPI variable values (Bot Insight gettasklogdata)",
    schema: Arc::new(Schema::new(vec![
        Field::new("control_room", DataType::Utf8, false),
        Field::new("log_id", DataType::Int64, false),
        Field::new("task_name", DataType::Utf8, false),
        Field::new("run_date", timestamp_type(), false),
        Field::new("variables", variables_type(), true),
        Field::new(INGESTED_AT, timestamp_type(), false),
        Field::new("day", DataType::Date32, false),
    ])),
    partition: Some("day"),
    key: &["control_room", "log_id"],
    partition_follows_key: true,
});

/// A UiPath table: the source (`tenant`), the event's identity, the common fields of every
/// event, `specific` fields, the Event Hubs metadata, `_ingested_at` and `day` (the day of
/// `timestamp`).
fn uipath_schema(specific: Vec<Field>) -> SchemaRef {
    let text = |name: &str| Field::new(name, DataType::Utf8, true);
    let mut fields = vec![
        Field::new("tenant", DataType::Utf8, false),
        Field::new("event_id", DataType::Utf8, false),
        Field::new("event_type", DataType::Utf8, false),
        text("schema_version"),
        Field::new("timestamp", timestamp_type(), false),
        text("tenant_key"),
        text("tenant_name"),
        text("folder_name"),
        text("full_folder_path"),
        text("folder_key"),
    ];
    fields.extend(specific);
    fields.extend([
        Field::new("x_opt_sequence_number", DataType::Int64, true),
        text("x_opt_offset"),
        Field::new("x_opt_enqueued_time", timestamp_type(), true),
        text("diagnostic_id"),
        Field::new(INGESTED_AT, timestamp_type(), false),
        Field::new("day", DataType::Date32, false),
    ]);
    Arc::new(Schema::new(fields))
}

fn texts(names: &[&str]) -> Vec<Field> {
    names
        .iter()
        .map(|n| Field::new(*n, DataType::Utf8, true))
        .collect()
}

/// The key of every UiPath table: the event's identity (a hash of its type, entity key,
/// timestamp and sequence number) within its tenant.
const UIPATH_KEY: &[&str] = &["tenant", "event_id"];

/// UiPath `job.*` events.
pub static UIPATH_JOB_EVENTS: LazyLock<TableDef> = LazyLock::new(|| TableDef {
    name: "uipath_job_events",
    description: "UiPath job events (job.created, job.started, job.completed, job.faulted, ...), one row per event",
    schema: uipath_schema({
        let mut f = texts(&["job_key"]);
        f.push(Field::new("creation_time", timestamp_type(), true));
        f.extend(texts(&["state"]));
        f.push(Field::new("start_time", timestamp_type(), true));
        f.push(Field::new("end_time", timestamp_type(), true));
        f.extend(texts(&[
            "process_name",
            "display_name",
            "robot_name",
            "host_machine_name",
        ]));
        f
    }),
    partition: Some("day"),
    key: UIPATH_KEY,
    partition_follows_key: true,
});

/// UiPath `queueItem.*` events.
pub static UIPATH_QUEUE_ITEM_EVENTS: LazyLock<TableDef> = LazyLock::new(|| TableDef {
    name: "uipath_queue_item_events",
    description: "UiPath queue item events (queueItem.added, queueItem.transactionCompleted, ...), one row per event",
    schema: uipath_schema({
        let ts = |n: &str| Field::new(n, timestamp_type(), true);
        let int = |n: &str| Field::new(n, DataType::Int64, true);
        let mut f = texts(&["queue_item_key"]);
        f.push(int("queue_definition_id"));
        f.extend(texts(&["status", "review_status"]));
        f.push(ts("due_date"));
        f.extend(texts(&["priority"]));
        f.extend([
            ts("creation_time"),
            ts("start_processing"),
            ts("end_processing"),
            ts("deffer_date"),
        ]);
        f.push(Field::new(
            "seconds_in_previous_attempt",
            DataType::Float64,
            true,
        ));
        f.push(int("retry_number"));
        f.extend(texts(&[
            "progress",
            "analytics_data",
            "output",
            "specific_data",
        ]));
        f.extend([int("creator_job_id"), int("executor_job_id")]);
        f.extend(texts(&[
            "process_exception_reason",
            "process_exception_details",
            "process_exception_type",
            "queue_key",
            "queue_name",
            "queue_description",
        ]));
        f.push(int("max_number_of_retries"));
        f.push(Field::new(
            "enforce_unique_reference",
            DataType::Boolean,
            true,
        ));
        f.extend([int("sla_in_minutes"), int("risk_sla_in_minutes")]);
        f
    }),
    partition: Some("day"),
    key: UIPATH_KEY,
    partition_follows_key: true,
});

/// UiPath `machine.*` and `machineSession.status` events.
pub static UIPATH_MACHINE_EVENTS: LazyLock<TableDef> = LazyLock::new(|| TableDef {
    name: "uipath_machine_events",
    description: "UiPath machine events (machine.created/updated/deleted/assign/unassign, machineSession.status)",
    schema: uipath_schema({
        let int = |n: &str| Field::new(n, DataType::Int64, true);
        let mut f = texts(&["machine_key", "machine_name"]);
        f.push(int("machine_id"));
        f.extend(texts(&[
            "host_machine_name",
            "service_username",
            "machine_status",
        ]));
        f.push(Field::new("reporting_time", timestamp_type(), true));
        f.push(Field::new("is_unresponsive", DataType::Boolean, true));
        f.extend([
            int("automation_cloud_slots"),
            int("headless_slots"),
            int("non_production_slots"),
            int("unattended_slots"),
        ]);
        f
    }),
    partition: Some("day"),
    key: UIPATH_KEY,
    partition_follows_key: true,
});

/// UiPath `robotlog` events.
pub static UIPATH_ROBOT_LOGS: LazyLock<TableDef> = LazyLock::new(|| TableDef {
    name: "uipath_robot_logs",
    description: "UiPath robot logs (robotlog events), one row per log",
    schema: uipath_schema({
        let int = |n: &str| Field::new(n, DataType::Int64, true);
        let float = |n: &str| Field::new(n, DataType::Float64, true);
        let mut f = texts(&["event_level", "machine_key", "message", "level", "log_type"]);
        f.push(Field::new("time_stamp", timestamp_type(), true));
        f.extend(texts(&[
            "fingerprint",
            "windows_identity",
            "machine_name",
            "file_name",
            "initiated_by",
        ]));
        f.push(float("transaction_execution_time"));
        f.push(float("total_execution_time_in_seconds"));
        f.extend(texts(&[
            "queue_item_priority",
            "queue_item_review_status",
            "queue_name",
            "transaction_id",
            "transaction_state",
            "transaction_status",
            "processing_exception_reason",
            "processing_exception_type",
            "process_name",
            "process_version",
            "job_id",
            "robot_name",
        ]));
        f.extend([int("machine_id"), int("organization_unit_id")]);
        f.extend(texts(&["activity_info", "custom_fields"]));
        f
    }),
    partition: Some("day"),
    key: UIPATH_KEY,
    partition_follows_key: true,
});

/// UiPath events of types botlake has no table for, kept whole.
pub static UIPATH_OTHER_EVENTS: LazyLock<TableDef> = LazyLock::new(|| TableDef {
    name: "uipath_other_events",
    description: "UiPath events of any other type, with their raw JSON",
    schema: uipath_schema(texts(&["raw"])),
    partition: Some("day"),
    key: UIPATH_KEY,
    partition_follows_key: true,
});

/// Records of any source that did not fit their table's schema.
pub static REJECTED_RECORDS: LazyLock<TableDef> = LazyLock::new(|| TableDef {
    name: "rejected_records",
    description: "records of every source that did not fit their table, with the reason and the raw text",
    schema: Arc::new(Schema::new(vec![
        Field::new("source", DataType::Utf8, false),
        Field::new("control_room", DataType::Utf8, false),
        Field::new("table_name", DataType::Utf8, false),
        Field::new("record_hash", DataType::Utf8, false),
        Field::new("location", DataType::Utf8, true),
        Field::new("reason", DataType::Utf8, false),
        Field::new("raw", DataType::Utf8, false),
        Field::new("received_at", timestamp_type(), false),
        Field::new(INGESTED_AT, timestamp_type(), false),
    ])),
    // A rejected record has no event date we could trust, so the table is not
    // partitioned rather than partitioned by the ingest date.
    partition: None,
    key: &["source", "control_room", "record_hash"],
    partition_follows_key: false,
});

/// Every table of the lake, in the order `botlake tables` lists them.
pub fn tables() -> [&'static TableDef; 12] {
    [
        &AA_BOT_RUNS,
        &AA_EXECUTIONS,
        &AA_AUDIT_EVENTS,
        &AA_TASK_METADATA,
        &AA_TASK_VARIABLE_PROFILES,
        &AA_TASK_LOGS,
        &UIPATH_JOB_EVENTS,
        &UIPATH_QUEUE_ITEM_EVENTS,
        &UIPATH_MACHINE_EVENTS,
        &UIPATH_ROBOT_LOGS,
        &UIPATH_OTHER_EVENTS,
        &REJECTED_RECORDS,
    ]
}

/// The rollup of the view `runs_bot_day`: its rows as of the raw versions its commit records.
/// Its columns are the view's: the query crate writes it with the schema of the view's plan
/// (so the catalog holds none), keyed as below.
pub static ROLLUP_RUNS_BOT_DAY: LazyLock<TableDef> = LazyLock::new(|| TableDef {
    name: "rollup_runs_bot_day",
    description: "rollup of the view runs_bot_day (runs per vendor, source, bot and day), kept by `botlake rollup`",
    schema: Arc::new(Schema::empty()),
    partition: None,
    key: &["vendor", "source", "bot", "day"],
    partition_follows_key: false,
});

/// The rollup of the view `runs_host_day`: its rows as of the raw versions its commit records.
/// Its columns are the view's, as for [`ROLLUP_RUNS_BOT_DAY`].
pub static ROLLUP_RUNS_HOST_DAY: LazyLock<TableDef> = LazyLock::new(|| TableDef {
    name: "rollup_runs_host_day",
    description: "rollup of the view runs_host_day (runs per vendor, source, host and day, and their run time per day it fell on), kept by `botlake rollup`",
    schema: Arc::new(Schema::empty()),
    partition: None,
    key: &["vendor", "source", "host", "day", "busy_day"],
    partition_follows_key: false,
});

/// The rollup tables: derived from views over the tables above, never ingested into.
pub fn rollups() -> [&'static TableDef; 2] {
    [&ROLLUP_RUNS_BOT_DAY, &ROLLUP_RUNS_HOST_DAY]
}

/// The table called `name`, if the catalog has one.
pub fn table(name: &str) -> Option<&'static TableDef> {
    tables().into_iter().find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_partitions_are_columns() {
        // A rollup's columns are its view's: the query crate checks its keys.
        for t in tables() {
            for k in t.key.iter().chain(t.partition.iter()) {
                assert!(t.schema.field_with_name(k).is_ok(), "{}.{k}", t.name);
            }
        }
    }

    #[test]
    fn value_columns_leave_out_key_and_partition() {
        let cols: Vec<_> = AA_BOT_RUNS.value_columns().collect();
        assert!(!cols.contains(&"run_id"));
        assert!(!cols.contains(&"day"));
        assert!(cols.contains(&"status"));
    }
}
