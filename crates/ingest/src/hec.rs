//! A Splunk HTTP Event Collector (HEC) receiver, so that UiPath's real-time export (or any
//! HEC sender) pushes straight into the lake.
//!
//! Requests are answered with HEC's JSON only once their events are committed: handlers
//! hand their events to one committer task and wait for its acknowledgement. The committer
//! commits micro-batches (every `flush_interval`, or sooner once `flush_events` wait), so a
//! success answer means the events are durable. Events in flight are bounded by
//! `max_pending` and their text by `max_pending_bytes`; beyond either, requests get HEC's
//! "server is busy" (503) instead of growing memory. On shutdown the server stops
//! accepting, the committer commits what it holds, and every waiting request gets its
//! answer.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use botlake_lake::Lake;
use serde::Deserialize;
use serde_json::value::RawValue;
use subtle::ConstantTimeEq;
use tokio::sync::{mpsc, oneshot};

use crate::progress::Quiet;
use crate::uipath::{self, Batcher};
use crate::{Error, Result};

/// How the receiver behaves.
#[derive(Debug, Clone)]
pub struct HecConfig {
    /// The token senders must present as `Authorization: Splunk <token>`.
    pub token: String,
    /// The name rows carry in `tenant`; the event's `TenantName` if not given.
    pub tenant: Option<String>,
    /// The longest an event waits for its commit.
    pub flush_interval: Duration,
    /// Events that make a commit at once.
    pub flush_events: usize,
    /// Events accepted but not yet committed, at most; beyond it requests get 503.
    pub max_pending: usize,
    /// Bytes of those events' text, at most; beyond it requests get 503 (a request alone
    /// always gets in, as it got in under `max_body_bytes`).
    pub max_pending_bytes: usize,
    /// The largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Commits after which the tables they wrote to are compacted (0: never).
    pub compact_every: u64,
}

impl HecConfig {
    /// Defaults: commit every second or 10,000 events, 200,000 or 256 MB pending, 64 MB
    /// bodies, compact after every 100 commits.
    pub fn new(token: String) -> HecConfig {
        HecConfig {
            token,
            tenant: None,
            flush_interval: Duration::from_secs(1),
            flush_events: 10_000,
            max_pending: 200_000,
            max_pending_bytes: 256 << 20,
            max_body_bytes: 64 << 20,
            compact_every: 100,
        }
    }
}

/// What the receiver did.
#[derive(Debug, Default)]
pub struct HecStats {
    /// Requests answered.
    pub requests: AtomicU64,
    /// Events accepted for a table (committed before their request is answered).
    pub events: AtomicU64,
    /// Events rejected (kept in `rejected_records`).
    pub rejected: AtomicU64,
    /// Commits made.
    pub commits: AtomicU64,
    /// Requests refused because too much was pending.
    pub busy: AtomicU64,
    /// Compactions that rewrote a table's small files.
    pub compactions: AtomicU64,
}

struct Submission {
    events: Vec<String>,
    request: u64,
    ack: oneshot::Sender<std::result::Result<(), String>>,
}

struct Shared {
    config: HecConfig,
    tx: mpsc::Sender<Submission>,
    pending: AtomicUsize,
    pending_bytes: AtomicUsize,
    stats: Arc<HecStats>,
}

/// Events of a request counted as pending while it lives. A sender that hangs up before
/// its answer drops the request's future: this counts its events out all the same, where
/// a count at the end of the handler left them pending for good, and after enough such
/// senders the receiver answered busy to everyone.
struct Pending<'s> {
    shared: &'s Shared,
    n: usize,
    bytes: usize,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        self.shared.pending.fetch_sub(self.n, Ordering::AcqRel);
        self.shared
            .pending_bytes
            .fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// HEC's JSON answer.
fn answer(status: StatusCode, code: u32, text: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        format!(r#"{{"text":"{text}","code":{code}}}"#),
    )
        .into_response()
}

fn invalid(code: u32, text: &str, event: usize) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "application/json")],
        format!(r#"{{"text":"{text}","code":{code},"invalid-event-number":{event}}}"#),
    )
        .into_response()
}

impl Shared {
    /// The body, unzipped if its `Content-Encoding` is gzip (as Fluent Bit, Vector and
    /// Splunk's forwarders can send it), or HEC's answer when it could not be read (too
    /// large before or after unzipping, cut off, not gzip after all).
    fn body(
        &self,
        headers: &HeaderMap,
        body: std::result::Result<Bytes, BytesRejection>,
    ) -> std::result::Result<Bytes, Box<Response>> {
        let limit = self.config.max_body_bytes;
        let too_large = || {
            Box::new(answer(
                StatusCode::PAYLOAD_TOO_LARGE,
                6,
                &format!("Request body larger than {limit} bytes (--max-body-mb)"),
            ))
        };
        let body = body.map_err(|e| match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => too_large(),
            status => Box::new(answer(status, 6, "Request body could not be read")),
        })?;
        let encoding = headers
            .get(header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_ascii_lowercase());
        match encoding.as_deref() {
            None | Some("" | "identity") => Ok(body),
            Some("gzip" | "x-gzip") => {
                use std::io::Read;
                let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
                // One byte past the limit tells a body that unzips too large.
                flate2::read::MultiGzDecoder::new(&body[..])
                    .take(limit as u64 + 1)
                    .read_to_end(&mut out)
                    .map_err(|_| Box::new(invalid(6, "Invalid data format", 0)))?;
                if out.len() > limit {
                    return Err(too_large());
                }
                Ok(Bytes::from(out))
            }
            Some(_) => Err(Box::new(answer(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                6,
                "Content-Encoding not supported: send gzip or none",
            ))),
        }
    }

    /// `None` if the request may go on, else HEC's answer to it.
    fn check_token(&self, headers: &HeaderMap) -> Option<Response> {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Some(answer(StatusCode::UNAUTHORIZED, 2, "Token is required"));
        };
        let Some(token) = value.to_str().ok().and_then(|v| {
            v.strip_prefix("Splunk ")
                .or_else(|| v.strip_prefix("splunk "))
        }) else {
            return Some(answer(StatusCode::UNAUTHORIZED, 3, "Invalid authorization"));
        };
        let ok: bool = token
            .trim()
            .as_bytes()
            .ct_eq(self.config.token.as_bytes())
            .into();
        (!ok).then(|| answer(StatusCode::FORBIDDEN, 4, "Invalid token"))
    }

    /// Whether no more may wait: the health check's answer.
    fn full(&self) -> bool {
        self.pending.load(Ordering::Acquire) >= self.config.max_pending
            || self.pending_bytes.load(Ordering::Acquire) >= self.config.max_pending_bytes
    }

    /// Hands `events` to the committer and waits until they are durable.
    async fn submit(&self, events: Vec<String>) -> Response {
        let request = self.stats.requests.fetch_add(1, Ordering::Relaxed) + 1;
        if events.is_empty() {
            // Senders flush empty batches; there is nothing to make durable.
            return answer(StatusCode::OK, 0, "Success");
        }
        let n = events.len();
        let bytes = events.iter().map(String::len).sum::<usize>();
        let before = self.pending.fetch_add(n, Ordering::AcqRel);
        let before_bytes = self.pending_bytes.fetch_add(bytes, Ordering::AcqRel);
        // Counted out when this is answered, or dropped because the sender hung up.
        let _pending = Pending {
            shared: self,
            n,
            bytes,
        };
        let full = before + n > self.config.max_pending
            || before_bytes + bytes > self.config.max_pending_bytes;
        if full && before > 0 {
            self.stats.busy.fetch_add(1, Ordering::Relaxed);
            return answer(StatusCode::SERVICE_UNAVAILABLE, 9, "Server is busy");
        }
        let (ack, done) = oneshot::channel();
        let sent = self
            .tx
            .send(Submission {
                events,
                request,
                ack,
            })
            .await;
        let result = match sent {
            Ok(()) => done
                .await
                .unwrap_or_else(|_| Err("the committer stopped".into())),
            Err(_) => Err("the receiver is shutting down".into()),
        };
        match result {
            Ok(()) => answer(StatusCode::OK, 0, "Success"),
            Err(e) => {
                tracing::error!("commit failed: {e}");
                answer(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    8,
                    "Internal server error",
                )
            }
        }
    }
}

/// One event of `/services/collector/event`: the `event` kept raw; `time`, `host`,
/// `source`, `sourcetype`, `index` and `fields` accepted in any JSON form.
#[derive(Deserialize)]
struct HecEvent<'a> {
    #[serde(borrow)]
    event: Option<&'a RawValue>,
}

/// The events of a `/services/collector/event` body: concatenated JSON objects.
fn parse_events(body: &[u8]) -> std::result::Result<Vec<String>, Box<Response>> {
    let mut events = Vec::new();
    let stream = serde_json::Deserializer::from_slice(body).into_iter::<HecEvent<'_>>();
    for (i, item) in stream.enumerate() {
        let item = item.map_err(|_| Box::new(invalid(6, "Invalid data format", i)))?;
        let Some(event) = item.event else {
            return Err(Box::new(invalid(12, "Event field is required", i)));
        };
        let text = event.get();
        // A sender may send the event as a JSON string holding the object.
        let text = match serde_json::from_str::<String>(text) {
            Ok(inner) => inner,
            Err(_) => text.to_string(),
        };
        if text.trim().is_empty() || text == "null" {
            return Err(Box::new(invalid(13, "Event field cannot be blank", i)));
        }
        events.push(text);
    }
    Ok(events)
}

async fn event(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    if let Some(refused) = shared.check_token(&headers) {
        return refused;
    }
    let body = match shared.body(&headers, body) {
        Ok(body) => body,
        Err(response) => return *response,
    };
    match parse_events(&body) {
        Ok(events) => shared.submit(events).await,
        Err(response) => *response,
    }
}

async fn raw(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    if let Some(refused) = shared.check_token(&headers) {
        return refused;
    }
    let body = match shared.body(&headers, body) {
        Ok(body) => body,
        Err(response) => return *response,
    };
    let Ok(text) = std::str::from_utf8(&body) else {
        return invalid(6, "Invalid data format", 0);
    };
    let events = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    shared.submit(events).await
}

async fn health(State(shared): State<Arc<Shared>>) -> Response {
    if shared.full() {
        answer(
            StatusCode::SERVICE_UNAVAILABLE,
            18,
            "HEC is unhealthy, queues are full",
        )
    } else {
        answer(StatusCode::OK, 17, "HEC is healthy")
    }
}

/// A running receiver.
pub struct Receiver {
    addr: SocketAddr,
    stats: Arc<HecStats>,
    task: tokio::task::JoinHandle<Result<()>>,
}

impl Receiver {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What it has done so far, updated as it runs.
    pub fn stats(&self) -> Arc<HecStats> {
        Arc::clone(&self.stats)
    }

    /// Waits until it has shut down and committed everything it acknowledged.
    pub async fn wait(self) -> Result<Arc<HecStats>> {
        self.task
            .await
            .map_err(|e| Error::Config(format!("the HEC receiver failed: {e}")))??;
        Ok(self.stats)
    }
}

/// Starts the receiver on `addr`; it runs until `shutdown` completes.
pub async fn start(
    lake: Lake,
    addr: SocketAddr,
    config: HecConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Receiver> {
    if config.token.is_empty() {
        return Err(Error::Config("the HEC token must not be empty".into()));
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::Config(format!("cannot listen on {addr}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Config(format!("cannot listen on {addr}: {e}")))?;
    let stats = Arc::new(HecStats::default());
    let (tx, rx) = mpsc::channel::<Submission>(1024);
    let committer = tokio::spawn(commit_loop(lake, config.clone(), rx, stats.clone()));
    let limit = config.max_body_bytes;
    let shared = Arc::new(Shared {
        config,
        tx,
        pending: AtomicUsize::new(0),
        pending_bytes: AtomicUsize::new(0),
        stats: stats.clone(),
    });
    let app = Router::new()
        .route("/services/collector", post(event))
        .route("/services/collector/event", post(event))
        .route("/services/collector/event/1.0", post(event))
        .route("/services/collector/raw", post(raw))
        .route("/services/collector/raw/1.0", post(raw))
        .route("/services/collector/health", get(health))
        .route("/services/collector/health/1.0", get(health))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(shared);
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
        // The router (and with it the last sender) is gone: the committer commits what
        // it holds and stops.
        let committed = committer
            .await
            .map_err(|e| Error::Config(format!("the committer failed: {e}")))?;
        served.map_err(|e| Error::Config(format!("the HEC server failed: {e}")))?;
        committed
    });
    Ok(Receiver { addr, stats, task })
}

async fn commit_loop(
    lake: Lake,
    config: HecConfig,
    mut rx: mpsc::Receiver<Submission>,
    stats: Arc<HecStats>,
) -> Result<()> {
    let mut batcher = Batcher::new(config.tenant.clone());
    let mut waiting: Vec<oneshot::Sender<std::result::Result<(), String>>> = Vec::new();
    let mut deadline = tokio::time::Instant::now() + config.flush_interval;
    let mut compaction = Compaction::default();
    loop {
        let received = tokio::select! {
            m = rx.recv() => Some(m),
            _ = tokio::time::sleep_until(deadline), if !waiting.is_empty() => None,
        };
        let written = match received {
            Some(Some(submission)) => {
                if waiting.is_empty() {
                    deadline = tokio::time::Instant::now() + config.flush_interval;
                }
                for (i, text) in submission.events.iter().enumerate() {
                    if batcher.push(text, || {
                        format!("hec request {} event {i}", submission.request)
                    }) == uipath::Decoded::Rejected
                    {
                        stats.rejected.fetch_add(1, Ordering::Relaxed);
                    } else {
                        stats.events.fetch_add(1, Ordering::Relaxed);
                    }
                }
                waiting.push(submission.ack);
                if batcher.len() < config.flush_events {
                    continue;
                }
                flush(&lake, &mut batcher, &mut waiting, &stats).await
            }
            Some(None) => {
                flush(&lake, &mut batcher, &mut waiting, &stats).await;
                return Ok(());
            }
            None => flush(&lake, &mut batcher, &mut waiting, &stats).await,
        };
        // Every commit adds files to the days it wrote (events new to the lake are written
        // beside the others): left alone, a receiver committing every second would leave
        // tens of thousands of small files a day for every query to open.
        if compaction.after_commit(&written, config.compact_every) {
            compaction.run(&lake, &stats).await;
        }
    }
}

/// The tables written since they were last compacted, and the commits that wrote them.
#[derive(Default)]
struct Compaction {
    commits: u64,
    tables: Vec<&'static str>,
}

impl Compaction {
    /// Counts a commit that wrote `written`; whether it is time to compact.
    fn after_commit(&mut self, written: &[&'static str], every: u64) -> bool {
        if written.is_empty() {
            return false;
        }
        self.commits += 1;
        for name in written {
            if !self.tables.contains(name) {
                self.tables.push(name);
            }
        }
        every > 0 && self.commits >= every
    }

    /// Compacts the tables written; a failure is logged, since every event is committed
    /// already and the next compaction tries again.
    async fn run(&mut self, lake: &Lake, stats: &HecStats) {
        let started = std::time::Instant::now();
        for name in std::mem::take(&mut self.tables) {
            let Some(table) = botlake_lake::catalog::table(name) else {
                continue;
            };
            match lake.compact(table).await {
                Ok(Some((removed, added))) if removed > 0 => {
                    stats.compactions.fetch_add(1, Ordering::Relaxed);
                    tracing::info!("compacted {name}: {removed} files into {added}");
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!("compacting {name} failed, to be tried again: {e}");
                    self.tables.push(name);
                }
            }
        }
        self.commits = 0;
        tracing::info!("compaction took {:.1} s", started.elapsed().as_secs_f64());
    }
}

/// Commits what `batcher` holds and answers every waiting request; returns the tables the
/// commit wrote to.
async fn flush(
    lake: &Lake,
    batcher: &mut Batcher,
    waiting: &mut Vec<oneshot::Sender<std::result::Result<(), String>>>,
    stats: &HecStats,
) -> Vec<&'static str> {
    if waiting.is_empty() {
        return Vec::new();
    }
    let result = if batcher.is_empty() {
        Ok(Vec::new())
    } else {
        uipath::commit(lake, batcher, &Quiet)
            .await
            .map(|committed| committed.tables.iter().map(|(name, _)| *name).collect())
            .map_err(|e| format!("{e}"))
    };
    stats.commits.fetch_add(1, Ordering::Relaxed);
    for ack in waiting.drain(..) {
        let _ = ack.send(result.clone().map(|_| ()));
    }
    result.unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compaction_comes_after_every_n_commits_that_wrote_something() {
        let mut c = Compaction::default();
        assert!(!c.after_commit(&["uipath_job_events"], 3));
        // A flush with nothing to commit (an empty request) does not count.
        assert!(!c.after_commit(&[], 3));
        assert!(!c.after_commit(&["uipath_robot_logs", "uipath_job_events"], 3));
        assert!(c.after_commit(&["uipath_job_events"], 3));
        assert_eq!(c.tables, ["uipath_job_events", "uipath_robot_logs"]);
        let mut never = Compaction::default();
        for _ in 0..10 {
            assert!(!never.after_commit(&["uipath_job_events"], 0));
        }
    }

    #[test]
    fn event_bodies_are_concatenated_objects() {
        let body = br#"{"time":"1700000000.5","event":{"EventType":"job.started"}}
            {"event":"{\"EventType\":\"robotlog\"}","host":"h","sourcetype":"uipath"}"#;
        let events = parse_events(body).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0], r#"{"EventType":"job.started"}"#);
        assert_eq!(events[1], r#"{"EventType":"robotlog"}"#);
        assert!(parse_events(b"").unwrap().is_empty());
        assert_eq!(
            parse_events(br#"{"event":{}} {"time":1}"#)
                .unwrap_err()
                .status(),
            StatusCode::BAD_REQUEST
        );
        assert!(parse_events(br#"{"event":{}} {"#).is_err());
    }
}
