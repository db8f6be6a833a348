//! The gRPC admin API (`ferry.admin.v1`).

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::AdminState;

/// Serves the gRPC admin API on `listener` until `stop` is cancelled.
pub(crate) async fn serve(listener: TcpListener, state: AdminState, stop: CancellationToken) {
    let _ = (listener, state);
    stop.cancelled().await;
}
