//! botlake's SQL: a DataFusion session with every lake table registered and the views of
//! `queries/` created over them, plus named queries with typed parameters.
//!
//! ```no_run
//! # async fn example() -> botlake_query::Result<()> {
//! let lake = botlake_lake::Lake::parse("./botlake-demo")?;
//! let session = botlake_query::Session::open(&lake, &[]).await?;
//! let df = session
//!     .query("bot_ranking", &[("min_runs".into(), "20".into())])
//!     .await?;
//! df.show().await?;
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod calls;
pub mod days;
pub mod defs;
pub mod json;
mod policy;
pub mod rollup;
pub mod unordered;
mod urls;
pub mod window;

pub use policy::{Planned, Reopened};
pub use urls::names_a_file;

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;

use botlake_lake::{Lake, catalog};
use datafusion::catalog::TableProvider;
use datafusion::catalog::view::ViewTable;
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::{DataFrame, SessionConfig, SessionContext};
use datafusion::scalar::ScalarValue;
use datafusion::sql::parser::DFParser;
use datafusion::sql::resolve::resolve_table_references;
use futures::future;

pub use defs::{ParamDef, QueryDef};

include!(concat!(env!("OUT_DIR"), "/builtin.rs"));

/// What can go wrong in a query session.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// There is no lake at the location.
    #[error("no lake at {url}: run `botlake demo` or `botlake ingest` first")]
    NoLake {
        /// Where the lake was looked for.
        url: String,
    },
    /// The lake could not be read.
    #[error(transparent)]
    Lake(#[from] botlake_lake::Error),
    /// No view or named query has this name.
    #[error(
        "no view or query named {name:?}{closest}; `botlake views` lists them (known: {known})"
    )]
    UnknownQuery {
        /// The name asked for.
        name: String,
        /// " (did you mean NAME?)" when a known name is a typo away, else empty.
        closest: String,
        /// The names there are.
        known: String,
    },
    /// A time zone that is none.
    #[error("{reason}")]
    TimeZone {
        /// Why.
        reason: String,
    },
    /// A parameter the query does not declare.
    #[error("{query} has no parameter {param:?} ({known})")]
    UnknownParam {
        /// The query.
        query: String,
        /// The parameter given.
        param: String,
        /// The parameters it has.
        known: String,
    },
    /// A parameter value that does not parse as the declared type.
    #[error("parameter {param} of {query} must be a {data_type}, got {value:?}")]
    BadParam {
        /// The query.
        query: String,
        /// The parameter.
        param: String,
        /// Its type.
        data_type: String,
        /// What was given.
        value: String,
    },
    /// A query file is malformed.
    #[error("query {name} ({origin}): {reason}")]
    Definition {
        /// Its name.
        name: String,
        /// Its file.
        origin: String,
        /// What is wrong.
        reason: String,
    },
    /// A statement names a file, by its path, that is not there.
    #[error("no file {url}: check the path (a table of the lake is named without quotes)")]
    NoSuchFile {
        /// The name, as the statement gives it.
        url: String,
    },
    /// A file or object a statement names as a table cannot be read as one.
    #[error("cannot read {url}")]
    UnreadableFile {
        /// The name, as the statement gives it.
        url: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A directory of query files could not be read.
    #[error("cannot read queries from {path}")]
    ReadQueries {
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A view could not be created from its SQL.
    #[error("view {name} ({origin}) does not plan")]
    View {
        /// The view.
        name: String,
        /// Its file.
        origin: String,
        /// The cause.
        #[source]
        source: DataFusionError,
    },
    /// A user's view that did not plan when the session opened, asked for.
    #[error("view {name} ({origin}) does not plan: {reason}")]
    BrokenView {
        /// The view.
        name: String,
        /// Its file.
        origin: String,
        /// Why.
        reason: String,
    },
    /// SQL that does not parse.
    #[error("bad SQL: {source}")]
    Syntax {
        /// The parser's error.
        #[source]
        source: DataFusionError,
    },
    /// Text given as one statement that holds none or several.
    #[error("expected one SQL statement, found {found}")]
    NotOneStatement {
        /// How many there were.
        found: usize,
    },
    /// A statement that would change a lake table, a rollup or a view.
    #[error(
        "{name} is part of the lake or its views: SQL reads the lake and never changes it (ingest, compact and vacuum do), and {why}"
    )]
    ChangesTheLake {
        /// The table or view.
        name: String,
        /// What the statement would do instead.
        why: &'static str,
    },
    /// A statement that would read or write the machine's files by name, in a session that
    /// may not ([`SessionOptions::files`]).
    #[error(
        "{what} is not allowed here: this server answers SQL over the lake and its views, never over the files of its machine"
    )]
    NamesFiles {
        /// What the statement does.
        what: String,
    },
    /// A table, view or column that does not exist.
    #[error("{}", unknown_name(what, name, closest.as_deref(), error))]
    UnknownName {
        /// `table` (a view too) or `column`.
        what: &'static str,
        /// The name given.
        name: String,
        /// The name there is a typo away, if any.
        closest: Option<String>,
        /// DataFusion's error: for a column, it lists the columns there are.
        error: DataFusionError,
    },
    /// DataFusion failed to plan or run a statement.
    #[error(transparent)]
    DataFusion(#[from] DataFusionError),
}

impl Error {
    /// Whether the user can fix this (bad SQL, unknown name, bad parameter), as opposed to
    /// an internal or storage failure.
    pub fn is_user_error(&self) -> bool {
        match self {
            Error::NoLake { .. }
            | Error::UnknownQuery { .. }
            | Error::UnknownParam { .. }
            | Error::TimeZone { .. }
            | Error::BadParam { .. }
            | Error::Definition { .. }
            | Error::ReadQueries { .. }
            | Error::View { .. }
            | Error::BrokenView { .. }
            | Error::Syntax { .. }
            | Error::NotOneStatement { .. }
            | Error::ChangesTheLake { .. }
            | Error::NamesFiles { .. }
            | Error::UnknownName { .. }
            | Error::NoSuchFile { .. }
            | Error::UnreadableFile { .. } => true,
            Error::DataFusion(e) => is_user_datafusion_error(e),
            Error::Lake(_) => false,
        }
    }
}

/// What [`Error::UnknownName`] says: a table in botlake's terms (DataFusion's names the
/// catalog and schema it looked in), a column as DataFusion says it, with the columns there
/// are; and the closest name, if there is one.
fn unknown_name(what: &str, name: &str, closest: Option<&str>, error: &DataFusionError) -> String {
    let said = if what == "table" {
        format!("no table or view {name}")
    } else {
        error.to_string()
    };
    match closest {
        Some(c) => format!("{said} (did you mean {c}?)"),
        None => said,
    }
}

/// Planning errors come from the statement; execution errors from the data or the engine.
pub fn is_user_datafusion_error(e: &DataFusionError) -> bool {
    match e {
        DataFusionError::SQL(..)
        | DataFusionError::Plan(_)
        | DataFusionError::SchemaError(..)
        | DataFusionError::NotImplemented(_) => true,
        DataFusionError::Context(_, inner) => is_user_datafusion_error(inner),
        DataFusionError::Diagnostic(_, inner) => is_user_datafusion_error(inner),
        DataFusionError::External(inner) => inner
            .downcast_ref::<Error>()
            .is_some_and(Error::is_user_error),
        DataFusionError::Shared(inner) => is_user_datafusion_error(inner),
        // An error of a stream, carried through an operator written with Arrow's errors.
        DataFusionError::ArrowError(inner, _) => match inner.as_ref() {
            datafusion::arrow::error::ArrowError::ExternalError(e) => e
                .downcast_ref::<DataFusionError>()
                .is_some_and(is_user_datafusion_error),
            _ => false,
        },
        _ => false,
    }
}

/// The query result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How a session runs.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// Answer the views that have a rollup variant from the rollups where they are up to
    /// date (the result is the same; see [`rollup`]).
    pub rollups: bool,
    /// Bytes that operators may hold before they spill to disk or fail; `None`: no limit.
    pub memory_limit: Option<usize>,
    /// Values for the parameters of every view that declares them (name, value), as its
    /// defaults: the `from` and `to` days a command line sets for all views, say. A view
    /// without the parameter is left as it is.
    pub view_params: Vec<(String, String)>,
    /// The zone whose calendar days the views' `day` columns are (an IANA name such as
    /// `Europe/Berlin`, or an offset); `None`: UTC. Checked by [`days::Zone::parse`]. The
    /// rollups hold UTC days: a session with another zone answers from raw rows.
    pub time_zone: Option<String>,
    /// The runtime every session of a server shares, built by [`shared_runtime`]: its
    /// memory pool bounds all their queries together. `None`: a runtime of the session's
    /// own, bounded by `memory_limit`.
    pub runtime: Option<Arc<RuntimeEnv>>,
    /// Whether statements may read and write the machine's files by name: a file or URL as
    /// a table, `CREATE EXTERNAL TABLE`, `COPY ... TO`. A server taking SQL from other
    /// people's clients turns it off; the lake and its views are read all the same.
    pub files: bool,
}

impl SessionOptions {
    /// Whether the views' days are UTC days, as the rollups' are.
    pub fn utc_days(&self) -> bool {
        self.time_zone
            .as_deref()
            .is_none_or(|tz| matches!(days::Zone::parse(tz), Ok(days::Zone::Utc)))
    }
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            rollups: true,
            memory_limit: None,
            view_params: Vec::new(),
            time_zone: None,
            runtime: None,
            files: true,
        }
    }
}

/// The name of `names` a typo away from `name` (at most two edits, and fewer than a third of
/// its letters), the nearest; else the one name that holds it (`ranking`: `bot_ranking`).
fn closest<'n>(name: &str, names: impl Iterator<Item = &'n str> + Clone) -> Option<&'n str> {
    use datafusion::common::utils::datafusion_strsim::levenshtein;
    let most = 2.min(name.chars().count() / 3);
    let typo = names
        .clone()
        .map(|n| (levenshtein(name, n), n))
        .filter(|&(d, _)| d > 0 && d <= most)
        .min_by_key(|&(d, _)| d)
        .map(|(_, n)| n);
    if typo.is_some() || name.len() < 4 {
        return typo;
    }
    let mut holding = names.filter(|n| n.contains(name));
    match (holding.next(), holding.next()) {
        (Some(one), None) => Some(one),
        _ => None,
    }
}

/// A DataFusion session over the lake, with the views created.
pub struct Session {
    ctx: SessionContext,
    queries: Vec<QueryDef>,
    /// The rollups found, when the session was asked to use them.
    rollups: Vec<rollup::Found>,
    /// The tables opened (rollups included), with the version read, `None` for a table
    /// that was not there: what [`Session::changes`] asks the lake about.
    watched: Vec<(&'static catalog::TableDef, Option<u64>)>,
    /// Users' views that did not plan, left out so that the others still work.
    broken: Vec<Error>,
    /// The query directories and options it was opened over the lake with, to open it
    /// again ([`Session::reopen_if_changed`]).
    opened: Option<(Vec<PathBuf>, SessionOptions)>,
    /// The views and settings its statements defined, in order, to make them again.
    definitions: std::sync::Mutex<Vec<String>>,
    /// Whether its statements may name the machine's files ([`SessionOptions::files`]).
    files: bool,
}

impl Session {
    /// A session over `lake`: every catalog table registered (empty if never written), the
    /// built-in views, then the views of each directory in `query_dirs`, which replace
    /// built-in views of the same name.
    pub async fn open(lake: &Lake, query_dirs: &[PathBuf]) -> Result<Session> {
        Session::open_with(lake, query_dirs, &SessionOptions::default()).await
    }

    /// [`Session::open`] with `options`.
    pub async fn open_with(
        lake: &Lake,
        query_dirs: &[PathBuf],
        options: &SessionOptions,
    ) -> Result<Session> {
        let mut session =
            Session::open_tables(lake, QueryDef::with_dirs(query_dirs)?, options, None).await?;
        session.opened = Some((query_dirs.to_vec(), options.clone()));
        Ok(session)
    }

    /// [`Session::open_with`] for the statements of `sql` alone: only the tables they read,
    /// directly or through views, are opened (reading a table's log is most of what a
    /// session costs to open), and the rollups only if they read runs. The others are
    /// there with their columns, and a scan of one is an error, never an empty answer.
    /// SQL that does not parse opens everything, and says so when it runs.
    pub async fn open_for(
        lake: &Lake,
        query_dirs: &[PathBuf],
        options: &SessionOptions,
        sql: &str,
    ) -> Result<Session> {
        let queries = QueryDef::with_dirs(query_dirs)?;
        let Some(names) = names_read(&queries, sql) else {
            return Session::open_tables(lake, queries, options, None).await;
        };
        let tables = catalog::tables()
            .into_iter()
            .map(|t| t.name)
            .filter(|t| names.contains(*t))
            .collect();
        // The rollups, for the views that have a variant over them or read one.
        let rollup_views: Vec<&str> = rollup::rollups().iter().map(|r| r.view).collect();
        let rollup_tables: Vec<&str> = rollup::rollups().iter().map(|r| r.table.name).collect();
        let over_rollups = |name: &str| {
            rollup_views.contains(&name)
                || rollup_tables.contains(&name)
                || BUILTIN_ROLLUP.iter().any(|(n, _)| *n == name)
                || BUILTIN.iter().any(|(n, sql)| {
                    *n == name
                        && rollup_views
                            .iter()
                            .any(|v| sql.contains(&format!("FROM {v}")))
                })
        };
        let reading = SessionOptions {
            rollups: options.rollups && names.iter().any(|n| over_rollups(n)),
            ..options.clone()
        };
        let mut session = Session::open_tables(lake, queries, &reading, Some(tables)).await?;
        session.opened = Some((query_dirs.to_vec(), options.clone()));
        Ok(session)
    }

    /// [`Session::open_for`] the view or named query `name`: what it reads, and no more.
    pub async fn open_for_view(
        lake: &Lake,
        query_dirs: &[PathBuf],
        options: &SessionOptions,
        name: &str,
    ) -> Result<Session> {
        let quoted = name.replace('"', "\"\"");
        Session::open_for(
            lake,
            query_dirs,
            options,
            &format!("SELECT * FROM \"{quoted}\""),
        )
        .await
    }

    /// A session over `lake` with the views of `queries` and the tables of `needed` opened
    /// (`None`: all of them).
    async fn open_tables(
        lake: &Lake,
        mut queries: Vec<QueryDef>,
        options: &SessionOptions,
        needed: Option<BTreeSet<&'static str>>,
    ) -> Result<Session> {
        for def in &mut queries {
            def.set_defaults(&options.view_params)?;
        }
        let options = &SessionOptions {
            rollups: options.rollups && options.utc_days(),
            ..options.clone()
        };
        let ctx = context_with(options)?;
        let state = &ctx.state();
        let needed = needed.map(|mut needed| {
            if options.rollups {
                // A rollup's coverage is that of both vendors' runs.
                needed.extend([
                    catalog::AA_BOT_RUNS.name,
                    catalog::AA_EXECUTIONS.name,
                    catalog::UIPATH_JOB_EVENTS.name,
                ]);
            }
            needed
        });
        let wanted =
            |table: &catalog::TableDef| needed.as_ref().is_none_or(|n| n.contains(table.name));
        // Opened together: reading the logs waits on storage (S3 round trips) and their
        // JSON is decoded on the blocking pool, so the tables overlap.
        // Each is awaited to its end, even after another failed: a table dropped halfway
        // leaves Delta's log readers on the blocking pool with no one to answer, and they
        // panic on the way out.
        let opened = future::join_all(catalog::tables().into_iter().filter(|t| wanted(t)).map(
            |table| async move { Ok::<_, Error>((table, lake.snapshot(table, state).await?)) },
        ))
        .await
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
        let mut tables = Vec::new();
        let mut snapshots = BTreeMap::new();
        let mut watched = Vec::new();
        for (table, snapshot) in opened {
            watched.push((table, snapshot.as_ref().map(|s| s.version())));
            let provider = match snapshot {
                Some(s) => {
                    let provider = s.provider.clone();
                    snapshots.insert(table.name, s);
                    provider
                }
                None => empty_table(table)?,
            };
            tables.push((table.name.to_string(), provider));
        }
        // None of the tables opened is there (or the statements read none): whether there
        // is a lake at all, the others tell.
        if snapshots.is_empty() && !(needed.is_some() && lake.exists().await?) {
            return Err(Error::NoLake {
                url: lake.url().to_string(),
            });
        }
        for table in catalog::tables().into_iter().filter(|t| !wanted(t)) {
            tables.push((table.name.to_string(), Arc::new(NotOpened(table))));
        }
        let mut session = Session::with_queries(ctx, tables, queries).await?;
        session.files = options.files;
        if options.rollups {
            session
                .use_rollups(lake, &rollup::raw_files(&snapshots)?, options)
                .await?;
            watched.extend(session.rollups.iter().map(|f| (f.rollup.table, f.version)));
        }
        session.watched = watched;
        Ok(session)
    }

    /// Finds the rollups and, where they are worth reading, answers their views and the
    /// built-in views over them from the rollups. Nothing changes if the user replaced a
    /// view a rollup derives from.
    async fn use_rollups(
        &mut self,
        lake: &Lake,
        raw_files: &BTreeMap<String, rollup::VendorCoverage>,
        options: &SessionOptions,
    ) -> Result<()> {
        let replaced = |name: &str| {
            self.queries
                .iter()
                .any(|q| q.name == name && q.origin != BUILT_IN)
        };
        if rollup::rollups()
            .iter()
            .map(|r| r.view)
            .chain(rollup::DERIVED_FROM)
            .any(replaced)
        {
            return Ok(());
        }
        let state = self.ctx.state();
        self.rollups = rollup::find(lake, &state, raw_files).await?;
        let mut used = Vec::new();
        for found in &self.rollups {
            let Some(provider) = &found.provider else {
                continue;
            };
            let table = found.rollup.table.name;
            self.ctx.register_table(table, provider.clone())?;
            if found.split.worth_it() {
                let view = found.rollup.view;
                let sql = found.split.sql(table, builtin_sql(view));
                let def = QueryDef::parse(view, &sql, BUILT_IN)?;
                create_view(&self.ctx, &def)
                    .await
                    .map_err(|source| Error::View {
                        name: view.to_string(),
                        origin: format!("{BUILT_IN}, over {table}"),
                        source,
                    })?;
                used.push(view);
            }
        }
        // The views with a variant over the rollups, and the built-in views that read a
        // rollup's view themselves (failure_spikes): created again, so that they read the
        // view as it is now.
        let readers = BUILTIN.iter().filter(|(name, _)| {
            !used.contains(name) && !BUILTIN_ROLLUP.iter().any(|(n, _)| n == name)
        });
        for (name, sql) in BUILTIN_ROLLUP.iter().chain(readers) {
            let Some(reads) = used.iter().find(|v| sql.contains(&format!("FROM {v}"))) else {
                continue;
            };
            let Some(def) = self
                .queries
                .iter_mut()
                .find(|q| q.name == *name && q.origin == BUILT_IN)
            else {
                continue;
            };
            let mut variant = QueryDef::parse(name, sql, BUILT_IN)?;
            variant.set_defaults(&options.view_params)?;
            def.sql = variant.sql;
            def.params = variant.params;
            def.origin = format!("{BUILT_IN}, over the rollup of {reads}");
            let def = def.clone();
            create_view(&self.ctx, &def)
                .await
                .map_err(|source| Error::View {
                    name: def.name.clone(),
                    origin: def.origin.clone(),
                    source,
                })?;
        }
        Ok(())
    }

    /// Makes every view read raw rows, none a rollup: the rollups hold UTC days, and a
    /// `SET TIME ZONE` made the session's days another zone's. Views hold the views they
    /// read as planned, so all of them are made again.
    pub(crate) async fn answer_from_raw_rows(&self) -> Result<()> {
        if self.rollups.is_empty() {
            return Ok(());
        }
        let params = self
            .opened
            .as_ref()
            .map(|(_, options)| options.view_params.clone())
            .unwrap_or_default();
        // The views kept as rollups first, from their own SQL; then the others, which a
        // view reads as it was when made: twice, so that a view over a view over a rollup
        // view (a user's view of kpi_daily) reads the new one too.
        let rollup_views: Vec<&str> = rollup::rollups().iter().map(|r| r.view).collect();
        let mut raw = Vec::new();
        for def in &self.queries {
            if rollup_views.contains(&def.name.as_str()) {
                let builtin = QueryDef::parse(&def.name, builtin_sql(&def.name), BUILT_IN)?;
                create_view(&self.ctx, &builtin)
                    .await
                    .map_err(|source| Error::View {
                        name: def.name.clone(),
                        origin: BUILT_IN.to_string(),
                        source,
                    })?;
            } else if def.origin.starts_with(BUILT_IN) && def.origin != BUILT_IN {
                let mut builtin = QueryDef::parse(&def.name, builtin_sql(&def.name), BUILT_IN)?;
                builtin.set_defaults(&params)?;
                raw.push(builtin);
            } else {
                raw.push(def.clone());
            }
        }
        for _ in 0..2 {
            create_views(&self.ctx, &raw).await?;
        }
        Ok(())
    }

    /// The rollups found, with how much of their views each answers for.
    pub fn rollup_splits(&self) -> impl Iterator<Item = (&'static str, &rollup::Split)> {
        self.rollups.iter().map(|f| (f.rollup.view, &f.split))
    }

    /// A session over the given tables (tests use in-memory fixtures) with the views.
    pub async fn with_tables(
        ctx: SessionContext,
        tables: Vec<(String, Arc<dyn TableProvider>)>,
        query_dirs: &[PathBuf],
    ) -> Result<Session> {
        Session::with_queries(ctx, tables, QueryDef::with_dirs(query_dirs)?).await
    }

    /// A session over the given tables with the views of `queries`.
    async fn with_queries(
        ctx: SessionContext,
        tables: Vec<(String, Arc<dyn TableProvider>)>,
        queries: Vec<QueryDef>,
    ) -> Result<Session> {
        for (name, provider) in tables {
            ctx.register_table(name.as_str(), provider)?;
        }
        let broken = create_views(&ctx, &queries).await?;
        Ok(Session {
            ctx,
            queries,
            rollups: Vec::new(),
            watched: Vec::new(),
            broken,
            opened: None,
            definitions: Default::default(),
            files: true,
        })
    }

    /// The version of table `name` (of the catalog, or a rollup) that this session reads,
    /// or `None` if the lake does not have it, or the session did not open it (or was not
    /// opened over a lake).
    pub fn table_version(&self, name: &str) -> Option<u64> {
        self.watched
            .iter()
            .find(|(table, _)| table.name == name)
            .and_then(|&(_, version)| version)
    }

    /// The tables this session opened that the lake has changed since: each with the
    /// version read and the latest (`None`: not there), in catalog order; none when the
    /// session reads the lake as it is. Asks one listing of each table's log, from the
    /// version read on. Tables the session did not open ([`Session::open_for`]) are not
    /// asked about.
    pub async fn changes(
        &self,
        lake: &Lake,
    ) -> Result<Vec<(&'static str, Option<u64>, Option<u64>)>> {
        let latest = future::join_all(
            self.watched
                .iter()
                .map(|&(table, read)| lake.latest_version(table, read)),
        )
        .await;
        let mut changes = Vec::new();
        for (&(table, read), latest) in self.watched.iter().zip(latest) {
            let latest = latest?;
            if latest != read {
                changes.push((table.name, read, latest));
            }
        }
        Ok(changes)
    }

    /// The table or view of this session a typo away from `name`, as the session spells it:
    /// what a user who named `name` likely meant.
    pub fn closest_table(&self, name: &str) -> Option<String> {
        let options = self.ctx.state().config().options().catalog.clone();
        let names = self
            .ctx
            .catalog(&options.default_catalog)
            .and_then(|c| c.schema(&options.default_schema))
            .map(|s| s.table_names())
            .unwrap_or_default();
        closest(name, names.iter().map(String::as_str)).map(str::to_string)
    }

    /// The DataFusion context, for arbitrary SQL.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Every view and named query.
    pub fn queries(&self) -> &[QueryDef] {
        &self.queries
    }

    /// The users' views that did not plan ([`Error::BrokenView`]s), left out of the session.
    pub fn broken_views(&self) -> &[Error] {
        &self.broken
    }

    /// Runs a SQL statement as it is, outside the SQL policy: for tests and benchmarks that
    /// fill a session's tables themselves. Front ends run statements through
    /// [`Session::run`], which keeps the lake read-only.
    pub async fn sql(&self, sql: &str) -> Result<DataFrame> {
        Ok(self.ctx.sql(sql).await?)
    }

    /// The view or named query `name`, with `params` (name, value) bound as typed values.
    pub async fn query(&self, name: &str, params: &[(String, String)]) -> Result<DataFrame> {
        if let Some(Error::BrokenView {
            name,
            origin,
            reason,
        }) = self
            .broken
            .iter()
            .find(|e| matches!(e, Error::BrokenView { name: n, .. } if n == name))
        {
            return Err(Error::BrokenView {
                name: name.clone(),
                origin: origin.clone(),
                reason: reason.clone(),
            });
        }
        let Some(def) = self.queries.iter().find(|q| q.name == name) else {
            return Err(Error::UnknownQuery {
                name: name.to_string(),
                closest: closest(name, self.queries.iter().map(|q| q.name.as_str()))
                    .map(|c| format!(" (did you mean {c}?)"))
                    .unwrap_or_default(),
                known: self
                    .queries
                    .iter()
                    .map(|q| q.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        let mut values: Vec<(String, ScalarValue)> = def
            .params
            .iter()
            .map(|p| (p.name.clone(), p.default.clone()))
            .collect();
        for (key, value) in params {
            let Some(param) = def.params.iter().find(|p| &p.name == key) else {
                let known = if def.params.is_empty() {
                    "it takes none".to_string()
                } else {
                    let names: Vec<_> = def.params.iter().map(|p| p.name.as_str()).collect();
                    format!("it takes {}", names.join(", "))
                };
                return Err(Error::UnknownParam {
                    query: name.to_string(),
                    param: key.clone(),
                    known,
                });
            };
            let parsed =
                defs::parse_value(value, &param.data_type).ok_or_else(|| Error::BadParam {
                    query: name.to_string(),
                    param: key.clone(),
                    data_type: param.type_name.clone(),
                    value: value.clone(),
                })?;
            values
                .iter_mut()
                .find(|(n, _)| n == key)
                .expect("every declared parameter has a default")
                .1 = parsed;
        }
        // The file's own SQL rather than the view: a view's ORDER BY does not survive
        // `SELECT * FROM view`, and `botlake query` should list rows as the file orders them.
        let df = self.ctx.sql(&def.sql).await?;
        if def.params.is_empty() {
            return Ok(df);
        }
        Ok(df.with_param_values(values)?)
    }
}

/// A view as the catalogue shows it: what its file says, and the columns it gives.
#[derive(Debug, Clone)]
pub struct ViewDoc {
    /// Its definition: name, description, parameters, origin.
    pub def: QueryDef,
    /// Its columns, in order, with their types.
    pub columns: Vec<(String, datafusion::arrow::datatypes::DataType)>,
}

/// The built-in views and those of `query_dirs` (which replace built-in ones of their
/// name), each with its columns, planned over empty tables: no lake is needed. A user's view
/// that does not plan is left out.
pub async fn catalogue(query_dirs: &[PathBuf]) -> Result<Vec<ViewDoc>> {
    let tables = catalog::tables()
        .into_iter()
        .map(|t| Ok((t.name.to_string(), empty_table(t)?)))
        .collect::<Result<Vec<_>>>()?;
    let session = Session::with_tables(new_context(), tables, query_dirs).await?;
    let mut docs = Vec::new();
    for def in session.queries() {
        let Ok(df) = session.ctx.table(def.name.as_str()).await else {
            continue;
        };
        let columns = df
            .schema()
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.data_type().clone()))
            .collect();
        docs.push(ViewDoc {
            def: def.clone(),
            columns,
        });
    }
    Ok(docs)
}

/// What a built-in query's origin says.
pub(crate) const BUILT_IN: &str = "built-in";

/// The SQL of the built-in view `name`.
fn builtin_sql(name: &str) -> &'static str {
    BUILTIN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, s)| *s)
        .unwrap_or_else(|| panic!("{name} is a built-in view"))
}

/// A memory size as `--memory-limit` takes it: `4G`, `512M`, `64K` (powers of 1024; a
/// trailing `B` or `iB` is allowed) or a number of bytes.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let shift = match unit
        .trim()
        .to_ascii_uppercase()
        .trim_end_matches(['B', 'I'])
    {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(format!("{s:?}: the unit must be K, M, G or T")),
    };
    let n: f64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a size such as 4G or 512M"))?;
    let bytes = n * (1u64 << shift) as f64;
    if !(1.0..9.0e18).contains(&bytes) {
        return Err(format!("{s:?} is not a usable size"));
    }
    Ok(bytes as usize)
}

/// A session context with botlake's settings.
pub fn new_context() -> SessionContext {
    context_with(&SessionOptions::default()).expect("the default runtime builds")
}

/// The runtime of `options`' sessions: object stores, spill files, and a memory pool of
/// `options.memory_limit` (unbounded without one). Sessions given the same runtime
/// ([`SessionOptions::runtime`]) share its limit.
pub fn shared_runtime(options: &SessionOptions) -> Result<Arc<RuntimeEnv>> {
    let mut runtime =
        RuntimeEnvBuilder::new().with_object_store_registry(Arc::new(BucketStores::default()));
    if let Some(limit) = options.memory_limit {
        // Fair shares between the operators that can spill; an error names the largest
        // consumers when even spilling is not enough.
        runtime = runtime.with_memory_pool(Arc::new(TrackConsumersPool::new(
            FairSpillPool::new(limit),
            NonZeroUsize::new(5).expect("5 > 0"),
        )));
    }
    Ok(runtime.build_arc()?)
}

/// A session context with botlake's settings and `options`' memory limit.
pub fn context_with(options: &SessionOptions) -> Result<SessionContext> {
    let runtime = match &options.runtime {
        Some(shared) => Arc::clone(shared),
        None => shared_runtime(options)?,
    };
    // Two partitions per core: while one waits for a file, another decodes. Measured on the
    // compare bench's 1M-run lake (2 cores, each view's best of 5): 20 to 30 % faster than
    // one partition per core, no faster with three or four.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let partitions = 2 * cores;
    let mut config = SessionConfig::new()
        .with_target_partitions(partitions)
        .with_information_schema(true)
        .with_default_catalog_and_schema("botlake", "lake")
        // A lake is many small day files: split even small scans across the cores
        // (the default waits for 10 MB), which halves the time of the UiPath views.
        .with_repartition_file_min_size(0);
    if let Some(limit) = options.memory_limit {
        // Each partition's sort sets aside this much, which it cannot spill, to merge its
        // spilled runs: DataFusion's 10 MB, four times over on two cores, left the other
        // operators' fair shares smaller than one batch under `--memory-limit 64M`, and
        // sorts of a 30,000-run lake failed. An eighth of the limit across the partitions
        // keeps the rest for the operators that spill.
        let execution = &mut config.options_mut().execution;
        execution.sort_spill_reservation_bytes = execution
            .sort_spill_reservation_bytes
            .min(limit / (8 * partitions));
    }
    if let Some(zone) = &options.time_zone {
        days::Zone::parse(zone).map_err(|reason| Error::TimeZone { reason })?;
        config.options_mut().execution.time_zone = Some(zone.clone());
    }
    // Day files hold a few pages per column: reading their page index costs a read per
    // file and prunes nothing. Both settings measured with `cargo bench --bench compare`.
    config.options_mut().execution.parquet.enable_page_index = false;
    let mut state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_default_features()
        .with_physical_optimizer_rule(Arc::new(window::RangeWindowRule))
        .with_physical_optimizer_rule(Arc::new(unordered::ConstantOrderRule))
        .build();
    // JSON files as botlake writes them (arrays) as well as newline-delimited.
    for ext in json::EXTENSIONS {
        state.register_file_format(Arc::new(json::JsonFiles::new(ext)), true)?;
    }
    // Files and URLs name tables directly (`SELECT * FROM 'x.parquet'`), as in datafusion-cli.
    let ctx = SessionContext::new_with_state(state);
    let ctx = if options.files {
        urls::with_url_tables(ctx)
    } else {
        ctx
    };
    days::register(&ctx);
    Ok(ctx)
}

/// DataFusion's object stores, plus a store made when first asked for each S3 bucket that
/// a query names (`SELECT * FROM 's3://reports/kpi.parquet'`), with the lake's `AWS_*`
/// settings.
#[derive(Debug, Default)]
struct BucketStores {
    known: DefaultObjectStoreRegistry,
}

impl ObjectStoreRegistry for BucketStores {
    fn register_store(
        &self,
        url: &url::Url,
        store: Arc<dyn object_store::ObjectStore>,
    ) -> Option<Arc<dyn object_store::ObjectStore>> {
        self.known.register_store(url, store)
    }

    fn deregister_store(
        &self,
        url: &url::Url,
    ) -> datafusion::error::Result<Arc<dyn object_store::ObjectStore>> {
        self.known.deregister_store(url)
    }

    fn get_store(
        &self,
        url: &url::Url,
    ) -> datafusion::error::Result<Arc<dyn object_store::ObjectStore>> {
        match self.known.get_store(url) {
            Ok(store) => Ok(store),
            Err(e) if !matches!(url.scheme(), "s3" | "s3a") => Err(e),
            Err(_) => {
                let store = botlake_lake::bucket_store(url)
                    .map_err(|e| DataFusionError::External(Box::new(e)))?;
                self.known.register_store(url, store.clone());
                Ok(store)
            }
        }
    }
}

/// The names the statements of `sql` read, directly or through the views and named queries
/// of `queries` (views, tables, anything else they name); `None` when that cannot be told
/// (SQL that does not parse).
fn names_read(queries: &[QueryDef], sql: &str) -> Option<BTreeSet<String>> {
    let references = |sql: &str| -> Option<Vec<String>> {
        let mut names = Vec::new();
        for statement in DFParser::parse_sql(sql).ok()? {
            let (relations, _ctes) = resolve_table_references(&statement, true).ok()?;
            names.extend(relations.iter().map(|r| r.table().to_string()));
        }
        Some(names)
    };
    let mut pending = references(sql)?;
    let mut seen = BTreeSet::new();
    while let Some(name) = pending.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(def) = queries.iter().find(|q| q.name == name) {
            pending.extend(references(&def.sql)?);
        }
    }
    Some(seen)
}

/// A catalog table a session did not open, because its statements do not read it: its
/// columns for planning, and an error if it is scanned all the same.
#[derive(Debug)]
struct NotOpened(&'static catalog::TableDef);

#[async_trait::async_trait]
impl TableProvider for NotOpened {
    fn schema(&self) -> datafusion::arrow::datatypes::SchemaRef {
        self.0.schema.clone()
    }

    fn table_type(&self) -> datafusion::datasource::TableType {
        datafusion::datasource::TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn datafusion::catalog::Session,
        _projection: Option<&Vec<usize>>,
        _filters: &[datafusion::logical_expr::Expr],
        _limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn datafusion::physical_plan::ExecutionPlan>> {
        Err(DataFusionError::Internal(format!(
            "table {} was not opened for this statement: botlake did not see that it reads it",
            self.0.name
        )))
    }
}

/// A table never written: no rows, and its columns typed as a written table's are read
/// (strings as views), so that `describe` and the views see the same types either way.
fn empty_table(table: &catalog::TableDef) -> Result<Arc<dyn TableProvider>> {
    Ok(Arc::new(MemTable::try_new(
        botlake_lake::scan::view_types(&table.schema),
        vec![vec![]],
    )?))
}

/// Creates the views of `queries`, each after those it reads. Views of the user's that do
/// not plan (and the views that read them) are left out and returned, so that one broken
/// file does not stop every query; a built-in view that does not plan on its own is a bug,
/// and an error.
async fn create_views(ctx: &SessionContext, queries: &[QueryDef]) -> Result<Vec<Error>> {
    let mut pending: Vec<&QueryDef> = queries.iter().collect();
    while !pending.is_empty() {
        let mut waiting = Vec::new();
        for def in &pending {
            if let Err(e) = create_view(ctx, def).await {
                waiting.push((*def, e));
            }
        }
        if waiting.len() == pending.len() {
            if waiting
                .iter()
                .all(|(def, _)| def.origin.starts_with(BUILT_IN))
            {
                let (def, source) = waiting.remove(0);
                return Err(Error::View {
                    name: def.name.clone(),
                    origin: def.origin.clone(),
                    source,
                });
            }
            return Ok(waiting
                .into_iter()
                .map(|(def, e)| Error::BrokenView {
                    name: def.name.clone(),
                    origin: def.origin.clone(),
                    reason: e.to_string(),
                })
                .collect());
        }
        pending = waiting.into_iter().map(|(def, _)| def).collect();
    }
    Ok(Vec::new())
}

async fn create_view(ctx: &SessionContext, def: &QueryDef) -> Result<(), DataFusionError> {
    let plan = ctx.state().create_logical_plan(&def.sql).await?;
    let plan = if def.params.is_empty() {
        plan
    } else {
        ctx.register_udtf(
            def.name.as_str(),
            Arc::new(calls::ViewCall::new(def.clone(), plan.clone())),
        );
        let defaults: Vec<(String, ScalarValue)> = def
            .params
            .iter()
            .map(|p| (p.name.clone(), p.default.clone()))
            .collect();
        plan.with_param_values(defaults)?
    };
    ctx.deregister_table(def.name.as_str())?;
    ctx.register_table(
        def.name.as_str(),
        Arc::new(ViewTable::new(plan, Some(def.sql.clone()))),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_users_view_that_does_not_plan_is_left_out_and_the_rest_work() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, sql: &str| std::fs::write(dir.path().join(name), sql).unwrap();
        file("good.sql", "-- Runs.\nSELECT count(*) AS n FROM runs");
        file("bad.sql", "-- Broken.\nSELEC 1");
        file("on_bad.sql", "-- Reads the broken one.\nSELECT * FROM bad");
        let ctx = new_context();
        let tables = catalog::tables()
            .into_iter()
            .map(|t| (t.name.to_string(), empty_table(t).unwrap()))
            .collect();
        let session = Session::with_tables(ctx, tables, &[dir.path().to_path_buf()])
            .await
            .unwrap();
        let mut broken: Vec<String> = session
            .broken_views()
            .iter()
            .map(|e| match e {
                Error::BrokenView { name, .. } => name.clone(),
                other => panic!("{other}"),
            })
            .collect();
        broken.sort();
        assert_eq!(broken, ["bad", "on_bad"]);
        for view in ["good", "kpi_daily"] {
            session
                .query(view, &[])
                .await
                .unwrap()
                .collect()
                .await
                .unwrap();
        }
        let e = session.query("bad", &[]).await.unwrap_err();
        assert!(e.to_string().contains("SELEC") && e.is_user_error(), "{e}");
    }

    #[tokio::test]
    async fn a_table_never_written_types_its_strings_as_a_written_one_reads_them() {
        let session = empty_session().await;
        let df = session.context().table("aa_task_metadata").await.unwrap();
        let field = df
            .schema()
            .field_with_unqualified_name("task_name")
            .unwrap();
        assert_eq!(
            field.data_type(),
            &datafusion::arrow::datatypes::DataType::Utf8View
        );
    }

    async fn empty_session() -> Session {
        let ctx = new_context();
        let tables = catalog::tables()
            .into_iter()
            .map(|t| (t.name.to_string(), empty_table(t).unwrap()))
            .collect();
        Session::with_tables(ctx, tables, &[]).await.unwrap()
    }

    #[tokio::test]
    async fn every_builtin_view_plans_over_empty_tables() {
        let s = empty_session().await;
        for q in s.queries() {
            let rows = s
                .query(&q.name, &[])
                .await
                .unwrap()
                .collect()
                .await
                .unwrap();
            assert!(rows.iter().all(|b| b.num_rows() == 0), "{}", q.name);
        }
    }

    #[tokio::test]
    async fn parameters_are_typed_and_checked() {
        let s = empty_session().await;
        let ok = s
            .query("bot_ranking", &[("min_runs".into(), "3".into())])
            .await;
        assert!(ok.is_ok());
        let e = s
            .query("bot_ranking", &[("min_runs".into(), "three".into())])
            .await
            .err()
            .unwrap();
        assert!(matches!(e, Error::BadParam { .. }) && e.is_user_error());
        let e = s
            .query("bot_ranking", &[("nope".into(), "1".into())])
            .await
            .err()
            .unwrap();
        assert!(e.to_string().contains("it takes min_runs"), "{e}");
        let e = s.query("nope", &[]).await.err().unwrap();
        assert!(matches!(e, Error::UnknownQuery { .. }));
        assert!(!e.to_string().contains("did you mean"), "{e}");
        let e = s.query("ranking", &[]).await.err().unwrap();
        assert!(e.to_string().contains("(did you mean bot_ranking?)"), "{e}");
        // Held by several: no guess.
        let e = s.query("kpi_by", &[]).await.err().unwrap();
        assert!(!e.to_string().contains("did you mean"), "{e}");
        let e = s.query("kpi_daly", &[]).await.err().unwrap();
        assert!(
            e.to_string()
                .starts_with(r#"no view or query named "kpi_daly" (did you mean kpi_daily?);"#),
            "{e}"
        );
        let e = s.sql("SELEC 1").await.err().unwrap();
        assert!(e.is_user_error(), "{e:?}");
    }

    #[test]
    fn every_rollup_variant_replaces_a_builtin_view_and_reads_one_rollup() {
        for (name, sql) in BUILTIN_ROLLUP {
            assert!(BUILTIN.iter().any(|(n, _)| n == name), "{name}");
            let reads: Vec<_> = rollup::rollups()
                .into_iter()
                .filter(|r| sql.contains(&format!("FROM {}", r.view)))
                .collect();
            assert_eq!(reads.len(), 1, "{name}");
        }
    }

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_size("4G"), Ok(4 << 30));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("1.5k"), Ok(1536));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("4X").unwrap_err().contains("K, M, G or T"));
        assert!(parse_size("0").is_err() && parse_size("G").is_err());
    }

    #[tokio::test]
    async fn a_missing_lake_is_a_user_error() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::parse(dir.path().join("none").to_str().unwrap()).unwrap();
        let e = Session::open(&lake, &[]).await.err().unwrap();
        assert!(e.is_user_error());
        assert!(e.to_string().contains("botlake demo"), "{e}");
    }

    #[test]
    fn the_names_a_statement_reads_go_through_views() {
        let queries = QueryDef::builtin();
        let names = names_read(&queries, "SELECT * FROM kpi_daily").unwrap();
        for name in [
            "kpi_daily",
            "runs",
            "aa_bot_runs",
            "uipath_jobs",
            "uipath_job_events",
        ] {
            assert!(names.contains(name), "{name}: {names:?}");
        }
        assert!(!names.contains("aa_audit_events"), "{names:?}");
        let names = names_read(
            &queries,
            "WITH a AS (SELECT * FROM audit_daily) SELECT * FROM a; EXPLAIN SELECT * FROM aa_task_logs",
        )
        .unwrap();
        assert!(names.contains("aa_audit_events") && names.contains("aa_task_logs"));
        assert!(!names.contains("a"), "a CTE is not read: {names:?}");
        assert!(names_read(&queries, "SELEC 1").is_none());
    }

    #[tokio::test]
    async fn a_session_for_a_statement_opens_what_it_reads_and_refuses_to_scan_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::parse(dir.path().to_str().unwrap()).unwrap();
        let batch = rollup::tests::runs("2026-10-01", &[1, 2, 3]);
        lake.upsert(&catalog::AA_BOT_RUNS, vec![batch], None)
            .await
            .unwrap();
        let options = SessionOptions::default();
        let count = |session: Session, sql: &'static str| async move {
            let batches = session.sql(sql).await?.collect().await?;
            Ok::<_, Error>(
                datafusion::arrow::util::pretty::pretty_format_batches(&batches)
                    .unwrap()
                    .to_string(),
            )
        };
        let sql = "SELECT count(*) AS n FROM runs";
        let session = Session::open_for(&lake, &[], &options, sql).await.unwrap();
        assert!(count(session, sql).await.unwrap().contains("| 3 |"));
        // A table the statement does not read is not opened: scanning it is an error,
        // never an empty answer.
        let session = Session::open_for(&lake, &[], &options, sql).await.unwrap();
        let e = count(session, "SELECT count(*) FROM aa_audit_events")
            .await
            .unwrap_err();
        assert!(e.to_string().contains("was not opened"), "{e}");
        // Statements that read no table of the lake open none, once the lake is found.
        let session = Session::open_for(&lake, &[], &options, "SELECT 1")
            .await
            .unwrap();
        assert!(
            count(session, "SELECT 1 AS one")
                .await
                .unwrap()
                .contains("| 1   |")
        );
        let session = Session::open_for(&lake, &[], &options, "SELECT 1")
            .await
            .unwrap();
        let e = count(session, sql).await.unwrap_err();
        assert!(e.to_string().contains("was not opened"), "{e}");
        let elsewhere = tempfile::tempdir().unwrap();
        let nowhere = Lake::parse(elsewhere.path().to_str().unwrap()).unwrap();
        let e = Session::open_for(&nowhere, &[], &options, "SELECT 1")
            .await
            .err()
            .unwrap();
        assert!(matches!(e, Error::NoLake { .. }), "{e}");
    }
}
