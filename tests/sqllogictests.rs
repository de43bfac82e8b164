//! Runs the `.slt` files in `tests/slt/` against the built-in views: each file gets a fresh
//! session whose lake tables are empty in-memory tables the file fills with `INSERT`.
//!
//! `cargo test --test sqllogictests` runs them all; add a file name fragment to pick some,
//! and `-- --complete` to rewrite the expected results (then check them by hand).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use botlake_query::Session;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::catalog::TableProvider;
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::LogicalPlan;
use sqllogictest::{DBOutput, DefaultColumnType};

struct Db {
    session: Session,
}

#[derive(Debug)]
struct DbError(String);

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DbError {}

impl From<DataFusionError> for DbError {
    fn from(e: DataFusionError) -> Self {
        DbError(e.to_string())
    }
}

impl From<botlake_query::Error> for DbError {
    fn from(e: botlake_query::Error) -> Self {
        DbError(e.to_string())
    }
}

#[async_trait]
impl sqllogictest::AsyncDB for Db {
    type Error = DbError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, DbError> {
        let df = self.session.sql(sql).await?;
        let is_query = !matches!(
            df.logical_plan(),
            LogicalPlan::Dml(_) | LogicalPlan::Ddl(_) | LogicalPlan::EmptyRelation(_)
        );
        let types = df
            .schema()
            .fields()
            .iter()
            .map(|f| column_type(f.data_type()))
            .collect();
        let batches = df.collect().await?;
        if !is_query {
            return Ok(DBOutput::StatementComplete(0));
        }
        Ok(DBOutput::Rows {
            types,
            rows: rows(&batches)?,
        })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "botlake"
    }

    async fn sleep(d: std::time::Duration) {
        tokio::time::sleep(d).await;
    }
}

fn column_type(t: &DataType) -> DefaultColumnType {
    match t {
        t if t.is_integer() => DefaultColumnType::Integer,
        t if t.is_floating() => DefaultColumnType::FloatingPoint,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => DefaultColumnType::Text,
        _ => DefaultColumnType::Any,
    }
}

fn rows(batches: &[RecordBatch]) -> Result<Vec<Vec<String>>, DbError> {
    let options = FormatOptions::default().with_null("NULL");
    let mut out = Vec::new();
    for batch in batches {
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| DbError(e.to_string()))?;
        for row in 0..batch.num_rows() {
            out.push(
                formatters
                    .iter()
                    .map(|f| {
                        let v = f.value(row).to_string();
                        if v.is_empty() { "(empty)".into() } else { v }
                    })
                    .collect(),
            );
        }
    }
    Ok(out)
}

async fn new_db() -> Result<Db, DbError> {
    let tables: Vec<(String, Arc<dyn TableProvider>)> = botlake_lake::catalog::tables()
        .into_iter()
        .map(|t| {
            let table = MemTable::try_new(t.schema.clone(), vec![vec![]])?;
            Ok((
                t.name.to_string(),
                Arc::new(table) as Arc<dyn TableProvider>,
            ))
        })
        .collect::<Result<_, DataFusionError>>()?;
    let session = Session::with_tables(botlake_query::new_context(), tables, &[]).await?;
    Ok(Db { session })
}

fn slt_files(filters: &[String]) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/slt exists")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "slt"))
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))
        })
        .collect();
    files.sort();
    files
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let complete = args.iter().any(|a| a == "--complete");
    // Flags cargo passes to every test binary are not file filters.
    let filters: Vec<String> = args.into_iter().filter(|a| !a.starts_with('-')).collect();
    let (mut passed, mut failed) = (0, 0);
    for file in slt_files(&filters) {
        let mut runner = sqllogictest::Runner::new(|| async { new_db().await });
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let result = if complete {
            runner
                .update_test_file(
                    &file,
                    " ",
                    sqllogictest::default_validator,
                    sqllogictest::default_normalizer,
                    sqllogictest::default_column_validator,
                )
                .await
                .map_err(|e| e.to_string())
        } else {
            runner
                .run_file_async(&file)
                .await
                .map_err(|e| e.to_string())
        };
        match result {
            Ok(()) => {
                passed += 1;
                println!("ok     {name}");
            }
            Err(e) => {
                failed += 1;
                println!("FAILED {name}\n{e}");
            }
        }
    }
    println!("sqllogictest: {passed} passed, {failed} failed");
    if failed == 0 && passed > 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
