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
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use botlake_lake::Lake;
use futures::StreamExt;
use serde::Deserialize;
use serde_json::value::RawValue;
use subtle::ConstantTimeEq;
use tokio::sync::{Notify, Semaphore, mpsc, oneshot};

use crate::decode::{escape_invalid_utf8, mend_utf8, not_utf8};
use crate::progress::Quiet;
use crate::serve::{self, Limits};
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
    /// Events accepted but not yet committed, at most; beyond it requests get 503, and a
    /// request holding more events than this alone gets 413.
    pub max_pending: usize,
    /// Bytes of those events' text (and of bodies being read), at most; beyond it requests
    /// get 503 (a request alone always gets in, as it got in under `max_body_bytes`).
    pub max_pending_bytes: usize,
    /// The largest request body, in bytes, before and after unzipping.
    pub max_body_bytes: usize,
    /// Commits after which the tables they wrote to are compacted (0: never).
    pub compact_every: u64,
    /// Connections served at once (fewer if the process may not open that many files).
    pub max_connections: usize,
    /// The longest a sender may take to send a request's headers, and the longest a
    /// kept-alive connection may stay idle.
    pub header_timeout: Duration,
    /// The longest a request's body may take to arrive.
    pub body_timeout: Duration,
    /// How an operator sets the body limit, said in the answer to a body over it.
    pub body_limit_name: Option<String>,
}

impl HecConfig {
    /// Defaults: commit every second or 10,000 events, 200,000 or 256 MB pending, 64 MB
    /// bodies, compact after every 100 commits, 512 connections, 10 s for headers (and
    /// idle connections), 60 s for a body.
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
            max_connections: 512,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(60),
            body_limit_name: None,
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

/// What a request brought, event by event.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// An event to decode.
    Event(String),
    /// One rejected as it came (its bytes were not UTF-8), with the reason.
    Bad { raw: String, reason: String },
}

struct Submission {
    events: Vec<Incoming>,
    request: u64,
    ack: oneshot::Sender<std::result::Result<(), String>>,
}

/// Why the committer stopped while the server ran, once it has: from then on nothing can
/// be made durable, and the receiver says so (health 503) and shuts down.
#[derive(Default)]
struct Broken {
    reason: OnceLock<String>,
    notify: Notify,
}

impl Broken {
    fn set(&self, reason: String) {
        let _ = self.reason.set(reason);
        self.notify.notify_waiters();
    }

    fn reason(&self) -> Option<&str> {
        self.reason.get().map(String::as_str)
    }

    /// Completes once the committer has stopped (at once if it has).
    async fn wait(&self) {
        let notified = self.notify.notified();
        if self.reason.get().is_none() {
            notified.await;
        }
    }
}

struct Shared {
    config: HecConfig,
    tx: mpsc::Sender<Submission>,
    pending: AtomicUsize,
    pending_bytes: AtomicUsize,
    stats: Arc<HecStats>,
    broken: Arc<Broken>,
    /// Bodies unzipped and parsed at once, on the blocking pool.
    decoding: Semaphore,
}

/// Bytes an event is counted as beyond its text: what holding it costs (its `String`, its
/// place in the batch), so that a million tiny events count as the memory they take.
const EVENT_OVERHEAD: usize = 64;

/// What a request holds counted as pending while it lives: its body's bytes as they are
/// read, then its events. A sender that hangs up before its answer drops the request's
/// future: this counts it out all the same, where a count at the end of the handler left
/// it pending for good, and after enough such senders the receiver answered busy to
/// everyone.
struct Pending<'s> {
    shared: &'s Shared,
    n: usize,
    bytes: usize,
}

impl<'s> Pending<'s> {
    fn new(shared: &'s Shared) -> Pending<'s> {
        Pending {
            shared,
            n: 0,
            bytes: 0,
        }
    }

    /// Counts this request as `n` events of `bytes`; whether that fits: beyond the limits
    /// only when nothing else was pending.
    fn count(&mut self, n: usize, bytes: usize) -> bool {
        let s = self.shared;
        let (before_n, before_bytes) = (self.n, self.bytes);
        s.pending.fetch_add(n, Ordering::AcqRel);
        s.pending_bytes.fetch_add(bytes, Ordering::AcqRel);
        let total_n = s.pending.fetch_sub(before_n, Ordering::AcqRel) - before_n;
        let total_bytes = s.pending_bytes.fetch_sub(before_bytes, Ordering::AcqRel) - before_bytes;
        (self.n, self.bytes) = (n, bytes);
        let others = total_n.saturating_sub(n) > 0 || total_bytes.saturating_sub(bytes) > 0;
        let over = total_n > s.config.max_pending || total_bytes > s.config.max_pending_bytes;
        !(over && others)
    }
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

fn busy() -> Response {
    answer(StatusCode::SERVICE_UNAVAILABLE, 9, "Server is busy")
}

/// The answer while the committer is stopped.
fn broken() -> Response {
    answer(
        StatusCode::SERVICE_UNAVAILABLE,
        8,
        "HEC is unhealthy, events can no longer be committed",
    )
}

/// Which endpoint a body came to.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    /// `/services/collector/event`: HEC event objects, one after another.
    Event,
    /// `/services/collector/raw`: one event a line.
    Raw,
}

/// How a body is encoded.
#[derive(Clone, Copy)]
pub(crate) enum Encoding {
    Plain,
    Gzip,
}

/// HEC's answer to a body larger than `limit`, which `name` sets.
fn too_large(limit: usize, name: Option<&str>) -> Box<Response> {
    let set = name.map(|n| format!(" ({n})")).unwrap_or_default();
    Box::new(answer(
        StatusCode::PAYLOAD_TOO_LARGE,
        6,
        &format!("Request body larger than {limit} bytes{set}"),
    ))
}

/// The events of `body`, unzipped first if `encoding` says so, within `config`'s limits
/// (`max_body_bytes` unzipped, `max_pending` events), or HEC's answer when they could not
/// be had.
pub(crate) fn decode_body(
    config: &HecConfig,
    body: Bytes,
    encoding: Encoding,
    kind: Kind,
) -> std::result::Result<Vec<Incoming>, Box<Response>> {
    let body = match encoding {
        Encoding::Plain => body,
        Encoding::Gzip => gunzip(&body, config)?,
    };
    match kind {
        Kind::Event => parse_events(&body, config.max_pending),
        Kind::Raw => raw_lines(&body, config.max_pending),
    }
}

/// `body` unzipped, within `config`'s body limit.
fn gunzip(body: &[u8], config: &HecConfig) -> std::result::Result<Bytes, Box<Response>> {
    use std::io::Read;
    let limit = config.max_body_bytes;
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
    // One byte past the limit tells a body that unzips too large.
    flate2::read::MultiGzDecoder::new(body)
        .take((limit as u64).saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|_| Box::new(invalid(6, "Invalid data format", 0)))?;
    if out.len() > limit {
        return Err(too_large(limit, config.body_limit_name.as_deref()));
    }
    Ok(Bytes::from(out))
}

impl Shared {
    fn too_large(&self) -> Box<Response> {
        too_large(
            self.config.max_body_bytes,
            self.config.body_limit_name.as_deref(),
        )
    }

    /// The body's encoding, or HEC's answer to one that is not supported.
    fn encoding(headers: &HeaderMap) -> std::result::Result<Encoding, Box<Response>> {
        let encoding = headers
            .get(header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_ascii_lowercase());
        match encoding.as_deref() {
            None | Some("" | "identity") => Ok(Encoding::Plain),
            Some("gzip" | "x-gzip") => Ok(Encoding::Gzip),
            Some(_) => Err(Box::new(answer(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                6,
                "Content-Encoding not supported: send gzip or none",
            ))),
        }
    }

    /// The body, read within `body_timeout` and `max_body_bytes` and counted as pending as
    /// it comes, or HEC's answer when it could not be (too large, too slow, cut off, or
    /// too much pending already).
    async fn read_body(
        &self,
        headers: &HeaderMap,
        body: Body,
        pending: &mut Pending<'_>,
    ) -> std::result::Result<Bytes, Box<Response>> {
        let limit = self.config.max_body_bytes;
        let announced = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let deadline = tokio::time::Instant::now() + self.config.body_timeout;
        let mut stream = body.into_data_stream();
        if let Some(n) = announced.filter(|n| *n > limit as u64) {
            // A sender writes its whole body before it reads the answer (none sends
            // `Expect: 100-continue`): refused at once, it saw its connection closed under
            // its write, a broken pipe, and never this answer. A body of up to four times
            // the limit is read to its end within the body timeout and dropped, chunk by
            // chunk, first; a larger one is refused at once.
            if n <= 4 * limit as u64 {
                while let Ok(Some(Ok(_))) = tokio::time::timeout_at(deadline, stream.next()).await {
                }
            }
            return Err(self.too_large());
        }
        let mut out = Vec::with_capacity(announced.map_or(0, |n| n as usize));
        loop {
            let chunk = match tokio::time::timeout_at(deadline, stream.next()).await {
                Err(_) => {
                    return Err(Box::new(answer(
                        StatusCode::REQUEST_TIMEOUT,
                        6,
                        "Request body took too long to arrive",
                    )));
                }
                Ok(None) => break,
                Ok(Some(Err(_))) => {
                    return Err(Box::new(answer(
                        StatusCode::BAD_REQUEST,
                        6,
                        "Request body could not be read",
                    )));
                }
                Ok(Some(Ok(chunk))) => chunk,
            };
            if chunk.len() > limit - out.len() {
                return Err(self.too_large());
            }
            out.extend_from_slice(&chunk);
            if !pending.count(0, out.len()) {
                self.stats.busy.fetch_add(1, Ordering::Relaxed);
                return Err(Box::new(busy()));
            }
        }
        Ok(Bytes::from(out))
    }

    /// The events of `body`, unzipped and parsed on the blocking pool (a gzip bomb or a
    /// body of 64 MB would hold an async worker, and with it the health check, for
    /// seconds), or HEC's answer when they could not be.
    async fn decode(
        self: &Arc<Shared>,
        body: Bytes,
        encoding: Encoding,
        kind: Kind,
    ) -> std::result::Result<Vec<Incoming>, Box<Response>> {
        let _permit = self
            .decoding
            .acquire()
            .await
            .map_err(|_| Box::new(broken()))?;
        let shared = Arc::clone(self);
        tokio::task::spawn_blocking(move || decode_body(&shared.config, body, encoding, kind))
            .await
            .map_err(|e| {
                tracing::error!("decoding a request failed: {e}");
                Box::new(answer(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    8,
                    "Internal server error",
                ))
            })?
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
    async fn submit(
        &self,
        request: u64,
        events: Vec<Incoming>,
        mut pending: Pending<'_>,
    ) -> Response {
        if events.is_empty() {
            // Senders flush empty batches; there is nothing to make durable.
            return answer(StatusCode::OK, 0, "Success");
        }
        let bytes = events
            .iter()
            .map(|e| match e {
                Incoming::Event(text) => text.len(),
                Incoming::Bad { raw, reason } => raw.len() + reason.len(),
            })
            .fold(0usize, |sum, len| sum.saturating_add(len + EVENT_OVERHEAD));
        // Counted out when this is answered, or dropped because the sender hung up.
        if !pending.count(events.len(), bytes) {
            self.stats.busy.fetch_add(1, Ordering::Relaxed);
            return busy();
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
            Err(_) => Err("the committer stopped".into()),
        };
        match result {
            Ok(()) => answer(StatusCode::OK, 0, "Success"),
            Err(_) if self.broken.reason().is_some() => broken(),
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

    /// A request to `/event` or `/raw`: the token first (a wrong one gets its answer before
    /// a byte of the body is read), then the body, its events, their commit.
    async fn receive(self: Arc<Shared>, headers: HeaderMap, body: Body, kind: Kind) -> Response {
        if let Some(refused) = self.check_token(&headers) {
            return refused;
        }
        if self.broken.reason().is_some() {
            return broken();
        }
        let request = self.stats.requests.fetch_add(1, Ordering::Relaxed) + 1;
        let encoding = match Shared::encoding(&headers) {
            Ok(encoding) => encoding,
            Err(response) => return *response,
        };
        let mut pending = Pending::new(&self);
        let body = match self.read_body(&headers, body, &mut pending).await {
            Ok(body) => body,
            Err(response) => return *response,
        };
        match self.decode(body, encoding, kind).await {
            Ok(events) => self.submit(request, events, pending).await,
            Err(response) => *response,
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

/// HEC's answer to a request holding more than `max` events.
fn too_many(max: usize) -> Box<Response> {
    Box::new(answer(
        StatusCode::PAYLOAD_TOO_LARGE,
        6,
        &format!("Request holds more than {max} events, the most that may be pending"),
    ))
}

/// The events of a `/services/collector/event` body: concatenated JSON objects, at most
/// `max_events` of them. An event whose strings hold bytes that are not UTF-8 is rejected
/// alone, those bytes shown as `\xNN`; the others go on.
fn parse_events(
    body: &[u8],
    max_events: usize,
) -> std::result::Result<Vec<Incoming>, Box<Response>> {
    let mended = mend_utf8(body).map(|(mended, _)| mended);
    let text = mended.as_deref().unwrap_or(body);
    let mut events = Vec::new();
    let stream = serde_json::Deserializer::from_slice(text).into_iter::<HecEvent<'_>>();
    for (i, item) in stream.enumerate() {
        if i >= max_events {
            return Err(too_many(max_events));
        }
        let item = item.map_err(|_| Box::new(invalid(6, "Invalid data format", i)))?;
        let Some(event) = item.event else {
            return Err(Box::new(invalid(12, "Event field is required", i)));
        };
        let text = event.get();
        if mended.is_some()
            && let Some((reason, raw)) = not_utf8(text)
        {
            events.push(Incoming::Bad { raw, reason });
            continue;
        }
        // A sender may send the event as a JSON string holding the object.
        let text = match serde_json::from_str::<String>(text) {
            Ok(inner) => inner,
            Err(_) => text.to_string(),
        };
        if text.trim().is_empty() || text == "null" {
            return Err(Box::new(invalid(13, "Event field cannot be blank", i)));
        }
        events.push(Incoming::Event(text));
    }
    Ok(events)
}

/// The events of a `/services/collector/raw` body: one a line, blank lines skipped, at
/// most `max_events`. A line that is not UTF-8 is rejected alone, as the file ingest does.
fn raw_lines(body: &[u8], max_events: usize) -> std::result::Result<Vec<Incoming>, Box<Response>> {
    let mut events = Vec::new();
    for line in body.split(|b| *b == b'\n') {
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        if events.len() >= max_events {
            return Err(too_many(max_events));
        }
        events.push(match std::str::from_utf8(line) {
            Ok(text) => Incoming::Event(text.to_string()),
            Err(e) => Incoming::Bad {
                raw: escape_invalid_utf8(line),
                reason: format!("not UTF-8: {e}"),
            },
        });
    }
    Ok(events)
}

async fn event(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    shared.receive(headers, body, Kind::Event).await
}

async fn raw(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    shared.receive(headers, body, Kind::Raw).await
}

async fn health(State(shared): State<Arc<Shared>>) -> Response {
    if shared.broken.reason().is_some() {
        broken()
    } else if shared.full() {
        answer(
            StatusCode::SERVICE_UNAVAILABLE,
            18,
            "HEC is unhealthy, queues are full",
        )
    } else {
        answer(StatusCode::OK, 17, "HEC is healthy")
    }
}

/// The answer to every request of a connection past the limit.
async fn at_the_connection_limit() -> Response {
    answer(
        StatusCode::SERVICE_UNAVAILABLE,
        9,
        "Server is busy: every connection it may take is in use",
    )
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

    /// Waits until it has shut down and committed everything it acknowledged; an error if
    /// its committer stopped before (events it had not committed were answered with an
    /// error, never acknowledged).
    pub async fn wait(self) -> Result<Arc<HecStats>> {
        self.task.await.map_err(|source| Error::Task {
            task: "the HEC receiver",
            source,
        })??;
        Ok(self.stats)
    }
}

/// Starts the receiver on `addr`; it runs until `shutdown` completes, or its committer
/// stops (a bug: then it says so to health checks, stops, and [`Receiver::wait`] fails).
pub async fn start(
    lake: Lake,
    addr: SocketAddr,
    config: HecConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Receiver> {
    if config.token.is_empty() {
        return Err(Error::Setting {
            setting: "the HEC token",
            allowed: "not empty",
        });
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Listen { addr, source })?;
    let stats = Arc::new(HecStats::default());
    let (tx, rx) = mpsc::channel::<Submission>(1024);
    let committer = tokio::spawn(commit_loop(lake, config.clone(), rx, stats.clone()));
    run(listener, config, tx, committer, stats, shutdown)
}

/// Serves on `listener`, handing events to `committer` through `tx`.
fn run(
    listener: tokio::net::TcpListener,
    config: HecConfig,
    tx: mpsc::Sender<Submission>,
    committer: tokio::task::JoinHandle<Result<()>>,
    stats: Arc<HecStats>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Receiver> {
    let addr = listener.local_addr().map_err(|source| Error::Listen {
        addr: SocketAddr::from(([0, 0, 0, 0], 0)),
        source,
    })?;
    let broken = Arc::new(Broken::default());
    // The committer ends once every sender is gone, which is after the server stops: an
    // end before is a failure, said at once to whoever asks.
    let watched = {
        let broken = Arc::clone(&broken);
        tokio::spawn(async move {
            let result = committer.await;
            let reason = match &result {
                Ok(Ok(())) => "the committer stopped".to_string(),
                Ok(Err(e)) => format!("the committer failed: {e}"),
                Err(e) => format!("the committer failed: {e}"),
            };
            broken.set(reason);
            result
        })
    };
    let limits = Limits {
        max_connections: config.max_connections,
        header_timeout: config.header_timeout,
    };
    let decoders = std::thread::available_parallelism().map_or(2, usize::from);
    let shared = Arc::new(Shared {
        config,
        tx,
        pending: AtomicUsize::new(0),
        pending_bytes: AtomicUsize::new(0),
        stats: stats.clone(),
        broken: Arc::clone(&broken),
        decoding: Semaphore::new(decoders),
    });
    let app = Router::new()
        .route("/services/collector", post(event))
        .route("/services/collector/event", post(event))
        .route("/services/collector/event/1.0", post(event))
        .route("/services/collector/raw", post(raw))
        .route("/services/collector/raw/1.0", post(raw))
        .route("/services/collector/health", get(health))
        .route("/services/collector/health/1.0", get(health))
        .with_state(shared);
    let full = Router::new().fallback(any(at_the_connection_limit));
    let task = tokio::spawn(async move {
        let stop = async {
            tokio::select! {
                () = shutdown => {}
                () = broken.wait() => {}
            }
        };
        serve::serve(listener, app, full, limits, stop).await;
        // The router (and with it the last sender) is gone: the committer commits what
        // it holds and stops.
        let committed = watched.await.map_err(|source| Error::Task {
            task: "the HEC committer's watch",
            source,
        })?;
        committed.map_err(|source| Error::Task {
            task: "the HEC committer",
            source,
        })?
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
                for (i, incoming) in submission.events.into_iter().enumerate() {
                    let location = || format!("hec request {} event {i}", submission.request);
                    let decoded = match incoming {
                        Incoming::Event(text) => batcher.push(&text, location),
                        Incoming::Bad { raw, reason } => batcher.reject(raw, reason, location()),
                    };
                    if decoded == uipath::Decoded::Rejected {
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

    /// A receiver's shared state with `config`, its events going nowhere.
    fn shared(config: HecConfig) -> Arc<Shared> {
        let (tx, _) = mpsc::channel(1);
        Arc::new(Shared {
            config,
            tx,
            pending: AtomicUsize::new(0),
            pending_bytes: AtomicUsize::new(0),
            stats: Arc::default(),
            broken: Arc::default(),
            decoding: Semaphore::new(2),
        })
    }

    // Regression: 16 parallel gzip bombs took up to 34 s to be refused, and the health
    // check 13 s meanwhile: they were unzipped on the async workers. On a runtime of one
    // thread, a task goes on ticking while a bomb is unzipped now.
    #[test]
    fn bodies_are_unzipped_off_the_async_workers() {
        use std::io::Write;
        let limit = 16 << 20;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&vec![b'\n'; 2 * limit]).unwrap();
        let bomb = Bytes::from(gz.finish().unwrap());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut config = HecConfig::new("t".into());
            config.max_body_bytes = limit;
            let shared = shared(config);
            let ticks = Arc::new(AtomicU64::new(0));
            let ticker = {
                let ticks = Arc::clone(&ticks);
                tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        ticks.fetch_add(1, Ordering::Relaxed);
                    }
                })
            };
            tokio::time::sleep(Duration::from_millis(5)).await;
            let before = ticks.load(Ordering::Relaxed);
            let refused = shared
                .decode(bomb, Encoding::Gzip, Kind::Raw)
                .await
                .unwrap_err();
            assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
            let during = ticks.load(Ordering::Relaxed) - before;
            assert!(
                during >= 3,
                "{during} ticks: the one thread was held by the unzipping"
            );
            ticker.abort();
        });
    }

    // Regression: once the committer had died (an overflow in a decoder panicked it), the
    // receiver answered 500 to every request while its health check said 200, and went on
    // so until it was stopped. Now it says so and stops, and waiting on it fails.
    #[tokio::test]
    async fn a_receiver_whose_committer_died_says_so_and_stops() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (tx, mut rx) = mpsc::channel::<Submission>(8);
        let committer = tokio::spawn(async move {
            let _first = rx.recv().await;
            panic!("a bug in the committer");
        });
        let receiver = run(
            listener,
            HecConfig::new("t".into()),
            tx,
            committer,
            Arc::new(HecStats::default()),
            std::future::pending(),
        )
        .unwrap();
        let url = format!("http://{}/services/collector", receiver.addr());
        let http = reqwest::Client::new();
        let health = http.get(format!("{url}/health")).send().await.unwrap();
        assert_eq!(health.status(), 200);
        let r = http
            .post(format!("{url}/event"))
            .header("Authorization", "Splunk t")
            .body(r#"{"event":{"EventType":"job.started"}}"#)
            .send()
            .await
            .unwrap();
        assert!(matches!(r.status().as_u16(), 500 | 503), "{}", r.status());
        // Never healthy again: 503 while it shuts down, then nothing listens.
        let health = http.get(format!("{url}/health")).send().await;
        assert!(health.is_err() || health.unwrap().status() == 503);
        let e = tokio::time::timeout(Duration::from_secs(10), receiver.wait())
            .await
            .expect("the receiver stops by itself")
            .unwrap_err();
        assert!(matches!(e, Error::Task { .. }), "{e}");
    }

    #[test]
    fn event_bodies_are_concatenated_objects() {
        let body = br#"{"time":"1700000000.5","event":{"EventType":"job.started"}}
            {"event":"{\"EventType\":\"robotlog\"}","host":"h","sourcetype":"uipath"}"#;
        let events = texts(parse_events(body, 10).unwrap());
        assert_eq!(
            events,
            [
                r#"{"EventType":"job.started"}"#,
                r#"{"EventType":"robotlog"}"#
            ]
        );
        assert!(parse_events(b"", 10).unwrap().is_empty());
        assert_eq!(
            parse_events(br#"{"event":{}} {"time":1}"#, 10)
                .unwrap_err()
                .status(),
            StatusCode::BAD_REQUEST
        );
        assert!(parse_events(br#"{"event":{}} {"#, 10).is_err());
    }

    /// The events as text, the rejected ones as `!reason|raw`.
    fn texts(events: Vec<Incoming>) -> Vec<String> {
        events
            .into_iter()
            .map(|e| match e {
                Incoming::Event(text) => text,
                Incoming::Bad { raw, reason } => format!("!{reason}|{raw}"),
            })
            .collect()
    }

    // Regression: one byte that was not UTF-8 made the whole request a 400, and its good
    // events were lost with it.
    #[test]
    fn an_event_that_is_not_utf8_is_rejected_alone() {
        let body = b"{\"event\":{\"a\":\"ok\"}}{\"event\":{\"a\":\"Jos\xe9\"}}{\"event\":\"{\\\"b\\\":\\\"\xff\\\"}\"}{\"event\":{\"a\":\"fine\"}}";
        let events = texts(parse_events(body, 10).unwrap());
        assert_eq!(events.len(), 4, "{events:?}");
        assert_eq!(events[0], r#"{"a":"ok"}"#);
        assert!(events[1].starts_with("!not UTF-8"), "{}", events[1]);
        assert!(events[1].ends_with(r#"|{"a":"Jos\xE9"}"#), "{}", events[1]);
        assert!(events[2].starts_with("!not UTF-8"), "{}", events[2]);
        assert_eq!(events[3], r#"{"a":"fine"}"#);
        let raw = texts(raw_lines(b"{\"a\":1}\n\n{\"b\":\"\xe9\"}\r\n{\"c\":3}", 10).unwrap());
        assert_eq!(raw.len(), 3, "{raw:?}");
        assert_eq!(raw[0], r#"{"a":1}"#);
        assert!(raw[1].contains(r#"|{"b":"\xE9"}"#), "{}", raw[1]);
        assert_eq!(raw[2], r#"{"c":3}"#);
    }

    // Regression: 3 MB of gzip holding 1.28 million tiny events took 1.1 GB; a request is
    // now refused past as many events as may be pending, before they are held.
    #[test]
    fn a_request_of_more_events_than_may_be_pending_is_refused() {
        let body = "{\"event\":{}}".repeat(11);
        assert_eq!(parse_events(body.as_bytes(), 11).unwrap().len(), 11);
        let refused = parse_events(body.as_bytes(), 10).unwrap_err();
        assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let lines = "x\n".repeat(11);
        assert_eq!(raw_lines(lines.as_bytes(), 11).unwrap().len(), 11);
        let refused = raw_lines(lines.as_bytes(), 10).unwrap_err();
        assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
}
