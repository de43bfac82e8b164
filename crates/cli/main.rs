//! The `botlake` binary: parses arguments, runs a command, and maps failures to exit codes
//! (1 internal failure, 2 a mistake the user can fix, 3 done but some records rejected).

mod args;
mod commands;
mod config;
mod output;

use std::process::ExitCode;

use clap::Parser;

use crate::args::Args;

/// mimalloc rather than the system's allocator: a query opens a Parquet reader per day file
/// and allocates small objects for each, and glibc's malloc spent a third of the time of
/// such scans in its own bookkeeping (`perf record`, 730 day files). Built without transparent
/// huge pages (the `no_thp` feature): with them, zeroing fresh 2 MB pages took half of the
/// opening of a lake, and peak RSS was twice as high, for no gain in hot queries.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (`mimalloc.h`; the crate exports no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Has mimalloc give freed memory back to the system at once rather than after its default
/// second. Commands that stream data through (ingest, listen) promise a bounded footprint,
/// and with the delay the pages of batches already committed were still resident: peak
/// RSS of a 1M-run page ingest was 390 MB with it, 245 MB without, in the same time
/// within noise (`/usr/bin/time -v botlake ingest aa-pages ...`). Queries keep the delay:
/// they reuse what they free.
#[expect(unsafe_code, reason = "mimalloc's options are set through its C API")]
fn purge_freed_memory_at_once() {
    // SAFETY: sets an option's value; mimalloc reads options atomically.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
}

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

fn main() -> ExitCode {
    let args = Args::parse();
    if matches!(
        args.command,
        args::Command::Ingest(_) | args::Command::Listen(_)
    ) {
        purge_freed_memory_at_once();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("botlake: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    match runtime.block_on(commands::run(args)) {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("botlake: {err:#}");
            if is_user_error(&err) {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::from(EXIT_FAILURE)
            }
        }
    }
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
    use super::*;

    #[test]
    #[expect(unsafe_code, reason = "reads mimalloc's options through its C API")]
    fn the_purge_delay_option_is_the_one_mimalloc_documents() {
        // mimalloc.h: "memory purging is delayed by N milli seconds"; 1000 by default in
        // mimalloc 3 unless MIMALLOC_PURGE_DELAY says otherwise.
        let expected = std::env::var("MIMALLOC_PURGE_DELAY")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1000);
        // SAFETY: reads an option.
        let delay = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert_eq!(delay, expected);
        purge_freed_memory_at_once();
        // SAFETY: reads an option.
        assert_eq!(
            unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) },
            0
        );
    }
}
