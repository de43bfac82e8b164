//! What an ingest reports while it runs; the CLI turns it into progress bars and logs.

use std::time::Duration;

use botlake_lake::UpsertStats;
use chrono::NaiveDate;

/// Something that happened during an ingest.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A date window is being fetched; `total` is what its first page announced.
    Window {
        /// First day of the window.
        from: NaiveDate,
        /// Day after the window.
        to: NaiveDate,
        /// Records the server says the window has.
        total: u64,
        /// Pages that makes.
        pages: u64,
    },
    /// A page arrived and was decoded.
    Page {
        /// Records on it.
        records: u64,
        /// Bytes of JSON.
        bytes: u64,
    },
    /// Lines of a file (or standard input) were read and decoded.
    Read {
        /// Bytes of them (decompressed, for a gzip file).
        bytes: u64,
    },
    /// A request failed and will be retried after `delay`.
    Retrying {
        /// The request.
        url: &'a str,
        /// Which attempt failed.
        attempt: u32,
        /// Why.
        reason: &'a str,
        /// How long until the next attempt.
        delay: Duration,
    },
    /// Rows were committed to a table.
    Committed {
        /// The table.
        table: &'a str,
        /// What the commit did.
        stats: UpsertStats,
    },
}

/// Receives [`Event`]s. Implementations must be cheap: they are called on the ingest's path.
pub trait Observer: Send + Sync {
    /// Called for every event.
    fn on(&self, event: Event<'_>);
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct Quiet;

impl Observer for Quiet {
    fn on(&self, _: Event<'_>) {}
}
