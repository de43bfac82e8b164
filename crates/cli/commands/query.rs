//! `botlake query` and `botlake sql`: views, named queries and SQL, one-shot or interactive.

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use anyhow::{Context, Result};
use botlake_query::Session;
use clap::ValueEnum;
use datafusion::sql::parser::DFParser;
use rustyline::error::ReadlineError;

use super::Globals;
use crate::args::{Format, QueryArgs, SqlArgs};
use crate::output::{Destination, Output};

/// `botlake query NAME [--param k=v]...`.
pub async fn run_query(g: &Globals, args: QueryArgs) -> Result<ExitCode> {
    let lake = g.lake()?;
    let name = args.name.replace('"', "\"\"");
    let session = g
        .session_for(
            &lake,
            &format!("SELECT * FROM \"{name}\""),
            Some(&args.name),
        )
        .await?;
    let df = session.query(&args.name, &args.params).await?;
    write(g, &g.output, df).await?;
    Ok(ExitCode::SUCCESS)
}

/// `botlake sql [STATEMENT | -f FILE]`.
pub async fn run_sql(g: &Globals, args: SqlArgs) -> Result<ExitCode> {
    let lake = g.lake()?;
    let text = match (args.statement, args.file) {
        (Some(statement), _) => Some(statement),
        (None, Some(file)) if file.as_os_str() == "-" => Some(read_stdin()?),
        (None, Some(file)) => Some(
            std::fs::read_to_string(&file)
                .map_err(|e| crate::UserError(format!("cannot read {}: {e}", file.display())))?,
        ),
        // A script piped in (`botlake sql < report.sql`) runs as a file does: the output
        // flags hold, and a failing statement stops it with its exit code, where the prompt
        // would go on.
        (None, None) if !std::io::stdin().is_terminal() => Some(read_stdin()?),
        (None, None) => None,
    };
    match text {
        // Only what the statements read is opened.
        Some(text) => {
            let session = g.session_for(&lake, &text, None).await?;
            run_statements(g, &session, &text, &g.output, None).await?;
        }
        None => interactive(g, &lake, g.session(&lake).await?).await?,
    }
    Ok(ExitCode::SUCCESS)
}

async fn write(g: &Globals, output: &Output, df: datafusion::dataframe::DataFrame) -> Result<()> {
    let started = std::time::Instant::now();
    let stream = df.execute_stream().await?;
    let rows = output.write_stream(stream).await?;
    let to_stdout = *output.destination() == Destination::Stdout;
    if g.verbosity >= 1 || !to_stdout && g.verbosity >= 0 {
        let to = match output.destination() {
            Destination::Stdout => String::new(),
            to => format!(" to {to}"),
        };
        say!(
            "{rows} rows{to} in {:.3} s",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// All of standard input, as SQL text.
fn read_stdin() -> Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| crate::UserError(format!("cannot read SQL from standard input: {e}")))?;
    Ok(text)
}

/// Runs each statement of `text` in turn, writing the results of each. The views and
/// settings it defines go to `definitions`, if given, once they took effect.
async fn run_statements(
    g: &Globals,
    session: &Session,
    text: &str,
    output: &Output,
    mut definitions: Option<&mut Vec<String>>,
) -> Result<()> {
    use datafusion::logical_expr::{DdlStatement, LogicalPlan, Statement};
    let ctx = session.context();
    let statements =
        DFParser::parse_sql(text).map_err(|e| crate::UserError(format!("bad SQL: {e}")))?;
    for statement in statements {
        let text = statement.to_string();
        let plan = match ctx.state().statement_to_plan(statement).await {
            Ok(plan) => plan,
            Err(e) => return Err(with_closest_table(session, e)),
        };
        refuse_changing_the_lake(session, &plan)?;
        let defines = matches!(
            plan,
            LogicalPlan::Ddl(DdlStatement::CreateView(_) | DdlStatement::DropView(_))
                | LogicalPlan::Statement(Statement::SetVariable(_) | Statement::ResetVariable(_))
        );
        let df = ctx.execute_logical_plan(plan).await?;
        if df.schema().fields().is_empty() {
            // CREATE VIEW, SET and the like: nothing to show.
            df.collect().await?;
        } else {
            write(g, output, df).await?;
        }
        if let (true, Some(definitions)) = (defines, definitions.as_deref_mut()) {
            definitions.push(text);
        }
    }
    Ok(())
}

/// `e`, and when it is that a table was not found, the name of the session a typo away.
fn with_closest_table(session: &Session, e: datafusion::error::DataFusionError) -> anyhow::Error {
    let message = e.to_string();
    let missing = message
        .split_once("table '")
        .and_then(|(_, rest)| rest.split_once("' not found"))
        .map(|(name, _)| name.rsplit('.').next().unwrap_or(name));
    match missing.and_then(|name| session.closest_table(name)) {
        Some(closest) => crate::UserError(format!("{message} (did you mean {closest}?)")).into(),
        None => e.into(),
    }
}

/// The prompt's session, opened again if the lake has changed since it was opened (an
/// ingest or `listen` committed meanwhile), so that every statement reads the lake as it
/// is: with the tables the user made carried over and the views and settings they defined
/// made again, over the new data. When the lake cannot be asked, the session stays.
async fn up_to_date(
    g: &Globals,
    lake: &botlake_lake::Lake,
    session: Session,
    definitions: &[String],
) -> Session {
    let changes = match session.changes(lake).await {
        Ok(changes) if changes.is_empty() => return session,
        Ok(changes) => changes,
        Err(e) => {
            say!(
                "warning: cannot tell whether the lake changed: {}",
                crate::report(&e.into())
            );
            return session;
        }
    };
    let fresh = match g.session(lake).await {
        Ok(fresh) => fresh,
        Err(e) => {
            say!(
                "warning: the lake changed, and opening it again failed: {}",
                crate::report(&e)
            );
            return session;
        }
    };
    let changed: Vec<String> = changes
        .iter()
        .map(|(table, read, latest)| match (read, latest) {
            (Some(read), Some(latest)) => format!("{table} {read} -> {latest}"),
            (None, _) => format!("{table} new"),
            (Some(_), None) => format!("{table} gone"),
        })
        .collect();
    g.info(format!(
        "(the lake changed: {}; reading it as it is now)",
        changed.join(", ")
    ));
    if let Err(e) = carry_over(&session, &fresh, definitions).await {
        say!("warning: {}", crate::report(&e));
    }
    fresh
}

/// Into `to`: the tables made in `from` (CREATE TABLE, CREATE EXTERNAL TABLE), as they
/// are; then `definitions` (views and settings) made again, in their order.
async fn carry_over(from: &Session, to: &Session, definitions: &[String]) -> Result<()> {
    use datafusion::datasource::TableType;
    let (old, new) = (from.context(), to.context());
    let options = old.state().config().options().catalog.clone();
    let schema = old
        .catalog(&options.default_catalog)
        .and_then(|c| c.schema(&options.default_schema));
    for name in schema.map(|s| s.table_names()).unwrap_or_default() {
        let of_the_lake = botlake_lake::catalog::table(&name).is_some()
            || botlake_lake::catalog::rollups()
                .iter()
                .any(|t| t.name == name);
        if of_the_lake || new.table_exist(name.as_str())? {
            continue;
        }
        if let Some(provider) = old.table_provider(name.as_str()).await.ok()
            && provider.table_type() == TableType::Base
        {
            new.register_table(name.as_str(), provider)?;
        }
    }
    // One that no longer plans (its table was dropped) is said, and the others still made.
    for definition in definitions {
        let made = async { new.sql(definition).await?.collect().await }.await;
        if let Err(e) = made {
            say!("warning: {definition} could not be made again: {e}");
        }
    }
    Ok(())
}

/// A DROP of a lake table, a rollup or a view the session defines would only hide it from
/// this session, whatever it looks like, and INSERT, UPDATE or DELETE cannot change them:
/// refused, saying so. Tables and views made in the session are the user's.
fn refuse_changing_the_lake(
    session: &Session,
    plan: &datafusion::logical_expr::LogicalPlan,
) -> Result<()> {
    use datafusion::logical_expr::{DdlStatement, LogicalPlan};
    let (name, what) = match plan {
        LogicalPlan::Ddl(DdlStatement::DropTable(drop)) => {
            (&drop.name, "DROP would only hide it from this session")
        }
        LogicalPlan::Ddl(DdlStatement::DropView(drop)) => {
            (&drop.name, "DROP would only hide it from this session")
        }
        LogicalPlan::Dml(dml) => (&dml.table_name, "its rows come from the sources alone"),
        _ => return Ok(()),
    };
    let name = name.table();
    let of_the_lake = botlake_lake::catalog::tables()
        .iter()
        .map(|t| t.name)
        .chain(botlake_lake::catalog::rollups().iter().map(|t| t.name))
        .any(|t| t == name)
        || session.queries().iter().any(|q| q.name == name);
    if of_the_lake {
        return Err(crate::UserError(format!(
            "{name} is part of the lake or its views: SQL reads the lake and never changes \
             it (ingest, compact and vacuum do), and {what}"
        ))
        .into());
    }
    Ok(())
}

/// The prompt's commands, as `\?` lists them.
const META_COMMANDS: &str = "\\d           the lake's tables, with versions and rows
\\dv          the views and named queries
\\d NAME      the columns of a table, a view, or a file ('x.parquet')
\\timing      say how long each statement took (again: stop)
\\format F    show results as F: table, csv, json or ndjson (--format, else table)
\\q           quit (also quit, exit, Ctrl-D)";

/// What the prompt's commands set.
struct Prompt {
    timing: bool,
    format: Format,
    /// The views and settings the user's statements defined, in order.
    definitions: Vec<String>,
}

/// A prompt command (a line starting with `\`).
async fn meta_command(
    g: &Globals,
    session: &Session,
    line: &str,
    output: &Output,
    prompt: &mut Prompt,
) -> Result<()> {
    let mut words = line.split_whitespace();
    let command = words.next().unwrap_or_default();
    let arg = words.collect::<Vec<_>>().join(" ");
    let arg = arg.trim_matches(|c| c == '\'' || c == '"' || c == ';');
    match (command, arg) {
        ("\\d" | "\\dt", "") => super::catalog::write_tables(session, output).await,
        ("\\dv", "") => super::catalog::write_views(session.queries(), output).await,
        ("\\d", name) => super::catalog::describe_in(g, session, name, output).await,
        ("\\timing", "") => {
            prompt.timing = !prompt.timing;
            say!("timing {}", if prompt.timing { "on" } else { "off" });
            Ok(())
        }
        ("\\format", name) => {
            match Format::from_str(name, true) {
                Ok(Format::Parquet) | Err(_) => {
                    return Err(crate::UserError(format!(
                        "\\format takes table, csv, json or ndjson, not {name:?}"
                    ))
                    .into());
                }
                Ok(format) => prompt.format = format,
            }
            Ok(())
        }
        ("\\?" | "\\h" | "\\help", _) => {
            say!("{META_COMMANDS}");
            Ok(())
        }
        _ => Err(crate::UserError(format!("unknown command {line}; \\? lists them")).into()),
    }
}

/// A prompt with history; statements end with `;`, `\q` quits.
async fn interactive(g: &Globals, lake: &botlake_lake::Lake, mut session: Session) -> Result<()> {
    let mut editor = rustyline::DefaultEditor::new().context("cannot open the prompt")?;
    let history =
        std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".botlake_history"));
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    g.info("botlake SQL: end statements with ;  \\? lists the commands, \\q quits");
    let mut prompt = Prompt {
        timing: false,
        // Parquet is no format to read at a terminal.
        format: match g.output.format() {
            Format::Parquet => Format::Table,
            format => format,
        },
        definitions: Vec::new(),
    };
    let mut buffer = String::new();
    loop {
        let line_prompt = if buffer.is_empty() {
            "botlake> "
        } else {
            "     ..> "
        };
        match editor.readline(line_prompt) {
            Ok(line) => {
                let trimmed = line.trim();
                if buffer.is_empty() && (trimmed == "\\q" || trimmed == "quit" || trimmed == "exit")
                {
                    break;
                }
                let output = Output::new(prompt.format, Destination::Stdout)
                    .with_max_rows(g.output.max_rows());
                if buffer.is_empty() && trimmed.starts_with('\\') {
                    let _ = editor.add_history_entry(trimmed);
                    session = up_to_date(g, lake, session, &prompt.definitions).await;
                    if let Err(e) = meta_command(g, &session, trimmed, &output, &mut prompt).await {
                        say!("error: {}", crate::report(&e));
                    }
                    continue;
                }
                buffer.push_str(&line);
                buffer.push('\n');
                if trimmed.ends_with(';') {
                    let _ = editor.add_history_entry(buffer.trim());
                    session = up_to_date(g, lake, session, &prompt.definitions).await;
                    let started = std::time::Instant::now();
                    let definitions = Some(&mut prompt.definitions);
                    match run_statements(g, &session, &buffer, &output, definitions).await {
                        Ok(()) if prompt.timing => {
                            say!("{:.3} s", started.elapsed().as_secs_f64());
                        }
                        Ok(()) => {}
                        Err(e) => say!("error: {}", crate::report(&e)),
                    }
                    buffer.clear();
                }
            }
            Err(ReadlineError::Interrupted) => buffer.clear(),
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e).context("reading the prompt"),
        }
    }
    if let Some(h) = &history {
        let _ = editor.save_history(h);
    }
    Ok(())
}
