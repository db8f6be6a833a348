//! The web UI, its JSON and live-event endpoints, `/metrics` and health checks.
//!
//! Layout: [`router`] names every route; [`headers`] puts the security headers on every
//! answer; [`session`] and [`login`] own who is logged in; [`guard`] refuses cross-site and
//! token-less state changes before any handler runs; [`api`] answers the UI's JSON calls;
//! [`live`] streams changes; [`assets`] serves the embedded `ui/` folder; [`probes`] the
//! three endpoints that need no credentials.
//!
//! When [`serve`] returns, the listener is closed and every connection has ended: live
//! streams end when `stop` is cancelled, so a graceful shutdown does not wait on them.
//! Connections are capped and must open in time, as [`crate::limits`] describes.

mod api;
mod assets;
mod guard;
mod headers;
mod live;
mod login;
mod probes;
mod problem;
mod router;
mod session;

use std::net::SocketAddr;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::AdminState;
use crate::limits::{Admission, Admitted, Guarded};

/// How long a TLS handshake may take before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long open requests may run on after `stop`, before their connections are dropped.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How long a client may take to send a request head.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How often an idle HTTP/2 connection is pinged, so one whose peer is gone is dropped.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);

/// How long a ping may go unanswered before its connection is dropped.
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// Serves the web UI on `listener` until `stop` is cancelled.
pub(crate) async fn serve(listener: TcpListener, state: AdminState, stop: CancellationToken) {
    let acceptor = state.tls.clone().map(TlsAcceptor::from);
    let app = router::build(state, stop.clone());
    let connections = TaskTracker::new();
    let mut admission = Admission::new("web");

    loop {
        let admitted = tokio::select! {
            () = stop.cancelled() => break,
            admitted = admission.next(&listener) => admitted,
        };
        let connection = Connection {
            app: app.clone(),
            acceptor: acceptor.clone(),
            stop: stop.clone(),
        };
        connections.spawn(connection.run(admitted));
    }

    drop(listener);
    connections.close();
    connections.wait().await;
}

/// One accepted connection and what it needs to be served.
struct Connection {
    app: axum::Router,
    acceptor: Option<TlsAcceptor>,
    stop: CancellationToken,
}

impl Connection {
    async fn run(self, admitted: Admitted) {
        let Admitted {
            socket,
            peer,
            place,
        } = admitted;
        let _ = socket.set_nodelay(true);
        let Some(acceptor) = self.acceptor.clone() else {
            self.serve(place.guard(socket), peer).await;
            return;
        };
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(socket)).await {
            Ok(Ok(tls)) => self.serve(place.guard(tls), peer).await,
            Ok(Err(error)) => tracing::debug!(%peer, %error, "admin web: TLS handshake failed"),
            Err(_) => tracing::debug!(%peer, "admin web: TLS handshake timed out"),
        }
    }

    async fn serve<S>(self, stream: Guarded<S>, peer: SocketAddr)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let service = TowerToHyperService::new(self.app);
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT);
        builder
            .http2()
            .timer(TokioTimer::new())
            .keep_alive_interval(KEEPALIVE_INTERVAL)
            .keep_alive_timeout(KEEPALIVE_TIMEOUT);
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        tokio::pin!(connection);

        let served = tokio::select! {
            served = connection.as_mut() => served,
            () = self.stop.cancelled() => {
                connection.as_mut().graceful_shutdown();
                match tokio::time::timeout(SHUTDOWN_GRACE, connection).await {
                    Ok(served) => served,
                    Err(_) => return,
                }
            }
        };
        if let Err(error) = served {
            tracing::debug!(%peer, %error, "admin web: connection ended");
        }
    }
}
