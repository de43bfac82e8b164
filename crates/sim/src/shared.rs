//! What every endpoint of the simulator shares: the dataset, the clock, tokens, injected
//! faults, and the spec's answers (errors, pages) they go through.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::config::{Generation, Pagination, ServerConfig, Stats};
use crate::data::Dataset;
use crate::pages::PAGE_SIZE;
use crate::rng::Rng;

/// The first name of a run sent in Windows-1252, as the page is built; `~E9~` becomes the
/// byte 0xE9 once the page is JSON.
pub(crate) const CP1252_NAME: &str = "Jos~E9~";

pub(crate) struct Shared {
    pub(crate) dataset: Arc<Dataset>,
    pub(crate) config: ServerConfig,
    pub(crate) now: DateTime<Utc>,
    pub(crate) stats: Arc<Stats>,
    faults_rng: Mutex<Rng>,
    /// Each token: when it was issued and how many data requests it has served.
    tokens: Mutex<HashMap<String, (Instant, u64)>>,
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
    /// The state of a server of `dataset` that behaves as `config` says and counts into
    /// `stats`.
    pub(crate) fn new(dataset: Arc<Dataset>, config: ServerConfig, stats: Arc<Stats>) -> Shared {
        let now = config.now.unwrap_or_else(|| dataset.end_time());
        Shared {
            faults_rng: Mutex::new(Rng::stream(dataset.config.seed, u64::MAX)),
            dataset,
            config,
            now,
            stats,
            tokens: Mutex::new(HashMap::new()),
            token_counter: AtomicU64::new(0),
        }
    }

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

    /// The fault chosen for a data request with `headers`, or the 401 it gets without a
    /// valid token (which counts no request).
    pub(crate) fn admit(&self, headers: &HeaderMap) -> Result<Option<Fault>, Box<Response>> {
        if !self.authorized(headers) {
            return Err(Box::new(Self::unauthorized()));
        }
        Ok(self.next_fault())
    }

    /// Like [`Shared::admit`], for a page of runs: which takes [`ServerConfig::page_delay`].
    pub(crate) async fn admit_page(
        &self,
        headers: &HeaderMap,
    ) -> Result<Option<Fault>, Box<Response>> {
        let fault = self.admit(headers)?;
        if !self.config.page_delay.is_zero() {
            tokio::time::sleep(self.config.page_delay).await;
        }
        Ok(fault)
    }

    /// Whether `headers` carry a valid token (in the scheme the server takes); counts a
    /// use of it.
    pub(crate) fn authorized(&self, headers: &HeaderMap) -> bool {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let x_authorization = headers
            .get("x-authorization")
            .and_then(|v| v.to_str().ok())
            .filter(|_| !self.config.bearer_only);
        let Some(token) = x_authorization.or(bearer) else {
            return false;
        };
        let token = token.trim();
        if !self.token_valid(token) {
            return false;
        }
        let mut tokens = self.tokens.lock().expect("token lock");
        let Some((_, uses)) = tokens.get_mut(token) else {
            return false;
        };
        *uses += 1;
        true
    }

    /// Whether `token` was issued here and has neither expired nor served its uses.
    pub(crate) fn token_valid(&self, token: &str) -> bool {
        let tokens = self.tokens.lock().expect("token lock");
        let Some((issued, uses)) = tokens.get(token) else {
            return false;
        };
        self.config
            .token_ttl
            .is_none_or(|ttl| issued.elapsed() < ttl)
            && self.config.token_uses.is_none_or(|max| *uses < max)
    }

    pub(crate) fn issue_token(&self) -> String {
        let n = self.token_counter.fetch_add(1, Ordering::Relaxed);
        let token = format!("sim-{}-{n}", self.dataset.config.seed);
        self.tokens
            .lock()
            .expect("token lock")
            .insert(token.clone(), (Instant::now(), 0));
        token
    }

    /// The 401 every data endpoint answers without a valid token.
    pub(crate) fn unauthorized() -> Response {
        error(
            StatusCode::UNAUTHORIZED,
            "authentication required (or the token expired): send a token from /v1/authentication in X-Authorization or Authorization: Bearer",
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
        let offset = match (self.config.generation, self.config.pagination) {
            (Generation::V11, Pagination::Offset) => start_index,
            _ => start_index.saturating_mul(PAGE_SIZE),
        };
        Ok(slice(range, offset, PAGE_SIZE))
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

/// The records of `range` from `offset` on, at most `size` of them.
pub(crate) fn slice(
    range: std::ops::Range<usize>,
    offset: usize,
    size: usize,
) -> std::ops::Range<usize> {
    let first = range.start.saturating_add(offset).min(range.end);
    first..first.saturating_add(size).min(range.end)
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

/// A date path or query parameter, or the spec's 400 answer.
pub(crate) fn parse_date(name: &str, value: &str) -> Result<NaiveDate, Box<Response>> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            format!("{name} must be an ISO 8601 date (YYYY-MM-DD), got {value:?}"),
        ))
    })
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
