//! `botlake views`, `botlake tables` and `botlake describe`.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema};

use botlake_query::Session;

use super::Globals;
use crate::UserError;
use crate::args::DescribeArgs;
use crate::output::Output;

/// Lists the views and named queries, with their parameters.
pub async fn views(g: &Globals, args: crate::args::ViewsArgs) -> Result<ExitCode> {
    if args.markdown {
        let docs = botlake_query::catalogue(&g.query_dirs).await?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", markdown_catalogue(&docs))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut defs = botlake_query::QueryDef::builtin();
    for dir in &g.query_dirs {
        for def in botlake_query::QueryDef::from_dir(dir)? {
            defs.retain(|d| d.name != def.name);
            defs.push(def);
        }
    }
    write_views(&defs, &g.output).await?;
    Ok(ExitCode::SUCCESS)
}

/// The view catalogue as a Markdown table: each view's description (its file's leading
/// comment), columns and parameters, in the order of `docs`.
pub fn markdown_catalogue(docs: &[botlake_query::ViewDoc]) -> String {
    let cell = |text: &str| text.replace('|', "\\|");
    let mut out =
        String::from("| view | what it gives | columns | parameters |\n|---|---|---|---|");
    for doc in docs {
        let description = doc
            .def
            .description
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let columns: Vec<String> = doc.columns.iter().map(|(c, _)| format!("`{c}`")).collect();
        let params: Vec<String> = doc
            .def
            .params
            .iter()
            .map(|p| {
                format!(
                    "`{}` {} {}: {}",
                    p.name, p.type_name, p.default, p.description
                )
            })
            .collect();
        out.push_str(&format!(
            "\n| `{}` | {} | {} | {} |",
            doc.def.name,
            cell(&description),
            columns.join(", "),
            cell(&params.join("; "))
        ));
    }
    out
}

/// Writes `defs`: name, parameters, the first sentence of the description, origin.
pub async fn write_views(defs: &[botlake_query::QueryDef], output: &Output) -> Result<()> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("parameters", DataType::Utf8, false),
        Field::new("description", DataType::Utf8, false),
        Field::new("origin", DataType::Utf8, false),
    ]));
    let col = |f: &dyn Fn(&botlake_query::QueryDef) -> String| {
        Arc::new(StringArray::from_iter_values(defs.iter().map(f))) as _
    };
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            col(&|d| d.name.clone()),
            col(&|d| {
                d.params
                    .iter()
                    .map(|p| format!("{}={} ({})", p.name, p.default, p.type_name))
                    .collect::<Vec<_>>()
                    .join(", ")
            }),
            col(&|d| first_sentence(&d.description)),
            col(&|d| d.origin.clone()),
        ],
    )?;
    output.write_batches(&schema, vec![batch]).await
}

/// Lists the catalog's tables with their Delta version and row count.
pub async fn tables(g: &Globals) -> Result<ExitCode> {
    let lake = g.lake()?;
    let session = g.session(&lake).await?;
    write_tables(&session, &g.output).await?;
    Ok(ExitCode::SUCCESS)
}

/// Writes the session's lake tables with their Delta version and row count.
pub async fn write_tables(session: &Session, output: &Output) -> Result<()> {
    let mut names = Vec::new();
    let mut versions = Vec::new();
    let mut rows = Vec::new();
    let mut descriptions = Vec::new();
    for t in botlake_lake::catalog::tables() {
        names.push(t.name);
        versions.push(session.table_version(t.name));
        let count = session.context().table(t.name).await?.count().await?;
        rows.push(count as u64);
        descriptions.push(t.description);
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("table", DataType::Utf8, false),
        Field::new("version", DataType::UInt64, true),
        Field::new("rows", DataType::UInt64, false),
        Field::new("description", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(names)),
            Arc::new(UInt64Array::from(versions)),
            Arc::new(UInt64Array::from(rows)),
            Arc::new(StringArray::from(descriptions)),
        ],
    )?;
    output.write_batches(&schema, vec![batch]).await
}

/// Shows the columns of a table or view.
pub async fn describe(g: &Globals, args: DescribeArgs) -> Result<ExitCode> {
    let lake = g.lake()?;
    let session = g.session(&lake).await?;
    describe_in(g, &session, &args.name, args.arrow, &g.output).await?;
    Ok(ExitCode::SUCCESS)
}

/// Writes the columns of `name` (a table, a view, a file or an object) in `session`, and
/// says what it is.
pub async fn describe_in(
    g: &Globals,
    session: &Session,
    name: &str,
    arrow: bool,
    output: &Output,
) -> Result<()> {
    let ctx = session.context();
    let df = match ctx.table(name).await {
        Ok(df) => df,
        // A file or object, as SQL names them (`FROM 'kpi.parquet'`).
        Err(_) if botlake_query::names_a_file(name) => {
            let quoted = name.replace('\'', "''");
            session
                .run_sql(&format!("SELECT * FROM '{quoted}'"))
                .await
                .with_context(|| format!("cannot read {name}"))?
        }
        Err(_) => {
            return Err(UserError(format!(
                "no table or view named {name:?}; `botlake tables` and `botlake views` list them"
            ))
            .into());
        }
    };
    let fields = df.schema().fields().clone();
    let text = |f: &dyn Fn(&Field) -> String| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(fields.iter().map(|x| f(x))))
    };
    let mut columns = vec![
        Field::new("column", DataType::Utf8, false),
        Field::new("type", DataType::Utf8, false),
        Field::new("nullable", DataType::Utf8, false),
    ];
    let mut values = vec![
        text(&|f| f.name().clone()),
        text(&|f| sql_type(f.data_type())),
        text(&|f| if f.is_nullable() { "YES" } else { "NO" }.into()),
    ];
    if arrow {
        columns.push(Field::new("arrow_type", DataType::Utf8, false));
        values.push(text(&|f| f.data_type().to_string()));
    }
    let schema = Arc::new(Schema::new(columns));
    let batch = RecordBatch::try_new(schema.clone(), values)?;
    output.write_batches(&schema, vec![batch]).await?;
    if let Some(def) = session.queries().iter().find(|q| q.name == name) {
        g.info(format!(
            "{} ({}):\n{}",
            def.name, def.origin, def.description
        ));
    } else if let Some(t) = botlake_lake::catalog::table(name) {
        g.info(format!(
            "{}: {}\nkey: {}; partitioned by: {}",
            t.name,
            t.description,
            t.key.join(", "),
            t.partition.unwrap_or("nothing")
        ));
    }
    Ok(())
}

/// The SQL name of an Arrow type, as PostgreSQL and DuckDB say it.
fn sql_type(t: &DataType) -> String {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "VARCHAR".into(),
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Int8 => "TINYINT".into(),
        DataType::Int16 => "SMALLINT".into(),
        DataType::Int32 => "INTEGER".into(),
        DataType::Int64 => "BIGINT".into(),
        DataType::UInt8 => "UTINYINT".into(),
        DataType::UInt16 => "USMALLINT".into(),
        DataType::UInt32 => "UINTEGER".into(),
        DataType::UInt64 => "UBIGINT".into(),
        DataType::Float16 | DataType::Float32 => "REAL".into(),
        DataType::Float64 => "DOUBLE".into(),
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => format!("DECIMAL({p}, {s})"),
        DataType::Date32 | DataType::Date64 => "DATE".into(),
        DataType::Timestamp(_, Some(_)) => "TIMESTAMP WITH TIME ZONE".into(),
        DataType::Timestamp(_, None) => "TIMESTAMP".into(),
        DataType::Time32(_) | DataType::Time64(_) => "TIME".into(),
        DataType::Duration(_) | DataType::Interval(_) => "INTERVAL".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "BLOB".into(),
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            format!("{}[]", sql_type(f.data_type()))
        }
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => format!(
                "MAP({}, {})",
                sql_type(kv[0].data_type()),
                sql_type(kv[1].data_type())
            ),
            other => format!("MAP({other})"),
        },
        DataType::Struct(fields) => format!(
            "STRUCT({})",
            fields
                .iter()
                .map(|f| format!("{} {}", f.name(), sql_type(f.data_type())))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        DataType::Dictionary(_, value) => sql_type(value),
        DataType::Null => "NULL".into(),
        other => other.to_string(),
    }
}

/// The first sentence of `text`, its lines joined: up to the first full stop that ends a
/// word before a space or the end ("e.g." and "0.5" go on).
fn first_sentence(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut end = joined.len();
    for (at, _) in joined.match_indices(". ") {
        let word = joined[..at].rsplit(' ').next().unwrap_or_default();
        // An abbreviation ("e.g", "i.e") holds a full stop of its own.
        if !word.contains('.') {
            end = at + 1;
            break;
        }
    }
    joined[..end].to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_first_sentence_goes_over_lines_and_past_abbreviations() {
        let text = "Runs per bot and day, e.g. for a chart of\nfailures over 0.5 days. Then more.";
        assert_eq!(
            super::first_sentence(text),
            "Runs per bot and day, e.g. for a chart of failures over 0.5 days."
        );
        assert_eq!(super::first_sentence("No stop at all"), "No stop at all");
    }
}
