//! Starting the admin surfaces of a production: credentials, listeners, TLS.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use ferry_production::AdminSettings;
use ferry_runtime::EngineHandle;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::{AdminState, Credentials, TokenSource, admin_token};

/// Why the admin surfaces could not start.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The token or the credentials file cannot be used.
    #[error("admin credentials: {0}")]
    Credentials(String),
    /// The TLS certificate or key cannot be used.
    #[error("admin TLS: {0}")]
    Tls(String),
    /// An address cannot be listened on.
    #[error("cannot listen on {address} ({surface}): {source}")]
    Listen {
        /// `web UI` or `gRPC`.
        surface: &'static str,
        /// The address.
        address: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// The admin surfaces of one production, running until the token given to [`start`] is
/// cancelled.
#[derive(Debug)]
pub struct Running {
    /// Where the web UI, `/metrics` and health checks listen.
    pub http: Option<SocketAddr>,
    /// Where the gRPC admin API listens.
    pub grpc: Option<SocketAddr>,
    /// Where the admin token came from.
    pub token: TokenSource,
    tasks: TaskTracker,
}

impl Running {
    /// Waits until both servers have stopped (after the stop token was cancelled).
    pub async fn stopped(self) {
        self.tasks.close();
        self.tasks.wait().await;
    }
}

/// Starts the web and gRPC servers `settings` names for the production behind `engine`.
/// The token comes from `settings.token_env`, or is generated into the store folder.
///
/// # Errors
///
/// [`AdminError`] when the credentials, TLS files or addresses cannot be used; nothing
/// listens then.
pub async fn start(
    settings: &AdminSettings,
    store_folder: &Path,
    engine: EngineHandle,
    env: &dyn Fn(&str) -> Option<String>,
    stop: CancellationToken,
) -> Result<Running, AdminError> {
    let (token, source) =
        admin_token(&settings.token_env, store_folder, env).map_err(AdminError::Credentials)?;
    let credentials = Credentials::new(token, settings.users.as_deref())
        .map_err(|error| AdminError::Credentials(error.to_string()))?;
    let tls = match &settings.tls {
        Some(files) => Some(Arc::new(server_tls(files)?)),
        None => None,
    };
    let state = AdminState {
        engine,
        credentials,
        metrics: crate::prometheus(),
        tls,
    };

    let http = match settings.http {
        Some(address) => Some(listen("web UI", address).await?),
        None => None,
    };
    let grpc = match settings.grpc {
        Some(address) => Some(listen("gRPC", address).await?),
        None => None,
    };

    let tasks = TaskTracker::new();
    let mut running = Running {
        http: None,
        grpc: None,
        token: source,
        tasks: tasks.clone(),
    };
    if let Some(listener) = http {
        running.http = listener.local_addr().ok();
        tasks.spawn(crate::web::serve(listener, state.clone(), stop.clone()));
    }
    if let Some(listener) = grpc {
        running.grpc = listener.local_addr().ok();
        tasks.spawn(crate::grpc::serve(listener, state, stop));
    }
    Ok(running)
}

/// Checks what the admin section names (the token variable, the users file, the TLS
/// certificate and key) without starting anything, so a mistake stops `ferry validate`
/// and `ferry run` before the production takes a message.
///
/// # Errors
///
/// [`AdminError::Credentials`] or [`AdminError::Tls`], naming the file and the fault.
pub fn check(
    settings: &AdminSettings,
    store_folder: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), AdminError> {
    if let Some(value) = env(&settings.token_env) {
        crate::token::checked_token(&settings.token_env, &value, store_folder)
            .map_err(AdminError::Credentials)?;
    }
    if let Some(users) = &settings.users {
        Credentials::new(String::new(), Some(users))
            .map_err(|error| AdminError::Credentials(error.to_string()))?;
    }
    if let Some(files) = &settings.tls {
        server_tls(files)?;
    }
    Ok(())
}

async fn listen(surface: &'static str, address: SocketAddr) -> Result<TcpListener, AdminError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| AdminError::Listen {
            surface,
            address,
            source,
        })
}

fn server_tls(
    files: &ferry_production::AdminTls,
) -> Result<tokio_rustls::rustls::ServerConfig, AdminError> {
    let files = ferry_adapter::ServerTlsFiles {
        certificate: files.certificate.clone(),
        key: files.key.clone(),
        client_ca: None,
    };
    ferry_adapter::server_tls_config(&files).map_err(AdminError::Tls)
}
