//! Rows whose keys no stored file holds, written as Parquet files and committed without a
//! merge.
//!
//! An upsert must find the rows its keys already have, and Delta's MERGE does that by
//! joining the new rows with the table. Where a row's day follows from its key
//! ([`TableDef::partition_follows_key`]) and the snapshot has no file for that day, or its
//! files hold none of the rows' keys, no row can match: the rows go straight to new files,
//! one per day beside any the day has, encoded across every core, and the commit adds them. The commit states the days it read (`day IN (...)`) as its
//! read predicate, so Delta's conflict check refuses it if a concurrent commit wrote to
//! any of those days in the meantime; the upsert then merges instead.
//!
//! Files are named as Delta's own writer names them (`day=2026-10-01/part-….parquet`)
//! with the partition column left out of the file, and every add action carries the
//! statistics Delta readers prune with: row count, and per column the null count and,
//! for scalar columns, the minimum and maximum.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use chrono::{DateTime, NaiveDate};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, RecordBatch, UInt32Array,
};
use datafusion::arrow::compute::{self, take_record_batch};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Float64Type, Int32Type, Int64Type, Schema, TimeUnit,
    TimestampMicrosecondType,
};
use datafusion::arrow::error::ArrowError;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::metadata::ParquetMetaData;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::parquet::file::statistics::Statistics;
use deltalake::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake::kernel::{Action, Add};
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::{DeltaResult, DeltaTable, DeltaTableError, Path};
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;
use serde_json::{Map, Value};

/// Strings longer than this keep no minimum or maximum: they would bloat the log and
/// rarely prune anything.
const MAX_STAT_STRING: usize = 64;

/// Files uploaded at a time (they are small: a day's rows).
const PUTS_IN_FLIGHT: usize = 8;

/// One day's rows, encoded.
pub(crate) struct DayFile {
    /// The Parquet file.
    pub bytes: Bytes,
    /// The add action, its path relative to the table.
    pub add: Add,
}

/// The writer properties of the files: those of Delta's own writer.
pub(crate) fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build()
}

/// `props`, with dictionaries off for the integer and timestamp columns of `batch` whose
/// first values are all different (keys, start times): a dictionary of unique values is
/// larger than the values and costs a hash lookup a value to build.
fn plain_where_unique(batch: &RecordBatch, props: &WriterProperties) -> WriterProperties {
    const SAMPLE: usize = 64;
    let mut builder = props.clone().into_builder();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        let values = match column.data_type() {
            DataType::Int64 => column.as_primitive::<Int64Type>().values(),
            DataType::Timestamp(TimeUnit::Microsecond, _) => {
                column.as_primitive::<TimestampMicrosecondType>().values()
            }
            _ => continue,
        };
        let mut sorted = values[..values.len().min(SAMPLE)].to_vec();
        sorted.sort_unstable();
        if sorted.len() == SAMPLE && sorted.windows(2).all(|w| w[0] != w[1]) {
            builder = builder.set_column_dictionary_enabled(field.name().as_str().into(), false);
        }
    }
    builder.build()
}

/// The rows of one day: slices (or, for rows out of day order, copies) of the batches they
/// came in, without the partition column, in input order.
pub(crate) type Day = (i32, Vec<RecordBatch>);

/// Splits `batches` by their `Date32` column `partition` into their days, in day order. A
/// NULL day is an error: every partitioned table has a day for every row.
pub(crate) fn split_days(batches: &[RecordBatch], partition: &str) -> Result<Vec<Day>, ArrowError> {
    let mut days: BTreeMap<i32, Vec<RecordBatch>> = BTreeMap::new();
    for batch in batches {
        for (day, rows) in split_batch(batch, partition)? {
            days.entry(day).or_default().push(rows);
        }
    }
    Ok(days.into_iter().collect())
}

/// [`split_days`] of one batch: one batch per day.
fn split_batch(
    batch: &RecordBatch,
    partition: &str,
) -> Result<Vec<(i32, RecordBatch)>, ArrowError> {
    let index = batch.schema().index_of(partition)?;
    let days = batch
        .column(index)
        .as_primitive_opt::<Date32Type>()
        .ok_or_else(|| ArrowError::SchemaError(format!("{partition} is not a date")))?;
    if days.null_count() > 0 {
        return Err(ArrowError::InvalidArgumentError(format!(
            "{} rows have no {partition}",
            days.null_count()
        )));
    }
    let mut rest = batch.clone();
    rest.remove_column(index);
    let values = days.values();
    let sorted = values.windows(2).all(|w| w[0] <= w[1]);
    if sorted {
        // Pages arrive in time order, so this is the usual case: slices, no copy.
        let mut out = Vec::new();
        let mut start = 0;
        while start < values.len() {
            let day = values[start];
            let end = start + values[start..].partition_point(|&d| d == day);
            out.push((day, rest.slice(start, end - start)));
            start = end;
        }
        return Ok(out);
    }
    let mut rows: HashMap<i32, Vec<u32>> = HashMap::new();
    for (i, day) in values.iter().enumerate() {
        rows.entry(*day).or_default().push(i as u32);
    }
    rows.into_iter()
        .map(|(day, take)| Ok((day, take_record_batch(&rest, &UInt32Array::from(take))?)))
        .collect()
}

/// Encodes the days of `days` as Parquet files, spread over `threads` threads.
pub(crate) fn encode_days(
    days: Vec<Day>,
    partition: &str,
    threads: usize,
) -> Result<Vec<DayFile>, ParquetError> {
    let next = AtomicUsize::new(0);
    let props = writer_properties();
    let days = &days;
    let work = || -> Result<Vec<(usize, DayFile)>, ParquetError> {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some((day, parts)) = days.get(i) else {
                return Ok(done);
            };
            done.push((i, encode_day(*day, parts, partition, &props)?));
        }
    };
    let mut files: Vec<(usize, DayFile)> = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads.min(days.len()))
            .map(|_| scope.spawn(work))
            .collect();
        let mut files = work()?;
        for helper in helpers {
            files.extend(helper.join().expect("a Parquet encoder panicked")?);
        }
        Ok::<_, ParquetError>(files)
    })?;
    files.sort_unstable_by_key(|(i, _)| *i);
    Ok(files.into_iter().map(|(_, f)| f).collect())
}

fn encode_day(
    day: i32,
    parts: &[RecordBatch],
    partition: &str,
    props: &WriterProperties,
) -> Result<DayFile, ParquetError> {
    // Its largest part tells the columns of unique values.
    let Some(sample) = parts.iter().max_by_key(|p| p.num_rows()) else {
        return Err(ParquetError::General("a day without rows".into()));
    };
    let schema = sample.schema();
    let props = plain_where_unique(sample, props);
    // The parts go in one after another, into one row group: no copy of the day's rows.
    // No capacity from the parts' sizes: a slice reports the size of the buffers it
    // shares with every other day.
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, schema.clone(), Some(props))?;
    for part in parts {
        writer.write(part)?;
    }
    let metadata = writer.close()?;
    let day = format_day(day);
    let path = format!(
        "{partition}={day}/part-00000-{}-c000.snappy.parquet",
        uuid::Uuid::new_v4()
    );
    let add = Add {
        path,
        partition_values: HashMap::from([(partition.to_string(), Some(day))]),
        size: out.len() as i64,
        modification_time: chrono::Utc::now().timestamp_millis(),
        data_change: true,
        stats: Some(stats(&schema, parts, &metadata)?.to_string()),
        tags: None,
        deletion_vector: None,
        base_row_id: None,
        default_row_commit_version: None,
        clustering_provider: None,
    };
    Ok(DayFile {
        bytes: Bytes::from(out),
        add,
    })
}

/// The days (as `Date32`) for which `delta`'s snapshot holds a file.
pub(crate) fn days_with_files(
    delta: &DeltaTable,
    partition: &str,
) -> Result<HashSet<i32>, ArrowError> {
    let state = delta
        .snapshot()
        .map_err(|e| ArrowError::ExternalError(Box::new(e)))?;
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("the epoch");
    let mut days = HashSet::new();
    for file in state.log_data() {
        let Some(Some(value)) = file.partition_values_map().remove(partition) else {
            continue;
        };
        let day = NaiveDate::parse_from_str(&value, "%Y-%m-%d").map_err(|e| {
            ArrowError::ParseError(format!("partition value {partition}={value}: {e}"))
        })?;
        days.insert((day - epoch).num_days() as i32);
    }
    Ok(days)
}

/// Writes `rows` (none of whose keys `delta`'s snapshot holds) as one file per day
/// and commits them with `properties`; returns the version committed. A conflict with a
/// concurrent commit to one of those days is an error, and the files are left for vacuum.
pub(crate) async fn commit_day_files(
    delta: &DeltaTable,
    partition: &str,
    rows: &[RecordBatch],
    properties: CommitProperties,
) -> DeltaResult<u64> {
    let days = split_days(rows, partition)?;
    let predicate = format!(
        "{partition} IN ({})",
        days.iter()
            .map(|(day, _)| format!("'{}'", format_day(*day)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let column = partition.to_string();
    let files = tokio::task::spawn_blocking(move || encode_days(days, &column, threads))
        .await
        .map_err(|e| DeltaTableError::Generic(format!("the Parquet encoder failed: {e}")))??;
    let store = delta.log_store().object_store(None);
    // Owned paths and bytes: futures that borrow from `files` would not be `Send`.
    let puts: Vec<(Path, Bytes)> = files
        .iter()
        .map(|f| (Path::from(f.add.path.as_str()), f.bytes.clone()))
        .collect();
    futures::stream::iter(puts)
        .map(move |(path, bytes)| {
            let store = store.clone();
            async move { store.put(&path, bytes.into()).await }
        })
        .buffer_unordered(PUTS_IN_FLIGHT)
        .try_collect::<Vec<_>>()
        .await?;
    let actions = files.into_iter().map(|f| Action::Add(f.add)).collect();
    let commit = CommitBuilder::from(properties)
        .with_actions(actions)
        .build(
            Some(delta.snapshot()?),
            delta.log_store(),
            DeltaOperation::Write {
                mode: SaveMode::Append,
                partition_by: Some(vec![partition.to_string()]),
                predicate: Some(predicate),
            },
        )
        .await?;
    Ok(commit.version())
}

/// `YYYY-MM-DD` of days since the epoch.
pub(crate) fn format_day(day: i32) -> String {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("the epoch");
    (epoch + chrono::Duration::days(i64::from(day)))
        .format("%Y-%m-%d")
        .to_string()
}

/// Delta's per-file statistics of a day's `parts`, written as `metadata`: `numRecords`, and
/// per column `nullCount` and, for scalar columns, `minValues` and `maxValues`. The bounds are
/// the Parquet writer's own where it has them exact (it compared every value already),
/// computed again only for floats (NaN) and files of several row groups.
fn stats(
    schema: &Schema,
    parts: &[RecordBatch],
    metadata: &ParquetMetaData,
) -> Result<Value, ArrowError> {
    let mut min = Map::new();
    let mut max = Map::new();
    let mut nulls = Map::new();
    let chunks = match metadata.row_groups() {
        [one] => Some(one.columns()),
        _ => None,
    };
    for (i, field) in schema.fields().iter().enumerate() {
        if field.data_type().is_nested() {
            continue;
        }
        let null_count: usize = parts.iter().map(|p| p.column(i).null_count()).sum();
        nulls.insert(field.name().clone(), Value::from(null_count));
        let written = chunks.and_then(|chunks| {
            chunks
                .iter()
                .find(|c| c.column_path().parts() == [field.name().as_str()])?
                .statistics()
        });
        let bounds = match (field.data_type(), written) {
            (DataType::Float64, _) | (_, None) => {
                let columns: Vec<&dyn Array> = parts.iter().map(|p| p.column(i).as_ref()).collect();
                min_max(&compute::concat(&columns)?)
            }
            (data_type, Some(written)) => written_bounds(data_type, written),
        };
        if let Some((lo, hi)) = bounds {
            min.insert(field.name().clone(), lo);
            max.insert(field.name().clone(), hi);
        }
    }
    Ok(serde_json::json!({
        "numRecords": parts.iter().map(RecordBatch::num_rows).sum::<usize>(),
        "minValues": min,
        "maxValues": max,
        "nullCount": nulls,
    }))
}

/// Delta's bounds of a column of `data_type` from the statistics Parquet wrote for it, as
/// [`min_max`] gives them; `None` where they are not exact.
fn written_bounds(data_type: &DataType, written: &Statistics) -> Option<(Value, Value)> {
    if !(written.min_is_exact() && written.max_is_exact()) {
        return None;
    }
    match (data_type, written) {
        (DataType::Utf8, Statistics::ByteArray(s)) => {
            let (lo, hi) = (s.min_opt()?.as_utf8().ok()?, s.max_opt()?.as_utf8().ok()?);
            (lo.len() <= MAX_STAT_STRING && hi.len() <= MAX_STAT_STRING)
                .then(|| (Value::from(lo), Value::from(hi)))
        }
        (DataType::Int64, Statistics::Int64(s)) => {
            Some(((*s.min_opt()?).into(), (*s.max_opt()?).into()))
        }
        (DataType::Int32, Statistics::Int32(s)) => {
            Some(((*s.min_opt()?).into(), (*s.max_opt()?).into()))
        }
        (DataType::Boolean, Statistics::Boolean(s)) => {
            Some(((*s.min_opt()?).into(), (*s.max_opt()?).into()))
        }
        (DataType::Date32, Statistics::Int32(s)) => Some((
            format_day(*s.min_opt()?).into(),
            format_day(*s.max_opt()?).into(),
        )),
        (DataType::Timestamp(TimeUnit::Microsecond, Some(_)), Statistics::Int64(s)) => {
            millis_bounds(*s.min_opt()?, *s.max_opt()?)
        }
        _ => None,
    }
}

/// Delta's bounds of microsecond timestamps: milliseconds, the minimum rounded down and the
/// maximum up, so that both stay bounds.
fn millis_bounds(lo: i64, hi: i64) -> Option<(Value, Value)> {
    let (lo, hi) = (lo.div_euclid(1000), (hi + 999).div_euclid(1000));
    Some((format_millis(lo)?.into(), format_millis(hi)?.into()))
}

/// The smallest and largest value of `column` as Delta's statistics write them, or `None`
/// for all-NULL columns and types kept without bounds.
fn min_max(column: &ArrayRef) -> Option<(Value, Value)> {
    match column.data_type() {
        DataType::Utf8 => {
            let a = column.as_string::<i32>();
            let (lo, hi) = (compute::min_string(a)?, compute::max_string(a)?);
            (lo.len() <= MAX_STAT_STRING && hi.len() <= MAX_STAT_STRING)
                .then(|| (Value::from(lo), Value::from(hi)))
        }
        DataType::Int64 => {
            let a = column.as_primitive::<Int64Type>();
            Some((compute::min(a)?.into(), compute::max(a)?.into()))
        }
        DataType::Int32 => {
            let a = column.as_primitive::<Int32Type>();
            Some((compute::min(a)?.into(), compute::max(a)?.into()))
        }
        DataType::Float64 => {
            let a = column.as_primitive::<Float64Type>();
            let (lo, hi) = (compute::min(a)?, compute::max(a)?);
            // NaN has no place in JSON, and bounds that skip it would prune wrongly.
            (lo.is_finite() && hi.is_finite()).then(|| (lo.into(), hi.into()))
        }
        DataType::Boolean => {
            let a: &BooleanArray = column.as_boolean();
            Some((
                compute::min_boolean(a)?.into(),
                compute::max_boolean(a)?.into(),
            ))
        }
        DataType::Date32 => {
            let a: &Date32Array = column.as_primitive();
            Some((
                format_day(compute::min(a)?).into(),
                format_day(compute::max(a)?).into(),
            ))
        }
        DataType::Timestamp(TimeUnit::Microsecond, Some(_)) => {
            let a = column.as_primitive::<TimestampMicrosecondType>();
            millis_bounds(compute::min(a)?, compute::max(a)?)
        }
        _ => None,
    }
}

fn format_millis(millis: i64) -> Option<String> {
    Some(
        DateTime::from_timestamp_millis(millis)?
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, StringArray, TimestampMicrosecondArray};
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::parquet::file::reader::FileReader;
    use datafusion::parquet::file::serialized_reader::SerializedFileReader;

    use super::*;

    fn batch(days: &[i32]) -> RecordBatch {
        let n = days.len() as i64;
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
            Field::new(
                "at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new("day", DataType::Date32, false),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from_iter_values(0..n)),
                Arc::new(StringArray::from_iter(
                    (0..n).map(|i| (i % 3 != 0).then(|| format!("bot-{i}"))),
                )),
                Arc::new(
                    TimestampMicrosecondArray::from_iter_values(
                        (0..n).map(|i| 1_700_000_000_000_000 + i * 1_500),
                    )
                    .with_timezone("UTC"),
                ),
                Arc::new(Date32Array::from(days.to_vec())),
            ],
        )
        .unwrap()
    }

    fn ids(b: &RecordBatch) -> Vec<i64> {
        b.column(0).as_primitive::<Int64Type>().values().to_vec()
    }

    #[test]
    fn days_split_in_day_order_keeping_row_order() {
        for days in [vec![1, 1, 2, 5, 5, 5], vec![5, 1, 5, 2, 1, 5]] {
            let split = split_days(&[batch(&days)], "day").unwrap();
            let got: Vec<(i32, Vec<i64>)> = split
                .iter()
                .map(|(d, parts)| (*d, parts.iter().flat_map(ids).collect()))
                .collect();
            let want: Vec<(i32, Vec<i64>)> = [1, 2, 5]
                .into_iter()
                .map(|d| {
                    let rows = (0..days.len() as i64).filter(|&i| days[i as usize] == d);
                    (d, rows.collect())
                })
                .collect();
            assert_eq!(got, want, "{days:?}");
            assert!(
                split
                    .iter()
                    .flat_map(|(_, parts)| parts)
                    .all(|b| b.schema().index_of("day").is_err())
            );
        }
    }

    #[test]
    fn files_carry_their_partition_and_bounds() {
        // Rows of one day in two batches make one file.
        let rows = batch(&[19000, 19000, 19000, 19001]);
        let days = split_days(&[rows.slice(0, 2), rows.slice(2, 2)], "day").unwrap();
        let files = encode_days(days, "day", 2).unwrap();
        assert_eq!(
            files
                .iter()
                .map(|f| f.add.partition_values["day"].as_deref().unwrap())
                .collect::<Vec<_>>(),
            ["2022-01-08", "2022-01-09"]
        );
        let add = &files[0].add;
        assert!(
            add.path.starts_with("day=2022-01-08/part-00000-"),
            "{}",
            add.path
        );
        assert_eq!(add.size, files[0].bytes.len() as i64);
        let stats: Value = serde_json::from_str(add.stats.as_deref().unwrap()).unwrap();
        assert_eq!(
            stats,
            serde_json::json!({
                "numRecords": 3,
                "minValues": {"id": 0, "name": "bot-1", "at": "2023-11-14T22:13:20.000Z"},
                // 1_700_000_000_003_000 µs is a whole millisecond; bounds stay bounds.
                "maxValues": {"id": 2, "name": "bot-2", "at": "2023-11-14T22:13:20.003Z"},
                "nullCount": {"id": 0, "name": 1, "at": 0},
            })
        );
        // The file reads back as the rows it was given.
        let reader = datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(
            files[0].bytes.clone(),
            1024,
        )
        .unwrap();
        let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
        assert_eq!(rows, 3);
    }

    #[test]
    fn unique_integers_and_times_are_written_without_a_dictionary() {
        let mut rows = batch(&[19000; 100]);
        // The same time in every row: a dictionary of one.
        let same = TimestampMicrosecondArray::from(vec![1_700_000_000_000_000; 100]);
        rows = RecordBatch::try_new(rows.schema(), {
            let mut columns = rows.columns().to_vec();
            columns[2] = Arc::new(same.with_timezone("UTC"));
            columns
        })
        .unwrap();
        let files = encode_days(split_days(&[rows], "day").unwrap(), "day", 1).unwrap();
        let reader = SerializedFileReader::new(files[0].bytes.clone()).unwrap();
        let dictionaries: Vec<(String, bool)> = reader
            .metadata()
            .row_group(0)
            .columns()
            .iter()
            .map(|c| {
                (
                    c.column_path().string(),
                    c.dictionary_page_offset().is_some(),
                )
            })
            .collect();
        assert_eq!(
            dictionaries,
            [
                ("id".into(), false),
                ("name".into(), true),
                ("at".into(), true)
            ]
        );
    }
}
