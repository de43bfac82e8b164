//! Upsert commits: rows replace the rows with the same key, and an ingest cursor rides in
//! the same Delta commit as a Delta application transaction.

use std::collections::HashSet;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, BooleanArray, RecordBatch, UInt32Array};
use datafusion::arrow::compute::kernels::boolean::{and, not};
use datafusion::arrow::compute::kernels::cmp::not_distinct;
use datafusion::arrow::compute::{cast, filter_record_batch, interleave, take, take_record_batch};
use datafusion::arrow::datatypes::{Date32Type, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::row::{RowConverter, Rows, SortField};
use datafusion::common::ScalarValue;
use datafusion::error::DataFusionError;
use datafusion::prelude::{DataFrame, SessionContext, col, lit};
use deltalake::kernel::Transaction;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::protocol::SaveMode;
use futures::StreamExt;

use crate::scan::DayFilesTable;
use crate::{Error, Lake, Result, TableDef, dayfiles};

/// An ingest cursor to commit with the rows: Delta keeps the latest `version` per
/// `app_id`, and a concurrent commit with the same `app_id` is a conflict, so two
/// ingests of one source cannot both win.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Which ingest the cursor belongs to, for example `aa-botinsight/runs/prod`.
    pub app_id: String,
    /// The cursor, in whatever encoding the ingest chose.
    pub version: i64,
    /// A human-readable form of the cursor, kept in the commit's metadata.
    pub description: String,
    /// Further application transactions committed with it (`app_id`, `version`): where an
    /// ingest stands within its work, under ids of their own.
    pub extra: Vec<(String, i64)>,
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpsertStats {
    /// Rows whose key was new to the table.
    pub inserted: u64,
    /// Rows that replaced a different row with the same key.
    pub updated: u64,
    /// Rows identical to the row already there (nothing written for them).
    pub unchanged: u64,
    /// The table version the commit created.
    pub version: u64,
}

impl Lake {
    /// Upserts `batches` into `table`, together with `checkpoint`.
    ///
    /// Rows with the same key within `batches` collapse to the last of them. Rows that
    /// equal the stored row are not rewritten. With no rows, the commit still records the
    /// checkpoint (and creates the table if it did not exist).
    ///
    /// Where the table's day follows from its key, rows whose keys the table holds on none
    /// of their days are new: when every row is, they are added as files beside those the
    /// days have (see [`dayfiles`]), in one commit and without reading more than the keys
    /// of those days. Otherwise the rows of days without a file are added so first, and the
    /// rest is merged in a second commit. Either way the checkpoint is committed with the
    /// last of the rows; a concurrent commit to the same days turns the addition into a
    /// merge, so that no key is ever stored twice.
    pub async fn upsert(
        &self,
        table: &TableDef,
        batches: Vec<RecordBatch>,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<UpsertStats> {
        let schema_err = |source| Error::Schema {
            table: table.name.to_string(),
            source,
        };
        let batches = dedupe_last(&table.schema, batches, table.key).map_err(schema_err)?;
        let rows = count_rows(&batches);
        let commit_err = |source| crate::commit_failed(table.name, source);
        let properties = commit_properties(checkpoint);

        let fresh_days = table.partition.filter(|_| table.partition_follows_key);
        let delta = match self.open_latest(table).await? {
            Some(delta) => self.with_catalog_columns(table, delta).await?,
            // A new table is created empty and the rows go in as into any other, so that
            // of two writers creating it at once, the second merges with the first.
            None => self.create_empty(table).await?,
        };

        if rows == 0 {
            let version = commit_checkpoint_only(delta, table, properties)
                .await
                .map_err(commit_err)?;
            return Ok(UpsertStats {
                version,
                ..UpsertStats::default()
            });
        }

        let mut added = 0;
        let (delta, batches, known) = match fresh_days {
            None => (delta, batches, Ok(None)),
            Some(partition) => {
                let (fresh, rest) =
                    split_fresh_days(&delta, &batches, partition).map_err(schema_err)?;
                let known = match rest.is_empty() {
                    true => Ok(None),
                    false => unchanged_rows(&delta, table, partition, &rest).await,
                };
                // Rows whose keys no stored file holds (of new days, or new to the days they
                // fall on) are added as files beside the days' others, in one commit.
                let (commit, with, rest) = match known {
                    Ok(None) => (&batches, properties.clone(), None),
                    // The others are merged next, with the checkpoint.
                    _ => (&fresh, CommitProperties::default(), Some(rest)),
                };
                if commit.is_empty() {
                    (delta, rest.unwrap_or_default(), known)
                } else {
                    match dayfiles::commit_day_files(&delta, partition, commit, with).await {
                        Ok(version) if rest.is_none() => {
                            return Ok(UpsertStats {
                                inserted: rows,
                                version,
                                ..UpsertStats::default()
                            });
                        }
                        Ok(_) => {
                            added = count_rows(&fresh);
                            let delta = self.reopen(table).await?;
                            (delta, rest.unwrap_or_default(), known)
                        }
                        Err(e) if is_conflict(&e) => {
                            // Another commit wrote to these days meanwhile: merge them.
                            tracing::debug!(
                                table = table.name,
                                "the days were written meanwhile: {e}"
                            );
                            let delta = self.reopen(table).await?;
                            let known = unchanged_rows(&delta, table, partition, &batches).await;
                            (delta, batches, known)
                        }
                        Err(e) => return Err(commit_err(e)),
                    }
                }
            }
        };
        // Rows equal to the stored ones (a page fetched again) need no merge: drop them, and
        // when nothing is left, commit the checkpoint alone (or nothing).
        let (batches, same) = drop_unchanged(table, batches, known)?;
        if batches.is_empty() {
            let version = match checkpoint {
                Some(_) => commit_checkpoint_only(delta, table, properties)
                    .await
                    .map_err(commit_err)?,
                None => delta.version().unwrap_or_default(),
            };
            return Ok(UpsertStats {
                inserted: added,
                unchanged: same,
                version,
                ..UpsertStats::default()
            });
        }
        let rows = count_rows(&batches);
        let source = SessionContext::new()
            .read_batches(batches)
            .map_err(|source| Error::Prepare {
                table: table.name.to_string(),
                source: Box::new(source),
            })?;
        let mut delta = delta;
        let mut attempt = 1;
        let (merged, version_before, inserted, updated) = loop {
            let version_before = delta.version();
            match merge(delta, table, source.clone(), &properties).await {
                Ok((merged, inserted, updated)) => {
                    break (merged, version_before, inserted, updated);
                }
                // Files the merge read or rewrites were changed meanwhile (a compaction, an
                // ingest of another source into the same days): merge into them as they are
                // now. A commit of the same ingest's cursor is not retried: one of two
                // ingests of a source wins.
                Err(e) if attempt < ATTEMPTS && is_retryable(&e) => {
                    tracing::debug!(table = table.name, attempt, "merging again: {e}");
                    attempt += 1;
                    delta = self.reopen(table).await?;
                }
                Err(e) => return Err(commit_err(e)),
            }
        };
        let version = match merged.version() {
            // A merge that changes nothing makes no commit; a checkpoint still must be.
            same if same == version_before && checkpoint.is_some() => {
                commit_checkpoint_only(merged, table, properties)
                    .await
                    .map_err(commit_err)?
            }
            version => version.unwrap_or_default(),
        };
        Ok(UpsertStats {
            inserted: added + inserted,
            updated,
            unchanged: same + rows.saturating_sub(inserted + updated),
            version,
        })
    }

    /// Creates `table` (its local directory too) with no rows, or opens it if another
    /// writer created it first.
    async fn create_empty(&self, table: &TableDef) -> Result<deltalake::DeltaTable> {
        self.ensure_local_dir(table)?;
        let commit_err = crate::commit_error(table);
        // Not loaded: the commit is a creation, whatever is there now.
        let delta = deltalake::DeltaTableBuilder::from_url(self.table_url(table))
            .and_then(|builder| builder.build())
            .map_err(&commit_err)?;
        let created = delta
            .write(vec![RecordBatch::new_empty(table.schema.clone())])
            .with_save_mode(SaveMode::Append)
            .with_partition_columns(table.partition)
            .with_table_name(table.name)
            .with_description(table.description)
            .with_configuration(crate::TABLE_PROPERTIES)
            // Delta would commit a creation that lost the race as a later version, a
            // second creation; failing it instead, the table is opened as the winner made it.
            .with_commit_properties(CommitProperties::default().with_max_retries(0))
            .await;
        match created {
            Ok(delta) => Ok(delta),
            Err(e) => match self.open_latest(table).await? {
                Some(delta) => Ok(delta),
                None => Err(commit_err(e)),
            },
        }
    }

    /// `delta` with every column of `table`'s catalog schema: a table an earlier release
    /// wrote gains the columns added since (nullable, so its rows hold NULL in them), in a
    /// commit of its own, before rows with them are written.
    async fn with_catalog_columns(
        &self,
        table: &TableDef,
        delta: deltalake::DeltaTable,
    ) -> Result<deltalake::DeltaTable> {
        let commit_err = crate::commit_error(table);
        let schema = delta.snapshot().map_err(&commit_err)?.schema();
        let missing = table
            .schema
            .fields()
            .iter()
            .any(|f| schema.field(f.name()).is_none());
        if !missing {
            return Ok(delta);
        }
        tracing::info!(table = table.name, "adding the columns of this release");
        delta
            .write(vec![RecordBatch::new_empty(table.schema.clone())])
            .with_save_mode(SaveMode::Append)
            .with_schema_mode(deltalake::operations::write::SchemaMode::Merge)
            .await
            .map_err(commit_err)
    }

    /// `table` opened again after a commit of this upsert, which made it exist.
    async fn reopen(&self, table: &TableDef) -> Result<deltalake::DeltaTable> {
        self.open_latest(table)
            .await?
            .ok_or_else(|| crate::commit_error(table)(deltalake::DeltaTableError::NotInitialized))
    }
}

/// Whether a commit failed because a concurrent commit conflicts with it.
fn is_conflict(e: &deltalake::DeltaTableError) -> bool {
    matches!(
        e,
        deltalake::DeltaTableError::Transaction {
            source: deltalake::kernel::transaction::TransactionError::CommitConflict(_)
        }
    )
}

/// How many times an upsert merges, or a compaction compacts, when concurrent commits
/// conflict with it.
pub(crate) const ATTEMPTS: usize = 5;

/// Whether a commit that failed because of a concurrent one can be made again on top of
/// it: any conflict but that of two commits of one ingest's cursor.
pub(crate) fn is_retryable(e: &deltalake::DeltaTableError) -> bool {
    use deltalake::kernel::transaction::{CommitConflictError as C, TransactionError};
    matches!(
        e,
        deltalake::DeltaTableError::Transaction {
            source: TransactionError::CommitConflict(
                C::ConcurrentAppend | C::ConcurrentDeleteRead | C::ConcurrentDeleteDelete
            )
        }
    )
}

/// Merges the rows of `source` into `delta` by `table`'s key, with `properties`: new keys
/// inserted, rows whose values differ updated, the others left alone. Returns the table
/// after the merge and the rows inserted and updated.
async fn merge(
    delta: deltalake::DeltaTable,
    table: &TableDef,
    source: DataFrame,
    properties: &CommitProperties,
) -> deltalake::DeltaResult<(deltalake::DeltaTable, u64, u64)> {
    let mut on: Vec<String> = table
        .key
        .iter()
        .map(|k| format!("target.{k} = source.{k}"))
        .collect();
    if table.partition_follows_key
        && let Some(p) = table.partition
    {
        // Lets the merge skip every partition the new rows do not touch.
        on.push(format!("target.{p} = source.{p}"));
    }
    let changed = table
        .value_columns()
        .filter(|c| *c != crate::catalog::INGESTED_AT)
        .map(|c| format!("(target.{c} IS DISTINCT FROM source.{c})"))
        .collect::<Vec<_>>()
        .join(" OR ");
    let all_columns: Vec<String> = table
        .schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let value_columns: Vec<String> = table.value_columns().map(str::to_string).collect();

    let mut merge = delta
        .merge(source, on.join(" AND "))
        .with_source_alias("source")
        .with_target_alias("target")
        .with_commit_properties(properties.clone())
        .when_not_matched_insert(|insert| {
            all_columns
                .iter()
                .fold(insert, |i, c| i.set(c.as_str(), format!("source.{c}")))
        })?;
    if !value_columns.is_empty() && !changed.is_empty() {
        merge = merge.when_matched_update(|update| {
            value_columns
                .iter()
                .fold(update.predicate(changed.clone()), |u, c| {
                    u.update(c.as_str(), format!("source.{c}"))
                })
        })?;
    }
    let (merged, metrics) = merge.await?;
    Ok((
        merged,
        metrics.num_target_rows_inserted as u64,
        metrics.num_target_rows_updated as u64,
    ))
}

/// `batches` split into the rows of days that have no file in `delta`'s snapshot and the
/// rest, neither holding an empty batch.
fn split_fresh_days(
    delta: &deltalake::DeltaTable,
    batches: &[RecordBatch],
    partition: &str,
) -> Result<(Vec<RecordBatch>, Vec<RecordBatch>), ArrowError> {
    let known: HashSet<i32> = dayfiles::days_with_files(delta, partition)?;
    let (mut fresh, mut rest) = (Vec::new(), Vec::new());
    for batch in batches {
        let days = batch
            .column_by_name(partition)
            .and_then(|c| c.as_primitive_opt::<Date32Type>())
            .ok_or_else(|| ArrowError::SchemaError(format!("{partition} is not a date column")))?;
        let is_fresh: BooleanArray = days
            .iter()
            .map(|d| Some(d.is_some_and(|d| !known.contains(&d))))
            .collect();
        match is_fresh.true_count() {
            0 => rest.push(batch.clone()),
            n if n == batch.num_rows() => fresh.push(batch.clone()),
            _ => {
                fresh.push(filter_record_batch(batch, &is_fresh)?);
                rest.push(filter_record_batch(batch, &not(&is_fresh)?)?);
            }
        }
    }
    fresh.retain(|b| b.num_rows() > 0);
    rest.retain(|b| b.num_rows() > 0);
    Ok((fresh, rest))
}

/// `batches` without the rows that [`unchanged_rows`] found equal to the stored ones (all
/// of them kept where it found no stored key or could not tell), and the number left out.
fn drop_unchanged(
    table: &TableDef,
    batches: Vec<RecordBatch>,
    known: Result<Option<Vec<Vec<bool>>>, DataFusionError>,
) -> Result<(Vec<RecordBatch>, u64)> {
    let same = match known {
        Ok(Some(same)) => same,
        Ok(None) => return Ok((batches, 0)),
        Err(e) => {
            tracing::debug!(table = table.name, "rows left to the merge to compare: {e}");
            return Ok((batches, 0));
        }
    };
    let mut kept = Vec::with_capacity(batches.len());
    let mut left_out = 0;
    for (batch, same) in batches.into_iter().zip(same) {
        let n = same.iter().filter(|s| **s).count();
        left_out += n as u64;
        if n == 0 {
            kept.push(batch);
        } else if n < batch.num_rows() {
            let keep: BooleanArray = same.iter().map(|s| Some(!s)).collect();
            kept.push(
                filter_record_batch(&batch, &keep).map_err(|source| Error::Schema {
                    table: table.name.to_string(),
                    source,
                })?,
            );
        }
    }
    Ok((kept, left_out))
}

/// For each row of `batches`, whether `delta` holds a row equal to it under its key, or
/// `None` when it holds none of their keys. Only the files of the days the rows fall on are
/// read (the day follows from the key), a file at a time. Values count as equal as
/// `IS NOT DISTINCT FROM` counts them, except that floats must match bit for bit;
/// `ingested_at` is not compared, as the merge does not compare it. An error where the
/// stored rows cannot be read this way (files that need Delta's reader) or a column's type
/// cannot be compared: then only the merge can tell.
///
/// The rows found equal are those of `delta`'s snapshot; a commit made since by another
/// writer that changed them is kept, as if it had been made after this one.
async fn unchanged_rows(
    delta: &deltalake::DeltaTable,
    table: &TableDef,
    partition: &str,
    batches: &[RecordBatch],
) -> Result<Option<Vec<Vec<bool>>>, DataFusionError> {
    let compared: Vec<&str> = table
        .key
        .iter()
        .copied()
        .chain(
            table
                .value_columns()
                .filter(|c| *c != crate::catalog::INGESTED_AT),
        )
        .collect();
    let keys = Keys::new(&table.schema, table.key)?;
    let incoming = batches
        .iter()
        .map(|b| keys.of(b))
        .collect::<Result<Vec<_>, _>>()?;
    let mut index: datafusion::common::HashMap<&[u8], (usize, usize)> =
        datafusion::common::HashMap::with_capacity(count_rows(batches) as usize);
    for (b, rows) in incoming.iter().enumerate() {
        for (r, row) in rows.iter().enumerate() {
            index.insert(row.data(), (b, r));
        }
    }
    // The keys alone first: where every row is new (events as they arrive), that is all
    // there is to read.
    let Some(stored) = stored_rows(delta, table, partition, batches)? else {
        return Err(DataFusionError::NotImplemented(
            "the table's files need Delta's reader".to_string(),
        ));
    };
    let mut stored_keys = stored
        .clone()
        .select_columns(table.key)?
        .execute_stream()
        .await?;
    let mut any_stored = false;
    while let Some(theirs) = stored_keys.next().await {
        if keys
            .of(&theirs?)?
            .iter()
            .any(|row| index.contains_key(row.data()))
        {
            any_stored = true;
            break;
        }
    }
    drop(stored_keys);
    if !any_stored {
        return Ok(None);
    }
    let mut stored = stored.select_columns(&compared)?.execute_stream().await?;
    let mut same: Vec<Vec<bool>> = batches.iter().map(|b| vec![false; b.num_rows()]).collect();
    while let Some(theirs) = stored.next().await {
        let theirs = theirs?;
        let (mut ours, mut at) = (Vec::new(), Vec::new());
        for (i, row) in keys.of(&theirs)?.iter().enumerate() {
            if let Some(&pair) = index.get(row.data()) {
                ours.push(pair);
                at.push(i as u32);
            }
        }
        if ours.is_empty() {
            continue;
        }
        let at = UInt32Array::from(at);
        let mut equal: Option<BooleanArray> = None;
        for c in &compared {
            let columns = batches
                .iter()
                .map(|b| column(b, c))
                .collect::<Result<Vec<_>, _>>()?;
            let a = interleave(
                &columns.iter().map(AsRef::as_ref).collect::<Vec<_>>(),
                &ours,
            )?;
            let b = take(column(&theirs, c)?.as_ref(), &at, None)?;
            let b = if b.data_type() == a.data_type() {
                b
            } else {
                cast(&b, a.data_type())?
            };
            let eq = not_distinct(&a, &b)?;
            equal = Some(match equal {
                Some(e) => and(&e, &eq)?,
                None => eq,
            });
        }
        if let Some(equal) = equal {
            for (&(b, r), eq) in ours.iter().zip(equal.iter()) {
                same[b][r] = eq == Some(true);
            }
        }
    }
    Ok(Some(same))
}

/// The rows `delta` holds on the days of `batches` (with the table's types), or `None` when
/// the table's files need Delta's own reader.
fn stored_rows(
    delta: &deltalake::DeltaTable,
    table: &TableDef,
    partition: &str,
    batches: &[RecordBatch],
) -> Result<Option<DataFrame>, DataFusionError> {
    let mut days = HashSet::new();
    for batch in batches {
        let values = batch
            .column_by_name(partition)
            .and_then(|c| c.as_primitive_opt::<Date32Type>())
            .ok_or_else(|| DataFusionError::Plan(format!("{partition} is not a date column")))?;
        days.extend(values.iter().flatten());
    }
    // The scan wants the partition column last, as Delta's provider gives it.
    let fields = table
        .schema
        .fields()
        .iter()
        .filter(|f| f.name() != partition)
        .chain(
            table
                .schema
                .fields()
                .iter()
                .filter(|f| f.name() == partition),
        )
        .cloned()
        .collect::<Vec<_>>();
    let schema = Arc::new(Schema::new(fields));
    let Some(files) = DayFilesTable::try_new(delta, schema, Some(partition)) else {
        return Ok(None);
    };
    let mut days: Vec<i32> = days.into_iter().collect();
    days.sort_unstable();
    let on_days = col(partition).in_list(
        days.into_iter()
            .map(|d| lit(ScalarValue::Date32(Some(d))))
            .collect(),
        false,
    );
    let rows = SessionContext::new()
        .read_table(Arc::new(files))?
        .filter(on_days)?;
    Ok(Some(rows))
}

/// The key columns of a table's batches in Arrow's row format, to hash and compare.
struct Keys<'k> {
    converter: RowConverter,
    key: &'k [&'k str],
}

impl<'k> Keys<'k> {
    fn new(schema: &Schema, key: &'k [&'k str]) -> Result<Keys<'k>, ArrowError> {
        let fields = key
            .iter()
            .map(|k| {
                Ok(SortField::new(
                    schema.field_with_name(k)?.data_type().clone(),
                ))
            })
            .collect::<Result<Vec<_>, ArrowError>>()?;
        Ok(Keys {
            converter: RowConverter::new(fields)?,
            key,
        })
    }

    /// The keys of `batch`'s rows.
    fn of(&self, batch: &RecordBatch) -> Result<Rows, ArrowError> {
        let columns = self
            .key
            .iter()
            .map(|k| column(batch, k))
            .collect::<Result<Vec<_>, _>>()?;
        self.converter.convert_columns(&columns)
    }
}

/// The column `name` of `batch`.
fn column(batch: &RecordBatch, name: &str) -> Result<ArrayRef, ArrowError> {
    batch
        .column_by_name(name)
        .cloned()
        .ok_or_else(|| ArrowError::SchemaError(format!("column {name} is missing")))
}

fn count_rows(batches: &[RecordBatch]) -> u64 {
    batches.iter().map(|b| b.num_rows() as u64).sum()
}

/// An empty append: a commit that carries only the checkpoint in `properties`.
async fn commit_checkpoint_only(
    delta: deltalake::DeltaTable,
    table: &TableDef,
    properties: CommitProperties,
) -> Result<u64, deltalake::DeltaTableError> {
    let written = delta
        .write(vec![RecordBatch::new_empty(table.schema.clone())])
        .with_save_mode(SaveMode::Append)
        .with_commit_properties(properties)
        .await?;
    Ok(written.version().unwrap_or_default())
}

fn commit_properties(checkpoint: Option<&Checkpoint>) -> CommitProperties {
    let properties = CommitProperties::default();
    match checkpoint {
        None => properties,
        Some(c) => c
            .extra
            .iter()
            .fold(properties, |p, (app_id, version)| {
                p.with_application_transaction(Transaction::new(app_id, *version))
            })
            .with_application_transaction(Transaction::new(&c.app_id, c.version))
            .with_metadata([(
                "botlake.cursor".to_string(),
                serde_json::json!({ "app_id": c.app_id, "cursor": c.description }),
            )]),
    }
}

/// Keeps the last row of every key, in the original order of those rows. Batches without
/// a repeated key are kept as they are, not copied.
fn dedupe_last(
    schema: &SchemaRef,
    batches: Vec<RecordBatch>,
    key: &[&str],
) -> Result<Vec<RecordBatch>, ArrowError> {
    let keys = Keys::new(schema, key)?;
    let rows = batches
        .iter()
        .map(|batch| keys.of(batch))
        .collect::<Result<Vec<_>, ArrowError>>()?;
    // Keys in ascending order (ids as pages bring them) repeat none: no table needed.
    let mut ordered = rows.iter().flat_map(|rows| rows.iter());
    if let Some(first) = ordered.next() {
        let mut previous = first;
        if ordered.all(|row| std::mem::replace(&mut previous, row) < row) {
            return Ok(batches);
        }
    }
    let total: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let mut last: datafusion::common::HashMap<&[u8], (u32, u32)> =
        datafusion::common::HashMap::with_capacity(total);
    for (b, rows) in rows.iter().enumerate() {
        for (i, row) in rows.iter().enumerate() {
            last.insert(row.data(), (b as u32, i as u32));
        }
    }
    if last.len() == total {
        return Ok(batches);
    }
    let mut keep: Vec<(u32, u32)> = last.into_values().collect();
    keep.sort_unstable();
    let mut out = Vec::with_capacity(batches.len());
    for (b, batch) in batches.iter().enumerate() {
        let from = keep.partition_point(|&(kb, _)| (kb as usize) < b);
        let to = keep.partition_point(|&(kb, _)| (kb as usize) <= b);
        let take: UInt32Array = keep[from..to].iter().map(|&(_, i)| i).collect();
        if take.len() == batch.num_rows() {
            out.push(batch.clone());
        } else if !take.is_empty() {
            out.push(take_record_batch(batch, &take)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema};

    use super::*;

    fn keyed(schema: &SchemaRef, keys: &[i64], values: &[&str]) -> RecordBatch {
        RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(keys.to_vec())),
                Arc::new(StringArray::from(values.to_vec())),
            ],
        )
        .unwrap()
    }

    fn values(batches: &[RecordBatch]) -> Vec<String> {
        batches
            .iter()
            .flat_map(|b| {
                b.column(1)
                    .as_string::<i32>()
                    .iter()
                    .flatten()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn dedupe_keeps_the_last_row_of_each_key() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, false),
            Field::new("v", DataType::Utf8, false),
        ]));
        let batch = keyed(&schema, &[1, 2, 1, 3], &["a", "b", "c", "d"]);
        let out = dedupe_last(&schema, vec![batch], &["k"]).unwrap();
        assert_eq!(values(&out), ["b", "c", "d"]);
    }

    #[test]
    fn dedupe_spans_batches_and_leaves_batches_without_repeats_alone() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, false),
            Field::new("v", DataType::Utf8, false),
        ]));
        let first = keyed(&schema, &[1, 2, 3], &["a", "b", "c"]);
        let second = keyed(&schema, &[4, 2], &["d", "e"]);
        let third = keyed(&schema, &[1], &["f"]);
        let out = dedupe_last(&schema, vec![first, second.clone(), third], &["k"]).unwrap();
        assert_eq!(values(&out), ["c", "d", "e", "f"]);
        // The second batch lost nothing: it is the same batch, not a copy.
        assert!(
            out[1]
                .column(1)
                .to_data()
                .ptr_eq(&second.column(1).to_data())
        );

        // Unique keys, ascending or not, leave every batch as it is.
        for order in [[7, 8, 9], [8, 9, 7]] {
            let unique = keyed(&schema, &order, &["x", "y", "z"]);
            let out = dedupe_last(&schema, vec![unique.clone()], &["k"]).unwrap();
            assert!(
                out[0]
                    .column(0)
                    .to_data()
                    .ptr_eq(&unique.column(0).to_data())
            );
        }
        // Ascending up to a key that comes again.
        let rising = keyed(&schema, &[1, 2, 3], &["a", "b", "c"]);
        let again = keyed(&schema, &[3], &["d"]);
        let out = dedupe_last(&schema, vec![rising, again], &["k"]).unwrap();
        assert_eq!(values(&out), ["a", "b", "d"]);
    }

    /// `sql` over `table`, registered as `name`.
    /// A lake in a temporary directory, which lives as long as the directory does.
    fn temp_lake() -> (tempfile::TempDir, Lake) {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::parse(dir.path().to_str().unwrap()).unwrap();
        (dir, lake)
    }

    async fn query(lake: &Lake, table: &TableDef, name: &str, sql: &str) -> Vec<RecordBatch> {
        let ctx = SessionContext::new();
        let provider = lake
            .table_provider(table, &ctx.state())
            .await
            .unwrap()
            .unwrap();
        ctx.register_table(name, provider).unwrap();
        ctx.sql(sql).await.unwrap().collect().await.unwrap()
    }

    /// Asserts that the stored runs are `want`, `(run_id, status)` by run id.
    async fn assert_statuses(lake: &Lake, want: &[(i64, &str)]) {
        let t = &crate::catalog::AA_BOT_RUNS;
        let sql = "SELECT run_id, status FROM runs ORDER BY run_id";
        let out = query(lake, t, "runs", sql).await;
        let got: Vec<(i64, String)> = out
            .iter()
            .flat_map(|b| {
                let ids = b.column(0).as_primitive::<Int64Type>();
                let status = cast(b.column(1), &DataType::Utf8).unwrap();
                let status = status.as_string::<i32>();
                (0..b.num_rows())
                    .map(|i| (ids.value(i), status.value(i).to_string()))
                    .collect::<Vec<_>>()
            })
            .collect();
        let want: Vec<(i64, String)> = want.iter().map(|(i, s)| (*i, s.to_string())).collect();
        assert_eq!(got, want);
    }

    fn runs(rows: &[(i64, &str, i32)]) -> RecordBatch {
        use datafusion::arrow::array::{BooleanArray, Date32Array, TimestampMicrosecondArray};
        let t = &crate::catalog::AA_BOT_RUNS;
        let n = rows.len();
        let text = |v: &str| Arc::new(StringArray::from(vec![v; n])) as ArrayRef;
        let ts = |v: i64| {
            Arc::new(TimestampMicrosecondArray::from(vec![v; n]).with_timezone("UTC")) as ArrayRef
        };
        let int = |v: i64| Arc::new(Int64Array::from(vec![v; n])) as ArrayRef;
        let columns: Vec<ArrayRef> = vec![
            text("prod"),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))),
            text("u"),
            text("f"),
            text("l"),
            text("e"),
            text("h"),
            text("ip"),
            text("bot"),
            ts(1),
            ts(2),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))),
            int(1),
            int(1),
            Arc::new(BooleanArray::from(vec![true; n])),
            text("v11"),
            ts(3),
            Arc::new(Date32Array::from_iter_values(rows.iter().map(|r| r.2))),
        ];
        RecordBatch::try_new(t.schema.clone(), columns).unwrap()
    }

    // A table an earlier release wrote, without a column added since (aa_bot_runs.api in
    // 0.2): the next upsert adds the column, its old rows read NULL in it, new ones their
    // value, and updates and keys work across both.
    #[tokio::test]
    async fn a_table_of_an_earlier_release_gains_the_new_columns() {
        let (_dir, lake) = temp_lake();
        let t = &crate::catalog::AA_BOT_RUNS;
        let api = t.schema.index_of("api").unwrap();
        let kept: Vec<usize> = (0..t.schema.fields().len()).filter(|i| *i != api).collect();
        let old_schema = Arc::new(t.schema.project(&kept).unwrap());
        let old = TableDef {
            schema: old_schema.clone(),
            ..(**t).clone()
        };
        let rows = runs(&[(1, "RUNNING", 20000), (2, "COMPLETED", 20001)]);
        let without = rows.project(&kept);
        lake.upsert(&old, vec![without.unwrap()], None)
            .await
            .unwrap();

        let s = lake
            .upsert(
                t,
                vec![runs(&[(1, "COMPLETED", 20000), (3, "FAILED", 20002)])],
                None,
            )
            .await
            .unwrap();
        assert_eq!((s.inserted, s.updated), (1, 1));
        let sql = "SELECT run_id, coalesce(api, 'NULL') FROM runs ORDER BY run_id";
        let out = query(&lake, t, "runs", sql).await;
        let got: Vec<String> = out
            .iter()
            .flat_map(|b| {
                let api = cast(b.column(1), &DataType::Utf8).unwrap();
                let api = api.as_string::<i32>();
                (0..b.num_rows())
                    .map(|i| {
                        format!(
                            "{}={}",
                            b.column(0).as_primitive::<Int64Type>().value(i),
                            api.value(i)
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(got, ["1=v11", "2=NULL", "3=v11"]);
        assert_statuses(&lake, &[(1, "COMPLETED"), (2, "COMPLETED"), (3, "FAILED")]).await;
    }

    /// One rejected record, the same key whatever `reason`.
    fn rejected(reason: &str) -> RecordBatch {
        use datafusion::arrow::array::TimestampMicrosecondArray;
        let t = &crate::catalog::REJECTED_RECORDS;
        let text = |v: &str| Arc::new(StringArray::from(vec![v])) as ArrayRef;
        let ts =
            || Arc::new(TimestampMicrosecondArray::from(vec![1]).with_timezone("UTC")) as ArrayRef;
        let columns = vec![
            text("uipath"),
            text("tenant"),
            text("uipath_job_events"),
            text("hash"),
            text("line 1"),
            text(reason),
            text("{"),
            ts(),
            ts(),
        ];
        RecordBatch::try_new(t.schema.clone(), columns).unwrap()
    }

    #[tokio::test]
    async fn upsert_inserts_updates_and_keeps_the_cursor() {
        let (_dir, lake) = temp_lake();
        let t = &crate::catalog::AA_BOT_RUNS;
        let cp = |v| Checkpoint {
            app_id: "test/runs".into(),
            version: v,
            description: format!("v{v}"),
            extra: Vec::new(),
        };
        assert_eq!(lake.cursor(t, "test/runs").await.unwrap(), None);

        let first = runs(&[(1, "IN_PROGRESS", 20000), (2, "COMPLETED", 20001)]);
        let s = lake
            .upsert(t, vec![first.clone()], Some(&cp(7)))
            .await
            .unwrap();
        assert_eq!((s.inserted, s.updated), (2, 0));
        assert_eq!(lake.cursor(t, "test/runs").await.unwrap(), Some(7));

        // The same rows again change nothing.
        let s = lake.upsert(t, vec![first], Some(&cp(8))).await.unwrap();
        assert_eq!((s.inserted, s.updated, s.unchanged), (0, 0, 2));
        assert_eq!(lake.cursor(t, "test/runs").await.unwrap(), Some(8));

        // A new status replaces the row; a new key is inserted.
        let second = runs(&[(1, "COMPLETED", 20000), (3, "FAILED", 20001)]);
        let s = lake.upsert(t, vec![second], None).await.unwrap();
        assert_eq!((s.inserted, s.updated, s.unchanged), (1, 1, 0));

        // No rows still commits the cursor.
        let s = lake.upsert(t, vec![], Some(&cp(9))).await.unwrap();
        assert_eq!(s.inserted, 0);
        assert_eq!(lake.cursor(t, "test/runs").await.unwrap(), Some(9));

        assert_statuses(&lake, &[(1, "COMPLETED"), (2, "COMPLETED"), (3, "FAILED")]).await;
    }

    #[tokio::test]
    async fn rows_equal_to_the_stored_ones_make_no_commit() {
        let (_dir, lake) = temp_lake();
        let t = &crate::catalog::AA_BOT_RUNS;
        let first = runs(&[
            (1, "COMPLETED", 20000),
            (2, "FAILED", 20000),
            (3, "RUN", 20001),
        ]);
        let before = lake.upsert(t, vec![first.clone()], None).await.unwrap();

        let s = lake.upsert(t, vec![first], None).await.unwrap();
        assert_eq!((s.inserted, s.updated, s.unchanged), (0, 0, 3));
        assert_eq!(s.version, before.version, "nothing to commit");

        // Of a day's rows, the equal ones are left out and the others merged; a new day
        // is added beside them.
        let next = runs(&[
            (1, "COMPLETED", 20000),
            (2, "COMPLETED", 20000),
            (4, "RUN", 20000),
            (5, "RUN", 20002),
        ]);
        let delta = lake.open(t).await.unwrap().unwrap();
        let known = unchanged_rows(&delta, t, "day", std::slice::from_ref(&next)).await;
        let (kept, same) = drop_unchanged(t, vec![next.clone()], known).unwrap();
        let kept_ids: Vec<i64> = kept
            .iter()
            .flat_map(|b| {
                let ids = b
                    .column_by_name("run_id")
                    .unwrap()
                    .as_primitive::<Int64Type>();
                ids.values().to_vec()
            })
            .collect();
        assert_eq!((kept_ids, same), (vec![2, 4, 5], 1));
        let s = lake.upsert(t, vec![next], None).await.unwrap();
        assert_eq!((s.inserted, s.updated, s.unchanged), (2, 1, 1));
        let out = query(
            &lake,
            t,
            "runs",
            "SELECT run_id, status, day FROM runs ORDER BY run_id",
        )
        .await;
        datafusion::assert_batches_eq!(
            [
                "+--------+-----------+------------+",
                "| run_id | status    | day        |",
                "+--------+-----------+------------+",
                "| 1      | COMPLETED | 2024-10-04 |",
                "| 2      | COMPLETED | 2024-10-04 |",
                "| 3      | RUN       | 2024-10-05 |",
                "| 4      | RUN       | 2024-10-04 |",
                "| 5      | RUN       | 2024-10-06 |",
                "+--------+-----------+------------+",
            ],
            &out
        );
    }

    /// The files of `table`'s day `day` (days since the epoch).
    async fn files_of_day(lake: &Lake, table: &TableDef, day: i32) -> usize {
        let delta = lake.open(table).await.unwrap().unwrap();
        let day = dayfiles::format_day(day);
        let snapshot = delta.snapshot().unwrap();
        snapshot
            .log_data()
            .into_iter()
            .filter(|f| f.partition_values_map().remove("day").flatten() == Some(day.clone()))
            .count()
    }

    #[tokio::test]
    async fn new_keys_on_a_day_with_a_file_are_added_beside_it_in_one_commit() {
        let (_dir, lake) = temp_lake();
        let t = &crate::catalog::AA_BOT_RUNS;
        let first = lake
            .upsert(t, vec![runs(&[(1, "RUN", 20000), (2, "RUN", 20000)])], None)
            .await
            .unwrap();
        let cp = Checkpoint {
            app_id: "test/runs".into(),
            version: 3,
            description: "v3".into(),
            extra: Vec::new(),
        };
        let next = runs(&[(3, "RUN", 20000), (4, "FAILED", 20000), (5, "RUN", 20001)]);
        let s = lake.upsert(t, vec![next], Some(&cp)).await.unwrap();
        assert_eq!((s.inserted, s.updated, s.unchanged), (3, 0, 0));
        assert_eq!(s.version, first.version + 1, "one commit");
        assert_eq!(lake.cursor(t, "test/runs").await.unwrap(), Some(3));
        assert_eq!(
            files_of_day(&lake, t, 20000).await,
            2,
            "a file beside the first"
        );
        assert_eq!(files_of_day(&lake, t, 20001).await, 1);

        // A row of that day with a stored key is merged, and nothing is stored twice.
        let s = lake
            .upsert(t, vec![runs(&[(4, "COMPLETED", 20000)])], None)
            .await
            .unwrap();
        assert_eq!((s.inserted, s.updated), (0, 1));
        let want = [
            (1, "RUN"),
            (2, "RUN"),
            (3, "RUN"),
            (4, "COMPLETED"),
            (5, "RUN"),
        ];
        assert_statuses(&lake, &want).await;
    }

    #[tokio::test]
    async fn a_table_created_by_another_writer_meanwhile_is_written_into_not_created_again() {
        let (_dir, lake) = temp_lake();
        let t = &crate::catalog::AA_BOT_RUNS;
        let first = lake.create_empty(t).await.unwrap();
        assert_eq!(first.version(), Some(0));
        // The creation that loses is not committed as a second one: version 0 is opened.
        let second = lake.create_empty(t).await.unwrap();
        assert_eq!(second.version(), Some(0));
        assert_eq!(lake.version(t).await.unwrap(), Some(0));

        // Two writers upserting the same key into a table that neither found store it once.
        for table in [t, &crate::catalog::REJECTED_RECORDS] {
            let dir = tempfile::tempdir().unwrap();
            let (a, b) = (
                Lake::parse(dir.path().to_str().unwrap()).unwrap(),
                Lake::parse(dir.path().to_str().unwrap()).unwrap(),
            );
            let rows = |status| match table.name {
                "aa_bot_runs" => runs(&[(7, status, 20000)]),
                _ => rejected(status),
            };
            let (x, y) = tokio::join!(
                a.upsert(table, vec![rows("RUN")], None),
                b.upsert(table, vec![rows("COMPLETED")], None),
            );
            let (x, y) = (x.unwrap(), y.unwrap());
            assert_eq!(x.inserted + y.inserted, 1, "{}: {x:?} {y:?}", table.name);
            let out = query(&a, table, "t", "SELECT count(*) AS n FROM t").await;
            datafusion::assert_batches_eq!(["+---+", "| n |", "+---+", "| 1 |", "+---+"], &out);
        }
    }

    #[tokio::test]
    async fn an_overwrite_replaces_only_the_version_it_was_computed_from() {
        use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
        let (_dir, lake) = temp_lake();
        let t = &crate::catalog::REJECTED_RECORDS;
        let overwrite = |reason: &str, expected| {
            let batch = rejected(reason);
            let rows = Box::pin(RecordBatchStreamAdapter::new(
                batch.schema(),
                futures::stream::iter([Ok(batch)]),
            ));
            lake.overwrite(t, rows, serde_json::Map::new(), expected)
        };
        let count = || async { query(&lake, t, "t", "SELECT count(*) AS n FROM t").await };
        let one = ["+---+", "| n |", "+---+", "| 1 |", "+---+"];
        assert_eq!(overwrite("a", None).await.unwrap(), 0);
        // Two writers that both found no table: the second creates nothing.
        let e = overwrite("b", None).await.unwrap_err();
        assert!(
            matches!(
                e,
                Error::Moved {
                    expected: None,
                    found: 0,
                    ..
                }
            ),
            "{e}"
        );
        datafusion::assert_batches_eq!(one, &count().await);
        // Two writers that both read version 0: the second replaces nothing.
        assert_eq!(overwrite("c", Some(0)).await.unwrap(), 1);
        let e = overwrite("d", Some(0)).await.unwrap_err();
        assert!(
            e.to_string()
                .contains("changed while it was being rewritten (version 1, expected 0)"),
            "{e}"
        );
        datafusion::assert_batches_eq!(one, &count().await);
        let out = query(&lake, t, "t", "SELECT reason FROM t").await;
        datafusion::assert_batches_eq!(
            [
                "+--------+",
                "| reason |",
                "+--------+",
                "| c      |",
                "+--------+"
            ],
            &out
        );
    }

    #[tokio::test]
    async fn vacuum_deletes_files_no_commit_added_once_older_than_the_retention() {
        let (dir, lake) = temp_lake();
        let t = &crate::catalog::AA_BOT_RUNS;
        lake.upsert(t, vec![runs(&[(1, "RUN", 20000)])], None)
            .await
            .unwrap();
        // What a writer killed before its commit leaves, a week ago and just now.
        let day = dir.path().join("aa_bot_runs/day=2024-10-04");
        let orphan = |name: &str, age_hours: u64| {
            let path = day.join(name);
            let file = std::fs::File::create(&path).unwrap();
            let when =
                std::time::SystemTime::now() - std::time::Duration::from_secs(age_hours * 3600);
            file.set_modified(when).unwrap();
            path
        };
        let old = orphan("part-old-orphan.parquet", 170);
        let new = orphan("part-new-orphan.parquet", 0);
        let deleted = lake
            .vacuum(t, chrono::Duration::hours(168), false)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(deleted.len(), 1, "{deleted:?}");
        assert!(
            deleted[0].ends_with("part-old-orphan.parquet"),
            "{deleted:?}"
        );
        assert!(!old.exists() && new.exists());
        assert_statuses(&lake, &[(1, "RUN")]).await;

        // Whatever the retention, a file no commit added is kept while it is young: it may
        // be a commit's that is being written. What a commit removed goes at once.
        let young = orphan("part-young-orphan.parquet", 0);
        lake.upsert(t, vec![runs(&[(1, "COMPLETED", 20000)])], None)
            .await
            .unwrap();
        let deleted = lake
            .vacuum(t, chrono::Duration::zero(), false)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            deleted.len(),
            1,
            "the file the update replaced: {deleted:?}"
        );
        assert!(young.exists() && new.exists());
        assert_statuses(&lake, &[(1, "COMPLETED")]).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_merge_into_files_compacted_meanwhile_merges_again() {
        let (_dir, lake) = temp_lake();
        let t = &crate::catalog::AA_BOT_RUNS;
        let upsert = |id, status| lake.upsert(t, vec![runs(&[(id, status, 20000)])], None);
        upsert(1, "RUN").await.unwrap();
        upsert(2, "RUN").await.unwrap();
        // A merge from the snapshot before a compaction meets a conflict it can retry.
        let stale = lake.open(t).await.unwrap().unwrap();
        assert_eq!(lake.compact(t).await.unwrap(), Some((2, 1)));
        let source = SessionContext::new()
            .read_batches(vec![runs(&[(1, "COMPLETED", 20000)])])
            .unwrap();
        let e = merge(stale, t, source, &CommitProperties::default())
            .await
            .unwrap_err();
        assert!(is_retryable(&e), "{e}");

        // Compactions running beside upserts that update rows fail none of them, and every
        // run is there once with its last status.
        for round in 0..6_i64 {
            let status = ["COMPLETED", "FAILED"][round as usize % 2];
            let (compacted, a, b) = tokio::join!(
                lake.compact(t),
                upsert(1, status),
                upsert(10 + round, "RUN"),
            );
            compacted.unwrap();
            a.unwrap();
            b.unwrap();
        }
        let out = query(&lake, t, "r", "SELECT count(*) AS n, count(DISTINCT run_id) AS d, max(CASE WHEN run_id = 1 THEN status END) AS s FROM r").await;
        datafusion::assert_batches_eq!(
            [
                "+---+---+--------+",
                "| n | d | s      |",
                "+---+---+--------+",
                "| 8 | 8 | FAILED |",
                "+---+---+--------+",
            ],
            &out
        );
    }

    #[tokio::test]
    async fn day_files_added_after_the_snapshot_they_were_checked_against_conflict() {
        let (_dir, lake) = temp_lake();
        let t = &crate::catalog::AA_BOT_RUNS;
        lake.upsert(t, vec![runs(&[(1, "RUN", 20000)])], None)
            .await
            .unwrap();
        // A writer checks key 2 against this snapshot and finds it new ...
        let stale = lake.open(t).await.unwrap().unwrap();
        // ... while another adds it to the same day.
        lake.upsert(t, vec![runs(&[(2, "RUN", 20000)])], None)
            .await
            .unwrap();
        let late = runs(&[(2, "FAILED", 20000)]);
        let e = dayfiles::commit_day_files(&stale, "day", &[late], CommitProperties::default())
            .await
            .unwrap_err();
        assert!(is_conflict(&e), "{e}");
        // A write to another day does not conflict.
        let other = runs(&[(3, "RUN", 20005)]);
        dayfiles::commit_day_files(&stale, "day", &[other], CommitProperties::default())
            .await
            .unwrap();

        // Two writers adding the same new key at once store it once: the second to commit
        // meets the first's file and merges instead.
        let (a, b) = tokio::join!(
            lake.upsert(t, vec![runs(&[(7, "RUN", 20000)])], None),
            lake.upsert(t, vec![runs(&[(7, "COMPLETED", 20000)])], None),
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.inserted + b.inserted, 1, "{a:?} {b:?}");
        let out = query(
            &lake,
            t,
            "runs",
            "SELECT count(*) AS n FROM runs WHERE run_id = 7",
        )
        .await;
        datafusion::assert_batches_eq!(["+---+", "| n |", "+---+", "| 1 |", "+---+"], &out);
    }

    #[tokio::test]
    async fn tables_are_checkpointed_every_ten_commits() {
        let (dir, lake) = temp_lake();
        let t = &crate::catalog::AA_BOT_RUNS;
        let last_checkpoint = dir.path().join(t.name).join("_delta_log/_last_checkpoint");
        // Version 0 creates the table; each upsert of a new day commits once more.
        for run in 1..=8 {
            let batch = runs(&[(run, "COMPLETED", 20000 + run as i32)]);
            lake.upsert(t, vec![batch], None).await.unwrap();
        }
        assert!(!last_checkpoint.exists(), "no checkpoint before version 9");
        let batch = runs(&[(9, "COMPLETED", 20009)]);
        let s = lake.upsert(t, vec![batch], None).await.unwrap();
        assert_eq!(s.version, 9);
        assert!(last_checkpoint.exists(), "a checkpoint at version 9");

        // The table read through its checkpoint holds every run.
        let out = query(&lake, t, "runs", "SELECT count(*) AS n FROM runs").await;
        datafusion::assert_batches_eq!(["+---+", "| n |", "+---+", "| 9 |", "+---+"], &out);
    }

    fn logs(rows: &[(i64, &str)]) -> RecordBatch {
        use datafusion::arrow::array::{
            Date32Array, MapBuilder, StringBuilder, TimestampMicrosecondArray,
        };
        let t = &crate::catalog::AA_TASK_LOGS;
        let n = rows.len();
        let ts = |v: i64| {
            Arc::new(TimestampMicrosecondArray::from(vec![v; n]).with_timezone("UTC")) as ArrayRef
        };
        let mut vars = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
        for (_, amount) in rows {
            vars.keys().append_value("amount");
            vars.values().append_value(amount);
            vars.append(true).unwrap();
        }
        let vars = vars.finish();
        let field = t.schema.field_with_name("variables").unwrap();
        let vars = datafusion::arrow::compute::cast(&vars, field.data_type()).unwrap();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec!["prod"; n])),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))),
            Arc::new(StringArray::from(vec!["task"; n])),
            ts(1),
            vars,
            ts(2),
            Arc::new(Date32Array::from(vec![20000; n])),
        ];
        RecordBatch::try_new(t.schema.clone(), columns).unwrap()
    }

    #[tokio::test]
    async fn map_columns_are_compared_and_replaced() {
        let (_dir, lake) = temp_lake();
        let t = &crate::catalog::AA_TASK_LOGS;
        let s = lake
            .upsert(t, vec![logs(&[(1, "10"), (2, "20")])], None)
            .await
            .unwrap();
        assert_eq!(s.inserted, 2);
        let s = lake
            .upsert(t, vec![logs(&[(1, "10"), (2, "21")])], None)
            .await
            .unwrap();
        assert_eq!((s.inserted, s.updated, s.unchanged), (0, 1, 1));
        let out = query(
            &lake,
            t,
            "logs",
            "SELECT log_id, variables['amount'] AS amount FROM logs ORDER BY log_id",
        )
        .await;
        datafusion::assert_batches_eq!(
            [
                "+--------+--------+",
                "| log_id | amount |",
                "+--------+--------+",
                "| 1      | 10     |",
                "| 2      | 21     |",
                "+--------+--------+",
            ],
            &out
        );
    }
}
