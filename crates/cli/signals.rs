//! The signals botlake stops on, in one place: Ctrl-C (SIGINT) and SIGTERM. Commands that
//! commit as they go stop between commits; servers stop accepting, finish what they hold
//! and answer what waits.

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
