//! The simulator's HTTP server: the Authentication API and Bot Insight's `getbotrundata`,
//! as `aa-bot-insight-v11-openapi.yml` defines them (or as 11.3's documentation and
//! Automation 360 answer, see [`Generation`]), with fault injection.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::config::{Generation, ServerConfig, Stats};
use crate::data::Dataset;
use crate::endpoints;
use crate::pages::{BotRunPage, BotRunRecord, PAGE_SIZE};
use crate::shared::{CP1252_NAME, Shared, apply_fault, error, json_page, slice};

/// Where Bot Insight's v11 API lives on a Control Room.
pub const V11: &str = "/v2/botinsight/data/api";

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
    let shared = Arc::new(Shared::new(dataset, config, stats.clone()));
    let app = routes(shared.config.generation, !shared.config.activity_v2_only)
        .layer(axum::middleware::map_response_with_state(
            shared.clone(),
            date_of_the_clock,
        ))
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

/// Every answer's `Date` is the simulator's clock (its `now`), as a Control Room's is its
/// own: botlake reads how far back the data reaches from it.
async fn date_of_the_clock(State(shared): State<Arc<Shared>>, mut response: Response) -> Response {
    let date = shared.now.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    if let Ok(value) = axum::http::HeaderValue::from_str(&date) {
        response
            .headers_mut()
            .insert(axum::http::header::DATE, value);
    }
    response
}

/// The endpoints a Control Room of `generation` serves.
fn routes(generation: Generation, activity_v3: bool) -> Router<Arc<Shared>> {
    let app = Router::new()
        .route("/v1/authentication", post(authenticate))
        .route("/v1/authentication/token", post(refresh));
    let task_logs = match generation {
        Generation::V11 => get(endpoints::task_logs),
        _ => get(endpoints::task_logs_by_range),
    };
    let app = match generation {
        Generation::V11 | Generation::V113 => app
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
                &match generation {
                    Generation::V11 => {
                        format!("{V11}/gettasklogdata/{{task}}/{{start_index}}/{{start_date}}")
                    }
                    _ => format!("{V11}/gettasklogdata/{{task}}/{{page}}/{{from}}/{{to}}"),
                },
                task_logs,
            )
            .route(
                &format!("{V11}/getaudittraildata/{{start_index}}/{{start_date}}"),
                get(endpoints::audit_trail),
            ),
        Generation::A360 => {
            let app = app
                .route(&format!("{V11}/getbotrundata"), get(a360_bot_runs))
                .route("/v2/activity/list", post(endpoints::activity_list));
            if activity_v3 {
                app.route("/v3/activity/list", post(endpoints::activity_list))
            } else {
                app
            }
        }
    };
    app.route("/v1/audit/messages/list", post(endpoints::audit_list))
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
    // Automation 360's answer names the user's tenant; 11.x's does not.
    let user = match config.generation {
        Generation::A360 => serde_json::json!({
            "username": config.user,
            "tenantUuid": format!("00000000-0000-4000-8000-{:012x}", shared.dataset.config.seed),
        }),
        _ => serde_json::json!({ "username": config.user }),
    };
    let ok = Json(serde_json::json!({ "token": token, "user": user })).into_response();
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

async fn bot_runs(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((start_index, start_date)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let fault = match shared.admit_page(&headers).await {
        Ok(fault) => fault,
        Err(r) => return *r,
    };
    let (from, to) = match shared.window(&start_date, &query, shared.config.max_window_days) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let range = shared
        .dataset
        .range(from, to, shared.now.timestamp_millis());
    let page = match shared.page(range.clone(), &start_index) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    json_page(&shared, fault, &run_page(&shared, range.len(), page))
}

/// The page of runs `page` of a window of `total` runs.
fn run_page(shared: &Shared, total: usize, page: std::ops::Range<usize>) -> BotRunPage<'_> {
    let now_ms = shared.now.timestamp_millis();
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
    BotRunPage {
        total_records: total,
        bot_run_data_list: records,
    }
}

/// `GET getbotrundata?pageno&limit&fromDate&toDate` of Automation 360: zero-based pages of
/// `limit` runs (1000 if not given) started in `[fromDate, toDate)`; without `fromDate`
/// every run, `toDate` defaulting to now.
async fn a360_bot_runs(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let fault = match shared.admit_page(&headers).await {
        Ok(fault) => fault,
        Err(r) => return *r,
    };
    let number = |name: &str, default: usize, min: usize| match query.get(name) {
        None => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= min)
            .ok_or_else(|| {
                Box::new(error(
                    StatusCode::BAD_REQUEST,
                    format!("{name} must be an integer of at least {min}, got {v:?}"),
                ))
            }),
    };
    let time = |name: &str, default: i64| match query.get(name) {
        None => Ok(default),
        Some(v) => a360_time(v).ok_or_else(|| {
            Box::new(error(
                StatusCode::BAD_REQUEST,
                format!("{name} must be yyyy-mm-ddThh:mm:ss, got {v:?}"),
            ))
        }),
    };
    let now_ms = shared.now.timestamp_millis();
    let parsed = (|| {
        Ok::<_, Box<Response>>((
            number("pageno", 0, 0)?,
            number("limit", PAGE_SIZE, 1)?,
            time("fromDate", i64::MIN)?,
            time("toDate", now_ms)?,
        ))
    })();
    let (page_no, limit, from, to) = match parsed {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let range = shared.dataset.range(from, to, now_ms);
    let page = slice(range.clone(), page_no.saturating_mul(limit), limit);
    json_page(&shared, fault, &run_page(&shared, range.len(), page))
}

/// `yyyy-mm-ddThh:mm:ss` (a trailing `Z` or fraction allowed) in milliseconds since the epoch.
fn a360_time(text: &str) -> Option<i64> {
    let text = text.trim_end_matches('Z');
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc().timestamp_millis())
}
