//! An HTTP client for a Control Room: authentication, retries with exponential backoff and
//! jitter that honour `Retry-After`, and re-authentication on 401.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde::Deserialize;
use tokio::sync::Mutex;
use url::Url;

use crate::decode::Unexpected;
use crate::progress::{Event, Observer};
use crate::{Error, Result};

/// The secret a user logs in with. `Debug` never shows it.
#[derive(Clone)]
pub enum Secret {
    /// A password.
    Password(String),
    /// An API key.
    ApiKey(String),
    /// A token from an earlier login: no login is made, and a token the Control Room
    /// no longer accepts is an error.
    Token(String),
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Password(_) => f.write_str("Password(<redacted>)"),
            Secret::ApiKey(_) => f.write_str("ApiKey(<redacted>)"),
            Secret::Token(_) => f.write_str("Token(<redacted>)"),
        }
    }
}

/// An 11.x API key as its authentication body must carry it: every `\` doubled.
pub fn escape_api_key(key: &str) -> String {
    key.replace('\\', "\\\\")
}

/// Who to log in as.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The Control Room user.
    pub user: String,
    /// Its secret.
    pub secret: Secret,
}

/// How hard to try before giving up on a request.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// The first backoff; each retry doubles it, with jitter.
    pub base_delay: Duration,
    /// The longest backoff, and the longest `Retry-After` honoured.
    pub max_delay: Duration,
    /// Time allowed for one request, body included.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(30),
            timeout: Duration::from_secs(120),
        }
    }
}

/// The current token, how many logins produced it, and when it was issued.
#[derive(Default)]
struct TokenState {
    token: Option<String>,
    generation: u64,
    issued: Option<Instant>,
}

/// A logged-in connection to one Control Room.
pub struct Client {
    base: Url,
    /// For data requests: follows a redirect within the Control Room's origin, never to
    /// another (the token would go with it).
    http: reqwest::Client,
    /// For logins: follows no redirect (a 307 would send the password on).
    login_http: reqwest::Client,
    credentials: Credentials,
    retry: RetryPolicy,
    escape_api_key: bool,
    bearer: bool,
    refresh_after: Option<Duration>,
    token: Mutex<TokenState>,
    seen: std::sync::Mutex<Seen>,
    jitter: AtomicU64,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("user", &self.credentials.user)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct AuthResponse {
    token: String,
    #[serde(default)]
    user: Option<AuthUser>,
}

/// The user an authentication answer describes: Automation 360's names its tenant.
#[derive(Deserialize)]
struct AuthUser {
    #[serde(rename = "tenantUuid", default)]
    tenant_uuid: Option<serde_json::Value>,
}

/// What the Control Room's answers said about it.
#[derive(Debug, Clone, Copy, Default)]
struct Seen {
    /// Its clock, from the `Date` header of its last answer.
    date: Option<DateTime<Utc>>,
    /// Whether its login answer named a tenant (`user.tenantUuid`), as Automation 360's do.
    tenant: Option<bool>,
}

/// The spec's `Error` body, or an RFC 7807 problem (`title`, `detail`) as mock servers
/// and gateways send.
#[derive(Deserialize)]
struct ErrorBody {
    message: Option<String>,
    title: Option<String>,
    detail: Option<String>,
    #[serde(default)]
    validation: Vec<Violation>,
}

/// One violation a validating server (Prism, for one) lists in a 422.
#[derive(Deserialize)]
struct Violation {
    #[serde(default)]
    location: Vec<String>,
    message: Option<String>,
}

impl ErrorBody {
    fn text(self) -> Option<String> {
        let text = match (self.message, self.title, self.detail) {
            (Some(m), _, _) => Some(m),
            (None, Some(t), Some(d)) => Some(format!("{t}: {d}")),
            (None, t, d) => t.or(d),
        };
        let violations: Vec<String> = self
            .validation
            .into_iter()
            .filter_map(|v| {
                let message = v.message?;
                Some(if v.location.is_empty() {
                    message
                } else {
                    format!("{}: {message}", v.location.join("."))
                })
            })
            .collect();
        match (text, violations.is_empty()) {
            (text, true) => text,
            (None, false) => Some(violations.join("; ")),
            (Some(t), false) => Some(format!("{t} ({})", violations.join("; "))),
        }
    }
}

enum Attempt<T> {
    Done(T),
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    Unauthorized,
}

impl Client {
    /// A client for the Control Room at `base` (for example `https://cr.example.com`). A
    /// user name or password in `base` is dropped: logins go through the API, and URLs
    /// are shown in messages.
    pub fn new(base: Url, credentials: Credentials, retry: RetryPolicy) -> Result<Client> {
        let build = |redirects: reqwest::redirect::Policy| {
            reqwest::Client::builder()
                .timeout(retry.timeout)
                .user_agent(concat!("botlake/", env!("CARGO_PKG_VERSION")))
                .redirect(redirects)
                .build()
                .map_err(|source| Error::HttpClient { source })
        };
        let http = build(reqwest::redirect::Policy::custom(|attempt| {
            let first = attempt.previous().first().map(Url::origin);
            if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error("too many redirects")
            } else if first == Some(attempt.url().origin()) {
                attempt.follow()
            } else {
                attempt.stop()
            }
        }))?;
        let login_http = build(reqwest::redirect::Policy::none())?;
        let mut base = base;
        let _ = base.set_username("");
        let _ = base.set_password(None);
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let token = match &credentials.secret {
            Secret::Token(t) => TokenState {
                token: Some(t.clone()),
                generation: 1,
                issued: Some(Instant::now()),
            },
            _ => TokenState::default(),
        };
        Ok(Client {
            base,
            http,
            login_http,
            credentials,
            retry,
            escape_api_key: false,
            bearer: false,
            refresh_after: None,
            token: Mutex::new(token),
            seen: std::sync::Mutex::new(Seen::default()),
            jitter: AtomicU64::new(0x2545_F491_4F6C_DD1D),
        })
    }

    /// Sends API keys with `\` escaped as `\\`, as Enterprise 11.x expects.
    pub fn with_api_key_escaping(mut self, escape: bool) -> Client {
        self.escape_api_key = escape;
        self
    }

    /// Sends the token as `Authorization: Bearer <token>` (the spec's `bearerAuth`) rather
    /// than `X-Authorization: <token>`.
    pub fn with_bearer(mut self, bearer: bool) -> Client {
        self.bearer = bearer;
        self
    }

    /// Refreshes the token through `POST /v1/authentication/token` once it is this old
    /// (A360 tokens expire after about 20 minutes).
    pub fn with_token_refresh(mut self, after: Option<Duration>) -> Client {
        self.refresh_after = after;
        self
    }

    /// The Control Room's base URL.
    pub fn base(&self) -> &Url {
        &self.base
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Logs in unless a token is at hand (given, or from an earlier login).
    pub async fn ensure_login(&self, observer: &dyn Observer) -> Result<()> {
        let generation = {
            let state = self.token.lock().await;
            if state.token.is_some() {
                return Ok(());
            }
            state.generation
        };
        self.login_unless_newer(generation, observer).await
    }

    /// Whether the login answer named a tenant (`user.tenantUuid`), as an Automation 360
    /// Control Room's does and an 11.x one's does not; `None` without a login (a token
    /// given) or before one.
    pub fn login_named_a_tenant(&self) -> Option<bool> {
        self.seen().tenant
    }

    /// The Control Room's clock, from the `Date` header of its last answer, if one had one.
    pub fn server_now(&self) -> Option<DateTime<Utc>> {
        self.seen().date
    }

    /// The URL of `path` as messages show it (the base holds no credentials).
    pub fn shown(&self, path: &str) -> String {
        self.join(path)
            .map_or_else(|_| path.to_string(), String::from)
    }

    /// GETs `path` like [`Client::get`], and makes an answer of another shape than
    /// `parse` expects ([`Unexpected`]) the error [`Error::Shape`]: a complete answer
    /// without the list asked for is no truncated body to retry, and never zero records.
    pub async fn get_shaped<T>(
        &self,
        path: &str,
        observer: &dyn Observer,
        parse: impl Fn(&Bytes) -> serde_json::Result<Result<T, Unexpected>>,
    ) -> Result<(T, usize)> {
        let (answer, bytes) = self.get(path, observer, parse).await?;
        Ok((answer.map_err(|u| self.unexpected(path, u))?, bytes))
    }

    /// POSTs like [`Client::post`], with answers of another shape as [`Client::get_shaped`].
    pub async fn post_shaped<T>(
        &self,
        path: &str,
        body: &serde_json::Value,
        observer: &dyn Observer,
        parse: impl Fn(&Bytes) -> serde_json::Result<Result<T, Unexpected>>,
    ) -> Result<(T, usize)> {
        let (answer, bytes) = self.post(path, body, observer, parse).await?;
        Ok((answer.map_err(|u| self.unexpected(path, u))?, bytes))
    }

    fn unexpected(&self, path: &str, u: Unexpected) -> Error {
        Error::Shape {
            url: self.shown(path),
            what: u.to_string(),
        }
    }

    /// Logs in (again) and returns the new token's generation.
    async fn login(&self, observer: &dyn Observer) -> Result<u64> {
        let url = self.join("v1/authentication")?;
        let body = match &self.credentials.secret {
            Secret::Password(p) => {
                serde_json::json!({ "username": self.credentials.user, "password": p })
            }
            Secret::ApiKey(k) => {
                let key = if self.escape_api_key {
                    escape_api_key(k)
                } else {
                    k.clone()
                };
                serde_json::json!({ "username": self.credentials.user, "apiKey": key })
            }
            Secret::Token(_) => {
                // A given token cannot be renewed without credentials.
                return Err(Error::TokenRejected { url });
            }
        };
        let parse = |bytes: &Bytes| serde_json::from_slice::<AuthResponse>(bytes);
        let response = self
            .with_retries(
                &url,
                observer,
                |_| self.login_http.post(url.clone()).json(&body),
                parse,
            )
            .await;
        let auth = match response {
            Ok(auth) => auth,
            Err(Error::Unauthorized { .. }) => {
                return Err(Error::Login {
                    url: url.clone(),
                    user: self.credentials.user.clone(),
                });
            }
            Err(e) => return Err(e),
        };
        let tenant = auth
            .user
            .as_ref()
            .is_some_and(|u| u.tenant_uuid.as_ref().is_some_and(|t| !t.is_null()));
        self.seen().tenant = Some(tenant);
        Ok(self.store_token(auth.token).await)
    }

    async fn store_token(&self, token: String) -> u64 {
        let mut state = self.token.lock().await;
        state.token = Some(token);
        state.generation += 1;
        state.issued = Some(Instant::now());
        state.generation
    }

    /// Trades the current token for a fresh one; logs in again if the Control Room
    /// will not refresh it.
    async fn refresh(&self, old: &str, seen: u64, observer: &dyn Observer) -> Result<()> {
        if self.token.lock().await.generation != seen {
            return Ok(());
        }
        let url = self.join("v1/authentication/token")?;
        let body = serde_json::json!({ "token": old });
        let parse = |bytes: &Bytes| serde_json::from_slice::<AuthResponse>(bytes);
        let result = self
            .with_retries(
                &url,
                observer,
                |_| self.login_http.post(url.clone()).json(&body),
                parse,
            )
            .await;
        match result {
            Ok(auth) => {
                self.store_token(auth.token).await;
                Ok(())
            }
            Err(Error::Unauthorized { .. } | Error::Refused { .. })
                if !matches!(self.credentials.secret, Secret::Token(_)) =>
            {
                self.login_unless_newer(seen, observer).await
            }
            Err(e) => Err(e),
        }
    }

    /// GETs `path` (relative to the base URL), logging in first if needed, and parses the
    /// body with `parse`. A body that fails to parse is retried like a dropped connection,
    /// because truncated bodies are the usual cause.
    pub async fn get<T>(
        &self,
        path: &str,
        observer: &dyn Observer,
        parse: impl Fn(&Bytes) -> serde_json::Result<T>,
    ) -> Result<(T, usize)> {
        self.request(path, None, observer, parse).await
    }

    /// POSTs `body` as JSON to `path`, like [`Client::get`] otherwise.
    pub async fn post<T>(
        &self,
        path: &str,
        body: &serde_json::Value,
        observer: &dyn Observer,
        parse: impl Fn(&Bytes) -> serde_json::Result<T>,
    ) -> Result<(T, usize)> {
        self.request(path, Some(body), observer, parse).await
    }

    async fn request<T>(
        &self,
        path: &str,
        body: Option<&serde_json::Value>,
        observer: &dyn Observer,
        parse: impl Fn(&Bytes) -> serde_json::Result<T>,
    ) -> Result<(T, usize)> {
        let url = self.join(path)?;
        let mut relogins = 0;
        loop {
            let (mut token, mut generation, issued) = {
                let state = self.token.lock().await;
                (state.token.clone(), state.generation, state.issued)
            };
            let Some(current) = token.clone() else {
                self.login_unless_newer(generation, observer).await?;
                continue;
            };
            if let (Some(after), Some(issued)) = (self.refresh_after, issued)
                && issued.elapsed() >= after
            {
                self.refresh(&current, generation, observer).await?;
                let state = self.token.lock().await;
                (token, generation) = (state.token.clone(), state.generation);
            }
            let token = token.unwrap_or(current);
            let result = self
                .with_retries(
                    &url,
                    observer,
                    |http| {
                        let request = match body {
                            Some(b) => http.post(url.clone()).json(b),
                            None => http.get(url.clone()),
                        };
                        if self.bearer {
                            request.bearer_auth(&token)
                        } else {
                            request.header("X-Authorization", &token)
                        }
                    },
                    |bytes| parse(bytes).map(|v| (v, bytes.len())),
                )
                .await;
            match result {
                Err(Error::Unauthorized { url })
                    if matches!(self.credentials.secret, Secret::Token(_)) =>
                {
                    return Err(Error::TokenRejected { url });
                }
                Err(Error::Unauthorized { .. }) if relogins < 2 => {
                    // The token expired or was revoked: log in again and retry.
                    relogins += 1;
                    self.login_unless_newer(generation, observer).await?;
                }
                Err(Error::Unauthorized { url, .. }) => {
                    return Err(Error::Forbidden {
                        url,
                        user: self.credentials.user.clone(),
                    });
                }
                other => return other,
            }
        }
    }

    async fn login_unless_newer(&self, seen: u64, observer: &dyn Observer) -> Result<()> {
        let current = self.token.lock().await.generation;
        if current == seen {
            self.login(observer).await?;
        }
        Ok(())
    }

    fn join(&self, path: &str) -> Result<Url> {
        self.base.join(path).map_err(|source| Error::Url {
            url: format!("{}{path}", self.base),
            source,
        })
    }

    /// Sends the request `build` makes until it succeeds, fails for good, or attempts run
    /// out. A 401 is returned at once: only the caller knows whether logging in again helps.
    async fn with_retries<T>(
        &self,
        url: &Url,
        observer: &dyn Observer,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        parse: impl Fn(&Bytes) -> serde_json::Result<T>,
    ) -> Result<T> {
        let mut attempt = 1;
        loop {
            let outcome = self.attempt(url, &build, &parse).await?;
            let (reason, after) = match outcome {
                Attempt::Done(v) => return Ok(v),
                Attempt::Unauthorized => return Err(Error::Unauthorized { url: url.clone() }),
                Attempt::Retry { reason, after } => (reason, after),
            };
            if attempt >= self.retry.max_attempts {
                return Err(Error::RetriesExhausted {
                    url: url.clone(),
                    attempts: attempt,
                    last: crate::AttemptFailed(reason),
                });
            }
            let delay = after
                .map(|d| d.min(self.retry.max_delay))
                .unwrap_or_else(|| self.backoff(attempt));
            observer.on(Event::Retrying {
                url: url.as_str(),
                attempt,
                reason: &reason,
                delay,
            });
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    async fn attempt<T>(
        &self,
        url: &Url,
        build: &impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        parse: &impl Fn(&Bytes) -> serde_json::Result<T>,
    ) -> Result<Attempt<T>> {
        let response = match build(&self.http).send().await {
            Ok(r) => r,
            Err(e) => {
                return Ok(Attempt::Retry {
                    reason: self
                        .redact(format!("request failed: {}", error_chain(&e)))
                        .await,
                    after: None,
                });
            }
        };
        if response.status().is_redirection() {
            let to = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| url.join(v).ok())
                .map_or_else(
                    || "an address it did not give".into(),
                    |u| u.origin().ascii_serialization(),
                );
            return Err(Error::Redirected {
                url: url.clone(),
                status: response.status().as_u16(),
                to,
            });
        }
        let status = response.status();
        if let Some(date) = response
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
        {
            self.seen().date = Some(date.with_timezone(&Utc));
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = match response.bytes().await {
            Ok(b) => b,
            Err(e) => {
                return Ok(Attempt::Retry {
                    reason: self
                        .redact(format!(
                            "{status}: reading the body failed: {}",
                            error_chain(&e)
                        ))
                        .await,
                    after: None,
                });
            }
        };
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            if status == StatusCode::FORBIDDEN {
                return Err(Error::Forbidden {
                    url: url.clone(),
                    user: self.credentials.user.clone(),
                });
            }
            return Ok(Attempt::Unauthorized);
        }
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            return Ok(Attempt::Retry {
                reason: format!("{status}"),
                after: retry_after,
            });
        }
        if !status.is_success() {
            let message = serde_json::from_slice::<ErrorBody>(&body)
                .ok()
                .and_then(ErrorBody::text)
                .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(300).collect());
            return Err(Error::Refused {
                url: url.clone(),
                status: status.as_u16(),
                message: self.redact(message).await,
            });
        }
        match parse(&body) {
            Ok(v) => Ok(Attempt::Done(v)),
            Err(e) => Ok(Attempt::Retry {
                reason: format!("malformed or truncated JSON ({} bytes): {e}", body.len()),
                after: None,
            }),
        }
    }

    /// `text` with every secret this client knows (its password or API key, its token),
    /// as sent and as JSON or a URL would escape it, written as `***`: a server may echo a
    /// request (a login body, say) in its error, and errors are printed.
    async fn redact(&self, mut text: String) -> String {
        let token = self.token.lock().await.token.clone();
        let secret = match &self.credentials.secret {
            Secret::Password(s) | Secret::ApiKey(s) | Secret::Token(s) => s.as_str(),
        };
        let escaped = escape_api_key(secret);
        for known in [Some(secret), Some(escaped.as_str()), token.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
        {
            let json = serde_json::to_string(known).unwrap_or_default();
            let json = json.trim_matches('"').to_string();
            let twice = serde_json::to_string(&json).unwrap_or_default();
            let url =
                percent_encoding::utf8_percent_encode(known, percent_encoding::NON_ALPHANUMERIC)
                    .to_string();
            for form in [known, json.as_str(), twice.trim_matches('"'), url.as_str()] {
                if !form.is_empty() && text.contains(form) {
                    text = text.replace(form, "***");
                }
            }
        }
        text
    }

    /// Exponential backoff with full jitter: a random delay up to `base × 2^(attempt-1)`.
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .retry
            .base_delay
            .saturating_mul(1 << attempt.min(16).saturating_sub(1))
            .min(self.retry.max_delay);
        // A xorshift step is plenty for jitter and keeps the client free of RNG crates.
        let mut x = self.jitter.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.jitter.store(x, Ordering::Relaxed);
        let fraction = (x >> 11) as f64 / (1u64 << 53) as f64;
        ceiling.mul_f64(0.5 + 0.5 * fraction)
    }
}

/// Redirects followed within the Control Room's origin, at most.
const MAX_REDIRECTS: usize = 5;

/// An error and its causes on one line: reqwest's own `Display` hides the cause.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_for_11x_have_backslashes_doubled() {
        assert_eq!(escape_api_key(r"ab\cd\\e"), r"ab\\cd\\\\e");
        assert_eq!(escape_api_key("plain"), "plain");
        // In the JSON body, each original backslash becomes four characters.
        let body = serde_json::json!({ "apiKey": escape_api_key(r"a\b") }).to_string();
        assert_eq!(body, r#"{"apiKey":"a\\\\b"}"#);
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let c = Credentials {
            user: "u".into(),
            secret: Secret::ApiKey("s3cret".into()),
        };
        let shown = format!("{c:?} {:?}", Secret::Token("t0ken".into()));
        assert!(
            !shown.contains("s3cret") && !shown.contains("t0ken"),
            "{shown}"
        );
    }

    #[test]
    fn problem_bodies_become_one_line() {
        let body: ErrorBody = serde_json::from_str(
            r#"{"title":"Invalid request","detail":"not valid","validation":[{"location":["path","taskname"],"message":"too long"}]}"#,
        )
        .unwrap();
        assert_eq!(
            body.text().unwrap(),
            "Invalid request: not valid (path.taskname: too long)"
        );
    }
}
