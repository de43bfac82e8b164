//! The simulator's HTTP server: the Authentication API and Bot Insight's `getbotrundata`,
//! as `aa-bot-insight-v11-openapi.yml` defines them, with fault injection.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::data::Dataset;
use crate::endpoints;
use crate::pages::{BotRunPage, BotRunRecord};
use crate::rng::Rng;

/// Where Bot Insight's v11 API lives on a Control Room.
pub const V11: &str = "/v2/botinsight/data/api";

/// Records per page, as Bot Insight serves them.
pub const PAGE_SIZE: usize = 1000;

/// How the server reads `startIndex`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pagination {
    /// A record offset, incremented by 1000 (the OpenAPI spec).
    #[default]
    Offset,
    /// A page number, 0 for the first 1000 records (the 11.3 documentation).
    Page,
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
    /// How `startIndex` is read.
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

/// The first name of a run sent in Windows-1252, as the page is built; `~E9~` becomes the
/// byte 0xE9 once the page is JSON.
const CP1252_NAME: &str = "Jos~E9~";

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            user: "botlake".into(),
            password: "botlake-demo".into(),
            api_key: "botlake-demo-key".into(),
            pagination: Pagination::Offset,
            faults: Faults::default(),
            max_window_days: 60,
            max_log_window_days: 90,
            now: None,
            bad_record_every: None,
            cp1252_every: None,
            token_ttl: None,
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

/// A running simulator; dropping it leaves the server running until the runtime ends,
/// [`Server::stop`] ends it sooner.
pub struct Server {
    addr: SocketAddr,
    stats: Arc<Stats>,
    shutdown: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// The base URL of the Control Room, for example `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What it has done so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Stops the server and waits for it.
    pub async fn stop(self) -> std::io::Result<()> {
        let _ = self.shutdown.send(());
        self.task.await.map_err(std::io::Error::other)?
    }
}

/// Starts the simulator on `addr` (port 0 picks a free port).
pub async fn start(
    dataset: Arc<Dataset>,
    config: ServerConfig,
    addr: SocketAddr,
) -> std::io::Result<Server> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let stats = Arc::new(Stats::default());
    let now = config.now.unwrap_or_else(|| dataset.end_time());
    let shared = Arc::new(Shared {
        faults_rng: Mutex::new(Rng::stream(dataset.config.seed, u64::MAX)),
        dataset,
        config,
        now,
        stats: stats.clone(),
        tokens: Mutex::new(HashMap::new()),
        token_counter: AtomicU64::new(0),
    });
    let app = Router::new()
        .route("/v1/authentication", post(authenticate))
        .route("/v1/authentication/token", post(refresh))
        .route(
            &format!("{V11}/getbotrundata/{{start_index}}/{{start_date}}"),
            get(bot_runs),
        )
        .route(
            &format!("{V11}/gettaskmetadata/{{task}}"),
            get(endpoints::task_metadata),
        )
        .route(
            &format!("{V11}/gettaskvariableprofile/{{task}}"),
            get(endpoints::task_profile),
        )
        .route(
            &format!("{V11}/gettasklogdata/{{task}}/{{start_index}}/{{start_date}}"),
            get(endpoints::task_logs),
        )
        .route(
            &format!("{V11}/getaudittraildata/{{start_index}}/{{start_date}}"),
            get(endpoints::audit_trail),
        )
        .route("/v1/audit/messages/list", post(endpoints::audit_list))
        .with_state(shared);
    let (shutdown, signal) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = signal.await;
            })
            .await
    });
    Ok(Server {
        addr,
        stats,
        shutdown,
        task,
    })
}

pub(crate) struct Shared {
    pub(crate) dataset: Arc<Dataset>,
    pub(crate) config: ServerConfig,
    pub(crate) now: DateTime<Utc>,
    pub(crate) stats: Arc<Stats>,
    faults_rng: Mutex<Rng>,
    tokens: Mutex<HashMap<String, Instant>>,
    token_counter: AtomicU64,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Fault {
    TooManyRequests,
    InternalError,
    Unavailable,
    Reset,
    Slow,
    Truncated,
}

impl Shared {
    pub(crate) fn next_fault(&self) -> Option<Fault> {
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let mut rng = self.faults_rng.lock().expect("fault rng lock");
        if !rng.chance(self.config.faults.rate) {
            return None;
        }
        self.stats.faults.fetch_add(1, Ordering::Relaxed);
        Some(match rng.below(6) {
            0 => Fault::TooManyRequests,
            1 => Fault::InternalError,
            2 => Fault::Unavailable,
            3 => Fault::Reset,
            4 => Fault::Slow,
            _ => Fault::Truncated,
        })
    }

    pub(crate) fn authorized(&self, headers: &HeaderMap) -> bool {
        let token = headers
            .get("x-authorization")
            .and_then(|v| v.to_str().ok())
            .or_else(|| {
                headers
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
            });
        token.is_some_and(|t| self.token_valid(t.trim()))
    }

    fn token_valid(&self, token: &str) -> bool {
        let tokens = self.tokens.lock().expect("token lock");
        match (tokens.get(token), self.config.token_ttl) {
            (Some(_), None) => true,
            (Some(issued), Some(ttl)) => issued.elapsed() < ttl,
            (None, _) => false,
        }
    }

    fn issue_token(&self) -> String {
        let n = self.token_counter.fetch_add(1, Ordering::Relaxed);
        let token = format!("sim-{}-{n}", self.dataset.config.seed);
        self.tokens
            .lock()
            .expect("token lock")
            .insert(token.clone(), Instant::now());
        token
    }

    /// The 401 every data endpoint answers without a valid token.
    pub(crate) fn unauthorized() -> Response {
        error(
            StatusCode::UNAUTHORIZED,
            "authentication required: send a token from /v1/authentication in X-Authorization",
        )
    }

    /// The `[from, to)` range of a v11 request: `startDate`, then the optional `endDate`
    /// botlake sends (the spec's range runs to now), at most `max_days` long.
    pub(crate) fn window(
        &self,
        start_date: &str,
        query: &HashMap<String, String>,
        max_days: i64,
    ) -> Result<(i64, i64), Box<Response>> {
        let from = parse_date("startDate", start_date)?;
        let from = from.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
        let to = match query.get("endDate") {
            Some(v) => parse_date("endDate", v)?
                .and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc(),
            None => self.now,
        };
        if to - from > chrono::Duration::days(max_days) {
            return Err(Box::new(error(
                StatusCode::BAD_REQUEST,
                format!("the date range cannot exceed {max_days} days"),
            )));
        }
        Ok((from.timestamp_millis(), to.timestamp_millis()))
    }

    /// The slice of `range` that page `start_index` covers.
    pub(crate) fn page(
        &self,
        range: std::ops::Range<usize>,
        start_index: &str,
    ) -> Result<std::ops::Range<usize>, Box<Response>> {
        let Ok(start_index) = start_index.parse::<usize>() else {
            return Err(Box::new(error(
                StatusCode::BAD_REQUEST,
                format!("startIndex must be a non-negative integer, got {start_index:?}"),
            )));
        };
        let offset = match self.config.pagination {
            Pagination::Offset => start_index,
            Pagination::Page => start_index.saturating_mul(PAGE_SIZE),
        };
        let first = range.start.saturating_add(offset).min(range.end);
        Ok(first..first.saturating_add(PAGE_SIZE).min(range.end))
    }

    /// Whether record `id` of time `time_ms` is visible at the clock (see
    /// [`ServerConfig::late`]).
    pub(crate) fn visible(&self, id: i64, time_ms: i64) -> bool {
        match self.config.late {
            Some((n, lag)) if n > 0 && (id as u64).is_multiple_of(n) => {
                let lag = i64::try_from(lag.as_millis()).unwrap_or(i64::MAX);
                time_ms.saturating_add(lag) <= self.now.timestamp_millis()
            }
            _ => true,
        }
    }

    /// Whether record `id` is one to render malformed.
    pub(crate) fn bad(&self, id: i64) -> bool {
        self.config
            .bad_record_every
            .is_some_and(|n| n > 0 && (id as u64).is_multiple_of(n))
    }
}

/// The spec's `Error` body.
#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: String,
}

pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let code = status.as_u16().to_string();
    (
        status,
        Json(ErrorBody {
            code: &code,
            message: message.into(),
        }),
    )
        .into_response()
}

/// `body` with the names of [`CP1252_NAME`] in Windows-1252.
fn cp1252(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = memchr::memmem::find(rest, b"~E9~") {
        out.extend_from_slice(&rest[..at]);
        out.push(0xE9);
        rest = &rest[at + 4..];
    }
    out.extend_from_slice(rest);
    out
}

/// Turns a response that would have succeeded into the chosen fault.
pub(crate) fn apply_fault(fault: Option<Fault>, shared: &Shared, ok: Response) -> Response {
    let Some(fault) = fault else { return ok };
    match fault {
        Fault::TooManyRequests => {
            let mut r = error(StatusCode::TOO_MANY_REQUESTS, "rate limit exceeded");
            r.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(shared.config.faults.retry_after_secs),
            );
            r
        }
        Fault::InternalError => error(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
        Fault::Unavailable => error(StatusCode::SERVICE_UNAVAILABLE, "service unavailable"),
        Fault::Reset => {
            // A body that fails at once makes the server drop the connection mid-response.
            let stream = futures::stream::once(async {
                Err::<Bytes, _>(std::io::Error::from(std::io::ErrorKind::ConnectionReset))
            });
            (StatusCode::OK, Body::from_stream(stream)).into_response()
        }
        Fault::Slow => {
            let (parts, body) = ok.into_parts();
            let delay = shared.config.faults.slow / 4;
            let stream = futures::stream::unfold(Some(body), move |body| async move {
                let body = body?;
                let bytes = axum::body::to_bytes(body, usize::MAX).await.ok()?;
                tokio::time::sleep(delay).await;
                Some((Ok::<_, std::io::Error>(bytes), None))
            });
            Response::from_parts(parts, Body::from_stream(stream))
        }
        Fault::Truncated => {
            let (parts, body) = ok.into_parts();
            let stream = futures::stream::once(async move {
                let bytes = axum::body::to_bytes(body, usize::MAX)
                    .await
                    .unwrap_or_default();
                Ok::<_, std::io::Error>(bytes.slice(..bytes.len() / 2))
            });
            let mut r = Response::from_parts(parts, Body::from_stream(stream));
            r.headers_mut().remove(header::CONTENT_LENGTH);
            r
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credentials {
    username: Option<String>,
    password: Option<String>,
    api_key: Option<String>,
}

async fn authenticate(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let fault = shared.next_fault();
    let Ok(creds) = serde_json::from_slice::<Credentials>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "body must be JSON with username and password or apiKey",
        );
    };
    let config = &shared.config;
    let user_ok = creds.username.as_deref() == Some(config.user.as_str());
    let secret_ok = creds.password.as_deref() == Some(config.password.as_str())
        || creds.api_key.as_deref() == Some(config.api_key.as_str());
    if !(user_ok && secret_ok) {
        return error(StatusCode::UNAUTHORIZED, "invalid credentials");
    }
    let token = shared.issue_token();
    shared.stats.logins.fetch_add(1, Ordering::Relaxed);
    let ok = Json(serde_json::json!({ "token": token, "user": { "username": config.user } }))
        .into_response();
    apply_fault(fault, &shared, ok)
}

#[derive(Deserialize)]
struct RefreshRequest {
    token: String,
}

/// `POST /v1/authentication/token`: a valid token buys a fresh one.
async fn refresh(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let fault = shared.next_fault();
    let Ok(request) = serde_json::from_slice::<RefreshRequest>(&body) else {
        return error(StatusCode::BAD_REQUEST, "body must be JSON with token");
    };
    if !shared.token_valid(&request.token) {
        return error(StatusCode::UNAUTHORIZED, "token expired or unknown");
    }
    let token = shared.issue_token();
    shared.stats.refreshes.fetch_add(1, Ordering::Relaxed);
    apply_fault(
        fault,
        &shared,
        Json(serde_json::json!({ "token": token })).into_response(),
    )
}

/// A date path or query parameter, or the spec's 400 answer.
pub(crate) fn parse_date(name: &str, value: &str) -> Result<NaiveDate, Box<Response>> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            format!("{name} must be an ISO 8601 date (YYYY-MM-DD), got {value:?}"),
        ))
    })
}

async fn bot_runs(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((start_index, start_date)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !shared.authorized(&headers) {
        return Shared::unauthorized();
    }
    let fault = shared.next_fault();
    if !shared.config.page_delay.is_zero() {
        tokio::time::sleep(shared.config.page_delay).await;
    }
    let (from, to) = match shared.window(&start_date, &query, shared.config.max_window_days) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let now_ms = shared.now.timestamp_millis();
    let range = shared.dataset.range(from, to, now_ms);
    let total = range.len();
    let page = match shared.page(range, &start_index) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let records = page
        .map(|i| {
            let v = shared.dataset.view(i, now_ms);
            let mut record = BotRunRecord::new(v.id, v.run, v.bot, v.runner, now_ms);
            if shared.bad(v.id) {
                record.start_time = "31/02/2026 25:61".to_string();
            }
            if shared
                .config
                .cp1252_every
                .is_some_and(|n| n > 0 && (v.id as u64).is_multiple_of(n))
            {
                record.first_name = CP1252_NAME;
            }
            record
        })
        .collect();
    let page = BotRunPage {
        total_records: total,
        bot_run_data_list: records,
    };
    json_page(&shared, fault, &page)
}

/// A page of records as JSON, through the fault chosen for its request.
pub(crate) fn json_page(shared: &Shared, fault: Option<Fault>, page: &impl Serialize) -> Response {
    let mut body = serde_json::to_vec(page).expect("a page serializes");
    if shared.config.cp1252_every.is_some() {
        body = cp1252(&body);
    }
    if fault.is_none() {
        shared.stats.pages.fetch_add(1, Ordering::Relaxed);
    }
    let ok = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response();
    apply_fault(fault, shared, ok)
}
