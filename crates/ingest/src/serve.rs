//! HTTP serving with the limits every botlake server keeps: a time limit on a request's
//! headers (which also closes a kept-alive connection left idle), a cap on connections that
//! leaves the process room in its file descriptors, an answer (not silence) to connections
//! past the cap, and a graceful shutdown that lets requests in flight finish.
//!
//! `axum::serve` has none of the time limits: a sender trickling its headers, or a
//! thousand idle connections, held the receiver's descriptors for as long as they liked.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

/// How many connections, and how long their headers may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once; fewer if the process may not open that many files (see
    /// [`connection_budget`]).
    pub max_connections: usize,
    /// The longest a client may take to send a request's headers, and the longest a
    /// kept-alive connection may stay idle before its next request.
    pub header_timeout: Duration,
}

/// Connections past the cap that are still answered (by the `busy` router, then closed);
/// past these too, a connection is closed unanswered.
pub const OVERFLOW_CONNECTIONS: usize = 16;

/// File descriptors kept for everything but connections: the lake's files and logs, the
/// runtime's own, a few more for luck.
pub const RESERVED_FDS: usize = 64;

/// `wanted` connections, or fewer, so that connections (the overflow ones included) leave
/// [`RESERVED_FDS`] of the process's open-file limit for the rest; at least one.
pub fn connection_budget(wanted: usize) -> usize {
    match open_files_limit() {
        Some(limit) => wanted
            .min(limit.saturating_sub(RESERVED_FDS + OVERFLOW_CONNECTIONS))
            .max(1),
        None => wanted.max(1),
    }
}

/// The soft limit on open files, from `/proc/self/limits` where there is one.
fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// The next connection of `listener`, or `None` once `shutdown` has completed. An accept
/// that fails (out of descriptors, or a connection reset before it was taken) is logged and
/// tried again after a pause: the next may succeed, but not at once.
pub async fn accept<F: Future<Output = ()>>(
    listener: &TcpListener,
    shutdown: &mut std::pin::Pin<&mut F>,
) -> Option<TcpStream> {
    loop {
        let accepted = tokio::select! {
            () = shutdown.as_mut() => return None,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => return Some(stream),
            Err(e) => {
                tracing::warn!("accepting a connection failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then waits for the requests in
/// flight. At most [`connection_budget`] of `limits.max_connections` connections are
/// served at once; the next [`OVERFLOW_CONNECTIONS`] are served by `busy` (which should
/// say the server is full) and closed, the rest closed at once.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    busy: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) {
    let cap = connection_budget(limits.max_connections);
    let served = Arc::new(Semaphore::new(cap));
    let overflow = Arc::new(Semaphore::new(OVERFLOW_CONNECTIONS));
    let (stop, stopping) = watch::channel(false);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let mut busy_http = http.clone();
    busy_http.keep_alive(false);
    tokio::pin!(shutdown);
    while let Some(stream) = accept(&listener, &mut shutdown).await {
        let _ = stream.set_nodelay(true);
        let (permit, router, builder) = match Arc::clone(&served).try_acquire_owned() {
            Ok(permit) => (permit, &app, &http),
            Err(_) => match Arc::clone(&overflow).try_acquire_owned() {
                Ok(permit) => (permit, &busy, &busy_http),
                Err(_) => continue,
            },
        };
        let connection = builder.serve_connection(
            TokioIo::new(stream),
            TowerToHyperService::new(router.clone()),
        );
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            let _permit = permit;
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                () = async { drop(stopping.wait_for(|stop| *stop).await) } => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
    let _ = stop.send(true);
    // Every connection holds a permit until it is done.
    let _ = served.acquire_many(cap as u32).await;
    let _ = overflow.acquire_many(OVERFLOW_CONNECTIONS as u32).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_leaves_room_for_the_rest_of_the_process() {
        let limit = open_files_limit().expect("Linux has /proc/self/limits");
        let budget = connection_budget(usize::MAX);
        let room = limit.saturating_sub(RESERVED_FDS + OVERFLOW_CONNECTIONS);
        assert_eq!(budget, room.max(1));
        assert_eq!(connection_budget(10), 10.min(budget));
        assert_eq!(connection_budget(0), 1);
    }
}
