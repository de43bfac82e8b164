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

/// Automation Anywhere bot runs from Bot Insight's `getbotrundata`.
pub static AA_BOT_RUNS: LazyLock<TableDef> = LazyLock::new(|| TableDef {
    name: "aa_bot_runs",
    description: "Automation Anywhere bot runs (Bot Insight getbotrundata), one row per run",
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
        Field::new(INGESTED_AT, timestamp_type(), false),
        Field::new("day", DataType::Date32, false),
    ])),
    partition: Some("day"),
    key: &["control_room", "run_id"],
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
pub fn tables() -> [&'static TableDef; 2] {
    [&AA_BOT_RUNS, &REJECTED_RECORDS]
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
