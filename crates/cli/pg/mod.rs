//! `botlake serve --pg`: the lake over the PostgreSQL wire protocol, for BI tools, notebooks
//! and `psql`. Each connection has a query session of its own, and every statement runs
//! through the query crate's policy ([`conn`]); this module accepts connections with the
//! limits every botlake server keeps (a cap with an answer past it, file descriptors left
//! for the rest, time limits on logging in and on idling) and, where asked, TLS.
//!
//! Built on `pgwire` and the `datafusion-postgres` family (its `pg_catalog` emulation, its
//! PostgreSQL-dialect rewrites, its Arrow-to-wire encoding), but not on its
//! `DfSessionService`: that runs statements on one shared DataFusion context, around any
//! policy, and never sees a new commit (see `crates/README.md`).

mod auth;
mod compat;
mod conn;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use botlake_lake::Lake;
use botlake_query::SessionOptions;
use datafusion_postgres::pgwire;
use pgwire::api::auth::DefaultServerParameterProvider;
use pgwire::api::auth::sasl::SASLAuthStartupHandler;
use pgwire::api::auth::sasl::scram::ScramAuth;
use pgwire::api::{NoopHandler, PgWireServerHandlers, RandomPidSecretKeyGenerator};
use pgwire::tokio::TlsAcceptor;
use pgwire::tokio::tokio_rustls::rustls;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use botlake_ingest::serve::accept;

use crate::UserError;

/// What `botlake serve --pg` serves, and how.
pub struct Config {
    /// The address to listen on.
    pub addr: SocketAddr,
    /// The one user clients log in as.
    pub user: String,
    /// Its password (from the environment, never a flag), checked with SCRAM-SHA-256.
    pub password: String,
    /// The one database there is.
    pub database: String,
    /// A PEM certificate chain and private key: clients may then use TLS, and clients of
    /// other hosts must.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Serve clients of other hosts without TLS all the same.
    pub allow_plaintext: bool,
    /// Connections served at once (fewer if the open-file limit is lower).
    pub max_connections: usize,
    /// The longest a statement may run, from its start to its last row; clients may ask for
    /// less (`SET statement_timeout`), never for more.
    pub statement_timeout: Option<Duration>,
    /// A connection with no statement for this long is closed.
    pub idle_timeout: Duration,
    /// Extra directories of views.
    pub query_dirs: Vec<PathBuf>,
    /// The sessions' options; the server shares one runtime (and memory limit) among them
    /// and keeps their statements off the machine's files.
    pub session_options: SessionOptions,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("user", &self.user)
            .field("password", &"<secret>")
            .field("database", &self.database)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

/// Connections past the cap that are still told the server is full; past these too, a
/// connection is closed unanswered.
const OVERFLOW_CONNECTIONS: usize = botlake_ingest::serve::OVERFLOW_CONNECTIONS;

/// A server bound to its address, ready to [`Server::run`].
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
    tls: Option<TlsAcceptor>,
    max_connections: usize,
}

/// What every connection of a server shares.
pub(crate) struct Shared {
    pub lake: Lake,
    pub query_dirs: Vec<PathBuf>,
    pub session_options: SessionOptions,
    pub statement_timeout: Option<Duration>,
    pub idle_timeout: Duration,
    pub login: auth::Login,
    pub cancels: auth::Cancels,
    pub pids: Arc<RandomPidSecretKeyGenerator>,
    /// Whether clients of other hosts must use TLS.
    pub remote_needs_tls: bool,
    pub parser: datafusion_postgres::datafusion_pg_catalog::sql::PostgresCompatibilityParser,
    pub sessions: conn::Sessions,
}

impl Server {
    /// Checks `config` (TLS files, an address other hosts reach only with TLS) and binds its
    /// address.
    pub async fn bind(config: Config, lake: Lake) -> Result<Server> {
        let tls = match &config.tls {
            Some((cert, key)) => Some(tls_acceptor(cert, key)?),
            None => None,
        };
        if tls.is_none() && !config.addr.ip().is_loopback() && !config.allow_plaintext {
            return Err(UserError(format!(
                "{} is reachable from other hosts: give --tls-cert and --tls-key so that \
                 passwords and rows cross the network encrypted, or --allow-plaintext on a \
                 network you trust",
                config.addr
            ))
            .into());
        }
        if config.password.is_empty() {
            return Err(UserError("the password is empty".into()).into());
        }
        let listener = TcpListener::bind(config.addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.addr))?;
        let mut session_options = config.session_options.clone();
        session_options.runtime = Some(botlake_query::shared_runtime(&session_options)?);
        session_options.files = false;
        let shared = Arc::new(Shared {
            lake,
            query_dirs: config.query_dirs,
            session_options,
            statement_timeout: config.statement_timeout,
            idle_timeout: config.idle_timeout,
            login: auth::Login::new(config.user, config.database, &config.password),
            cancels: auth::Cancels::default(),
            pids: Arc::new(RandomPidSecretKeyGenerator::default()),
            remote_needs_tls: tls.is_some() && !config.allow_plaintext,
            parser: Default::default(),
            sessions: Default::default(),
        });
        Ok(Server {
            listener,
            shared,
            tls,
            max_connections: botlake_ingest::serve::connection_budget(config.max_connections),
        })
    }

    /// The address it listens on (the port chosen, if port 0 was asked for).
    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Connections it serves at once.
    pub fn max_connections(&self) -> usize {
        self.max_connections
    }

    /// Serves connections until `shutdown` completes.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        let served = Arc::new(Semaphore::new(self.max_connections));
        let overflow = Arc::new(Semaphore::new(OVERFLOW_CONNECTIONS));
        tokio::pin!(shutdown);
        while let Some(stream) = accept(&self.listener, &mut shutdown).await {
            match Arc::clone(&served).try_acquire_owned() {
                Ok(permit) => {
                    let handlers = Handlers::new(Arc::clone(&self.shared));
                    let tls = self.tls.clone();
                    tokio::spawn(async move {
                        let _permit = permit;
                        let conn = Arc::clone(&handlers.conn);
                        let idle = conn.idle();
                        tokio::select! {
                            served = pgwire::tokio::process_socket(stream, tls, handlers) => {
                                if let Err(e) = served {
                                    tracing::debug!("a connection ended: {e}");
                                }
                            }
                            () = idle => {}
                        }
                    });
                }
                Err(_) => {
                    if let Ok(permit) = Arc::clone(&overflow).try_acquire_owned() {
                        tokio::spawn(async move {
                            let _permit = permit;
                            too_many(stream).await;
                        });
                    }
                }
            }
        }
    }
}

/// The handlers of one connection.
struct Handlers {
    startup: Arc<auth::Startup>,
    conn: Arc<conn::Conn>,
    cancel: Arc<auth::CancelByKey>,
}

impl Handlers {
    fn new(shared: Arc<Shared>) -> Handlers {
        let conn = conn::Conn::new(Arc::clone(&shared));
        let mut params = DefaultServerParameterProvider::default();
        params.server_version = format!("16.6 (botlake {})", env!("CARGO_PKG_VERSION"));
        params.is_superuser = false;
        params.default_transaction_read_only = true;
        let sasl = SASLAuthStartupHandler::new(Arc::new(params))
            .with_scram(ScramAuth::new(shared.login.source()))
            .with_pid_secret_key_generator(shared.pids.clone());
        Handlers {
            startup: Arc::new(auth::Startup::new(
                sasl,
                Arc::clone(&shared),
                conn.canceller(),
            )),
            cancel: Arc::new(auth::CancelByKey(Arc::clone(&shared))),
            conn,
        }
    }
}

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl pgwire::api::query::SimpleQueryHandler> {
        Arc::clone(&self.conn)
    }

    fn extended_query_handler(&self) -> Arc<impl pgwire::api::query::ExtendedQueryHandler> {
        Arc::clone(&self.conn)
    }

    fn startup_handler(&self) -> Arc<impl pgwire::api::auth::StartupHandler> {
        Arc::clone(&self.startup)
    }

    fn cancel_handler(&self) -> Arc<impl pgwire::api::cancel::CancelHandler> {
        Arc::clone(&self.cancel)
    }

    fn error_handler(&self) -> Arc<impl pgwire::api::ErrorHandler> {
        Arc::new(NoopHandler)
    }
}

/// Tells a connection past the cap that the server is full, as PostgreSQL does (FATAL,
/// SQLSTATE 53300, in answer to its startup message: an SSL or GSS request first is
/// declined, since clients do not show an error that answers one), and closes it.
async fn too_many(mut stream: TcpStream) {
    const SSL_REQUEST: u32 = 80_877_103;
    const GSS_REQUEST: u32 = 80_877_104;
    let message = conn::error_response(
        "FATAL",
        "53300",
        "sorry, too many clients already: botlake serves --max-connections at once",
    );
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        let mut head = [0u8; 8];
        loop {
            stream.read_exact(&mut head).await?;
            let [l0, l1, l2, l3, c0, c1, c2, c3] = head;
            let length = u32::from_be_bytes([l0, l1, l2, l3]) as usize;
            let code = u32::from_be_bytes([c0, c1, c2, c3]);
            if length == 8 && (code == SSL_REQUEST || code == GSS_REQUEST) {
                stream.write_all(b"N").await?;
                continue;
            }
            // The rest of the startup message, a few hundred bytes; a longer one is cut.
            let mut rest = vec![0u8; length.saturating_sub(8).min(16 * 1024)];
            stream.read_exact(&mut rest).await?;
            break;
        }
        stream.write_all(&message).await?;
        stream.shutdown().await
    })
    .await;
}

/// A TLS acceptor of the PEM certificate chain `cert` and private key `key`.
fn tls_acceptor(cert: &std::path::Path, key: &std::path::Path) -> Result<TlsAcceptor> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| UserError(format!("--tls-cert {}: {e}", cert.display())))?;
    if chain.is_empty() {
        return Err(UserError(format!(
            "--tls-cert {}: no certificate in it",
            cert.display()
        ))
        .into());
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| UserError(format!("--tls-key {}: {e}", key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| UserError(format!("--tls-cert and --tls-key do not make a pair: {e}")))?;
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
