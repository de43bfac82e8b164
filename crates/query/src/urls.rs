//! Tables named by a file or URL (`SELECT * FROM 'kpi.parquet'`), as DataFusion's
//! `enable_url_table` makes them, but saying why a file that is there, or an object, cannot
//! be read: DataFusion drops the cause and answers that no such table exists, which sent a
//! user without S3 credentials or with a `.xlsx` file looking for a typo.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::catalog::{DynamicFileCatalog, TableProvider, UrlTableFactory};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::TableType;
use datafusion::datasource::dynamic_file::DynamicListTableFactory;
use datafusion::datasource::listing::{ListingTableConfig, ListingTableConfigExt, ListingTableUrl};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::context::SessionState;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::execution_plan::CardinalityEffect;
use datafusion::physical_plan::filter_pushdown::{
    ChildPushdownResult, FilterDescription, FilterPushdownPhase, FilterPushdownPropagation,
};
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::statistics::{ChildStats, StatisticsArgs};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    ChildrenPropertiesMode, DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties,
    ReplaceChildrenOptions, Statistics,
};
use datafusion::prelude::SessionContext;
use futures::TryStreamExt;

/// `ctx` with files and URLs naming tables.
pub fn with_url_tables(ctx: SessionContext) -> SessionContext {
    let factory = Arc::new(FileTables::default());
    let catalogs = Arc::new(DynamicFileCatalog::new(
        Arc::clone(ctx.state().catalog_list()),
        Arc::clone(&factory) as Arc<dyn UrlTableFactory>,
    ));
    let session_id = ctx.session_id();
    let ctx: SessionContext = ctx
        .into_state_builder()
        .with_session_id(session_id)
        .with_catalog_list(catalogs)
        .build()
        .into();
    factory
        .inner
        .session_store()
        .with_state(ctx.state_weak_ref());
    ctx
}

/// Whether `name` names a file or object rather than a table: a URL, or a path that is there.
pub fn names_a_file(name: &str) -> bool {
    name.contains("://") || std::path::Path::new(name).exists()
}

/// DataFusion's factory, and the cause of its failure where the name is of something there.
#[derive(Debug, Default)]
struct FileTables {
    inner: DynamicListTableFactory,
}

#[async_trait]
impl UrlTableFactory for FileTables {
    async fn try_new(&self, url: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let there = names_a_file(url);
        if !there && looks_like_a_path(url) {
            return Err(DataFusionError::External(Box::new(
                crate::Error::NoSuchFile {
                    url: url.to_string(),
                },
            )));
        }
        if let Some(fault) = there.then(|| local_fault(Path::new(url))).flatten() {
            return Err(unreadable(
                url,
                std::io::Error::new(ErrorKind::InvalidData, fault),
            ));
        }
        match self.inner.try_new(url).await {
            Ok(Some(table)) => {
                return Ok(Some(Arc::new(NamedFile {
                    url: url.to_string(),
                    inner: table,
                })));
            }
            Ok(None) => {}
            Err(e) if there => return Err(unreadable(url, e)),
            Err(e) => return Err(e),
        }
        // A name of nothing there is a table that does not exist, as before.
        if !there {
            return Ok(None);
        }
        let Ok(table_url) = ListingTableUrl::parse(url) else {
            return Ok(None);
        };
        let Some(state) = self
            .inner
            .session_store()
            .get_session()
            .upgrade()
            .and_then(|s| s.read().as_any().downcast_ref::<SessionState>().cloned())
        else {
            return Ok(None);
        };
        match ListingTableConfig::new(table_url)
            .infer_options(&state)
            .await
        {
            Err(e) => Err(unreadable(url, e)),
            Ok(_) => Ok(None),
        }
    }
}

/// The error of a file or object named `url` that cannot be read as a table: the user's.
fn unreadable(
    url: &str,
    source: impl std::error::Error + Send + Sync + 'static,
) -> DataFusionError {
    DataFusionError::External(Box::new(crate::Error::UnreadableFile {
        url: url.to_string(),
        source: Box::new(source),
    }))
}

/// A table named by a file or URL, whose failures while it is read are the file's: a
/// Parquet file corrupt past its footer is the user's to mend, not botlake's fault.
#[derive(Debug)]
struct NamedFile {
    url: String,
    inner: Arc<dyn TableProvider>,
}

#[async_trait]
impl TableProvider for NamedFile {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        self.inner.table_type()
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        self.inner.supports_filters_pushdown(filters)
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let input = self.inner.scan(state, projection, filters, limit).await?;
        Ok(Arc::new(ReadOf {
            url: self.url.clone(),
            input,
        }))
    }
}

/// The scan of a named file, its errors said to be the file's.
#[derive(Debug)]
struct ReadOf {
    url: String,
    input: Arc<dyn ExecutionPlan>,
}

impl DisplayAs for ReadOf {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReadOf: {}", self.url)
    }
}

impl ExecutionPlan for ReadOf {
    fn name(&self) -> &str {
        "ReadOf"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn supports_limit_pushdown(&self) -> bool {
        true
    }

    fn cardinality_effect(&self) -> CardinalityEffect {
        CardinalityEffect::Equal
    }

    // Transparent to statistics, filters and projections, so that a named Parquet file's
    // row groups are pruned and counted from its footer as without this node.
    fn child_stats_requests(&self, partition: Option<usize>) -> Vec<ChildStats> {
        vec![ChildStats::At(partition)]
    }

    fn statistics_from_inputs(
        &self,
        input_stats: &[Arc<Statistics>],
        _args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        Ok(Arc::clone(&input_stats[0]))
    }

    fn gather_filters_for_pushdown(
        &self,
        _phase: FilterPushdownPhase,
        parent_filters: Vec<Arc<dyn PhysicalExpr>>,
        _config: &ConfigOptions,
    ) -> Result<FilterDescription> {
        FilterDescription::from_children(parent_filters, &self.children())
    }

    fn handle_child_pushdown_result(
        &self,
        _phase: FilterPushdownPhase,
        child_pushdown_result: ChildPushdownResult,
        _config: &ConfigOptions,
    ) -> Result<FilterPushdownPropagation<Arc<dyn ExecutionPlan>>> {
        Ok(FilterPushdownPropagation::if_all(child_pushdown_result))
    }

    fn try_swapping_with_projection(
        &self,
        projection: &ProjectionExec,
    ) -> Result<Option<Arc<dyn ExecutionPlan>>> {
        Ok(self
            .input
            .try_swapping_with_projection(projection)?
            .map(|input| {
                Arc::new(ReadOf {
                    url: self.url.clone(),
                    input,
                }) as Arc<dyn ExecutionPlan>
            }))
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn replace_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(Arc::new(ReadOf {
            url: self.url.clone(),
            input: children.swap_remove(0),
        }))
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(
            children,
            ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
        )
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let url = self.url.clone();
        let stream = self
            .input
            .execute(partition, context)
            .map_err(|e| unreadable(&url, e))?;
        let schema = stream.schema();
        let stream = stream.map_err(move |e| unreadable(&url, e));
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }
}

/// The extensions of files DataFusion reads as tables.
const FILE_EXTENSIONS: [&str; 7] = ["parquet", "csv", "tsv", "json", "ndjson", "avro", "arrow"];

/// Whether `name`, which names nothing there, is written as a path (a folder in it, or a
/// file's extension) rather than as a table: a file the user expected to be there.
fn looks_like_a_path(name: &str) -> bool {
    let path = Path::new(name);
    name.contains('/')
        || path
            .extension()
            .is_some_and(|e| FILE_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// Files of a directory looked at at most, so that naming a large tree stays quick.
const MOST_FILES_CHECKED: usize = 10_000;

/// Why the local file or directory `path` holds no table botlake can read, told before the
/// reader sees it: a directory with no file of the format its name says (`x.parquet/` says
/// Parquet), or a Parquet file whose ends are not a Parquet file's: shorter than two magic
/// numbers and a length, without the `PAR1` magic, or with a footer longer than the file.
/// The Parquet reader would take such a footer's length as given and read before the
/// file's start (a panic in a debug build).
fn local_fault(path: &Path) -> Option<String> {
    let (files, all) = files_under(path);
    let has = |file: &Path, extension: &str| {
        file.extension()
            .is_some_and(|e| e.to_string_lossy().eq_ignore_ascii_case(extension))
    };
    if path.is_dir() && all {
        let format = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        if !files
            .iter()
            .any(|f| format.as_deref().is_none_or(|x| has(f, x)))
        {
            return Some(match format {
                Some(f) => format!("a directory without .{f} files"),
                None => "an empty directory".to_string(),
            });
        }
    }
    files.iter().filter(|f| has(f, "parquet")).find_map(|file| {
        footer_fault(file).map(|fault| format!("{} is not a Parquet file: {fault}", file.display()))
    })
}

/// The files at `path` (itself, if it is one, else those under it), at most
/// [`MOST_FILES_CHECKED`] entries looked at; and whether that was all of them.
fn files_under(path: &Path) -> (Vec<PathBuf>, bool) {
    if !path.is_dir() {
        return (vec![path.to_path_buf()], true);
    }
    let mut files = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    let mut seen = 0;
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            seen += 1;
            if seen > MOST_FILES_CHECKED {
                return (files, false);
            }
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    (files, true)
}

/// What is wrong with the ends of the file at `path`, if anything (an unreadable file is
/// left to the reader, which says why).
fn footer_fault(path: &Path) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    const MAGIC: &[u8; 4] = b"PAR1";
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    if len < 12 {
        return Some(format!(
            "{len} bytes, fewer than a Parquet file's 12 at least"
        ));
    }
    let mut head = [0u8; 4];
    let mut tail = [0u8; 8];
    file.read_exact(&mut head).ok()?;
    file.seek(SeekFrom::End(-8)).ok()?;
    file.read_exact(&mut tail).ok()?;
    if &head != MAGIC || &tail[4..] != MAGIC {
        return Some("it does not start and end with PAR1".into());
    }
    let footer = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    (footer > len - 12).then(|| format!("its footer says {footer} bytes of a {len}-byte file"))
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn files_that_cannot_be_read_say_why() {
        let dir = tempfile::tempdir().unwrap();
        let sheet = dir.path().join("kpi.xlsx");
        std::fs::write(&sheet, "PK").unwrap();
        let ctx = crate::new_context();
        let error = |name: String| {
            let ctx = ctx.clone();
            async move {
                let e = ctx
                    .sql(&format!("SELECT * FROM '{name}'"))
                    .await
                    .unwrap_err();
                // The whole chain of causes, as the CLI tells it.
                let mut said = e.to_string();
                let mut cause = std::error::Error::source(&e);
                while let Some(c) = cause {
                    said.push_str(&format!(": {c}"));
                    cause = c.source();
                }
                said
            }
        };
        let e = error(sheet.display().to_string()).await;
        assert!(
            e.contains("cannot read") && e.contains("No file_format found with extension xlsx"),
            "{e}"
        );
        // Not Parquet, cut short, or with a footer longer than the file: said, never a panic.
        for (name, bytes, said) in [
            ("short.parquet", b"PAR1".to_vec(), "fewer than"),
            (
                "text.parquet",
                b"id,name\n1,a\n2,b\n".to_vec(),
                "start and end with PAR1",
            ),
            (
                "long.parquet",
                b"PAR1garbage\xff\xff\x00\x00PAR1".to_vec(),
                "its footer says",
            ),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            let e = error(path.display().to_string()).await;
            assert!(e.contains("cannot read") && e.contains(said), "{name}: {e}");
        }
        // Not there: the file is said to be missing; a name that is not a path is a table
        // that does not exist, as DataFusion says.
        let none = dir.path().join("none.parquet").display().to_string();
        let e = error(none.clone()).await;
        assert!(e.contains(&format!("no file {none}")), "{e}");
        let e = error("none.csv".into()).await;
        assert!(e.contains("no file none.csv"), "{e}");
        let e = error("none".into()).await;
        assert!(e.contains("not found") && !e.contains("no file"), "{e}");
        // A directory named as a table with no file of its format in it.
        let empty = dir.path().join("x.parquet");
        std::fs::create_dir_all(empty.join("day=1")).unwrap();
        std::fs::write(empty.join("day=1/notes.txt"), "n").unwrap();
        let e = error(empty.display().to_string()).await;
        assert!(
            e.contains("a directory without .parquet files") && !e.contains("bug"),
            "{e}"
        );
    }
}
