//! How a failure is told: the error and its causes on one line, a hint where the cause
//! suggests what to do (the flag to set, from the libraries' typed errors, which name no
//! flag themselves), and the exit code its kind calls for.

use std::process::ExitCode;

/// A mistake of the user's (bad input, missing lake), as opposed to an internal failure.
#[derive(Debug, Clone)]
pub struct UserError(pub String);

impl std::fmt::Display for UserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UserError {}

/// Exit code of an internal failure.
const EXIT_FAILURE: u8 = 1;
/// Exit code of a user's mistake.
const EXIT_USAGE: u8 = 2;

/// Says `err` on standard error, with a hint where there is one, and returns its exit code:
/// success for a closed pipe (a reader that has enough), 2 for a mistake the user can fix,
/// 1 for the rest.
pub(crate) fn fail(err: &anyhow::Error, verbose: bool) -> ExitCode {
    if is_broken_pipe(err) {
        return ExitCode::SUCCESS;
    }
    let report = with_flags(err, report(err));
    if let Some(report) = out_of_memory(&report, verbose) {
        say!("botlake: {report}");
        say!(
            "raise --memory-limit (it bounds every operator of a query together), or narrow \
             the query: fewer days, fewer columns, a rollup view"
        );
        return ExitCode::from(EXIT_USAGE);
    }
    let report = if verbose { report } else { shorten(&report) };
    say!("botlake: {report}");
    let hint = typed_hint(err).or_else(|| hint(&report));
    if let Some(hint) = &hint {
        say!("{}", hint.text);
    }
    if is_user_error(err) || hint.is_some_and(|h| h.setup) {
        ExitCode::from(EXIT_USAGE)
    } else {
        ExitCode::from(EXIT_FAILURE)
    }
}

/// `report` with the flags the libraries' messages leave out, where the error is one whose
/// remedy is a flag.
fn with_flags(err: &anyhow::Error, report: String) -> String {
    let no_lake = err.chain().any(|e| {
        matches!(
            e.downcast_ref::<botlake_query::Error>(),
            Some(botlake_query::Error::NoLake { .. })
        )
    });
    if no_lake {
        return format!("{report}, or point --lake (BOTLAKE_LAKE) at an existing lake");
    }
    report
}

/// The report of a query that ran out of the memory `--memory-limit` gives it, if `report`
/// is one: said in botlake's terms (DataFusion's own names its settings, which botlake users
/// do not set), with DataFusion's detail when `verbose`.
fn out_of_memory(report: &str, verbose: bool) -> Option<String> {
    if !report.contains("Resources exhausted") {
        return None;
    }
    let said = "the query needs more memory than --memory-limit gives it";
    Some(if verbose {
        format!("{said}: {report}")
    } else {
        format!("{said} (-v says where it ran out)")
    })
}

/// What to do about `err`, from its type.
fn typed_hint(err: &anyhow::Error) -> Option<Hint> {
    use botlake_ingest::{Error as E, Mismatch};
    let e = err.chain().find_map(|e| e.downcast_ref::<E>())?;
    let (text, setup) = match e {
        E::TaskNotNamed { .. } => (
            "name the task of task log pages with --task NAME".into(),
            true,
        ),
        E::NothingToFetch { .. } => (
            "--from must come before --to (which is today unless given)".into(),
            true,
        ),
        E::Reconcile {
            cause: Mismatch::PagesMissing { other },
            ..
        } => (format!("try --pagination {}", other.name()), false),
        _ => return None,
    };
    Some(Hint { text, setup })
}

/// `err` and its causes, joined by `: ` as `{err:#}` joins them, each cause left out where
/// the text before already says it: DataFusion's errors repeat their source in their own
/// text, and an unknown column was named three times over.
pub(crate) fn report(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        // DataFusion's wrapper of an error of ours says nothing of its own.
        let text = text
            .strip_prefix("External error: ")
            .map_or(text.clone(), str::to_string);
        // Said already, or said already but for a prefix of its own ("sql parser error: "
        // after DataFusion's "SQL error: ParserError(...)").
        let core = text
            .split_once(": ")
            .map_or(text.as_str(), |(_, core)| core);
        if out.contains(&text) || out.contains(core) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    // And a prefix said twice in one cause's own text ("Parquet error: Parquet error: ...").
    let mut parts: Vec<&str> = out.split(": ").collect();
    parts.dedup();
    parts.join(": ")
}

/// Characters of an error shown whole; a longer one (DataFusion quotes whole JSON values
/// and plans) keeps its start and its end.
const REPORT_CHARS: usize = 2000;

/// `report` cut to its first and last characters if it is longer than [`REPORT_CHARS`].
fn shorten(report: &str) -> String {
    let chars = report.chars().count();
    if chars <= REPORT_CHARS {
        return report.to_string();
    }
    let (head, tail) = (REPORT_CHARS * 3 / 4, REPORT_CHARS / 4);
    let start: String = report.chars().take(head).collect();
    let end: String = report.chars().skip(chars - tail).collect();
    format!(
        "{start} [... {} characters; -v shows them ...] {end}",
        chars - head - tail
    )
}

/// What to do about a failure, found in its message where the libraries below do not
/// give its cause a type of its own.
struct Hint {
    text: String,
    /// The cause is the setup (exit code 2), not something that may pass (1).
    setup: bool,
}

fn hint(report: &str) -> Option<Hint> {
    if report.contains("error occurred while loading credentials") {
        return Some(Hint {
            text: "S3 needs credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or \
                   AWS_PROFILE), or run where an instance or pod role provides them; \
                   AWS_ENDPOINT_URL and AWS_ALLOW_HTTP=true for an S3-compatible server"
                .into(),
            setup: true,
        });
    }
    if report.contains("Connection refused") {
        return Some(Hint {
            text: "nothing accepted the connection: check the URL's host and port, and that \
                   the server there is running"
                .into(),
            setup: false,
        });
    }
    None
}

/// A closed pipe (`botlake query ... | head`) is how a reader says it has enough.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || e.to_string().contains("Broken pipe")
    })
}

fn is_user_error(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        if e.is::<UserError>() {
            return true;
        }
        if let Some(q) = e.downcast_ref::<botlake_query::Error>() {
            return q.is_user_error();
        }
        if let Some(d) = e.downcast_ref::<datafusion::error::DataFusionError>() {
            return botlake_query::is_user_datafusion_error(d);
        }
        if let Some(i) = e.downcast_ref::<botlake_ingest::Error>() {
            use botlake_ingest::Error as E;
            // The user's setup or input; a failed read, a task that panicked or a storage
            // failure is not.
            return matches!(
                i,
                E::Setting { .. }
                    | E::NothingToFetch { .. }
                    | E::TaskNotNamed { .. }
                    | E::NotAPage { .. }
                    | E::BrokenPage { .. }
                    | E::Login { .. }
                    | E::Forbidden { .. }
                    | E::Refused { .. }
                    | E::Redirected { .. }
            );
        }
        matches!(
            e.downcast_ref::<botlake_lake::Error>(),
            Some(botlake_lake::Error::InvalidLocation { .. })
        )
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn causes_are_said_once() {
        let err = anyhow::anyhow!("Parquet error: Parquet error: Invalid Parquet file")
            .context("cannot read g.parquet");
        assert_eq!(
            super::report(&err),
            "cannot read g.parquet: Parquet error: Invalid Parquet file"
        );
        let err = anyhow::anyhow!("sql parser error: Expected: a statement, found: SELEC")
            .context(r#"SQL error: ParserError("Expected: a statement, found: SELEC")"#);
        assert_eq!(
            super::report(&err),
            r#"SQL error: ParserError("Expected: a statement, found: SELEC")"#
        );
    }

    #[test]
    fn missing_s3_credentials_say_what_to_set() {
        let report = "cannot read s3://b/x.parquet: Object Store error: Operation not \
                      supported: an error occurred while loading credentials: IMDS is disabled";
        let hint = super::hint(report).unwrap();
        assert!(hint.text.contains("AWS_ACCESS_KEY_ID") && hint.setup);
        assert!(super::hint("no lake at /x").is_none());
        let refused = "http://127.0.0.1:1/v1/authentication failed 8 times; last: request \
                       failed: tcp connect error: Connection refused (os error 111)";
        let hint = super::hint(refused).unwrap();
        assert!(hint.text.contains("host and port") && !hint.setup);
    }

    #[test]
    fn long_errors_keep_their_start_and_end() {
        assert_eq!(super::shorten("no lake at /x"), "no lake at /x");
        let long = format!("Json error: {} at line 7", "é".repeat(10_000));
        let short = super::shorten(&long);
        assert!(short.starts_with("Json error: éé"), "{short}");
        assert!(short.ends_with("éé at line 7"), "{short}");
        assert!(short.contains("[... 8022 characters; -v shows them ...]"));
        assert!(short.chars().count() < super::REPORT_CHARS + 60);
    }
}
