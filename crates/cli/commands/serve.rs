//! `botlake serve`: the lake to PostgreSQL clients until Ctrl-C or SIGTERM.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;

use super::Globals;
use crate::UserError;
use crate::args::ServeArgs;
use crate::pg::{Config, Server};

/// Runs the server.
pub async fn run(g: &Globals, args: ServeArgs) -> Result<ExitCode> {
    let lake = g.lake()?;
    let password = std::env::var(&args.password_env)
        .ok()
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            UserError(format!(
                "no password: set {} to the password clients log in with (user {:?})",
                args.password_env, args.user
            ))
        })?;
    // Open the lake once first: a lake that is not there, or views that do not plan, are
    // said now rather than to the first client.
    drop(g.session(&lake).await?);
    let config = Config {
        addr: args.pg,
        user: args.user.clone(),
        password,
        database: args.database.clone(),
        tls: args.tls_cert.zip(args.tls_key),
        allow_plaintext: args.allow_plaintext,
        max_connections: args.max_connections as usize,
        statement_timeout: (args.statement_timeout_secs > 0)
            .then(|| Duration::from_secs(args.statement_timeout_secs)),
        idle_timeout: Duration::from_secs(args.idle_timeout_secs),
        query_dirs: g.query_dirs.clone(),
        session_options: g.session_options.clone(),
    };
    let tls = config.tls.is_some();
    let server = Server::bind(config, lake.clone()).await?;
    let addr = server.local_addr()?;
    // The address goes to standard output so that scripts can read it; a server goes on
    // whether or not anyone reads it.
    let _ = writeln!(
        std::io::stdout(),
        "postgresql://{}@{addr}/{}",
        args.user,
        args.database
    );
    g.info(format!(
        "serving {} to PostgreSQL clients at {addr} ({}, at most {} connections); Ctrl-C or SIGTERM stops",
        lake.url(),
        if tls { "TLS offered" } else { "no TLS" },
        server.max_connections()
    ));
    server.run(crate::signals::shutdown()).await;
    g.info("stopped");
    Ok(ExitCode::SUCCESS)
}
