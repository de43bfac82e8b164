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
mod complete;
mod config;
mod html;
mod output;
mod pg;
mod report;
mod signals;
mod table;
mod xlsx;

use std::process::ExitCode;

pub(crate) use crate::report::{UserError, report};

#[global_allocator]
static GLOBAL: alloc::Switch = alloc::Switch;

/// Exit code of an internal failure.
const EXIT_FAILURE: u8 = 1;
/// Exit code of work stopped by Ctrl-C or SIGTERM (128 + SIGINT, as a shell reports it).
const EXIT_INTERRUPTED: u8 = 130;

fn main() -> ExitCode {
    let args = args::parse();
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
            () = signals::shutdown() => None,
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
        Err(err) => report::fail(&err, verbose),
    }
}
