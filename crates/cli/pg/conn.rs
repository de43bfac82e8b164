//! One connection's statements. The connection has a query session of its own, opened when
//! its first statement comes and opened again when the lake has changed since its last,
//! so that a statement reads the lake as it is when the statement starts. Every statement
//! is planned and run by the session (the policy: read-only on the lake, never the
//! machine's files), and ends with its rows, its statement timeout, or a cancel request.
//!
//! What a BI tool sends besides queries is answered here: `BEGIN`/`COMMIT` (there is
//! nothing to commit), the `SET`s of the client libraries, and `SHOW` of their settings.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use botlake_query::{Error, Planned, Session};

use super::compat::{with_backslash_escapes, with_first_rows_of_catalog_lookups, with_pg_catalog};
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::common::ParamValues;
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::{DdlStatement, LogicalPlan};
use datafusion::sql::parser::Statement;
use datafusion::sql::sqlparser::ast::{Expr, Set, Statement as Sql};
use datafusion_postgres::{arrow_pg, pgwire};
use futures::{Sink, SinkExt, Stream, StreamExt};
use pgwire::api::portal::{Format, Portal, PortalExecutionState};
use pgwire::api::query::{
    ExtendedQueryHandler, SimpleQueryHandler, send_execution_response, send_query_response,
};
use pgwire::api::results::{DataRowEncoder, FieldFormat, FieldInfo, QueryResponse, Response, Tag};
use pgwire::api::stmt::QueryParser;
use pgwire::api::store::{Entry, PortalStore};
use pgwire::api::{ClientInfo, ClientPortalStore, DEFAULT_NAME, PgWireConnectionState, Type};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::data::DataRow;
use pgwire::messages::extendedquery::Execute;
use pgwire::messages::response::EmptyQueryResponse;
use pgwire::messages::startup::ParameterStatus;
use pgwire::types::format::FormatOptions;
use tokio::sync::watch;

use super::Shared;

/// The settings client libraries set on connecting (JDBC, psycopg, Npgsql, Grafana): taken
/// and kept for `SHOW`, without effect on botlake's answers.
const CLIENT_SETTINGS: &[&str] = &[
    "application_name",
    "bytea_output",
    "client_encoding",
    "client_min_messages",
    "datestyle",
    "extra_float_digits",
    "intervalstyle",
    "search_path",
    "standard_conforming_strings",
    "lc_monetary",
    "lc_numeric",
    "lc_time",
    "default_transaction_isolation",
    "idle_in_transaction_session_timeout",
    "lock_timeout",
    "jit",
];

/// One connection: its session, its settings, what it is doing.
pub struct Conn {
    /// Itself, for the parser of its prepared statements.
    me: std::sync::Weak<Conn>,
    shared: Arc<Shared>,
    /// Its own session, once it has defined something.
    session: tokio::sync::Mutex<Option<Current>>,
    canceller: Arc<watch::Sender<u64>>,
    /// The statement timeout the client asked for (`SET statement_timeout`).
    client_timeout: Mutex<Option<Duration>>,
    /// The client's settings ([`CLIENT_SETTINGS`]), for `SHOW`.
    settings: Mutex<Vec<(String, String)>>,
    /// When the last statement came, and how many are still sending rows.
    last_active: Mutex<Instant>,
    running: Arc<AtomicUsize>,
}

/// A session, and the number it was opened under (no two sessions of a server share one):
/// a statement prepared in one session is planned again in another.
pub struct Current {
    session: Arc<Session>,
    id: u64,
}

/// How a server opens sessions. Opening one reads every table's log, and the Delta kernel
/// blocks a runtime thread for each read: 64 clients opening sessions at once took all 512
/// of the runtime's blocking threads, and the reads they waited for had none left. So
/// connections share one session while they only read, and at most [`OPENING`] sessions
/// are opened at once.
pub struct Sessions {
    shared: tokio::sync::Mutex<Option<Current>>,
    opening: tokio::sync::Semaphore,
    opened: std::sync::atomic::AtomicU64,
}

/// Sessions opened (or opened again) at once.
const OPENING: usize = 2;

impl Default for Sessions {
    fn default() -> Sessions {
        Sessions {
            shared: tokio::sync::Mutex::new(None),
            opening: tokio::sync::Semaphore::new(OPENING),
            opened: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

impl Sessions {
    /// `current` as the lake is now: opened if `None`, opened again if the lake changed.
    async fn refresh(&self, shared: &Shared, current: &mut Option<Current>) -> PgWireResult<()> {
        let reopened = match current {
            None => None,
            Some(open) => {
                let _permit = self.opening.acquire().await.map_err(closed)?;
                match open
                    .session
                    .reopen_if_changed(&shared.lake)
                    .await
                    .map_err(pg_error)?
                {
                    Some(reopened) => Some(reopened.session),
                    None => return Ok(()),
                }
            }
        };
        let session = match reopened {
            Some(session) => session,
            None => {
                let _permit = self.opening.acquire().await.map_err(closed)?;
                Session::open_with(&shared.lake, &shared.query_dirs, &shared.session_options)
                    .await
                    .map_err(pg_error)?
            }
        };
        with_pg_catalog(&session)?;
        *current = Some(Current {
            session: Arc::new(session),
            id: self.opened.fetch_add(1, Ordering::Relaxed),
        });
        Ok(())
    }
}

fn closed(_: tokio::sync::AcquireError) -> PgWireError {
    user_error("57P01", "the server is shutting down".into())
}

impl Conn {
    pub fn new(shared: Arc<Shared>) -> Arc<Conn> {
        Arc::new_cyclic(|me| Conn {
            me: me.clone(),
            shared,
            session: tokio::sync::Mutex::new(None),
            canceller: Arc::new(watch::channel(0).0),
            client_timeout: Mutex::new(None),
            settings: Mutex::new(Vec::new()),
            last_active: Mutex::new(Instant::now()),
            running: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// What a cancel request for this connection fires.
    pub fn canceller(&self) -> Arc<watch::Sender<u64>> {
        Arc::clone(&self.canceller)
    }

    /// Completes once the connection has been idle (no statement, none sending rows) for
    /// the server's idle timeout.
    pub async fn idle(&self) {
        let limit = self.shared.idle_timeout;
        let every = (limit / 4).clamp(Duration::from_millis(100), Duration::from_secs(30));
        loop {
            tokio::time::sleep(every).await;
            let since = lock(&self.last_active).elapsed();
            if self.running.load(Ordering::Acquire) == 0 && since >= limit {
                return;
            }
        }
    }

    fn touch(&self) {
        *lock(&self.last_active) = Instant::now();
    }

    /// The session `statement` runs in, opened again first if the lake changed since the
    /// last statement: the connection's own once it has defined something (a view, a
    /// table, a setting), else the one its server's connections share.
    async fn session(&self, statement: Option<&Statement>) -> PgWireResult<(Arc<Session>, u64)> {
        let sessions = &self.shared.sessions;
        let mut own = self.session.lock().await;
        let mut shared;
        let current = if own.is_some() || statement.is_some_and(defines) {
            &mut *own
        } else {
            shared = sessions.shared.lock().await;
            &mut *shared
        };
        sessions.refresh(&self.shared, current).await?;
        let current = current.as_ref().expect("refreshed");
        Ok((Arc::clone(&current.session), current.id))
    }

    /// The statements of `sql`: in PostgreSQL's dialect, as BI tools write it (rewritten
    /// where DataFusion plans it otherwise), else in DataFusion's (`EXPLAIN ANALYZE`,
    /// `SHOW ALL`).
    fn parse(&self, sql: &str) -> PgWireResult<Vec<Statement>> {
        match self.shared.parser.parse(sql) {
            Ok(statements) => Ok(statements
                .into_iter()
                .map(|mut s| {
                    with_backslash_escapes(&mut s);
                    with_first_rows_of_catalog_lookups(&mut s);
                    Statement::Statement(Box::new(s))
                })
                .collect()),
            Err(pg) => Session::parse(sql).map_err(|df| {
                tracing::debug!("{sql:?} parses neither as PostgreSQL ({pg}) nor as DataFusion");
                pg_error(df)
            }),
        }
    }

    /// How the statement that starts now ends early: at the statement timeout (the
    /// server's, or the client's if shorter), or on a cancel request.
    fn stop(&self) -> Stop {
        let client = *lock(&self.client_timeout);
        let timeout = match (self.shared.statement_timeout, client) {
            (Some(server), Some(client)) => Some(server.min(client)),
            (server, client) => server.or(client),
        };
        let mut cancel = self.canceller.subscribe();
        cancel.borrow_and_update();
        Stop {
            deadline: timeout.map(|t| tokio::time::Instant::now() + t),
            cancel,
        }
    }

    /// Answers `statement` (with `params` bound, for a prepared one), its rows in `format`.
    async fn respond<C>(
        &self,
        client: &mut C,
        statement: &Statement,
        prepared: Option<(&Planned, u64)>,
        params: Option<&Portal<Prepared>>,
        format: &Format,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        self.touch();
        match Kind::of(statement) {
            Kind::Begin => return Ok(Response::TransactionStart(Tag::new("BEGIN"))),
            Kind::Commit => return Ok(Response::TransactionEnd(Tag::new("COMMIT"))),
            Kind::Rollback => return Ok(Response::TransactionEnd(Tag::new("ROLLBACK"))),
            Kind::Done(tag) => return Ok(Response::Execution(Tag::new(tag))),
            Kind::Show(name) => return self.show(&name).await,
            Kind::Set(set) => return self.set(client, set).await,
            Kind::Query => {}
        }
        let (session, generation) = self.session(Some(statement)).await?;
        let mut stop = self.stop();
        let options = Arc::new(FormatOptions::from_client_metadata(client.metadata()));
        let started = async {
            let planned = match prepared {
                Some((planned, planned_in)) if planned_in == generation => planned.clone(),
                _ => session.plan(statement.clone()).await.map_err(pg_error)?,
            };
            let planned = match params {
                // Parameters the plan does not hold, a view's table function's arguments
                // (`failure_spikes($1, $2)`): their values go into the statement itself.
                Some(portal)
                    if portal.parameter_len() > parameter_types(planned.logical_plan())?.len() =>
                {
                    let statement = with_values(statement, portal)?;
                    session.plan(statement).await.map_err(pg_error)?
                }
                Some(portal) => bind(planned, portal)?,
                None => planned,
            };
            let tag = tag_of(planned.logical_plan());
            let df = session.execute(planned).await.map_err(pg_error)?;
            if let Some(tag) = tag {
                df.collect().await.map_err(|e| pg_error(e.into()))?;
                return Ok(Started::Done(tag));
            }
            let fields = arrow_pg::datatypes::arrow_schema_to_pg_fields(
                df.schema().as_arrow(),
                format,
                Some(options),
            )?;
            let batches = df.execute_stream().await.map_err(|e| pg_error(e.into()))?;
            Ok::<_, PgWireError>(Started::Rows(Arc::new(fields), batches))
        };
        let started = tokio::select! {
            started = started => started?,
            stopped = stop.fired() => return Err(stopped),
        };
        match started {
            Started::Done(tag) => Ok(Response::Execution(Tag::new(tag))),
            Started::Rows(fields, batches) => {
                let rows = rows(
                    Arc::clone(&fields),
                    batches,
                    stop,
                    Running::new(&self.running),
                );
                Ok(Response::Query(QueryResponse::new(fields, rows)))
            }
        }
    }

    /// `SHOW name`: a client setting, the time zone, or DataFusion's settings.
    async fn show(&self, name: &str) -> PgWireResult<Response> {
        let fixed = match name {
            "transaction_read_only" | "default_transaction_read_only" => Some("on".to_string()),
            "transaction isolation level" | "transaction_isolation" => {
                Some("read committed".to_string())
            }
            "server_version" => Some("16.6".to_string()),
            "server_encoding" | "client_encoding" => Some("UTF8".to_string()),
            "standard_conforming_strings" => Some("on".to_string()),
            "max_identifier_length" => Some("63".to_string()),
            "statement_timeout" => Some(
                lock(&self.client_timeout)
                    .or(self.shared.statement_timeout)
                    .map_or("0".to_string(), |t| format!("{}ms", t.as_millis())),
            ),
            "timezone" | "time zone" => {
                let (session, _) = self.session(None).await?;
                let zone = session
                    .context()
                    .state()
                    .config()
                    .options()
                    .execution
                    .time_zone
                    .clone();
                Some(zone.unwrap_or_else(|| "UTC".to_string()))
            }
            _ => lock(&self.settings)
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone()),
        };
        let value = match fixed {
            Some(value) => value,
            None if name.starts_with("datafusion.") || name == "all" => {
                return Err(pg_error(Error::Syntax {
                    source: DataFusionError::Plan(format!(
                        "SHOW {name}: ask information_schema.df_settings"
                    )),
                }));
            }
            None if CLIENT_SETTINGS.contains(&name) => String::new(),
            None => {
                return Err(user_error(
                    "42704",
                    format!("unrecognized configuration parameter \"{name}\""),
                ));
            }
        };
        let fields = Arc::new(vec![FieldInfo::new(
            name.to_string(),
            None,
            None,
            Type::TEXT,
            FieldFormat::Text,
        )]);
        let mut row = DataRowEncoder::new(Arc::clone(&fields));
        row.encode_field(&Some(value))?;
        let row = row.take_row();
        Ok(Response::Query(QueryResponse::new(
            fields,
            futures::stream::iter([Ok(row)]),
        )))
    }

    /// A `SET`: the statement timeout and the time zone take effect, the clients' settings
    /// are kept for `SHOW`, DataFusion's go to the session; others are accepted and have
    /// no effect, as BI tools set what botlake has no use for.
    async fn set<C>(&self, client: &mut C, set: SetKind) -> PgWireResult<Response>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match set {
            SetKind::Timeout(value) => {
                let timeout = parse_timeout(&value).ok_or_else(|| {
                    user_error(
                        "22023",
                        format!(
                            "invalid value for parameter \"statement_timeout\": \"{value}\" (milliseconds, or a number with ms, s or min)"
                        ),
                    )
                })?;
                *lock(&self.client_timeout) = timeout;
            }
            SetKind::Session(statement) => {
                let zone = match statement.as_ref() {
                    Statement::Statement(sql) => match sql.as_ref() {
                        Sql::Set(Set::SetTimeZone { value, .. }) => Some(unquote(value)),
                        Sql::Set(Set::SingleAssignment {
                            variable, values, ..
                        }) if variable.to_string().eq_ignore_ascii_case("timezone") => {
                            values.first().map(unquote)
                        }
                        _ => None,
                    },
                    _ => None,
                };
                let (session, _) = self.session(Some(&statement)).await?;
                session
                    .run(*statement)
                    .await
                    .map_err(pg_error)?
                    .collect()
                    .await
                    .map_err(|e| pg_error(e.into()))?;
                if let Some(zone) = zone {
                    client
                        .send(PgWireBackendMessage::ParameterStatus(ParameterStatus::new(
                            "TimeZone".into(),
                            zone,
                        )))
                        .await?;
                }
            }
            SetKind::Client(name, value) => {
                let mut settings = lock(&self.settings);
                settings.retain(|(n, _)| *n != name);
                settings.push((name, value));
            }
            SetKind::Ignored => {}
        }
        Ok(Response::Execution(Tag::new("SET")))
    }
}

#[async_trait]
impl SimpleQueryHandler for Conn {
    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: std::fmt::Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let statements = self.parse(query)?;
        let mut responses = Vec::with_capacity(statements.len());
        for statement in &statements {
            match self
                .respond(client, statement, None, None, &Format::UnifiedText)
                .await
            {
                Ok(response) => responses.push(response),
                // As PostgreSQL does: the statements before it have been answered, the
                // ones after it are not run.
                Err(e) if responses.is_empty() => return Err(e),
                Err(e) => {
                    responses.push(Response::Error(Box::new(e.into())));
                    break;
                }
            }
        }
        Ok(responses)
    }
}

/// A statement of the extended protocol (`Parse`), planned when it was parsed.
#[derive(Clone)]
pub struct Prepared {
    statement: Statement,
    /// The plan and the session generation it was made in: an `Execute` in a session
    /// opened again since plans anew.
    planned: Option<(Planned, u64)>,
}

/// The parser of a connection's extended-protocol statements.
pub struct Parser(Arc<Conn>);

#[async_trait]
impl QueryParser for Parser {
    type Statement = Prepared;

    async fn parse_sql<C>(
        &self,
        _client: &C,
        sql: &str,
        _types: &[Option<Type>],
    ) -> PgWireResult<Option<Prepared>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let conn = &self.0;
        conn.touch();
        let mut statements = conn.parse(sql)?;
        if statements.len() > 1 {
            return Err(user_error(
                "42601",
                "cannot insert multiple commands into a prepared statement".into(),
            ));
        }
        let Some(statement) = statements.pop() else {
            return Ok(None);
        };
        let planned = match Kind::of(&statement) {
            Kind::Query => {
                let (session, generation) = conn.session(Some(&statement)).await?;
                let planned = session.plan(statement.clone()).await.map_err(pg_error)?;
                Some((planned, generation))
            }
            _ => None,
        };
        Ok(Some(Prepared { statement, planned }))
    }

    fn get_parameter_types(&self, prepared: &Prepared) -> PgWireResult<Vec<Type>> {
        let Some((planned, _)) = &prepared.planned else {
            return Ok(Vec::new());
        };
        parameter_types(planned.logical_plan())?
            .iter()
            .map(|t| match t {
                Some(t) => arrow_pg::datatypes::into_pg_type(t),
                None => Ok(Type::UNKNOWN),
            })
            .collect()
    }

    fn get_result_schema(
        &self,
        prepared: &Prepared,
        format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        let format = format.unwrap_or(&Format::UnifiedText);
        match (&prepared.planned, Kind::of(&prepared.statement)) {
            (Some((planned, _)), _) if tag_of(planned.logical_plan()).is_none() => {
                let schema: &Schema = planned.logical_plan().schema().as_arrow();
                arrow_pg::datatypes::arrow_schema_to_pg_fields(schema, format, None)
            }
            (_, Kind::Show(name)) => Ok(vec![FieldInfo::new(
                name,
                None,
                None,
                Type::TEXT,
                format.format_for(0),
            )]),
            _ => Ok(Vec::new()),
        }
    }
}

#[async_trait]
impl ExtendedQueryHandler for Conn {
    type Statement = Prepared;
    type QueryParser = Parser;

    fn query_parser(&self) -> Arc<Parser> {
        Arc::new(Parser(
            self.me
                .upgrade()
                .expect("a connection's handlers live while it is served"),
        ))
    }

    /// An `Execute` without a row limit of a portal not yet started streams its rows:
    /// pgwire gathers every row of such an `Execute` before it sends one, so that a large
    /// result would sit in memory, outside the memory limit. An `Execute` with a limit
    /// (JDBC's fetch size) is pgwire's, which holds at most that many rows.
    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: std::fmt::Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        let portal = match client.portal_store().get_portal(name) {
            Some(Entry::Value(portal)) if message.max_rows == 0 => portal,
            _ => return self._on_execute(client, message).await,
        };
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery)
            || !matches!(*portal.state().lock().await, PortalExecutionState::Initial)
        {
            return self._on_execute(client, message).await;
        }
        client.set_state(PgWireConnectionState::QueryInProgress);
        let mut status = client.transaction_status();
        match ExtendedQueryHandler::do_query(self, client, &portal, 0).await? {
            Response::Query(results) => {
                *portal.state().lock().await = PortalExecutionState::Finished;
                send_query_response(client, results, false).await?;
            }
            Response::EmptyQuery => {
                client
                    .feed(PgWireBackendMessage::EmptyQueryResponse(
                        EmptyQueryResponse::new(),
                    ))
                    .await?;
            }
            Response::Execution(tag) => send_execution_response(client, tag).await?,
            Response::TransactionStart(tag) => {
                send_execution_response(client, tag).await?;
                status = status.to_in_transaction_state();
            }
            Response::TransactionEnd(tag) => {
                send_execution_response(client, tag).await?;
                status = status.to_idle_state();
                client.portal_store().rm_portal(DEFAULT_NAME);
            }
            Response::Error(e) => {
                client
                    .send(PgWireBackendMessage::ErrorResponse((*e).into()))
                    .await?;
                status = status.to_error_state();
            }
            Response::CopyIn(_) | Response::CopyOut(_) | Response::CopyBoth(_) => {
                return Err(user_error("0A000", "COPY is not supported".into()));
            }
        }
        client.set_state(PgWireConnectionState::ReadyForQuery);
        client.set_transaction_status(status);
        Ok(())
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Prepared>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: std::fmt::Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let prepared = &portal.statement.statement;
        let planned = prepared.planned.as_ref().map(|(p, g)| (p, *g));
        self.respond(
            client,
            &prepared.statement,
            planned,
            Some(portal),
            &portal.result_column_format,
        )
        .await
    }
}

/// What a statement is, for the protocol.
enum Kind {
    Begin,
    Commit,
    Rollback,
    /// A statement with nothing to do, and its tag.
    Done(&'static str),
    Show(String),
    Set(SetKind),
    /// Everything the session plans.
    Query,
}

/// What a `SET` does.
enum SetKind {
    Timeout(String),
    /// A setting of the session (the time zone, DataFusion's).
    Session(Box<Statement>),
    Client(String, String),
    Ignored,
}

impl Kind {
    fn of(statement: &Statement) -> Kind {
        let Statement::Statement(sql) = statement else {
            return Kind::Query;
        };
        match sql.as_ref() {
            Sql::StartTransaction { .. } => Kind::Begin,
            Sql::Commit { .. } => Kind::Commit,
            // Nothing is written, so there is nothing to keep or undo: a savepoint is a name.
            Sql::Rollback {
                savepoint: Some(_), ..
            } => Kind::Done("ROLLBACK"),
            Sql::Rollback { .. } => Kind::Rollback,
            Sql::Savepoint { .. } => Kind::Done("SAVEPOINT"),
            Sql::ReleaseSavepoint { .. } => Kind::Done("RELEASE"),
            Sql::ShowVariable { variable } => Kind::Show(
                variable
                    .iter()
                    .map(|i| i.value.to_lowercase())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            Sql::Set(Set::SetTimeZone { .. }) => {
                Kind::Set(SetKind::Session(Box::new(statement.clone())))
            }
            Sql::Set(Set::SingleAssignment {
                variable, values, ..
            }) => {
                let name = variable.to_string().to_lowercase();
                let value = values.first().map(unquote).unwrap_or_default();
                if name == "statement_timeout" {
                    Kind::Set(SetKind::Timeout(value))
                } else if name == "timezone" || name.starts_with("datafusion.") {
                    Kind::Set(SetKind::Session(Box::new(statement.clone())))
                } else if CLIENT_SETTINGS.contains(&name.as_str()) {
                    Kind::Set(SetKind::Client(name, value))
                } else {
                    Kind::Set(SetKind::Ignored)
                }
            }
            Sql::Set(_) => Kind::Set(SetKind::Ignored),
            _ => Kind::Query,
        }
    }
}

/// Whether `statement` may define something in its session (anything but a query): it
/// runs in a session of its connection's own.
fn defines(statement: &Statement) -> bool {
    match statement {
        Statement::Statement(sql) => !matches!(
            sql.as_ref(),
            Sql::Query(_) | Sql::Explain { .. } | Sql::ExplainTable { .. } | Sql::ShowTables { .. }
        ),
        Statement::Explain(_) => false,
        _ => true,
    }
}

/// A value of a `SET`, without its quotes.
fn unquote(value: &Expr) -> String {
    match value {
        Expr::Value(v) => v
            .value
            .clone()
            .into_string()
            .unwrap_or_else(|| v.to_string()),
        Expr::Identifier(ident) => ident.value.clone(),
        other => other.to_string(),
    }
}

/// `statement_timeout`'s value: milliseconds, or a number with `ms`, `s`, `min` or `h`;
/// `Some(None)` for 0 (no timeout of the client's own).
fn parse_timeout(value: &str) -> Option<Option<Duration>> {
    let value = value.trim();
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: u64 = number.parse().ok()?;
    let millis = match unit.trim() {
        "" | "ms" => number,
        "s" => number.checked_mul(1000)?,
        "min" => number.checked_mul(60_000)?,
        "h" => number.checked_mul(3_600_000)?,
        _ => return None,
    };
    Some((millis > 0).then(|| Duration::from_millis(millis)))
}

/// The command tag of a plan that has no rows to send (a view made, a setting set).
fn tag_of(plan: &LogicalPlan) -> Option<&'static str> {
    match plan {
        LogicalPlan::Ddl(ddl) => Some(match ddl {
            DdlStatement::CreateView(_) => "CREATE VIEW",
            DdlStatement::DropView(_) => "DROP VIEW",
            DdlStatement::DropTable(_) => "DROP TABLE",
            DdlStatement::CreateMemoryTable(_) => "CREATE TABLE",
            _ => "OK",
        }),
        LogicalPlan::Statement(_) => Some("SET"),
        _ => None,
    }
}

/// A plan's parameters' types, `$1` first; `None` where the plan does not tell.
fn parameter_types(plan: &LogicalPlan) -> PgWireResult<Vec<Option<DataType>>> {
    let types = plan
        .get_parameter_types()
        .map_err(|e| pg_error(Error::DataFusion(e)))?;
    let mut numbered: Vec<(usize, Option<DataType>)> = types
        .into_iter()
        .filter_map(|(name, t)| Some((name.strip_prefix('$')?.parse().ok()?, t)))
        .collect();
    numbered.sort_by_key(|(n, _)| *n);
    let count = numbered.last().map_or(0, |(n, _)| *n);
    let mut ordered = vec![None; count];
    for (n, t) in numbered {
        if let Some(slot) = n.checked_sub(1).and_then(|i| ordered.get_mut(i)) {
            *slot = t;
        }
    }
    Ok(ordered)
}

/// `planned` with the parameters of `portal`, each cast to the type the plan expects (a
/// client binds a timestamp to a `day` column, say).
fn bind(planned: Planned, portal: &Portal<Prepared>) -> PgWireResult<Planned> {
    let types = parameter_types(planned.logical_plan())?;
    if types.is_empty() && portal.parameters.is_empty() {
        return Ok(planned);
    }
    let pg_types: Vec<Type> = types
        .iter()
        .map(|t| match t {
            Some(t) => arrow_pg::datatypes::into_pg_type(t).unwrap_or(Type::UNKNOWN),
            None => Type::UNKNOWN,
        })
        .collect();
    // A parameter the client typed is decoded as its type, then cast below: the decoder's
    // own coercions refuse, say, a timestamp for a date.
    let hinted = |i: usize| matches!(portal.statement.parameter_types.get(i), Some(Some(_)));
    let inferred: Vec<Option<&DataType>> = types
        .iter()
        .enumerate()
        .map(|(i, t)| t.as_ref().filter(|_| !hinted(i)))
        .collect();
    let server: Vec<Option<&Type>> = pg_types.iter().map(Some).collect();
    let values = arrow_pg::datatypes::df::deserialize_parameters_with_server_types(
        portal, &inferred, &server,
    )?;
    let values = match values {
        ParamValues::List(list) => ParamValues::List(
            list.into_iter()
                .zip(types.iter().map(Some).chain(std::iter::repeat(None)))
                .map(|(mut value, wanted)| {
                    if let Some(Some(wanted)) = wanted
                        && value.value.data_type() != *wanted
                        && !value.value.is_null()
                    {
                        value.value = value.value.cast_to(wanted).map_err(|e| {
                            user_error(
                                "22P02",
                                format!("a parameter does not convert to {wanted}: {e}"),
                            )
                        })?;
                    }
                    Ok(value)
                })
                .collect::<PgWireResult<_>>()?,
        ),
        named => named,
    };
    planned.bind(&values).map_err(pg_error)
}

/// `statement` with each `$n` replaced by the `n`th parameter of `portal` as a literal, of
/// the type the client sent it as (text where it did not say).
fn with_values(statement: &Statement, portal: &Portal<Prepared>) -> PgWireResult<Statement> {
    use datafusion::sql::sqlparser::ast::{Value, visit_expressions_mut};
    use datafusion::sql::unparser::Unparser;
    let Statement::Statement(sql) = statement else {
        return Ok(statement.clone());
    };
    let values = match arrow_pg::datatypes::df::deserialize_parameters_with_server_types(
        portal,
        &[],
        &[],
    )? {
        ParamValues::List(values) => values,
        ParamValues::Map(_) => Vec::new(),
    };
    let unparser = Unparser::default();
    let literals = values
        .into_iter()
        .map(|v| {
            unparser
                .expr_to_sql(&datafusion::logical_expr::lit(v.value))
                .map_err(|e| pg_error(Error::DataFusion(e)))
        })
        .collect::<PgWireResult<Vec<_>>>()?;
    let mut sql = sql.as_ref().clone();
    let _ = visit_expressions_mut(&mut sql, |expr| {
        if let Expr::Value(value) = expr
            && let Value::Placeholder(name) = &value.value
            && let Some(literal) = name
                .strip_prefix('$')
                .and_then(|n| n.parse::<usize>().ok())
                .and_then(|n| n.checked_sub(1))
                .and_then(|i| literals.get(i))
        {
            *expr = literal.clone();
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    Ok(Statement::Statement(Box::new(sql)))
}

/// How a statement started: done, or with rows to send.
enum Started {
    Done(&'static str),
    Rows(Arc<Vec<FieldInfo>>, SendableRecordBatchStream),
}

/// When a statement must end early.
struct Stop {
    deadline: Option<tokio::time::Instant>,
    cancel: watch::Receiver<u64>,
}

impl Stop {
    /// Completes with the error to send when the statement times out or is cancelled.
    async fn fired(&mut self) -> PgWireError {
        let deadline = async {
            match self.deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let cancel = &mut self.cancel;
        tokio::select! {
            () = deadline => user_error("57014", "canceling statement due to statement timeout".into()),
            changed = cancel.changed() => match changed {
                Ok(()) => user_error("57014", "canceling statement due to user request".into()),
                Err(_) => std::future::pending().await,
            },
        }
    }
}

/// Counts a statement as sending rows while it lives.
struct Running(Arc<AtomicUsize>);

impl Running {
    fn new(count: &Arc<AtomicUsize>) -> Running {
        count.fetch_add(1, Ordering::AcqRel);
        Running(Arc::clone(count))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The rows of `batches`, encoded as `fields` say, until they end, fail (the error is the
/// last item) or `stop` fires. Dropping the stream (the client went away) stops the query.
fn rows(
    fields: Arc<Vec<FieldInfo>>,
    batches: SendableRecordBatchStream,
    stop: Stop,
    running: Running,
) -> impl Stream<Item = PgWireResult<DataRow>> + Send + 'static {
    let rows = batches
        .map(
            move |batch| -> Box<dyn Iterator<Item = PgWireResult<DataRow>> + Send> {
                match batch {
                    Ok(batch) => {
                        arrow_pg::datatypes::encode_recordbatch(Arc::clone(&fields), batch)
                    }
                    Err(e) => Box::new(std::iter::once(Err(pg_error(e.into())))),
                }
            },
        )
        .flat_map(futures::stream::iter);
    let state = (Box::pin(rows), stop, running, false);
    futures::stream::unfold(state, |(mut rows, mut stop, running, done)| async move {
        if done {
            return None;
        }
        let item = tokio::select! {
            biased;
            stopped = stop.fired() => Err(stopped),
            row = rows.next() => row?,
        };
        let done = item.is_err();
        Some((item, (rows, stop, running, done)))
    })
}

/// A query crate error as the PostgreSQL error a client shows, with its SQLSTATE.
pub fn pg_error(e: Error) -> PgWireError {
    let code = match &e {
        Error::Syntax { .. } | Error::NotOneStatement { .. } => "42601",
        Error::UnknownName { what: "column", .. } => "42703",
        Error::UnknownName { .. } => "42P01",
        Error::ChangesTheLake { .. } => "25006",
        Error::NamesFiles { .. } => "42501",
        Error::TimeZone { .. } => "22023",
        Error::DataFusion(e) => datafusion_code(e),
        e if e.is_user_error() => "42000",
        _ => "XX000",
    };
    let message = match &e {
        // DataFusion wraps the parser's message twice over.
        Error::Syntax { source } => match source.find_root() {
            DataFusionError::SQL(parser, _) => format!("bad SQL: {parser}"),
            root => format!("bad SQL: {root}"),
        },
        e => {
            let mut message = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                let text = cause.to_string();
                if !message.contains(&text) {
                    message = format!("{message}: {text}");
                }
                source = cause.source();
            }
            message
        }
    };
    user_error(code, message)
}

/// The SQLSTATE of a DataFusion error.
fn datafusion_code(e: &DataFusionError) -> &'static str {
    match e.find_root() {
        DataFusionError::SQL(..) => "42601",
        DataFusionError::ResourcesExhausted(_) => "53200",
        DataFusionError::NotImplemented(_) => "0A000",
        DataFusionError::Plan(message) if message.contains("Invalid function") => "42883",
        DataFusionError::Plan(_) | DataFusionError::SchemaError(..) => "42000",
        DataFusionError::ArrowError(arrow, _) => match arrow.as_ref() {
            datafusion::arrow::error::ArrowError::DivideByZero => "22012",
            datafusion::arrow::error::ArrowError::CastError(_)
            | datafusion::arrow::error::ArrowError::ParseError(_) => "22P02",
            datafusion::arrow::error::ArrowError::ComputeError(_)
            | datafusion::arrow::error::ArrowError::ArithmeticOverflow(_) => "22003",
            _ => "XX000",
        },
        e if botlake_query::is_user_datafusion_error(e) => "42000",
        _ => "XX000",
    }
}

/// An `ERROR` with `code`, which ends the statement and not the connection.
fn user_error(code: &str, message: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".into(),
        code.into(),
        message,
    )))
}

/// A whole ErrorResponse message, as bytes on the wire.
pub fn error_response(severity: &str, code: &str, message: &str) -> Vec<u8> {
    let mut body = Vec::new();
    for (field, value) in [
        (b'S', severity),
        (b'V', severity),
        (b'C', code),
        (b'M', message),
    ] {
        body.push(field);
        body.extend_from_slice(value.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut message = vec![b'E'];
    let length = u32::try_from(body.len() + 4).expect("an error message is short");
    message.extend_from_slice(&length.to_be_bytes());
    message.extend_from_slice(&body);
    message
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_timeouts_read_as_postgresql_writes_them() {
        let ms = Duration::from_millis;
        assert_eq!(parse_timeout("1500"), Some(Some(ms(1500))));
        assert_eq!(parse_timeout("300ms"), Some(Some(ms(300))));
        assert_eq!(parse_timeout("2s"), Some(Some(ms(2000))));
        assert_eq!(parse_timeout("1min"), Some(Some(ms(60_000))));
        assert_eq!(parse_timeout("0"), Some(None));
        assert_eq!(parse_timeout("soon"), None);
        assert_eq!(parse_timeout("5 days"), None);
        assert_eq!(parse_timeout("99999999999999999999h"), None);
    }

    #[test]
    fn an_error_response_is_a_whole_message() {
        let message = error_response("FATAL", "53300", "full");
        assert_eq!(message[0], b'E');
        let length = u32::from_be_bytes(message[1..5].try_into().unwrap()) as usize;
        assert_eq!(length, message.len() - 1);
        assert!(message.ends_with(b"Mfull\0\0"));
    }
}
