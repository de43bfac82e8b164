//! How the simulated Control Room behaves (pagination, faults, clock, broken records) and
//! what it counts.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// How the server reads `startIndex`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pagination {
    /// A record offset, incremented by 1000 (the OpenAPI spec).
    #[default]
    Offset,
    /// A page number, 0 for the first 1000 records (the 11.3 documentation).
    Page,
}

/// Which Control Room the server plays: its paths, paging and answer shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Generation {
    /// Enterprise 11.x as the OpenAPI spec has it.
    #[default]
    V11,
    /// Enterprise 11.3 as its documentation has it: page numbers for `startIndex`,
    /// `gettasklogdata/{task}/{page}/{from}/{to}?limit=`, profiles under
    /// `profileVariables` (`sumOfValue`, `totalRecords`).
    V113,
    /// Automation 360: `getbotrundata?pageno&limit&fromDate&toDate`, the audit log
    /// (`v1/audit/messages/list`); none of 11.x's path-style endpoints.
    A360,
}

/// Faults to inject into responses.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Share of requests that get a fault, from 0 to 1.
    pub rate: f64,
    /// `Retry-After` seconds sent with a 429.
    pub retry_after_secs: u64,
    /// How long a slow body takes to arrive.
    pub slow: Duration,
}

/// How the server behaves.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The one user that may log in.
    pub user: String,
    /// Its password.
    pub password: String,
    /// Its API key.
    pub api_key: String,
    /// Which Control Room it plays.
    pub generation: Generation,
    /// How `startIndex` is read (11.x; 11.3 and Automation 360 count pages).
    pub pagination: Pagination,
    /// Faults to inject.
    pub faults: Faults,
    /// The longest date range a request may ask for, in days (60 in the spec).
    pub max_window_days: i64,
    /// The longest range of a task log request (90 days in the 11.3 documentation).
    pub max_log_window_days: i64,
    /// The simulator's clock; the end of the data set if not given.
    pub now: Option<DateTime<Utc>>,
    /// Render every n-th run, task log and audit event with a malformed time, to exercise
    /// rejection.
    pub bad_record_every: Option<u64>,
    /// How long a token is valid; forever if not given.
    pub token_ttl: Option<Duration>,
    /// How many data requests a token serves before it is refused with 401 (a token that
    /// expires mid-run, whatever the run's speed); no limit if not given.
    pub token_uses: Option<u64>,
    /// Automation 360: serve the activity API at `/v2/activity/list` only, so that
    /// `/v3/activity/list` answers 404 (a Control Room older than v3).
    pub activity_v2_only: bool,
    /// Take the token only as `Authorization: Bearer` (the spec's bearerAuth), refusing
    /// `X-Authorization`.
    pub bearer_only: bool,
    /// Send every n-th run's first name in Windows-1252 (`Jos` and the byte 0xE9), as a
    /// Control Room on Windows may: bytes that are not UTF-8 in a JSON page.
    pub cp1252_every: Option<u64>,
    /// How long every page of runs takes to answer: a Control Room far away, or an ingest
    /// slow enough to be cut short while it runs.
    pub page_delay: Duration,
    /// Every n-th task log and audit event (by id) becomes visible only this long after its
    /// time, as it does where a Control Room's index lags: `(n, lag)`.
    pub late: Option<(u64, Duration)>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            user: "botlake".into(),
            password: "botlake-demo".into(),
            api_key: "botlake-demo-key".into(),
            generation: Generation::V11,
            pagination: Pagination::Offset,
            faults: Faults::default(),
            max_window_days: 60,
            max_log_window_days: 90,
            now: None,
            bad_record_every: None,
            cp1252_every: None,
            token_ttl: None,
            token_uses: None,
            bearer_only: false,
            activity_v2_only: false,
            page_delay: Duration::ZERO,
            late: None,
        }
    }
}

/// Counts of what the server did, for tests and the `sim serve` summary.
#[derive(Debug, Default)]
pub struct Stats {
    /// Requests received.
    pub requests: AtomicU64,
    /// Faults injected.
    pub faults: AtomicU64,
    /// Pages of records served whole.
    pub pages: AtomicU64,
    /// Logins that succeeded.
    pub logins: AtomicU64,
    /// Tokens refreshed.
    pub refreshes: AtomicU64,
}
