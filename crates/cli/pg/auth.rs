//! Logging in (one user and one database, a password checked with SCRAM-SHA-256, TLS
//! required of other hosts where configured) and cancel requests, which name a connection
//! by the key it was given when it logged in.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use datafusion_postgres::pgwire;
use futures::Sink;
use pgwire::api::auth::sasl::SASLAuthStartupHandler;
use pgwire::api::auth::sasl::scram::{SCRAM_ITERATIONS, gen_salted_password};
use pgwire::api::auth::{
    AuthSource, DefaultServerParameterProvider, LoginInfo, Password, StartupHandler,
};
use pgwire::api::cancel::CancelHandler;
use pgwire::api::{ClientInfo, METADATA_USER, PgWireConnectionState};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::cancel::CancelRequest;
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use tokio::sync::watch;

use super::Shared;

/// The user, the database, and the password as SCRAM keeps it (salted and hashed once, at
/// start; the password itself is not kept).
#[derive(Clone)]
pub struct Login {
    user: String,
    database: String,
    salt: Vec<u8>,
    salted: Vec<u8>,
}

impl Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("user", &self.user)
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

impl Login {
    pub fn new(user: String, database: String, password: &str) -> Login {
        let salt = uuid::Uuid::new_v4().as_bytes().to_vec();
        let salted = gen_salted_password(password, &salt, SCRAM_ITERATIONS);
        Login {
            user,
            database,
            salt,
            salted,
        }
    }

    /// The password source SCRAM asks.
    pub fn source(&self) -> Arc<dyn AuthSource> {
        Arc::new(self.clone())
    }
}

#[async_trait]
impl AuthSource for Login {
    // The trait elides `LoginInfo`'s lifetime, and async_trait needs the impl to match.
    #[allow(elided_lifetimes_in_paths)]
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        let user = login.user().unwrap_or_default();
        if user != self.user {
            // As PostgreSQL answers: a user that does not exist is not told apart from a
            // wrong password.
            return Err(PgWireError::InvalidPassword(user.to_string()));
        }
        let database = login.database().unwrap_or(user);
        if database != self.database {
            return Err(fatal(
                "3D000",
                format!(
                    "database \"{database}\" does not exist: botlake serves one database, \"{}\"",
                    self.database
                ),
            ));
        }
        Ok(Password::new(Some(self.salt.clone()), self.salted.clone()))
    }
}

/// A FATAL error, which ends the connection.
fn fatal(code: &str, message: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "FATAL".into(),
        code.into(),
        message,
    )))
}

/// A connection's pid and secret key, which its cancel requests give.
type Key = (i32, Vec<u8>);

/// What fires a connection's cancel: a count of the requests.
type Canceller = Arc<watch::Sender<u64>>;

/// The connections that may be cancelled, by the key each was given.
#[derive(Default)]
pub struct Cancels {
    by_key: Mutex<HashMap<Key, Canceller>>,
}

impl Cancels {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Canceller>> {
        self.by_key.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Cancels the statement a cancel request names; a request naming no connection is
/// ignored, as PostgreSQL ignores it.
pub struct CancelByKey(pub Arc<Shared>);

#[async_trait]
impl CancelHandler for CancelByKey {
    async fn on_cancel_request(&self, request: CancelRequest) {
        let key = (request.pid, request.secret_key.to_bytes().to_vec());
        let canceller = self.0.cancels.lock().get(&key).cloned();
        if let Some(canceller) = canceller {
            canceller.send_modify(|generation| *generation = generation.wrapping_add(1));
        }
    }
}

/// A connection's startup: SCRAM through pgwire, after checking that a client of another
/// host uses TLS where that is required; once logged in, the connection is registered for
/// cancel requests (and unregistered when it ends).
pub struct Startup {
    sasl: SASLAuthStartupHandler<DefaultServerParameterProvider>,
    shared: Arc<Shared>,
    canceller: Arc<watch::Sender<u64>>,
    registered: Mutex<Option<(i32, Vec<u8>)>>,
}

impl Startup {
    pub fn new(
        sasl: SASLAuthStartupHandler<DefaultServerParameterProvider>,
        shared: Arc<Shared>,
        canceller: Arc<watch::Sender<u64>>,
    ) -> Startup {
        Startup {
            sasl,
            shared,
            canceller,
            registered: Mutex::new(None),
        }
    }
}

impl Drop for Startup {
    fn drop(&mut self) {
        let registered = self
            .registered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(key) = registered {
            self.shared.cancels.lock().remove(&key);
        }
    }
}

#[async_trait]
impl StartupHandler for Startup {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if matches!(message, PgWireFrontendMessage::Startup(_))
            && self.shared.remote_needs_tls
            && !client.is_secure()
            && !client.socket_addr().ip().is_loopback()
        {
            return Err(fatal(
                "28000",
                "botlake takes connections from other hosts only over TLS: connect with \
                 sslmode=require"
                    .into(),
            ));
        }
        self.sasl
            .on_startup(client, message)
            .await
            .map_err(|e| match e {
                // pgwire names the user of SCRAM's first message, which libpq leaves empty.
                PgWireError::InvalidPassword(_) => fatal(
                    "28P01",
                    format!(
                        "password authentication failed for user \"{}\"",
                        client
                            .metadata()
                            .get(METADATA_USER)
                            .map_or("", String::as_str)
                    ),
                ),
                e => e,
            })?;
        if matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            let (pid, secret) = client.pid_and_secret_key();
            let key = (pid, secret.to_bytes().to_vec());
            self.shared
                .cancels
                .lock()
                .insert(key.clone(), Arc::clone(&self.canceller));
            *self.registered.lock().unwrap_or_else(|e| e.into_inner()) = Some(key);
        }
        Ok(())
    }
}
