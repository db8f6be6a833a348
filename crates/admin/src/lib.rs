//! Ferry's admin plane: the gRPC admin API (`ferry.admin.v1`), the web UI with its JSON
//! and live-event endpoints, Prometheus metrics and health checks, for one running
//! production.
//!
//! Both surfaces use the same [`Credentials`] (the admin token, or named users with argon2
//! hashes) and the same [`ferry_runtime::EngineHandle`]; every state-changing call is
//! written to the event log with its actor. They listen where the production's `admin:`
//! section says, on loopback unless TLS is configured.

mod auth;
mod grpc;
mod limits;
mod metrics;
mod serve;
mod token;
mod web;

pub use auth::{Actor, Credentials, CredentialsError, Refusal, TOKEN_ACTOR, hash_password};
pub use metrics::prometheus;
pub use serve::{AdminError, Running, check, start};
pub use token::{MIN_TOKEN_LEN, TOKEN_FILE, TokenSource, admin_token, read_token_file};

use std::sync::Arc;

/// What every admin request handler shares.
#[derive(Clone)]
pub(crate) struct AdminState {
    /// The running production.
    pub(crate) engine: ferry_runtime::EngineHandle,
    /// Who may call.
    pub(crate) credentials: Credentials,
    /// The Prometheus recorder, when this process could install it.
    pub(crate) metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// Whether the surfaces serve TLS (cookies are then `Secure`).
    pub(crate) tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
}

impl std::fmt::Debug for AdminState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminState")
            .field("engine", &self.engine)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}
