//! JSON files named as tables (`SELECT * FROM 'kpi.json'`): newline-delimited or one array
//! of objects, whichever the first file holds, under `.json`, `.ndjson` and `.jsonl`.
//!
//! DataFusion reads `.json` as newline-delimited unless told otherwise, and does not know
//! the other two names, so the JSON arrays that `botlake query -o kpi.json` writes (and
//! most APIs return) could not be read back. The format here looks at the first file's
//! first character when the table's schema is inferred and reads every file that way.

use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{GetExt, Statistics};
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::datasource::file_format::json::{JsonFormat, JsonFormatFactory};
use datafusion::datasource::file_format::{FileFormat, FileFormatFactory};
use datafusion::datasource::physical_plan::{
    FileOpener, FileScanConfig, FileSinkConfig, FileSource,
};
use datafusion::datasource::table_schema::TableSchema;
use datafusion::error::Result;
use datafusion::physical_expr::{LexRequirement, PhysicalExpr};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use datafusion::physical_plan::projection::ProjectionExprs;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};

/// Bytes read from the start of the first file to tell its layout.
const SNIFF_BYTES: u64 = 64 * 1024;

/// The file names read as JSON.
pub const EXTENSIONS: [&str; 3] = ["json", "ndjson", "jsonl"];

/// JSON under one extension, its layout told by the first file.
#[derive(Debug)]
pub struct JsonFiles {
    ext: &'static str,
    inner: JsonFormatFactory,
}

impl JsonFiles {
    /// JSON files named `*.{ext}`.
    pub fn new(ext: &'static str) -> JsonFiles {
        JsonFiles {
            ext,
            inner: JsonFormatFactory::new(),
        }
    }
}

impl GetExt for JsonFiles {
    fn get_ext(&self) -> String {
        self.ext.to_string()
    }
}

impl FileFormatFactory for JsonFiles {
    fn create(
        &self,
        state: &dyn Session,
        format_options: &HashMap<String, String>,
    ) -> Result<Arc<dyn FileFormat>> {
        let format = self.inner.create(state, format_options)?;
        // A layout given (`OPTIONS ('format.newline_delimited' 'false')`) is kept.
        if format_options
            .keys()
            .any(|k| k.ends_with("newline_delimited"))
        {
            return Ok(format);
        }
        let options = format
            .downcast_ref::<JsonFormat>()
            .map(|json| json.options().clone())
            .unwrap_or_default();
        Ok(Arc::new(SniffedJson {
            options,
            newline_delimited: OnceLock::new(),
        }))
    }

    fn default(&self) -> Arc<dyn FileFormat> {
        Arc::new(SniffedJson {
            options: Default::default(),
            newline_delimited: OnceLock::new(),
        })
    }
}

/// JSON whose layout is decided by the first file it infers a schema from; newline-delimited
/// until then.
#[derive(Debug)]
struct SniffedJson {
    options: datafusion::config::JsonOptions,
    newline_delimited: OnceLock<bool>,
}

impl SniffedJson {
    fn format(&self) -> JsonFormat {
        let mut options = self.options.clone();
        options.newline_delimited = *self.newline_delimited.get().unwrap_or(&true);
        JsonFormat::default().with_options(options)
    }

    fn compression(&self) -> FileCompressionType {
        FileCompressionType::from(self.options.compression)
    }

    /// Whether `object` is newline-delimited: anything but an array (`[` first, after
    /// white space and a byte-order mark) is.
    async fn is_newline_delimited(
        &self,
        store: &Arc<dyn ObjectStore>,
        object: &ObjectMeta,
    ) -> Result<bool> {
        let start = store
            .get_range(&object.location, 0..object.size.min(SNIFF_BYTES))
            .await?;
        let mut text = Vec::new();
        // A prefix of a compressed file ends mid-stream: what was decoded is enough.
        let _ = self
            .compression()
            .convert_read(std::io::Cursor::new(start))?
            .take(4096)
            .read_to_end(&mut text);
        let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&text);
        let first = text.iter().find(|b| !b.is_ascii_whitespace());
        Ok(first != Some(&b'['))
    }
}

#[async_trait]
impl FileFormat for SniffedJson {
    fn get_ext(&self) -> String {
        self.format().get_ext()
    }

    fn get_ext_with_compression(&self, compression: &FileCompressionType) -> Result<String> {
        self.format().get_ext_with_compression(compression)
    }

    fn compression_type(&self) -> Option<FileCompressionType> {
        Some(self.compression())
    }

    async fn infer_schema(
        &self,
        state: &dyn Session,
        store: &Arc<dyn ObjectStore>,
        objects: &[ObjectMeta],
    ) -> Result<SchemaRef> {
        if let (None, Some(first)) = (self.newline_delimited.get(), objects.first()) {
            let newline_delimited = self.is_newline_delimited(store, first).await?;
            let _ = self.newline_delimited.set(newline_delimited);
        }
        self.format().infer_schema(state, store, objects).await
    }

    async fn infer_stats(
        &self,
        state: &dyn Session,
        store: &Arc<dyn ObjectStore>,
        table_schema: SchemaRef,
        object: &ObjectMeta,
    ) -> Result<Statistics> {
        self.format()
            .infer_stats(state, store, table_schema, object)
            .await
    }

    async fn create_physical_plan(
        &self,
        state: &dyn Session,
        conf: FileScanConfig,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.format().create_physical_plan(state, conf).await
    }

    async fn create_writer_physical_plan(
        &self,
        input: Arc<dyn ExecutionPlan>,
        state: &dyn Session,
        conf: FileSinkConfig,
        order_requirements: Option<LexRequirement>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.format()
            .create_writer_physical_plan(input, state, conf, order_requirements)
            .await
    }

    fn file_source(&self, table_schema: TableSchema) -> Arc<dyn FileSource> {
        let source = self.format().file_source(table_schema);
        if self.format().options().newline_delimited {
            source
        } else {
            Arc::new(WholeFiles(source))
        }
    }
}

/// A source read a whole file at a time: an array cannot be split at byte offsets, and
/// DataFusion 55's JSON source fails when asked to rather than declining.
#[derive(Clone)]
struct WholeFiles(Arc<dyn FileSource>);

impl std::fmt::Debug for WholeFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("WholeFiles")
            .field(&self.0.file_type())
            .finish()
    }
}

impl FileSource for WholeFiles {
    fn create_file_opener(
        &self,
        object_store: Arc<dyn ObjectStore>,
        base_config: &FileScanConfig,
        partition: usize,
    ) -> Result<Arc<dyn FileOpener>> {
        self.0
            .create_file_opener(object_store, base_config, partition)
    }

    fn table_schema(&self) -> &TableSchema {
        self.0.table_schema()
    }

    fn with_batch_size(&self, batch_size: usize) -> Arc<dyn FileSource> {
        Arc::new(WholeFiles(self.0.with_batch_size(batch_size)))
    }

    fn try_pushdown_projection(
        &self,
        projection: &ProjectionExprs,
    ) -> Result<Option<Arc<dyn FileSource>>> {
        Ok(self
            .0
            .try_pushdown_projection(projection)?
            .map(|source| Arc::new(WholeFiles(source)) as Arc<dyn FileSource>))
    }

    fn projection(&self) -> Option<&ProjectionExprs> {
        self.0.projection()
    }

    fn metrics(&self) -> &ExecutionPlanMetricsSet {
        self.0.metrics()
    }

    fn file_type(&self) -> &str {
        self.0.file_type()
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        self.0.apply_expressions(f)
    }

    fn supports_repartitioning(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::Int64Array;

    async fn sum_of_a(ctx: &datafusion::prelude::SessionContext, sql: &str) -> Vec<i64> {
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        batches
            .iter()
            .flat_map(|b| {
                let a = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                a.values().to_vec()
            })
            .collect()
    }

    #[tokio::test]
    async fn arrays_and_lines_under_every_json_name() {
        let dir = tempfile::tempdir().unwrap();
        let rows: Vec<String> = (1..=5000).map(|a| format!(r#"{{"a": {a}}}"#)).collect();
        let files = [
            // An array spread over lines, large enough to be split across partitions
            // if it could be.
            (
                "array.json",
                format!("\u{feff}\n[\n{}\n]\n", rows.join(",\n")),
            ),
            ("lines.json", rows.join("\n")),
            ("lines.ndjson", rows.join("\n")),
            ("array.jsonl", format!("[{}]", rows.join(","))),
        ];
        for (name, text) in &files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let ctx = crate::new_context();
        for (name, _) in &files {
            let path = dir.path().join(name);
            let sql = format!("SELECT sum(a), count(*) FROM '{}'", path.display());
            assert_eq!(sum_of_a(&ctx, &sql).await, [5000 * 5001 / 2], "{name}");
        }
        // A layout given in SQL is the one read.
        let path = dir.path().join("lines.json");
        ctx.sql(&format!(
            "CREATE EXTERNAL TABLE given STORED AS JSON LOCATION '{}' \
             OPTIONS ('format.newline_delimited' 'true')",
            path.display()
        ))
        .await
        .unwrap();
        assert_eq!(
            sum_of_a(&ctx, "SELECT sum(a) FROM given").await,
            [5000 * 5001 / 2]
        );
    }
}
