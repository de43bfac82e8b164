//! The SQL policy every front end shares (the command line's `sql` and its prompt, and any
//! server that takes SQL): a front end runs statements through [`Session::run`], never
//! through the DataFusion context itself.
//!
//! - SQL reads the lake and never changes it. `INSERT`, `UPDATE`, `DELETE`, `DROP` and any
//!   `CREATE` of a lake table's, a rollup's or a view's name are refused: the first three
//!   cannot change a lake table, and the others would only hide it from the session. Tables
//!   and views made in a session are the session's own.
//! - A name that does not exist is an [`Error::UnknownName`] naming the closest one there is.
//! - A statement reads the lake as it is when it starts: [`Session::reopen_if_changed`]
//!   opens the lake again when commits landed since, keeping the tables, views and settings
//!   the session made.

use datafusion::common::{ParamValues, SchemaError};
use datafusion::datasource::TableType;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{DdlStatement, LogicalPlan, Statement as PlanStatement};
use datafusion::prelude::DataFrame;
use datafusion::sql::parser::{DFParser, Statement};

use botlake_lake::{Lake, catalog};

use crate::days::Zone;
use crate::{Error, Result, Session, closest};

/// A statement planned under the policy ([`Session::plan`]).
#[derive(Debug, Clone)]
pub struct Planned {
    /// The statement, as SQL, to make again in a session opened anew.
    text: String,
    plan: LogicalPlan,
}

impl Planned {
    /// Its plan: the types of its parameters, the columns of its rows.
    pub fn logical_plan(&self) -> &LogicalPlan {
        &self.plan
    }

    /// The statement with its parameters (`$1`, ...) given `values`.
    pub fn bind(self, values: &ParamValues) -> Result<Planned> {
        let plan = self.plan.replace_params_with_values(values)?;
        Ok(Planned { plan, ..self })
    }
}

/// A session opened again because the lake changed.
pub struct Reopened {
    /// The new session, reading the lake as it is now.
    pub session: Session,
    /// The tables that changed: each with the version read before and the latest (`None`:
    /// not there).
    pub changes: Vec<(&'static str, Option<u64>, Option<u64>)>,
    /// The definitions of the old session that could not be made again (their table was
    /// dropped, say), with why.
    pub lost: Vec<(String, Error)>,
}

impl Session {
    /// The statements of `text`, parsed, for [`Session::run`] one by one.
    pub fn parse(text: &str) -> Result<Vec<Statement>> {
        DFParser::parse_sql(text)
            .map(Vec::from)
            .map_err(|source| Error::Syntax { source })
    }

    /// Plans `statement` under the policy and runs it: its rows, to collect or stream (a
    /// statement that defines something, such as `CREATE VIEW` or `SET`, has none and has
    /// taken effect).
    pub async fn run(&self, statement: Statement) -> Result<DataFrame> {
        let planned = self.plan(statement).await?;
        self.execute(planned).await
    }

    /// Plans `statement` under the policy, to [`Session::execute`] later, once or more
    /// (a prepared statement: its `$1`, `$2` bound with [`Planned::bind`] each time).
    pub async fn plan(&self, statement: Statement) -> Result<Planned> {
        let statement = set_time_zone(statement)?;
        let text = statement.to_string();
        let plan = self
            .ctx
            .state()
            .statement_to_plan(statement)
            .await
            .map_err(|e| self.unknown_name(e))?;
        self.check(&plan)?;
        Ok(Planned { text, plan })
    }

    /// Runs a statement [`Session::plan`] planned in this session.
    pub async fn execute(&self, planned: Planned) -> Result<DataFrame> {
        let Planned { text, plan } = planned;
        let mut local_days = false;
        if let LogicalPlan::Statement(PlanStatement::SetVariable(set)) = &plan
            && set.variable == "datafusion.execution.time_zone"
        {
            let zone = Zone::parse(&set.value).map_err(|reason| Error::TimeZone { reason })?;
            local_days = !matches!(zone, Zone::Utc);
        }
        let defines = matches!(
            plan,
            LogicalPlan::Ddl(DdlStatement::CreateView(_) | DdlStatement::DropView(_))
                | LogicalPlan::Statement(
                    PlanStatement::SetVariable(_) | PlanStatement::ResetVariable(_)
                )
        );
        let df = self
            .ctx
            .execute_logical_plan(plan)
            .await
            .map_err(|e| self.unknown_name(e))?;
        if local_days {
            self.answer_from_raw_rows().await?;
        }
        if defines {
            self.definitions
                .lock()
                .expect("the definitions are never left half-written")
                .push(text);
        }
        Ok(df)
    }

    /// [`Session::run`] for text that holds one statement.
    pub async fn run_sql(&self, sql: &str) -> Result<DataFrame> {
        let statements = Session::parse(sql)?;
        let found = statements.len();
        let [statement] =
            <[Statement; 1]>::try_from(statements).map_err(|_| Error::NotOneStatement { found })?;
        self.run(statement).await
    }

    /// Whether `plan` keeps to the policy.
    fn check(&self, plan: &LogicalPlan) -> Result<()> {
        const DROP: &str = "DROP would only hide it from this session";
        const CREATE: &str = "CREATE would only hide it from this session";
        let (name, why) = match plan {
            LogicalPlan::Ddl(DdlStatement::DropTable(drop)) => (drop.name.table(), DROP),
            LogicalPlan::Ddl(DdlStatement::DropView(drop)) => (drop.name.table(), DROP),
            LogicalPlan::Ddl(DdlStatement::CreateView(create)) => (create.name.table(), CREATE),
            LogicalPlan::Ddl(DdlStatement::CreateMemoryTable(create)) => {
                (create.name.table(), CREATE)
            }
            LogicalPlan::Ddl(DdlStatement::CreateExternalTable(create)) => {
                (create.name.table(), CREATE)
            }
            LogicalPlan::Dml(dml) => (
                dml.table_name.table(),
                "its rows come from the sources alone",
            ),
            LogicalPlan::Copy(_) if !self.files => {
                return Err(Error::NamesFiles {
                    what: "COPY ... TO a file".into(),
                });
            }
            _ => return Ok(()),
        };
        if let LogicalPlan::Ddl(DdlStatement::CreateExternalTable(_)) = plan
            && !self.files
        {
            return Err(Error::NamesFiles {
                what: "CREATE EXTERNAL TABLE".into(),
            });
        }
        if self.is_of_the_lake(name) {
            return Err(Error::ChangesTheLake {
                name: name.to_string(),
                why,
            });
        }
        Ok(())
    }

    /// Whether `name` is a lake table, a rollup, or one of the views.
    fn is_of_the_lake(&self, name: &str) -> bool {
        catalog::tables()
            .iter()
            .chain(catalog::rollups().iter())
            .any(|t| t.name == name)
            || self.queries.iter().any(|q| q.name == name)
    }

    /// `e`, as an [`Error::UnknownName`] with the closest name when it says a table or a
    /// column does not exist.
    pub(crate) fn unknown_name(&self, e: DataFusionError) -> Error {
        if let Some((field, valid)) = field_not_found(&e) {
            let names: Vec<&str> = valid
                .iter()
                .map(|f| f.rsplit('.').next().unwrap_or(f))
                .collect();
            let closest = closest(&field, names.iter().copied()).map(str::to_string);
            return Error::UnknownName {
                what: "column",
                name: field,
                closest,
                error: e,
            };
        }
        let message = e.to_string();
        let missing = message
            .split_once("table '")
            .and_then(|(_, rest)| rest.split_once("' not found"))
            .map(|(name, _)| name.rsplit('.').next().unwrap_or(name).to_string());
        match missing {
            Some(name) => Error::UnknownName {
                what: "table",
                closest: self.closest_table(&name),
                name,
                error: e,
            },
            None => Error::DataFusion(e),
        }
    }

    /// The session opened again if the lake has changed since it was (an ingest or `listen`
    /// committed meanwhile): the tables this one made carried over, the views and settings
    /// it defined made again, over the new data; `None` when nothing changed, or the session
    /// was not opened over a lake.
    pub async fn reopen_if_changed(&self, lake: &Lake) -> Result<Option<Reopened>> {
        let changes = self.changes(lake).await?;
        let Some((dirs, options)) = self.opened.as_ref().filter(|_| !changes.is_empty()) else {
            return Ok(None);
        };
        let session = Session::open_with(lake, dirs, options).await?;
        let lost = self.carry_over(&session).await?;
        Ok(Some(Reopened {
            session,
            changes,
            lost,
        }))
    }

    /// Into `to`: the tables made in this session (CREATE TABLE, CREATE EXTERNAL TABLE), as
    /// they are; then its definitions (views and settings), in their order. Returns those
    /// that could not be made again, and why.
    async fn carry_over(&self, to: &Session) -> Result<Vec<(String, Error)>> {
        let (old, new) = (&self.ctx, &to.ctx);
        let options = old.state().config().options().catalog.clone();
        let schema = old
            .catalog(&options.default_catalog)
            .and_then(|c| c.schema(&options.default_schema));
        for name in schema.map(|s| s.table_names()).unwrap_or_default() {
            if self.is_of_the_lake(&name) || new.table_exist(name.as_str())? {
                continue;
            }
            if let Some(provider) = old.table_provider(name.as_str()).await.ok()
                && provider.table_type() == TableType::Base
            {
                new.register_table(name.as_str(), provider)?;
            }
        }
        let definitions = self
            .definitions
            .lock()
            .expect("the definitions are never left half-written")
            .clone();
        let mut lost = Vec::new();
        for definition in definitions {
            let made: Result<()> = async {
                for statement in Session::parse(&definition)? {
                    to.run(statement).await?.collect().await?;
                }
                Ok(())
            }
            .await;
            if let Err(e) = made {
                lost.push((definition, e));
            }
        }
        Ok(lost)
    }
}

/// `statement`, with PostgreSQL's `SET TIME ZONE 'zone'` (which DataFusion does not plan)
/// as the `SET timezone = 'zone'` it means.
fn set_time_zone(statement: Statement) -> Result<Statement> {
    use datafusion::sql::sqlparser::ast::{Expr, Set, Statement as Sql, Value};
    let Statement::Statement(sql) = &statement else {
        return Ok(statement);
    };
    let Sql::Set(Set::SetTimeZone { value, .. }) = sql.as_ref() else {
        return Ok(statement);
    };
    let zone = match value {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => s.clone(),
            other => other.to_string(),
        },
        Expr::Identifier(ident) => ident.value.clone(),
        other => other.to_string(),
    };
    let set = format!("SET timezone = '{}'", zone.replace('\'', "''"));
    let mut parsed = Session::parse(&set)?;
    Ok(parsed.remove(0))
}

/// The field a schema error says is missing, and the fields there are.
fn field_not_found(e: &DataFusionError) -> Option<(String, Vec<String>)> {
    match e {
        DataFusionError::SchemaError(schema_error, _) => match schema_error.as_ref() {
            SchemaError::FieldNotFound {
                field,
                valid_fields,
            } => Some((
                field.name().to_string(),
                valid_fields.iter().map(|f| f.to_string()).collect(),
            )),
            _ => None,
        },
        DataFusionError::Context(_, inner) | DataFusionError::Diagnostic(_, inner) => {
            field_not_found(inner)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use botlake_lake::catalog::AA_BOT_RUNS;

    use super::*;
    use crate::SessionOptions;
    use crate::rollup::tests::runs;

    /// A lake with runs 1 and 2, and a session over it.
    async fn lake_and_session() -> (tempfile::TempDir, Lake, Session) {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::parse(dir.path().to_str().unwrap()).unwrap();
        lake.upsert(&AA_BOT_RUNS, vec![runs("2026-10-01", &[1, 2])], None)
            .await
            .unwrap();
        let session = Session::open_with(&lake, &[], &SessionOptions::default())
            .await
            .unwrap();
        (dir, lake, session)
    }

    async fn rows(session: &Session, sql: &str) -> usize {
        let df = session.run_sql(sql).await.unwrap();
        df.collect()
            .await
            .unwrap()
            .iter()
            .map(|b| b.num_rows())
            .sum()
    }

    #[tokio::test]
    async fn sql_never_changes_the_lake() {
        let (_dir, _lake, session) = lake_and_session().await;
        for sql in [
            "INSERT INTO aa_bot_runs (control_room, run_id, start_time, day) VALUES ('x', 9, now(), current_date())",
            "DELETE FROM aa_bot_runs",
            "UPDATE aa_bot_runs SET status = 'FAILED'",
            "DROP TABLE aa_bot_runs",
            "DROP TABLE rollup_runs_bot_day",
            "DROP VIEW kpi_daily",
            "CREATE OR REPLACE VIEW kpi_daily AS SELECT 1 AS x",
            "CREATE OR REPLACE TABLE runs AS SELECT 1 AS x",
            "CREATE OR REPLACE TABLE aa_audit_events AS SELECT 1 AS x",
        ] {
            let e = session.run_sql(sql).await.err();
            assert!(
                matches!(e, Some(Error::ChangesTheLake { .. })),
                "{sql}: {e:?}"
            );
            assert!(e.unwrap().is_user_error());
        }
        // Untouched.
        assert_eq!(rows(&session, "SELECT * FROM aa_bot_runs").await, 2);
        assert_eq!(rows(&session, "SELECT * FROM kpi_daily").await, 1);
        // What a session makes is its own.
        for sql in [
            "CREATE TABLE mine (x BIGINT)",
            "INSERT INTO mine VALUES (1), (2)",
            "CREATE VIEW twice AS SELECT x * 2 AS y FROM mine",
            "DROP VIEW twice",
            "DROP TABLE mine",
        ] {
            session.run_sql(sql).await.unwrap().collect().await.unwrap();
        }
    }

    #[tokio::test]
    async fn a_session_without_files_names_none_of_the_machines() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::parse(dir.path().to_str().unwrap()).unwrap();
        lake.upsert(&AA_BOT_RUNS, vec![runs("2026-10-01", &[1])], None)
            .await
            .unwrap();
        let file = dir.path().join("x.csv");
        std::fs::write(&file, "a\n1\n").unwrap();
        let file = file.to_str().unwrap();
        let options = SessionOptions {
            files: false,
            ..SessionOptions::default()
        };
        let session = Session::open_with(&lake, &[], &options).await.unwrap();
        for sql in [
            format!("COPY (SELECT 1 AS x) TO '{file}.out.csv'"),
            format!("CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '{file}'"),
        ] {
            let e = session.run_sql(&sql).await.err();
            assert!(matches!(e, Some(Error::NamesFiles { .. })), "{sql}: {e:?}");
        }
        let e = session
            .run_sql(&format!("SELECT * FROM '{file}'"))
            .await
            .err();
        assert!(
            matches!(e, Some(Error::UnknownName { what: "table", .. })),
            "{e:?}"
        );
        assert_eq!(rows(&session, "SELECT * FROM aa_bot_runs").await, 1);
        // The same statements with files allowed, as the command line has them.
        let session = Session::open_with(&lake, &[], &SessionOptions::default())
            .await
            .unwrap();
        assert_eq!(rows(&session, &format!("SELECT * FROM '{file}'")).await, 1);
    }

    #[tokio::test]
    async fn unknown_names_come_with_the_closest_one() {
        let (_dir, _lake, session) = lake_and_session().await;
        let e = session
            .run_sql("SELECT count(*) FROM aa_bot_run")
            .await
            .err()
            .unwrap();
        assert!(
            matches!(&e, Error::UnknownName { what: "table", closest: Some(c), .. } if c == "aa_bot_runs"),
            "{e:?}"
        );
        assert!(
            e.to_string().ends_with("(did you mean aa_bot_runs?)"),
            "{e}"
        );
        let e = session
            .run_sql("SELECT statuss FROM aa_bot_runs")
            .await
            .err()
            .unwrap();
        assert!(
            matches!(&e, Error::UnknownName { what: "column", closest: Some(c), .. } if c == "status"),
            "{e:?}"
        );
        let e = session.run_sql("SELECT 1; SELECT 2").await.err().unwrap();
        assert!(matches!(e, Error::NotOneStatement { found: 2 }), "{e:?}");
        let e = session.run_sql("SELEC 1").await.err().unwrap();
        assert!(
            matches!(e, Error::Syntax { .. }) && e.is_user_error(),
            "{e:?}"
        );
    }

    #[tokio::test]
    async fn a_session_opened_again_keeps_what_it_made_and_reads_the_new_rows() {
        let (_dir, lake, session) = lake_and_session().await;
        for sql in [
            "CREATE TABLE notes (run BIGINT, note VARCHAR)",
            "INSERT INTO notes VALUES (1, 'first')",
            "CREATE VIEW noted AS SELECT r.run_id, n.note FROM aa_bot_runs r LEFT JOIN notes n ON n.run = r.run_id",
            "SET datafusion.execution.batch_size = 1234",
        ] {
            session.run_sql(sql).await.unwrap().collect().await.unwrap();
        }
        assert!(session.reopen_if_changed(&lake).await.unwrap().is_none());
        lake.upsert(&AA_BOT_RUNS, vec![runs("2026-10-02", &[3])], None)
            .await
            .unwrap();
        let reopened = session.reopen_if_changed(&lake).await.unwrap().unwrap();
        assert_eq!(reopened.changes.len(), 1, "{:?}", reopened.changes);
        assert!(reopened.lost.is_empty());
        let fresh = reopened.session;
        assert_eq!(rows(&fresh, "SELECT * FROM noted").await, 3);
        assert_eq!(
            rows(&fresh, "SELECT * FROM noted WHERE note = 'first'").await,
            1
        );
        let batch_size = fresh
            .context()
            .state()
            .config()
            .options()
            .execution
            .batch_size;
        assert_eq!(batch_size.to_string(), "1234");
    }
}
