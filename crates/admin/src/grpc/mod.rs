//! The gRPC admin API (`ferry.admin.v1`), with the standard health service (the Admin
//! service reports SERVING while it runs) and server reflection in both its `v1` and
//! `v1alpha` versions, so tools such as grpcurl and grpcio clients work without the
//! `.proto` file.
//!
//! Health and reflection answer without credentials: health is a probe like `/healthz`,
//! and reflection only describes the public contract. Every Admin method needs them.
//!
//! Connections are capped and must open in time ([`crate::limits`]); once open, HTTP/2
//! keepalive pings drop those whose peer has gone.

mod auth;
mod convert;
mod errors;
mod query;
mod service;
mod tls;
mod watch;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use ferry_admin_proto::v1::FILE_DESCRIPTOR_SET;
use ferry_admin_proto::v1::admin_server::AdminServer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::Server;
use tonic::transport::server::Router;

use crate::AdminState;
use service::AdminService;

/// How long open connections may take to finish once the production stops.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How often an idle connection is pinged. A peer that vanished without closing (its
/// host off, a firewall dropping the flow) would otherwise hold its connection forever.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);

/// How long a ping may go unanswered before its connection is dropped.
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// The server running, plain or over TLS.
type Serving = Pin<Box<dyn Future<Output = Result<(), tonic::transport::Error>> + Send>>;

/// Serves the gRPC admin API on `listener` until `stop` is cancelled; TLS when the
/// admin section configures it.
pub(crate) async fn serve(listener: TcpListener, state: AdminState, stop: CancellationToken) {
    let tls = state.tls.clone();
    let router = match router(state, stop.clone()).await {
        Ok(router) => router,
        Err(error) => {
            tracing::error!(%error, "admin grpc cannot start its reflection service");
            return;
        }
    };

    let stopped = stop.clone().cancelled_owned();
    let serving: Serving = match tls {
        Some(config) => {
            let incoming = tls::tls(listener, &config, stop.clone());
            Box::pin(router.serve_with_incoming_shutdown(incoming, stopped))
        }
        None => {
            let incoming = tls::plain(listener, stop.clone());
            Box::pin(router.serve_with_incoming_shutdown(incoming, stopped))
        }
    };

    // Graceful shutdown waits for clients to close their connections; one that never
    // does (stuck, or its process suspended) must not keep the production running.
    let grace_over = async {
        stop.cancelled().await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        served = serving => {
            if let Err(error) = served {
                tracing::error!(%error, "admin grpc stopped with an error");
            }
        }
        () = grace_over => {
            tracing::warn!(grace = ?SHUTDOWN_GRACE, "admin grpc clients still connected; closing");
        }
    }
}

/// The Admin, health and reflection services together.
async fn router(
    state: AdminState,
    stop: CancellationToken,
) -> Result<Router, tonic_reflection::server::Error> {
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<AdminServer<AdminService>>().await;

    let admin = AdminServer::new(AdminService::new(state, stop));
    Ok(Server::builder()
        .http2_keepalive_interval(Some(KEEPALIVE_INTERVAL))
        .http2_keepalive_timeout(Some(KEEPALIVE_TIMEOUT))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(admin))
}
