//! botlake's sources, a folder each: Automation Anywhere (`aa`: Bot Insight, task data,
//! Automation 360, saved pages) and UiPath (`uipath`: event files and the HEC receiver),
//! decoded to Arrow and committed to the lake exactly once; what does not fit goes to
//! `rejected_records` ([`quarantine`]).
//!
//! ```no_run
//! # async fn example() -> botlake_ingest::Result<()> {
//! use botlake_ingest::aa::{botinsight, client};
//! use botlake_ingest::progress::Quiet;
//!
//! let lake = botlake_lake::Lake::parse("./botlake-demo")?;
//! let credentials = client::Credentials {
//!     user: "botlake".into(),
//!     secret: client::Secret::Password(std::env::var("BOTLAKE_AA_PASSWORD").unwrap_or_default()),
//! };
//! let client = client::Client::new(
//!     "http://127.0.0.1:8080".parse().unwrap(),
//!     credentials,
//!     client::RetryPolicy::default(),
//! )?;
//! let config = botinsight::RunIngestConfig::new("prod");
//! let summary = botinsight::ingest_runs(&client, &lake, &config, &Quiet).await?;
//! println!("{} new runs", summary.inserted);
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

pub mod aa;
pub mod decode;
#[cfg(test)]
mod fuzz;
pub mod progress;
pub mod quarantine;
pub mod serve;
pub mod uipath;

use url::Url;

/// What can go wrong while ingesting.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client")]
    HttpClient {
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// A URL could not be formed.
    #[error("invalid URL {url}")]
    Url {
        /// The URL.
        url: String,
        /// The cause.
        #[source]
        source: url::ParseError,
    },
    /// The Control Room refused the credentials.
    #[error("login as {user} refused by {url}: check the user name and the password or API key")]
    Login {
        /// The authentication URL.
        url: Url,
        /// The user.
        user: String,
    },
    /// A request stayed unauthorized after logging in again.
    #[error(
        "{url} refused user {user} after a fresh login: the user needs the Bot Insight Admin or AAE_Admin role"
    )]
    Forbidden {
        /// The request.
        url: Url,
        /// The user.
        user: String,
    },
    /// A token given instead of credentials was refused.
    #[error(
        "{url} refused the given token: it expired, or its user lacks the Bot Insight Admin or AAE_Admin role; log in with a password or API key instead"
    )]
    TokenRejected {
        /// The request.
        url: Url,
    },
    /// A 401 that the caller may cure by logging in again.
    #[error("{url} answered 401 Unauthorized")]
    Unauthorized {
        /// The request.
        url: Url,
    },
    /// The server answered with a client error that retrying will not change.
    #[error("{url} refused the request ({status}): {message}")]
    Refused {
        /// The request.
        url: Url,
        /// The HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// The server sent the request elsewhere, and it was not followed there: to another
    /// origin (or for a login, anywhere), credentials would have gone along.
    #[error(
        "{url} answered {status}, a redirect to {to}; it was not followed, so that no password or token goes to another address: use the address the Control Room is served at"
    )]
    Redirected {
        /// The request.
        url: Url,
        /// The HTTP status.
        status: u16,
        /// The origin it pointed to.
        to: String,
    },
    /// Every attempt at a request failed.
    #[error("{url} failed {attempts} times")]
    RetriesExhausted {
        /// The request.
        url: Url,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        #[source]
        last: AttemptFailed,
    },
    /// The records fetched for a window do not add up to what the server announced.
    #[error(
        "window {from}..{to}: fetched {fetched} distinct records but totalRecords is {expected}; {cause}"
    )]
    Reconcile {
        /// First day of the window.
        from: chrono::NaiveDate,
        /// Day after the window.
        to: chrono::NaiveDate,
        /// What the server announced.
        expected: u64,
        /// What arrived.
        fetched: u64,
        /// The likely cause.
        cause: Mismatch,
    },
    /// A server could not listen on its address.
    #[error("cannot listen on {addr}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A task the work depends on panicked or was cancelled: a bug, never the input.
    #[error("{task} failed")]
    Task {
        /// Which task.
        task: &'static str,
        /// The cause.
        #[source]
        source: tokio::task::JoinError,
    },
    /// An input could not be read.
    #[error("cannot read {input}")]
    Read {
        /// The input (a file name, `-` for standard input).
        input: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A setting outside what it may be (a window of no days, no request in flight).
    #[error("{setting} must be {allowed}")]
    Setting {
        /// The setting.
        setting: &'static str,
        /// What it may be.
        allowed: &'static str,
    },
    /// A range with nothing in it: its start is not before its end.
    #[error("nothing to fetch: {from} is not before {to}")]
    NothingToFetch {
        /// Where it starts.
        from: String,
        /// Where it ends.
        to: String,
    },
    /// An answer that parsed but is not of its endpoint's shape (none of the lists it
    /// answers with, or a field of the wrong kind): nothing of it is stored.
    #[error("{url} answered {what}; nothing of this answer was stored")]
    Shape {
        /// The request, without credentials.
        url: String,
        /// What was wrong, for example `without botRunDataList (its keys: data, message)`.
        what: String,
    },
    /// A saved task log page, which does not say whose task it is, with no task named.
    #[error(
        "{input}: page {page} is a task log page (logData), which does not say whose task it is"
    )]
    TaskNotNamed {
        /// The file.
        input: String,
        /// The page's number in it.
        page: u64,
    },
    /// A saved page of no shape Bot Insight answers with.
    #[error(
        "{input}: page {page} has none of botRunDataList, auditData, logData (its keys: {had}): not a Bot Insight page"
    )]
    NotAPage {
        /// The file.
        input: String,
        /// The page's number in it.
        page: u64,
        /// The keys it had.
        had: String,
    },
    /// A file of saved pages that stops being JSON.
    #[error("{input}: the page at byte {page_byte} is not JSON: {what} near byte {fault_byte}")]
    BrokenPage {
        /// The file.
        input: String,
        /// Where the broken page starts.
        page_byte: u64,
        /// What the parser found wrong.
        what: String,
        /// Where.
        fault_byte: u64,
    },
    /// Decoded rows could not be assembled into a batch.
    #[error("assembling decoded records failed")]
    Arrow {
        /// The cause.
        #[source]
        source: datafusion::arrow::error::ArrowError,
    },
    /// The lake refused a commit.
    #[error(transparent)]
    Lake(#[from] botlake_lake::Error),
}

/// `Ok` if every setting of `settings` (its name and value) is at least 1, else the error
/// naming the first that is not.
pub(crate) fn at_least_one(settings: &[(&'static str, usize)]) -> Result<()> {
    match settings.iter().find(|(_, value)| *value == 0) {
        Some(&(setting, _)) => Err(Error::Setting {
            setting,
            allowed: "at least 1",
        }),
        None => Ok(()),
    }
}

/// Why the records of a window did not add up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mismatch {
    /// Fewer than announced: pages are missing, likely because the Control Room counts
    /// `startIndex` the other way ([`botinsight::Pagination`]).
    PagesMissing {
        /// The way it likely counts.
        other: aa::botinsight::Pagination,
    },
    /// More than announced: the data changed while it was read.
    DataChanged,
    /// An A360 audit window that did not add up: the log changed while it was read, or the
    /// server pages differently.
    AuditChanged,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mismatch::PagesMissing { other } => write!(
                f,
                "pages are missing: the Control Room may count startIndex by {}",
                other.name()
            ),
            Mismatch::DataChanged => f.write_str(
                "the Control Room's data changed while it was read; run the ingest again",
            ),
            Mismatch::AuditChanged => f.write_str(
                "the audit log changed while it was read, or the server pages differently; run \
                 the ingest again (the cursor did not move)",
            ),
        }
    }
}

/// The last failure of a request that was tried again and again: a status, a connection
/// that failed, a body cut short.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("last: {0}")]
pub struct AttemptFailed(pub String);

/// The ingest result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
