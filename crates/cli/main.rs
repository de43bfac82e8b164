//! The `botlake` binary: parses arguments, runs a command, and maps failures to exit codes
//! (1 internal failure, 2 a mistake the user can fix, 3 done but some records rejected).

/// `eprintln!` that neither fails nor panics when standard error is closed (`2>&1 | head`,
/// a log collector gone): a message is not worth the work it reports on.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod alloc;
mod args;
mod commands;
mod config;
mod output;

use std::process::ExitCode;

use clap::Parser;

use crate::args::Args;

#[global_allocator]
static GLOBAL: alloc::Switch = alloc::Switch;

/// A mistake of the user's (bad input, missing lake), as opposed to an internal failure.
#[derive(Debug)]
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
/// Exit code of work stopped by Ctrl-C or SIGTERM (128 + SIGINT, as a shell reports it).
const EXIT_INTERRUPTED: u8 = 130;

fn main() -> ExitCode {
    let args = Args::parse();
    let verbose = args.verbose > 0;
    if matches!(
        args.command,
        args::Command::Ingest(_) | args::Command::Listen(_) | args::Command::Rollup
    ) {
        alloc::use_system_allocator();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            say!("botlake: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    // Work that commits as it goes stops at Ctrl-C or SIGTERM saying so: each commit is
    // whole (with its ingest cursor) or absent, whenever it is cut short.
    let interruptible = matches!(
        args.command,
        args::Command::Ingest(_)
            | args::Command::Compact(_)
            | args::Command::Vacuum(_)
            | args::Command::Rollup
    );
    let result = runtime.block_on(async move {
        if !interruptible {
            return Some(commands::run(args).await);
        }
        tokio::select! {
            result = commands::run(args) => Some(result),
            () = commands::shutdown_signal() => None,
        }
    });
    let Some(result) = result else {
        // Not waiting for a thread that may be blocked reading (standard input).
        runtime.shutdown_background();
        say!(
            "botlake: interrupted; what was committed stays, and running the same command \
             again adds only what is missing"
        );
        return ExitCode::from(EXIT_INTERRUPTED);
    };
    match result {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let report = report(&err);
            let report = if verbose { report } else { shorten(&report) };
            say!("botlake: {report}");
            let hint = hint(&report);
            if let Some(hint) = &hint {
                say!("{}", hint.text);
            }
            if is_user_error(&err) || hint.is_some_and(|h| h.setup) {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::from(EXIT_FAILURE)
            }
        }
    }
}

/// `err` and its causes, joined by `: ` as `{err:#}` joins them, each cause left out where
/// the text before already says it: DataFusion's errors repeat their source in their own
/// text, and an unknown column was named three times over.
pub(crate) fn report(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
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
    text: &'static str,
    /// The cause is the setup (exit code 2), not something that may pass (1).
    setup: bool,
}

fn hint(report: &str) -> Option<Hint> {
    if report.contains("error occurred while loading credentials") {
        return Some(Hint {
            text: "S3 needs credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or \
                   AWS_PROFILE), or run where an instance or pod role provides them; \
                   AWS_ENDPOINT_URL and AWS_ALLOW_HTTP=true for an S3-compatible server",
            setup: true,
        });
    }
    if report.contains("Connection refused") {
        return Some(Hint {
            text: "nothing accepted the connection: check the URL's host and port, and that \
                   the server there is running",
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
            return matches!(
                i,
                E::Config(_) | E::Login { .. } | E::Forbidden { .. } | E::Refused { .. }
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
