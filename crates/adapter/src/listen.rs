//! Listening services: binding with the one log line tests wait for, and the accept loop.
//!
//! This module owns what every TCP service (MLLP, HTTP) does around its connections: bind
//! when the service runs (never while a production is validated) and announce the address
//! it got; accept at most `max_connections` connections at once, so further peers wait in
//! the kernel's backlog rather than being refused; and on shutdown stop accepting, then
//! wait until every connection has finished what it was doing. When
//! [`serve_connections`] returns, no connection task of the service is left running.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ferry_message::ItemName;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;

use crate::{AdapterError, ServiceContext};

/// How long to wait before accepting again after accept failed (e.g. no file descriptors
/// left), so the loop does not spin.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// What a listening service does with connections while its item is disabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhileDisabled {
    /// Close new and open connections (MLLP: a sender must not wait for an ACK that
    /// cannot come, nor have its message taken in after it gave up).
    Refuse,
    /// Keep serving them; the service answers each request itself (HTTP: 503).
    Serve,
}

/// Logs `listening item=… addr=IP:PORT` with the address actually bound (the real port
/// when port 0 was asked for). End-to-end tests read this line instead of sleeping.
pub fn announce_listener(item: &ItemName, addr: SocketAddr) {
    tracing::info!(item = %item, addr = %addr, "listening");
}

/// Binds `address` for the service of `ctx` and records the address it got.
///
/// # Errors
///
/// The address cannot be bound (in use, not local, not an address).
pub async fn bind_listener(
    ctx: &ServiceContext,
    address: &str,
) -> Result<TcpListener, AdapterError> {
    let listener = TcpListener::bind(address).await.map_err(|error| {
        AdapterError::new(&ctx.item, format!("cannot listen on {address}: {error}"))
    })?;
    let bound = listener
        .local_addr()
        .map_err(|error| AdapterError::new(&ctx.item, error.to_string()))?;
    ctx.intake.listening(bound);
    Ok(listener)
}

/// Accepts connections until the production stops, each served by `serve` on its own
/// task, at most `max_connections` at once; then closes the listener and waits for the
/// connections, so each finishes the message it is storing and answers it. While the item
/// is disabled, `while_disabled` says whether connections are closed or served.
pub async fn serve_connections<F, Fut>(
    ctx: &ServiceContext,
    listener: TcpListener,
    max_connections: usize,
    while_disabled: WhileDisabled,
    serve: F,
) where
    F: Fn(TcpStream, SocketAddr) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(max_connections));
    let connections = TaskTracker::new();
    loop {
        let slot = tokio::select! {
            () = ctx.shutdown.cancelled() => break,
            slot = Arc::clone(&slots).acquire_owned() => slot,
        };
        let Ok(slot) = slot else { break };
        let accepted = tokio::select! {
            () = ctx.shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((socket, peer)) => {
                let refuse = while_disabled == WhileDisabled::Refuse;
                if refuse && !*ctx.enabled.borrow() {
                    tracing::debug!(item = %ctx.item, %peer, "disabled: connection closed");
                    continue;
                }
                let connection = serve(socket, peer);
                let mut enabled = ctx.enabled.clone();
                connections.spawn(async move {
                    if refuse {
                        // Disabling closes the connection: a sender waiting for its ACK
                        // sees the close and sends again later, rather than wait on a
                        // service that takes nothing in.
                        tokio::select! {
                            () = connection => {}
                            _ = enabled.wait_for(|on| !*on) => {}
                        }
                    } else {
                        connection.await;
                    }
                    drop(slot);
                });
            }
            Err(error) => {
                tracing::warn!(item = %ctx.item, %error, "accepting a connection failed");
                tokio::time::sleep(ACCEPT_PAUSE).await;
            }
        }
    }

    drop(listener);
    connections.close();
    connections.wait().await;
}
