//! `botlake query` and `botlake sql`: views, named queries and SQL, one-shot or interactive.

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use anyhow::{Context, Result};
use botlake_query::Session;
use clap::ValueEnum;
use rustyline::error::ReadlineError;

use super::Globals;
use crate::args::{Format, QueryArgs, SqlArgs};
use crate::output::{Destination, Output};

/// The exit code of a result with rows under `--fail-on-rows`.
const EXIT_ROWS: u8 = 4;

/// Success, or [`EXIT_ROWS`] if `fail_on_rows` and there were `rows`.
fn exit_for(rows: u64, fail_on_rows: bool) -> ExitCode {
    if fail_on_rows && rows > 0 {
        ExitCode::from(EXIT_ROWS)
    } else {
        ExitCode::SUCCESS
    }
}

/// `botlake query NAME [--param k=v]...`.
pub async fn run_query(g: &Globals, args: QueryArgs) -> Result<ExitCode> {
    let lake = g.lake()?;
    let session = g.session_for_view(&lake, &args.name).await?;
    let df = session.query(&args.name, &args.params).await?;
    let rows = write(g, &g.output, df).await?;
    Ok(exit_for(rows, args.fail_on_rows))
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
            let rows = run_statements(g, &session, &text, &g.output).await?;
            Ok(exit_for(rows, args.fail_on_rows))
        }
        None => {
            interactive(g, &lake, g.session(&lake).await?).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Writes the result of `df` to `output`; how many rows it had.
async fn write(g: &Globals, output: &Output, df: datafusion::dataframe::DataFrame) -> Result<u64> {
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
    Ok(rows)
}

/// All of standard input, as SQL text.
fn read_stdin() -> Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| crate::UserError(format!("cannot read SQL from standard input: {e}")))?;
    Ok(text)
}

/// Runs each statement of `text` in turn through the session's SQL policy, writing the
/// results of each; the rows of them all.
async fn run_statements(
    g: &Globals,
    session: &Session,
    text: &str,
    output: &Output,
) -> Result<u64> {
    let mut rows = 0;
    for statement in Session::parse(text)? {
        let df = session.run(statement).await?;
        if df.schema().fields().is_empty() {
            // CREATE VIEW, SET and the like: nothing to show.
            df.collect().await?;
        } else {
            rows += write(g, output, df).await?;
        }
    }
    Ok(rows)
}

/// The prompt's session, opened again if the lake has changed since it was opened (an
/// ingest or `listen` committed meanwhile), so that every statement reads the lake as it
/// is, with what the user made in it carried over. When that fails, the session stays.
async fn up_to_date(g: &Globals, lake: &botlake_lake::Lake, session: Session) -> Session {
    let reopened = match session.reopen_if_changed(lake).await {
        Ok(Some(reopened)) => reopened,
        Ok(None) => return session,
        Err(e) => {
            say!(
                "warning: cannot read the lake as it is now, going on as it was: {}",
                crate::report(&e.into())
            );
            return session;
        }
    };
    let changed: Vec<String> = reopened
        .changes
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
    // One that no longer plans (its table was dropped) is said, and the others still made.
    for (definition, e) in &reopened.lost {
        say!("warning: {definition} could not be made again: {e}");
    }
    g.report_session(&reopened.session, None);
    reopened.session
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
                    session = up_to_date(g, lake, session).await;
                    if let Err(e) = meta_command(g, &session, trimmed, &output, &mut prompt).await {
                        say!("error: {}", crate::report(&e));
                    }
                    continue;
                }
                buffer.push_str(&line);
                buffer.push('\n');
                if trimmed.ends_with(';') {
                    let _ = editor.add_history_entry(buffer.trim());
                    session = up_to_date(g, lake, session).await;
                    let started = std::time::Instant::now();
                    match run_statements(g, &session, &buffer, &output).await {
                        Ok(_) if prompt.timing => {
                            say!("{:.3} s", started.elapsed().as_secs_f64());
                        }
                        Ok(_) => {}
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
