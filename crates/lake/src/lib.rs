//! botlake's lake: the table catalog and the Delta Lake tables behind it, on local disk or S3.
//!
//! Every table is a Delta table under the lake URL (`<lake>/<table>/`), Hive-partitioned by
//! the record's own `day`. Writes are upserts by the table's key, and an ingest cursor
//! travels in the same commit as the rows it covers, as a Delta application transaction,
//! so a crash can neither lose nor duplicate anything.
//!
//! ```no_run
//! # async fn example() -> botlake_lake::Result<()> {
//! use botlake_lake::{Lake, catalog};
//!
//! let lake = Lake::parse("./botlake-demo")?;
//! let cursor = lake.cursor(&catalog::AA_BOT_RUNS, "aa-botinsight/runs/prod").await?;
//! println!("last ingest stopped at {cursor:?}");
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

pub mod catalog;
mod dayfiles;
pub mod scan;
mod upsert;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::error::ArrowError;
use datafusion::catalog::TableProvider;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::datasource::provider_as_source;
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::LogicalPlanBuilder;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use deltalake::{DeltaTable, DeltaTableError};
use url::Url;

pub use catalog::TableDef;
pub use upsert::{Checkpoint, UpsertStats};

/// Delta table properties every table is created with: a checkpoint every 10 commits
/// (Delta's default is 100). Opening a table replays the commits since its last checkpoint,
/// and an ingest opens its table once a commit, so with the default the replay, and the
/// JSON decoders it holds at once, grew with every commit.
pub(crate) const TABLE_PROPERTIES: [(&str, Option<&str>); 1] =
    [("delta.checkpointInterval", Some("10"))];

/// What can go wrong in the lake.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The lake location is neither a path nor a URL we can store to.
    #[error("invalid lake location {location:?}: {reason}")]
    InvalidLocation {
        /// What the user gave.
        location: String,
        /// Why it does not work.
        reason: String,
    },
    /// A table could not be opened.
    #[error("cannot open table {table} at {url}")]
    Open {
        /// The table.
        table: String,
        /// Where it was looked for.
        url: Url,
        /// The cause.
        #[source]
        source: Box<DeltaTableError>,
    },
    /// A commit to a table failed; nothing of it is visible.
    #[error("commit to table {table} failed")]
    Commit {
        /// The table.
        table: String,
        /// The cause.
        #[source]
        source: Box<DeltaTableError>,
    },
    /// Another ingest of the same source committed its cursor at the same time, and won.
    #[error(
        "another ingest of the same source committed to table {table} at the same time, and won; what this one committed before stays, and running it again is safe: it adds only what is missing"
    )]
    CursorTaken {
        /// The table.
        table: String,
        /// The cause.
        #[source]
        source: Box<DeltaTableError>,
    },
    /// Rows did not match the catalog schema of their table.
    #[error("rows for table {table} do not match its schema")]
    Schema {
        /// The table.
        table: String,
        /// The cause.
        #[source]
        source: ArrowError,
    },
    /// Preparing the rows of a commit failed.
    #[error("preparing rows for table {table} failed")]
    Prepare {
        /// The table.
        table: String,
        /// The cause.
        #[source]
        source: Box<DataFusionError>,
    },
    /// Compaction or vacuum of a table failed.
    #[error("{operation} of table {table} failed")]
    Maintenance {
        /// `compact` or `vacuum`.
        operation: &'static str,
        /// The table.
        table: String,
        /// The cause.
        #[source]
        source: Box<DeltaTableError>,
    },
    /// A table that was to be replaced as it stood at one version had another commit
    /// meanwhile (a concurrent writer); nothing of the replacement is visible.
    #[error(
        "table {table} changed while it was being rewritten (version {found}, expected {}); nothing was committed",
        expected.map_or_else(|| "none".to_string(), |v| v.to_string())
    )]
    Moved {
        /// The table.
        table: String,
        /// The version the replacement was computed from, `None` if the table did not exist.
        expected: Option<u64>,
        /// The version found.
        found: u64,
    },
    /// A file could not be copied to an object store.
    #[error("cannot upload to {url}")]
    Upload {
        /// Where it was to go.
        url: Url,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A local lake directory could not be created.
    #[error("cannot create lake directory {path}")]
    CreateDir {
        /// The directory.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// The lake's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The age under which [`Lake::vacuum`] never deletes a file that no commit added, whatever
/// the retention: the time a writer may take between writing a commit's files and
/// committing them.
pub const ORPHAN_MIN_AGE: chrono::Duration = chrono::Duration::hours(1);

/// A lake: a URL under which every catalog table is a Delta table.
#[derive(Debug, Clone)]
pub struct Lake {
    url: Url,
    /// Scan tables with Delta's own provider rather than [`scan::DayFilesTable`].
    delta_scan: bool,
    /// The tables upserts last opened, by name, to bring up to date from the log's new
    /// commits rather than read again from the last checkpoint (see [`Lake::open_latest`]).
    written: Arc<Mutex<HashMap<&'static str, DeltaTable>>>,
}

impl Lake {
    /// A lake at `location`: a local path, a `file://` URL or `s3://bucket/prefix`.
    ///
    /// S3 credentials and endpoints come from the usual `AWS_*` environment variables
    /// (`AWS_ENDPOINT_URL` and `AWS_ALLOW_HTTP` for S3-compatible servers).
    pub fn parse(location: &str) -> Result<Lake> {
        let invalid = |reason: &str| Error::InvalidLocation {
            location: location.to_string(),
            reason: reason.to_string(),
        };
        if location.trim().is_empty() {
            return Err(invalid("it is empty"));
        }
        let mut url = match Url::parse(location) {
            // A Windows drive letter parses as a one-letter scheme; treat it as a path.
            Ok(url) if url.scheme().len() > 1 => url,
            _ => {
                let path = Path::new(location);
                let abs = if path.is_absolute() {
                    path.to_path_buf()
                } else {
                    std::env::current_dir()
                        .map_err(|e| invalid(&e.to_string()))?
                        .join(path)
                };
                Url::from_directory_path(&abs).map_err(|()| invalid("not a usable path"))?
            }
        };
        match url.scheme() {
            "file" | "s3" | "s3a" | "memory" => {}
            other => {
                return Err(invalid(&format!(
                    "unsupported scheme {other}: use a path, file:// or s3://"
                )));
            }
        }
        if !url.path().ends_with('/') {
            url.set_path(&format!("{}/", url.path()));
        }
        if url.scheme() == "file" && url.to_file_path().is_err() {
            return Err(invalid(
                "a file URL names a path on this machine: file:///path, without a host",
            ));
        }
        if url.scheme() == "file"
            && let Ok(path) = url.to_file_path()
            // Without the trailing `/`, which a file does not take.
            && std::fs::metadata(path.components().as_path()).is_ok_and(|m| !m.is_dir())
        {
            return Err(invalid("it is a file; a lake is a directory"));
        }
        Ok(Lake {
            url,
            delta_scan: false,
            written: Arc::default(),
        })
    }

    /// This lake with its tables scanned by Delta's own table provider (`true`) or by
    /// [`scan::DayFilesTable`] where the table allows (the default). The rows are the same;
    /// the choice is there for tables written by other tools and to check the one against
    /// the other.
    pub fn with_delta_scan(mut self, delta_scan: bool) -> Lake {
        self.delta_scan = delta_scan;
        self
    }

    /// The lake's URL, always ending in `/`.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Whether the lake is on the local file system.
    pub fn is_local(&self) -> bool {
        self.url.scheme() == "file"
    }

    /// The URL of `table`'s directory.
    pub fn table_url(&self, table: &TableDef) -> Url {
        self.url
            .join(&format!("{}/", table.name))
            .expect("a table name is a valid URL segment")
    }

    /// Opens `table`, or `None` if it has never been written.
    pub async fn open(&self, table: &TableDef) -> Result<Option<DeltaTable>> {
        if self.missing_locally(table) {
            return Ok(None);
        }
        let delta = DeltaTable::try_from_url(self.table_url(table))
            .await
            .map_err(self.open_error(table))?;
        Ok(delta.version().is_some().then_some(delta))
    }

    /// Whether any table of the catalog has been written here: for a statement that reads
    /// none of them, whether there is a lake at all, without opening a table.
    pub async fn exists(&self) -> Result<bool> {
        let tables: Vec<&TableDef> = catalog::tables()
            .into_iter()
            .chain(catalog::rollups())
            .collect();
        if self.is_local() {
            return Ok(tables.iter().any(|t| !self.missing_locally(t)));
        }
        let error = |source: DeltaTableError| Error::Open {
            table: "(any)".into(),
            url: self.url.clone(),
            source: Box::new(source),
        };
        let store = bucket_store(&self.url).map_err(error)?;
        let root = object_store::path::Path::from_url_path(self.url.path())
            .map_err(|e| error(object_store::Error::from(e).into()))?;
        let listed = store
            .list_with_delimiter(Some(&root))
            .await
            .map_err(|e| error(e.into()))?;
        for dir in listed.common_prefixes {
            let name = dir.filename().unwrap_or_default();
            if tables.iter().any(|t| t.name == name) {
                let log = dir.clone().join("_delta_log");
                let mut entries = store.list(Some(&log));
                if futures::StreamExt::next(&mut entries)
                    .await
                    .transpose()
                    .map_err(|e| error(e.into()))?
                    .is_some()
                {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// Whether `table` is a local table without a log: one never written, not an error.
    fn missing_locally(&self, table: &TableDef) -> bool {
        self.is_local()
            && self
                .table_url(table)
                .to_file_path()
                .is_ok_and(|path| !path.join("_delta_log").is_dir())
    }

    /// `table` at its latest version, as [`Lake::open`] gives it, for a write: the snapshot
    /// an upsert of this lake read last, brought up to date with the commits made since (by
    /// it or any other writer). A run of upserts so reads each commit of the log once,
    /// instead of the last checkpoint and every commit after it, twice per upsert.
    pub(crate) async fn open_latest(&self, table: &TableDef) -> Result<Option<DeltaTable>> {
        let written = || self.written.lock().unwrap_or_else(PoisonError::into_inner);
        if self.missing_locally(table) {
            written().remove(table.name);
            return Ok(None);
        }
        let known = written().get(table.name).cloned();
        let delta = match known {
            Some(mut delta) => match delta.update_incremental(None).await {
                Ok(()) => Some(delta),
                // Replaced or removed behind this lake's back: read as it is now.
                Err(e) => {
                    tracing::debug!(table = table.name, "opened again: {e}");
                    self.open(table).await?
                }
            },
            None => self.open(table).await?,
        };
        match &delta {
            Some(delta) => written().insert(table.name, delta.clone()),
            None => written().remove(table.name),
        };
        Ok(delta)
    }

    /// A DataFusion table provider for `table` at its latest version, or `None` if the
    /// table has never been written. The provider's object store is registered with
    /// `session` so that scans can reach it.
    pub async fn table_provider(
        &self,
        table: &TableDef,
        session: &dyn datafusion::catalog::Session,
    ) -> Result<Option<Arc<dyn TableProvider>>> {
        Ok(self.snapshot(table, session).await?.map(|s| s.provider))
    }

    /// `table` at its latest version for reading: a provider (its object store registered
    /// with `session`) and the files it reads, or `None` if the table was never written.
    pub async fn snapshot(
        &self,
        table: &TableDef,
        session: &dyn datafusion::catalog::Session,
    ) -> Result<Option<Snapshot>> {
        let Some(delta) = self.open(table).await? else {
            return Ok(None);
        };
        let err = self.open_error(table);
        delta.update_datafusion_session(session).map_err(&err)?;
        let provider = delta.table_provider().await.map_err(|e| {
            err(DeltaTableError::Generic(format!(
                "building the table provider: {e}"
            )))
        })?;
        let files = (!self.delta_scan)
            .then(|| scan::DayFilesTable::try_new(&delta, provider.schema(), table.partition))
            .flatten();
        let provider = match files {
            Some(files) => Arc::new(files),
            None => provider,
        };
        Ok(Some(Snapshot {
            table: table.name,
            delta,
            provider,
        }))
    }

    /// The version of the last commit to `table`, or `None` if it was never written.
    pub async fn version(&self, table: &TableDef) -> Result<Option<u64>> {
        Ok(self.open(table).await?.and_then(|t| t.version()))
    }

    /// The version of `table`'s last commit, found by listing its log from version `known`
    /// on (the version read before, `None` if the table was not there then) without
    /// reading any of it: whether a reader is out of date, at the cost of a listing.
    /// `None` if the table has never been written.
    pub async fn latest_version(
        &self,
        table: &TableDef,
        known: Option<u64>,
    ) -> Result<Option<u64>> {
        if self.missing_locally(table) {
            return Ok(None);
        }
        let err = self.open_error(table);
        let delta = deltalake::DeltaTableBuilder::from_url(self.table_url(table))
            .and_then(|b| b.build())
            .map_err(&err)?;
        match delta
            .log_store()
            .get_latest_version(known.unwrap_or(0))
            .await
        {
            Ok(version) => Ok(Some(version)),
            // Not there before, and not now either (an object store has no directories
            // to tell).
            Err(_) if known.is_none() => Ok(None),
            Err(e) => Err(err(e)),
        }
    }

    /// The cursor that the last commit of application `app_id` to `table` stored, if any.
    pub async fn cursor(&self, table: &TableDef, app_id: &str) -> Result<Option<i64>> {
        let Some(delta) = self.open(table).await? else {
            return Ok(None);
        };
        let state = delta.snapshot().map_err(self.open_error(table))?;
        state
            .transaction_version(delta.log_store().as_ref(), app_id)
            .await
            .map_err(self.open_error(table))
    }

    /// The data files of `table`'s latest version (URIs), or none if it was never written:
    /// what another engine reads to see the same rows (day partitions are in the paths).
    pub async fn files(&self, table: &TableDef) -> Result<Vec<String>> {
        let Some(delta) = self.open(table).await? else {
            return Ok(Vec::new());
        };
        let files = delta.get_file_uris().map_err(self.open_error(table))?;
        Ok(files.collect())
    }

    /// Appends `batches` to `table` in one commit, creating the table, without looking
    /// for rows with the same key: for writers whose rows are new by construction (the
    /// benchmark generator). Returns the version committed.
    pub async fn append(&self, table: &TableDef, batches: Vec<RecordBatch>) -> Result<u64> {
        let commit_err = commit_error(table);
        let delta = self.open_for_write(table).await?;
        let written = delta
            .write(batches)
            .with_save_mode(deltalake::protocol::SaveMode::Append)
            .with_partition_columns(table.partition)
            .with_table_name(table.name)
            .with_description(table.description)
            .with_configuration(TABLE_PROPERTIES)
            .await
            .map_err(commit_err)?;
        Ok(written.version().unwrap_or_default())
    }

    /// Replaces every row of `table` with the rows of `rows` in one commit (creating the
    /// table, the schema taken from the stream), with `metadata` in the commit's
    /// information: for derived tables that are recomputed as a whole (the rollups). The
    /// rows are encoded as they come, so a stream that computes them a part at a time never
    /// holds them all. Returns the version.
    ///
    /// The rows were computed from `table` at version `expected` (`None`: it did not
    /// exist), and they replace exactly that version: when any other commit came first,
    /// the replacement is not committed and the error is [`Error::Moved`], so that two
    /// writers recomputing the table at once can never both add their rows.
    pub async fn overwrite(
        &self,
        table: &TableDef,
        rows: SendableRecordBatchStream,
        metadata: serde_json::Map<String, serde_json::Value>,
        expected: Option<u64>,
    ) -> Result<u64> {
        let commit_err = commit_error(table);
        let schema = rows.schema();
        let source = StreamingTable::try_new(schema, vec![Arc::new(OneStream::new(rows))])
            .map_err(|e| commit_err(e.into()))?;
        let plan = LogicalPlanBuilder::scan("rows", provider_as_source(Arc::new(source)), None)
            .and_then(LogicalPlanBuilder::build)
            .map_err(|e| commit_err(e.into()))?;
        let delta = match expected {
            Some(version) => deltalake::open_table_with_version(self.table_url(table), version)
                .await
                .map_err(&commit_err)?,
            // Not loaded: the commit is a creation, whatever is there now.
            None => {
                self.ensure_local_dir(table)?;
                deltalake::DeltaTableBuilder::from_url(self.table_url(table))
                    .and_then(|builder| builder.build())
                    .map_err(&commit_err)?
            }
        };
        let written = delta
            .write(Vec::new())
            .with_input_plan(plan)
            .with_save_mode(deltalake::protocol::SaveMode::Overwrite)
            .with_schema_mode(deltalake::operations::write::SchemaMode::Overwrite)
            .with_table_name(table.name)
            .with_description(table.description)
            .with_configuration(TABLE_PROPERTIES)
            .with_commit_properties(
                deltalake::kernel::transaction::CommitProperties::default()
                    .with_metadata(metadata)
                    // Any commit since `expected` fails this one instead of being reconciled
                    // with it: Delta lets an overwrite that removes no file (of a table
                    // created meanwhile) through as if it were an append.
                    .with_max_retries(0),
            )
            .await;
        match written {
            Ok(written) => Ok(written.version().unwrap_or_default()),
            Err(e) => match self.version(table).await {
                Ok(Some(found)) if Some(found) != expected => Err(Error::Moved {
                    table: table.name.to_string(),
                    expected,
                    found,
                }),
                _ => Err(commit_err(e)),
            },
        }
    }

    /// `table` to write to: opened, or created empty (its local directory too).
    async fn open_for_write(&self, table: &TableDef) -> Result<DeltaTable> {
        if let Some(delta) = self.open(table).await? {
            return Ok(delta);
        }
        self.ensure_local_dir(table)?;
        DeltaTable::try_from_url(self.table_url(table))
            .await
            .map_err(commit_error(table))
    }

    /// Rewrites `table`'s small files into larger ones (Delta OPTIMIZE); returns the
    /// number of files removed and added.
    pub async fn compact(&self, table: &TableDef) -> Result<Option<(u64, u64)>> {
        let mut attempt = 1;
        loop {
            let Some(delta) = self.open(table).await? else {
                return Ok(None);
            };
            match delta.optimize().await {
                Ok((_, metrics)) => {
                    return Ok(Some((metrics.num_files_removed, metrics.num_files_added)));
                }
                // An ingest changed files it was rewriting: compact what is there now.
                Err(e) if attempt < upsert::ATTEMPTS && upsert::is_retryable(&e) => {
                    tracing::debug!(table = table.name, attempt, "compacting again: {e}");
                    attempt += 1;
                }
                Err(e) => return Err(maintenance_error("compact", table)(e)),
            }
        }
    }

    /// Deletes files that no version newer than `retention` still references (Delta
    /// VACUUM), and files that no commit ever added (those of a writer killed before its
    /// commit, or beaten to it) once older than `retention` and [`ORPHAN_MIN_AGE`]; returns
    /// the files deleted, or that would be with `dry_run`.
    pub async fn vacuum(
        &self,
        table: &TableDef,
        retention: chrono::Duration,
        dry_run: bool,
    ) -> Result<Option<Vec<String>>> {
        use deltalake::operations::vacuum::VacuumMode;
        let Some(delta) = self.open(table).await? else {
            return Ok(None);
        };
        let vacuum = |delta: DeltaTable, mode, retention| async move {
            delta
                .vacuum()
                .with_mode(mode)
                .with_retention_period(retention)
                .with_enforce_retention_duration(false)
                .with_dry_run(dry_run)
                .await
                .map_err(maintenance_error("vacuum", table))
        };
        let mut deleted = Vec::new();
        // A file no commit added may belong to a commit being written now: only a full
        // vacuum looks for such files, and it is never told to take young ones.
        let delta = if retention < ORPHAN_MIN_AGE {
            let (delta, metrics) = vacuum(delta, VacuumMode::Lite, retention).await?;
            deleted = metrics.files_deleted;
            delta
        } else {
            delta
        };
        let (_, metrics) = vacuum(delta, VacuumMode::Full, retention.max(ORPHAN_MIN_AGE)).await?;
        deleted.extend(metrics.files_deleted);
        deleted.sort();
        deleted.dedup();
        Ok(Some(deleted))
    }

    /// How a failure to read `table` is reported.
    fn open_error(&self, table: &TableDef) -> impl Fn(DeltaTableError) -> Error {
        let name = table.name.to_string();
        let url = self.table_url(table);
        move |source| Error::Open {
            table: name.clone(),
            url: url.clone(),
            source: Box::new(source),
        }
    }

    /// Creates the lake's directory if it is local; object stores need nothing.
    pub(crate) fn ensure_local_dir(&self, table: &TableDef) -> Result<()> {
        if self.is_local() {
            let path = self
                .table_url(table)
                .to_file_path()
                .expect("file URL has a path");
            std::fs::create_dir_all(&path).map_err(|source| Error::CreateDir {
                path: path.display().to_string(),
                source,
            })?;
        }
        Ok(())
    }
}

/// A table at one version, opened for reading.
pub struct Snapshot {
    table: &'static str,
    delta: DeltaTable,
    /// What DataFusion scans: the snapshot's files through [`scan::DayFilesTable`], or
    /// Delta's own provider where the table needs it.
    pub provider: Arc<dyn TableProvider>,
}

/// A data file of a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFile {
    /// Its path under the table's directory.
    pub path: String,
    /// Its rows, if the log records them.
    pub rows: Option<u64>,
}

impl Snapshot {
    /// The version read.
    pub fn version(&self) -> u64 {
        self.delta.version().unwrap_or_default()
    }

    /// The data files of this version, as paths under the table's directory (Hive
    /// partitions first: `day=2026-10-01/part-….parquet`), with their row counts where the
    /// log records them.
    pub fn files(&self) -> Result<Vec<DataFile>> {
        let state = self.delta.snapshot().map_err(|e| self.error(e))?;
        Ok(state
            .log_data()
            .into_iter()
            .map(|add| DataFile {
                path: add.object_store_path().to_string(),
                rows: add.num_records().map(|n| n as u64),
            })
            .collect())
    }

    /// The entry `key` of the information of the last commit that carried one, looking back
    /// past maintenance commits (vacuum, compaction: they keep the rows) only; `None` if a
    /// commit that may have changed rows came after it, or there is none.
    pub async fn commit_info(&self, key: &str) -> Result<Option<serde_json::Value>> {
        const LOOK_BACK: u64 = 20;
        let Some(version) = self.delta.version() else {
            return Ok(None);
        };
        let log = self.delta.log_store();
        for v in (version.saturating_sub(LOOK_BACK - 1)..=version).rev() {
            let Some(bytes) = log.read_commit_entry(v).await.map_err(|e| self.error(e))? else {
                return Ok(None);
            };
            // A commit is one action per line; its commitInfo says what it did.
            let info = serde_json::Deserializer::from_slice(&bytes)
                .into_iter::<serde_json::Value>()
                .filter_map(|action| action.ok()?.get_mut("commitInfo").map(|i| i.take()))
                .next();
            let Some(mut info) = info else {
                return Ok(None);
            };
            if let Some(value) = info.get_mut(key) {
                return Ok(Some(value.take()));
            }
            let operation = info["operation"].as_str().unwrap_or_default();
            if !(operation.starts_with("VACUUM") || operation == "OPTIMIZE") {
                return Ok(None);
            }
        }
        Ok(None)
    }

    fn error(&self, source: DeltaTableError) -> Error {
        Error::Open {
            table: self.table.to_string(),
            url: self.delta.table_url().clone(),
            source: Box::new(source),
        }
    }
}

/// How a failed commit to `table` is reported.
fn commit_error(table: &TableDef) -> impl Fn(DeltaTableError) -> Error {
    let name = table.name.to_string();
    move |source| commit_failed(&name, source)
}

/// The error of a failed commit to table `table`: two commits of one ingest's cursor (an
/// application transaction) told apart, since only one of them may win.
pub(crate) fn commit_failed(table: &str, source: DeltaTableError) -> Error {
    use deltalake::kernel::transaction::{CommitConflictError, TransactionError};
    let cursor = matches!(
        &source,
        DeltaTableError::Transaction {
            source: TransactionError::CommitConflict(CommitConflictError::ConcurrentTransaction)
        }
    );
    let (table, source) = (table.to_string(), Box::new(source));
    if cursor {
        Error::CursorTaken { table, source }
    } else {
        Error::Commit { table, source }
    }
}

/// Whether `location` names an object in an object store the lake can use (`s3://…`),
/// rather than a local path.
pub fn is_object_url(location: &str) -> bool {
    Url::parse(location).is_ok_and(|url| matches!(url.scheme(), "s3" | "s3a"))
}

/// The object store of the bucket `url` is in (`s3://bucket/…`), its paths from the
/// bucket's root, with the settings a lake there would use (the `AWS_*` variables).
pub fn bucket_store(url: &Url) -> Result<Arc<dyn object_store::ObjectStore>, DeltaTableError> {
    let mut root = url.clone();
    root.set_path("/");
    root.set_query(None);
    root.set_fragment(None);
    Ok(deltalake::DeltaTableBuilder::from_url(root)?
        .build_storage()?
        .object_store(None))
}

/// Copies the local file `from` to `to`, an object store URL such as
/// `s3://bucket/reports/kpi.parquet`, with the settings a lake there would use (the `AWS_*`
/// variables). The object appears whole once the upload completes, or not at all. Returns
/// the bytes uploaded.
pub async fn upload(from: &Path, to: &Url) -> Result<u64> {
    use object_store::buffered::BufWriter;
    use tokio::io::AsyncWriteExt;
    let err = |source: Box<dyn std::error::Error + Send + Sync>| Error::Upload {
        url: to.clone(),
        source,
    };
    if to.path().is_empty() || to.path().ends_with('/') {
        return Err(err("the URL names no object (it ends in /)".into()));
    }
    let store = bucket_store(to).map_err(|e| err(e.into()))?;
    let name = object_store::path::Path::from_url_path(to.path()).map_err(|e| err(e.into()))?;
    let mut file = tokio::fs::File::open(from)
        .await
        .map_err(|e| err(e.into()))?;
    // Parts of 10 MiB: a multipart upload completes (or is aborted) as one object.
    let mut writer = BufWriter::with_capacity(store, name, 10 << 20);
    match tokio::io::copy(&mut file, &mut writer).await {
        Ok(bytes) => {
            writer.shutdown().await.map_err(|e| err(e.into()))?;
            Ok(bytes)
        }
        Err(e) => {
            let _ = writer.abort().await;
            Err(err(e.into()))
        }
    }
}

/// How a failed compaction or vacuum of `table` is reported.
fn maintenance_error(
    operation: &'static str,
    table: &TableDef,
) -> impl Fn(DeltaTableError) -> Error {
    let name = table.name.to_string();
    move |source| Error::Maintenance {
        operation,
        table: name.clone(),
        source: Box::new(source),
    }
}

/// A stream handed to DataFusion as the one partition of a table, to be read once.
struct OneStream {
    schema: SchemaRef,
    stream: Mutex<Option<SendableRecordBatchStream>>,
}

impl OneStream {
    fn new(stream: SendableRecordBatchStream) -> OneStream {
        OneStream {
            schema: stream.schema(),
            stream: Mutex::new(Some(stream)),
        }
    }
}

impl std::fmt::Debug for OneStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OneStream").finish_non_exhaustive()
    }
}

impl PartitionStream for OneStream {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let taken = self.stream.lock().unwrap_or_else(|e| e.into_inner()).take();
        taken.unwrap_or_else(|| {
            let err = DataFusionError::Internal("a one-time stream was read twice".into());
            Box::pin(RecordBatchStreamAdapter::new(
                self.schema.clone(),
                futures::stream::once(async move { Err(err) }),
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Regression: the loser of two ingests of one Control Room printed "Concurrent
    // transaction failed." and nothing more.
    #[test]
    fn the_loser_of_two_commits_of_one_cursor_is_told_what_happened() {
        use deltalake::kernel::transaction::{CommitConflictError, TransactionError};
        let conflict = |c| DeltaTableError::Transaction {
            source: TransactionError::CommitConflict(c),
        };
        let lost = commit_failed(
            "aa_bot_runs",
            conflict(CommitConflictError::ConcurrentTransaction),
        );
        assert!(matches!(lost, Error::CursorTaken { .. }));
        let text = lost.to_string();
        assert!(
            text.contains("another ingest") && text.contains("running it again is safe"),
            "{text}"
        );
        let other = commit_failed(
            "aa_bot_runs",
            conflict(CommitConflictError::ConcurrentAppend),
        );
        assert!(matches!(other, Error::Commit { .. }));
    }

    #[tokio::test]
    async fn a_lake_exists_once_a_table_of_it_has_a_log() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::parse(dir.path().to_str().unwrap()).unwrap();
        assert!(!lake.exists().await.unwrap());
        // A directory of another name, or a table's directory without its log, is not one.
        std::fs::create_dir_all(dir.path().join("other/_delta_log")).unwrap();
        std::fs::create_dir_all(dir.path().join("aa_bot_runs")).unwrap();
        assert!(!lake.exists().await.unwrap());
        std::fs::create_dir_all(dir.path().join("uipath_robot_logs/_delta_log")).unwrap();
        assert!(lake.exists().await.unwrap());
    }

    #[test]
    fn parse_paths_and_urls() {
        let lake = Lake::parse("/tmp/some lake").unwrap();
        assert_eq!(lake.url().as_str(), "file:///tmp/some%20lake/");
        let lake = Lake::parse("s3://bucket/prefix").unwrap();
        assert_eq!(lake.url().as_str(), "s3://bucket/prefix/");
        assert_eq!(
            lake.table_url(&catalog::AA_BOT_RUNS).as_str(),
            "s3://bucket/prefix/aa_bot_runs/"
        );
        let err = Lake::parse("ftp://host/x").unwrap_err().to_string();
        assert!(err.contains("unsupported scheme ftp"), "{err}");
        assert!(Lake::parse("  ").is_err());
        let err = Lake::parse("file://somehost/tmp/x").unwrap_err();
        assert!(err.to_string().contains("without a host"), "{err}");
        assert!(Lake::parse("file:///tmp/x").is_ok());
        let file = tempfile::NamedTempFile::new().unwrap();
        let err = Lake::parse(file.path().to_str().unwrap()).unwrap_err();
        assert!(err.to_string().contains("it is a file"), "{err}");
    }
}
