//! A scan of a table's day files that costs little per file.
//!
//! A lake holds one file or a few per table and day, so a year of history is hundreds of
//! files of a few thousand rows. DataFusion's Parquet scan (which the Delta table provider
//! builds on) sets up a reader, pruning predicates and metrics for every file it opens, and
//! at 730 files that setup takes several times as long as decoding the rows (`perf record`
//! over the 1M-run benchmark lake). [`DayFilesTable`] reads the same files of the same
//! snapshot with the Parquet crate's reader: the footer of each file is decoded once per
//! session and kept, the `day` column comes from the file's partition value, and filters on
//! `day` leave out the files they cannot match. DataFusion applies every filter again above
//! the scan, so the rows are those of the Delta provider.
//!
//! Tables that need Delta's own read path (deletion vectors, column mapping) keep the Delta
//! provider: [`DayFilesTable::try_new`] returns `None` for them.

use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch, RecordBatchOptions};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DFSchema, ScalarValue, project_schema};
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::physical_plan::metrics::MetricsSet;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::{PartitionStream, StreamingTableExec};
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use deltalake::DeltaTable;
use deltalake::ObjectStore;
use deltalake::Path;
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;

/// One data file of the snapshot.
#[derive(Debug)]
struct DayFile {
    path: Path,
    size: u64,
    /// Its rows, from the statistics of its add action.
    rows: Option<usize>,
    /// The partition value, typed as the table's partition column (NULL when absent).
    partition: ScalarValue,
    /// The footer, decoded on first read and kept for the session.
    metadata: OnceLock<ArrowReaderMetadata>,
}

/// A Delta snapshot's files scanned with little cost per file (see the module).
#[derive(Debug)]
pub struct DayFilesTable {
    /// The schema the Delta provider gives the table (its string types included).
    schema: SchemaRef,
    /// The partition column, last in `schema`.
    partition: Option<String>,
    files: Arc<Vec<DayFile>>,
    store: Arc<dyn ObjectStore>,
}

impl DayFilesTable {
    /// A scan of `delta`'s current files with `schema` (the Delta provider's) and the
    /// partition column of the catalog, or `None` when the table uses features that only
    /// Delta's reader applies, or a partition value does not parse.
    pub fn try_new(
        delta: &DeltaTable,
        schema: SchemaRef,
        partition: Option<&str>,
    ) -> Option<DayFilesTable> {
        let snapshot = delta.snapshot().ok()?;
        let config = snapshot.metadata().configuration();
        if config
            .get("delta.columnMapping.mode")
            .is_some_and(|m| m != "none")
        {
            return None;
        }
        let partition = match partition {
            None => None,
            Some(p) if schema.fields().last()?.name() == p => Some(p.to_string()),
            Some(_) => return None,
        };
        let partition_type = partition
            .as_ref()
            .map(|p| schema.field_with_name(p).map(|f| f.data_type().clone()))
            .transpose()
            .ok()?;
        let mut files = Vec::new();
        for file in snapshot.log_data() {
            if file.deletion_vector_descriptor().is_some() {
                return None;
            }
            let partition = match (&partition, &partition_type) {
                (Some(name), Some(data_type)) => {
                    match file.partition_values_map().get(name).cloned().flatten() {
                        Some(value) => ScalarValue::try_from_string(value, data_type).ok()?,
                        None => ScalarValue::try_from(data_type).ok()?,
                    }
                }
                _ => ScalarValue::Null,
            };
            files.push(DayFile {
                path: file.object_store_path(),
                size: u64::try_from(file.size()).unwrap_or_default(),
                rows: file.num_records(),
                partition,
                metadata: OnceLock::new(),
            });
        }
        Some(DayFilesTable {
            schema,
            partition,
            files: Arc::new(files),
            store: delta.log_store().object_store(None),
        })
    }

    /// Whether `filter` depends on the partition value alone, so that it is the same for
    /// every row of a file.
    fn on_partition(&self, filter: &Expr) -> bool {
        let Some(partition) = &self.partition else {
            return false;
        };
        let columns = filter.column_refs();
        !columns.is_empty() && columns.iter().all(|c| &c.name == partition) && !filter.is_volatile()
    }

    /// The files whose partition value can satisfy `filters` (all of them when a filter
    /// cannot be evaluated: pruning only ever leaves out files).
    fn matching(&self, state: &dyn Session, filters: &[Expr]) -> Vec<usize> {
        let all = (0..self.files.len()).collect();
        let (Some(partition), Some(filter)) = (&self.partition, conjunction(filters.to_vec()))
        else {
            return all;
        };
        let prune = || -> Result<BooleanArray> {
            let field = self.schema.field_with_name(partition)?.clone();
            let values =
                ScalarValue::iter_to_array(self.files.iter().map(|f| f.partition.clone()))?;
            let schema = Arc::new(Schema::new(vec![field]));
            let batch = RecordBatch::try_new(schema.clone(), vec![values])?;
            let df_schema = DFSchema::try_from(schema.as_ref().clone())?;
            let expr = state.create_physical_expr(filter, &df_schema)?;
            let result = expr.evaluate(&batch)?.into_array(batch.num_rows())?;
            Ok(result
                .as_any()
                .downcast_ref::<BooleanArray>()
                .ok_or_else(|| DataFusionError::Internal("a filter that is not boolean".into()))?
                .clone())
        };
        match prune() {
            Ok(keep) => (0..self.files.len())
                .filter(|&i| keep.is_valid(i) && keep.value(i))
                .collect(),
            Err(_) => all,
        }
    }
}

#[async_trait::async_trait]
impl TableProvider for DayFilesTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| {
                if self.on_partition(f) {
                    TableProviderFilterPushDown::Inexact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let on_partition: Vec<Expr> = filters
            .iter()
            .filter(|f| self.on_partition(f))
            .cloned()
            .collect();
        let mut files = self.matching(state, &on_partition);
        // Largest first, dealt round the partitions, so that each gets a like share of bytes.
        files.sort_by_key(|&i| std::cmp::Reverse(self.files[i].size));
        let partitions = state.config().target_partitions().min(files.len()).max(1);
        let projected = project_schema(&self.schema, projection)?;
        let batch_size = state.config().batch_size();
        let streams: Vec<Arc<dyn PartitionStream>> = (0..partitions)
            .map(|p| {
                Arc::new(FilesStream {
                    schema: projected.clone(),
                    partition: self.partition.clone(),
                    files: self.files.clone(),
                    indexes: files.iter().copied().skip(p).step_by(partitions).collect(),
                    store: self.store.clone(),
                    batch_size,
                }) as Arc<dyn PartitionStream>
            })
            .collect();
        let stream = Arc::new(StreamingTableExec::try_new(
            projected,
            streams,
            None,
            [],
            false,
            limit,
        )?);
        Ok(Arc::new(DayFilesExec {
            stream,
            files: files.len(),
            of: self.files.len(),
        }))
    }
}

/// A scan of day files: the stream of them, shown in a plan with how many of the table's
/// files it reads, so that `EXPLAIN` shows what filters on `day` left out.
#[derive(Debug)]
struct DayFilesExec {
    stream: Arc<dyn ExecutionPlan>,
    /// Files read.
    files: usize,
    /// Files of the snapshot.
    of: usize,
}

impl DisplayAs for DayFilesExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DayFilesExec: files={} of {}, ", self.files, self.of)?;
        self.stream.fmt_as(t, f)
    }
}

impl ExecutionPlan for DayFilesExec {
    fn name(&self) -> &str {
        "DayFilesExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.stream.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        self.stream.apply_expressions(f)
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        self.stream.execute(partition, context)
    }

    fn metrics(&self) -> Option<MetricsSet> {
        self.stream.metrics()
    }

    fn fetch(&self) -> Option<usize> {
        self.stream.fetch()
    }

    fn with_fetch(&self, limit: Option<usize>) -> Option<Arc<dyn ExecutionPlan>> {
        let stream = self.stream.with_fetch(limit)?;
        Some(Arc::new(DayFilesExec {
            stream,
            files: self.files,
            of: self.of,
        }))
    }
}

/// The files of one partition of a scan, read one after another.
#[derive(Debug)]
struct FilesStream {
    /// The projected schema.
    schema: SchemaRef,
    partition: Option<String>,
    files: Arc<Vec<DayFile>>,
    indexes: Vec<usize>,
    store: Arc<dyn ObjectStore>,
    batch_size: usize,
}

impl PartitionStream for FilesStream {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let schema = self.schema.clone();
        let partition = self.partition.clone();
        let files = self.files.clone();
        let store = self.store.clone();
        let batch_size = self.batch_size;
        let stream = futures::stream::iter(self.indexes.clone())
            .then(move |i| {
                let (schema, partition, files, store) = (
                    schema.clone(),
                    partition.clone(),
                    files.clone(),
                    store.clone(),
                );
                async move {
                    let file = &files[i];
                    if let Some(rows) = file
                        .rows
                        .filter(|_| wants_no_column(file, &schema, partition.as_deref()))
                    {
                        let batches = row_counts(rows, batch_size)
                            .map(|n| to_table(n, &schema, &file.partition, partition.as_deref()))
                            .collect::<Result<Vec<_>>>()?;
                        return Ok(futures::stream::iter(batches.into_iter().map(Ok)));
                    }
                    let bytes = store.get(&file.path).await?.bytes().await?;
                    let batches =
                        read_file(file, bytes, &schema, partition.as_deref(), batch_size)?;
                    Ok::<_, DataFusionError>(futures::stream::iter(batches.into_iter().map(Ok)))
                }
            })
            .try_flatten();
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), stream))
    }
}

/// The rows of one file with the columns of `schema`: those the file has, read and cast to
/// the table's types; those it lacks (written before the column was added) as NULL; the
/// partition column from the file's partition value.
fn read_file(
    file: &DayFile,
    bytes: bytes::Bytes,
    schema: &SchemaRef,
    partition: Option<&str>,
    batch_size: usize,
) -> Result<Vec<RecordBatch>> {
    let metadata = match file.metadata.get() {
        Some(m) => m.clone(),
        None => {
            let m = ArrowReaderMetadata::load(&bytes, ArrowReaderOptions::new())?;
            let m = ArrowReaderMetadata::try_new(
                m.metadata().clone(),
                ArrowReaderOptions::new().with_schema(view_types(m.schema())),
            )?;
            file.metadata.get_or_init(|| m).clone()
        }
    };
    let file_schema = metadata.schema().clone();
    let wanted: Vec<usize> = schema
        .fields()
        .iter()
        .filter_map(|f| file_schema.index_of(f.name()).ok())
        .collect();
    if wanted.is_empty() {
        // No column of the file is wanted (a count): the rows, without columns.
        let rows = usize::try_from(metadata.metadata().file_metadata().num_rows()).unwrap_or(0);
        return row_counts(rows, batch_size)
            .map(|empty| to_table(empty, schema, &file.partition, partition))
            .collect();
    }
    let mask = ProjectionMask::roots(metadata.parquet_schema(), wanted);
    ParquetRecordBatchReaderBuilder::new_with_metadata(bytes, metadata)
        .with_projection(mask)
        .with_batch_size(batch_size)
        .build()?
        .map(|batch| to_table(batch?, schema, &file.partition, partition))
        .collect()
}

/// Whether the scan wants none of the file's own columns (only the partition, or none).
fn wants_no_column(file: &DayFile, schema: &SchemaRef, partition: Option<&str>) -> bool {
    let own = schema
        .fields()
        .iter()
        .filter(|f| Some(f.name().as_str()) != partition);
    match file.metadata.get() {
        Some(m) => own
            .into_iter()
            .all(|f| m.schema().index_of(f.name()).is_err()),
        None => own.count() == 0,
    }
}

/// `rows` rows without columns, in batches of at most `batch_size`.
fn row_counts(rows: usize, batch_size: usize) -> impl Iterator<Item = RecordBatch> {
    (0..rows).step_by(batch_size.max(1)).map(move |start| {
        let n = (rows - start).min(batch_size.max(1));
        RecordBatch::try_new_with_options(
            Arc::new(Schema::empty()),
            vec![],
            &RecordBatchOptions::new().with_row_count(Some(n)),
        )
        .expect("a batch without columns takes any row count")
    })
}

/// `batch`, read from a file, with the columns of `schema`.
fn to_table(
    batch: RecordBatch,
    schema: &SchemaRef,
    value: &ScalarValue,
    partition: Option<&str>,
) -> Result<RecordBatch> {
    let rows = batch.num_rows();
    let columns = schema
        .fields()
        .iter()
        .map(|field| -> Result<ArrayRef> {
            if Some(field.name().as_str()) == partition {
                return value.to_array_of_size(rows);
            }
            match batch.column_by_name(field.name()) {
                Some(c) if c.data_type() == field.data_type() => Ok(c.clone()),
                Some(c) => Ok(cast(c, field.data_type())?),
                None => Ok(datafusion::arrow::array::new_null_array(
                    field.data_type(),
                    rows,
                )),
            }
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new_with_options(
        schema.clone(),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(rows)),
    )?)
}

/// `schema` with top-level strings and binaries read as views, as DataFusion reads Parquet.
pub fn view_types(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let data_type = match f.data_type() {
                DataType::Utf8 | DataType::LargeUtf8 => DataType::Utf8View,
                DataType::Binary | DataType::LargeBinary => DataType::BinaryView,
                other => other.clone(),
            };
            f.as_ref().clone().with_data_type(data_type)
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}
