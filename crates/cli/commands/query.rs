//! `botlake query` and `botlake sql`: views, named queries and SQL, one-shot or interactive.

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use anyhow::{Context, Result};
use botlake_query::Session;
use clap::ValueEnum;
use datafusion::sql::parser::Statement;
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
    // Into a directory, a file named after the view; into a workbook, a sheet.
    let to = g.output.for_result(1, Some(&args.name))?;
    let rows = write(g, &to, df).await?;
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
/// results of each: to standard output one after another (a blank line between tables or
/// CSV), into a directory a file each, into a workbook a sheet each. A single file takes
/// one result: a script of more is refused before it runs. The rows of them all.
async fn run_statements(
    g: &Globals,
    session: &Session,
    text: &str,
    output: &Output,
) -> Result<u64> {
    let statements = script(text)?;
    let results = statements
        .iter()
        .filter(|s| answers_rows(&s.statement))
        .count();
    let one_file = |results: usize| -> Result<()> {
        if results > 1 && output.holds_one_result() {
            return Err(crate::UserError(format!(
                "the statements give {results} results and -o {} holds one: give -o a \
                 directory (-o out/) for a file each (1.csv, 2.csv, or the name of a \
                 `-- name: NAME` comment before the statement), or an .xlsx file for a sheet \
                 each",
                output.destination()
            ))
            .into());
        }
        Ok(())
    };
    one_file(results)?;
    let mut rows = 0;
    let mut written = 0;
    for s in statements {
        let filter = status_filter(&s.statement);
        let df = session.run(s.statement).await?;
        if df.schema().fields().is_empty() {
            // CREATE VIEW, SET and the like: nothing to show.
            df.collect().await?;
            continue;
        }
        written += 1;
        one_file(written)?;
        if written > 1
            && *output.destination() == Destination::Stdout
            && matches!(output.format(), Format::Csv | Format::Table)
        {
            println!();
        }
        let to = output.for_result(written, s.name.as_deref())?;
        rows += write(g, &to, df).await?;
        if let Some(filter) = filter
            && let Some(hint) = status_hint(session, filter).await
        {
            say!("{hint}");
        }
    }
    Ok(rows)
}

/// What a query compares a status-like column (`status`, `state`, or one ending in
/// `_status` or `_state`) of the one table it reads with: the table, the column, the text
/// values (`=` or `IN`).
struct StatusFilter {
    table: String,
    column: String,
    values: Vec<String>,
}

fn status_filter(statement: &Statement) -> Option<StatusFilter> {
    use datafusion::sql::parser::Statement as S;
    use datafusion::sql::sqlparser::ast::{
        BinaryOperator, Expr, SetExpr, Statement as Sql, TableFactor, Value,
    };
    fn column(e: &Expr) -> Option<String> {
        let ident = match e {
            Expr::Identifier(i) => i,
            Expr::CompoundIdentifier(parts) => parts.last()?,
            _ => return None,
        };
        let name = match ident.quote_style {
            Some(_) => ident.value.clone(),
            None => ident.value.to_ascii_lowercase(),
        };
        let lower = name.to_ascii_lowercase();
        (lower == "status"
            || lower == "state"
            || lower.ends_with("_status")
            || lower.ends_with("_state"))
        .then_some(name)
    }
    fn text(e: &Expr) -> Option<String> {
        match e {
            Expr::Value(v) => match &v.value {
                Value::SingleQuotedString(s) => Some(s.clone()),
                _ => None,
            },
            _ => None,
        }
    }
    fn walk(e: &Expr, found: &mut Option<(String, Vec<String>)>) {
        match e {
            Expr::Nested(inner) => walk(inner, found),
            Expr::BinaryOp {
                left,
                op: BinaryOperator::And | BinaryOperator::Or,
                right,
            } => {
                walk(left, found);
                walk(right, found);
            }
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Eq,
                right,
            } => {
                let pair = column(left)
                    .zip(text(right))
                    .or_else(|| column(right).zip(text(left)));
                if let Some((c, v)) = pair {
                    *found = Some((c, vec![v]));
                }
            }
            Expr::InList {
                expr,
                list,
                negated: false,
            } => {
                if let Some(c) = column(expr) {
                    *found = Some((c, list.iter().filter_map(text).collect()));
                }
            }
            _ => {}
        }
    }
    let S::Statement(s) = statement else {
        return None;
    };
    let Sql::Query(q) = s.as_ref() else {
        return None;
    };
    let SetExpr::Select(select) = q.body.as_ref() else {
        return None;
    };
    let [from] = select.from.as_slice() else {
        return None;
    };
    let TableFactor::Table { name, .. } = &from.relation else {
        return None;
    };
    if !from.joins.is_empty() {
        return None;
    }
    let mut found = None;
    walk(select.selection.as_ref()?, &mut found);
    let (column, values) = found.filter(|(_, v)| !v.is_empty())?;
    Some(StatusFilter {
        table: name.to_string(),
        column,
        values,
    })
}

/// A hint when `filter` compares its column with a value no row holds: the values there
/// are, as a filter on `'FAILED'` over statuses written `failed` finds nothing.
async fn status_hint(session: &Session, filter: StatusFilter) -> Option<String> {
    use datafusion::arrow::array::AsArray;
    let StatusFilter {
        table,
        column,
        values,
    } = filter;
    let quoted = column.replace('"', "\"\"");
    let df = session
        .run_sql(&format!(
            "SELECT DISTINCT CAST(\"{quoted}\" AS VARCHAR) AS v FROM {table} \
             WHERE \"{quoted}\" IS NOT NULL ORDER BY 1 LIMIT 40"
        ))
        .await
        .ok()?;
    let mut there = Vec::new();
    for batch in df.collect().await.ok()? {
        let column = datafusion::arrow::compute::cast(
            batch.column(0),
            &datafusion::arrow::datatypes::DataType::Utf8,
        )
        .ok()?;
        there.extend(
            column
                .as_string::<i32>()
                .iter()
                .flatten()
                .map(str::to_string),
        );
    }
    let missing: Vec<&String> = values.iter().filter(|v| !there.contains(v)).collect();
    if missing.is_empty() || there.is_empty() {
        return None;
    }
    let missing: Vec<String> = missing.iter().map(|v| format!("'{v}'")).collect();
    Some(format!(
        "hint: no row of {table} has {column} {}; the values there are: {}",
        missing.join(" or "),
        there.join(", ")
    ))
}

/// A statement of a script, with the name a `-- name: NAME` comment before it gives its
/// result.
struct Named {
    statement: Statement,
    name: Option<String>,
}

/// The statements of `text`, each with its name.
fn script(text: &str) -> Result<Vec<Named>> {
    let mut statements = Vec::new();
    for (piece, name) in split_script(text) {
        for statement in Session::parse(piece)? {
            statements.push(Named {
                statement,
                name: name.map(str::to_string),
            });
        }
    }
    Ok(statements)
}

/// `text` cut after each `;` that ends a statement (not one in a string, a quoted name or
/// a comment), each piece with the name of its last `-- name: NAME` comment.
fn split_script(text: &str) -> Vec<(&str, Option<&str>)> {
    let bytes = text.as_bytes();
    let mut pieces = Vec::new();
    let (mut start, mut i) = (0, 0);
    let mut name = None;
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'\'' | b'"') => {
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    i += 1;
                }
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                let end = text[i..].find('\n').map_or(text.len(), |n| i + n);
                let comment = text[i + 2..end].trim();
                if let Some(n) = comment.strip_prefix("name:").map(str::trim)
                    && !n.is_empty()
                {
                    name = Some(n);
                }
                i = end;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = text[i + 2..]
                    .find("*/")
                    .map_or(text.len(), |n| i + 2 + n + 1);
            }
            b';' => {
                pieces.push((&text[start..=i], name.take()));
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < text.len() {
        pieces.push((&text[start..], name));
    }
    pieces
}

/// Whether `statement` answers with rows (a query, `EXPLAIN`, `SHOW`), rather than
/// defining or setting something.
fn answers_rows(statement: &Statement) -> bool {
    use datafusion::sql::parser::Statement as S;
    use datafusion::sql::sqlparser::ast::Statement as Sql;
    match statement {
        S::Statement(s) => matches!(
            **s,
            Sql::Query(_)
                | Sql::Explain { .. }
                | Sql::ShowVariable { .. }
                | Sql::ShowTables { .. }
                | Sql::ShowColumns { .. }
                | Sql::ExplainTable { .. }
        ),
        S::Explain(_) => true,
        _ => false,
    }
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
\\x [on|off|auto]  a block per row (auto: when a table is wider than the terminal)
\\pset null S show NULL as S (NULL unless set)
\\o [FILE]    results to FILE, each replacing it (no FILE: to the screen again)
\\i FILE      run the statements of FILE
\\e           edit the last statement in $EDITOR, then run it
\\timing      say how long each statement took (again: stop)
\\format F    show results as F: table, csv, json or ndjson (--format, else table)
\\q           quit (also quit, exit, Ctrl-D)
A command runs as one also in the middle of a statement. Ctrl-C stops a running statement
and drops a line being typed.";

/// What the prompt's commands set.
struct Prompt {
    timing: bool,
    format: Format,
    expanded: crate::table::Expanded,
    null: String,
    /// Where results go instead of the screen (`\o FILE`).
    to: Option<String>,
    /// The last statement run, for `\e`.
    last: String,
}

impl Prompt {
    /// Where and how the next result goes.
    fn output(&self, g: &Globals) -> Result<Output> {
        let to = match &self.to {
            Some(file) => Destination::parse(file)?,
            None => Destination::Stdout,
        };
        Ok(Output::new(self.format, to)
            .with_max_rows(g.output.max_rows())
            .with_style(&self.null, self.expanded))
    }
}

/// A prompt command (a line starting with `\`); statements it asks to run (`\i`, `\e`).
async fn meta_command(
    g: &Globals,
    session: &Session,
    line: &str,
    output: &Output,
    prompt: &mut Prompt,
) -> Result<Option<String>> {
    use crate::table::Expanded;
    let mut words = line.split_whitespace();
    let command = words.next().unwrap_or_default();
    let arg = words.collect::<Vec<_>>().join(" ");
    let arg = arg.trim_matches(|c| c == '\'' || c == '"' || c == ';');
    let usage = |what: &str| -> Result<Option<String>> {
        Err(crate::UserError(format!("{command} {what}")).into())
    };
    match (command, arg) {
        ("\\d" | "\\dt", "") => super::catalog::write_tables(session, output).await?,
        ("\\dv", "") => super::catalog::write_views(session.queries(), output).await?,
        ("\\d", name) => super::catalog::describe_in(g, session, name, false, output).await?,
        ("\\timing", "") => {
            prompt.timing = !prompt.timing;
            say!("timing {}", if prompt.timing { "on" } else { "off" });
        }
        ("\\x", mode) => {
            prompt.expanded = match mode {
                "" if prompt.expanded == Expanded::On => Expanded::Off,
                "" | "on" => Expanded::On,
                "off" => Expanded::Off,
                "auto" => Expanded::Auto,
                _ => return usage("takes on, off or auto"),
            };
            let said = match prompt.expanded {
                Expanded::On => "on",
                Expanded::Off => "off",
                Expanded::Auto => "auto",
            };
            say!("expanded display {said}");
        }
        ("\\pset", setting) => match setting.split_once(' ') {
            Some(("null", shown)) => {
                prompt.null = shown.trim_matches(|c| c == '\'' || c == '"').to_string();
                say!("NULL shows as \"{}\"", prompt.null);
            }
            _ => return usage("null TEXT sets what NULL shows as"),
        },
        ("\\o", "") => {
            prompt.to = None;
            say!("results to the screen");
        }
        ("\\o", file) => {
            // Checked now, not at the next statement.
            Output::from_flags(None, Some(file))?;
            prompt.to = Some(file.to_string());
            say!("results to {file}");
        }
        ("\\i", "") => return usage("FILE runs the statements of FILE"),
        ("\\i", file) => {
            let text = std::fs::read_to_string(file)
                .map_err(|e| crate::UserError(format!("cannot read {file}: {e}")))?;
            return Ok(Some(text));
        }
        ("\\e", "") => return edit(&prompt.last).map(Some),
        ("\\format", name) => match Format::from_str(name, true) {
            Ok(Format::Parquet | Format::Xlsx) | Err(_) => {
                return usage(&format!("takes table, csv, json or ndjson, not {name:?}"));
            }
            Ok(format) => prompt.format = format,
        },
        ("\\?" | "\\h" | "\\help", _) => say!("{META_COMMANDS}"),
        _ => {
            return Err(crate::UserError(format!("unknown command {line}; \\? lists them")).into());
        }
    }
    Ok(None)
}

/// `statement` as edited in `$EDITOR` (else `vi`): what to run next.
fn edit(statement: &str) -> Result<String> {
    let file = tempfile::Builder::new()
        .prefix("botlake-")
        .suffix(".sql")
        .tempfile()
        .context("cannot make a file to edit")?;
    std::fs::write(file.path(), statement).context("cannot write the file to edit")?;
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .ok()
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| "vi".into());
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$0\""))
        .arg(file.path())
        .status()
        .with_context(|| format!("cannot start the editor {editor}"))?;
    if !status.success() {
        return Err(crate::UserError(format!("{editor} ended with {status}: nothing run")).into());
    }
    std::fs::read_to_string(file.path()).context("cannot read the edited file")
}

/// A prompt with history; statements end with `;`, `\q` quits.
async fn interactive(g: &Globals, lake: &botlake_lake::Lake, mut session: Session) -> Result<()> {
    let mut editor = rustyline::Editor::<crate::complete::Completer, _>::new()
        .context("cannot open the prompt")?;
    editor.set_helper(Some(crate::complete::Completer::new(
        crate::complete::names(&session).await,
    )));
    let history =
        std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".botlake_history"));
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    g.info("botlake SQL: end statements with ;  \\? lists the commands, \\q quits");
    let mut prompt = Prompt {
        timing: false,
        // Parquet and Excel are no formats to read at a terminal.
        format: match g.output.format() {
            Format::Parquet | Format::Xlsx => Format::Table,
            format => format,
        },
        expanded: crate::table::Expanded::Off,
        null: "NULL".into(),
        to: None,
        last: String::new(),
    };
    let mut buffer = String::new();
    loop {
        let line_prompt = if buffer.is_empty() {
            "botlake> "
        } else {
            "     ..> "
        };
        let line = match editor.readline(line_prompt) {
            Ok(line) => line,
            // Ctrl-C at the prompt drops what was typed; Ctrl-D leaves.
            Err(ReadlineError::Interrupted) => {
                buffer.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e).context("reading the prompt"),
        };
        let trimmed = line.trim();
        if buffer.is_empty() && (trimmed == "\\q" || trimmed == "quit" || trimmed == "exit") {
            break;
        }
        let output = match prompt.output(g) {
            Ok(output) => output,
            Err(e) => {
                say!("error: {}", crate::report(&e));
                prompt.to = None;
                continue;
            }
        };
        // A command runs as one, also in the middle of a statement, which waits.
        let text = if trimmed.starts_with('\\') {
            let _ = editor.add_history_entry(trimmed);
            session = up_to_date(g, lake, session).await;
            let ran = meta_command(g, &session, trimmed, &output, &mut prompt).await;
            save_history(&mut editor, history.as_deref());
            match ran {
                Ok(Some(text)) => text,
                Ok(None) => continue,
                Err(e) => {
                    say!("error: {}", crate::report(&e));
                    continue;
                }
            }
        } else {
            buffer.push_str(&line);
            buffer.push('\n');
            if !trimmed.ends_with(';') {
                continue;
            }
            std::mem::take(&mut buffer)
        };
        let _ = editor.add_history_entry(text.trim());
        prompt.last = text.trim().to_string();
        session = up_to_date(g, lake, session).await;

        let started = std::time::Instant::now();
        // Ctrl-C while it runs cancels the statement (dropping it stops its work), and the
        // prompt goes on with what the session made.
        let ran = tokio::select! {
            ran = run_statements(g, &session, &text, &output) => Some(ran),
            _ = tokio::signal::ctrl_c() => None,
        };
        match ran {
            Some(Ok(_)) if prompt.timing => {
                say!("{:.3} s", started.elapsed().as_secs_f64());
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => say!("error: {}", crate::report(&e)),
            None => say!("cancelled"),
        }
        save_history(&mut editor, history.as_deref());
        // Tables and views the statement made complete from now on.
        if let Some(helper) = editor.helper_mut() {
            helper.learn(crate::complete::names(&session).await);
        }
    }
    save_history(&mut editor, history.as_deref());
    Ok(())
}

/// Writes the prompt's history to `path`, so that what was typed is kept however the
/// prompt ends.
fn save_history(
    editor: &mut rustyline::Editor<crate::complete::Completer, rustyline::history::FileHistory>,
    path: Option<&std::path::Path>,
) {
    if let Some(path) = path {
        let _ = editor.save_history(path);
    }
}
