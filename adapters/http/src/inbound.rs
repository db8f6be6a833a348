//! `service: http`: a listener that serves each connection with hyper (HTTP/1.1 and
//! HTTP/2, plain or TLS) and routes the configured paths to [`crate::receive`].
//!
//! The listener binds when the service runs (never while a production is validated),
//! announces the address it got, and serves at most `max_connections` connections at
//! once; further peers wait in the kernel's backlog. A request head must arrive within
//! the read timeout. On shutdown it stops accepting, lets every connection finish the
//! requests it is handling (their messages are stored and answered), then closes them.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, Version};
use axum::response::IntoResponse;
use axum::routing::any;
use ferry_adapter::{
    AdapterError, Service, ServiceContext, ServiceFactory, bind_listener, serve_connections,
};
use ferry_production::{Diagnostics, Item};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::auth::Credentials;
use crate::guard::{Heads, Watched};
use crate::problem::Problem;
use crate::receive::{Peer, Receiver, not_found, receive};
use crate::refusals::Refusals;
use crate::settings::{self, InboundConfig};

/// Builds `service: http` items.
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpServiceFactory;

impl ServiceFactory for HttpServiceFactory {
    fn kind(&self) -> &'static str {
        "http"
    }

    fn build(&self, item: &Item) -> Result<Box<dyn Service>, Diagnostics> {
        let config = settings::inbound(item)?;
        Ok(Box::new(HttpService { config }))
    }
}

struct HttpService {
    config: InboundConfig,
}

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// What every connection of the service shares.
struct Shared {
    router: Router,
    acceptor: Option<TlsAcceptor>,
    read_timeout: Duration,
    shutdown: CancellationToken,
    ctx: ServiceContext,
}

#[async_trait]
impl Service for HttpService {
    fn references(&self) -> Vec<ferry_adapter::ItemReference> {
        self.config.references.clone()
    }

    async fn run(self: Box<Self>, ctx: ServiceContext) -> Result<(), AdapterError> {
        let config = self.config;
        let credentials = match &config.auth {
            Some(auth) => Some(
                Credentials::from_env(auth).map_err(|error| AdapterError::new(&ctx.item, error))?,
            ),
            None => None,
        };
        let acceptor = match &config.tls {
            Some(files) => {
                Some(crate::tls::acceptor(files).map_err(|e| AdapterError::new(&ctx.item, e))?)
            }
            None => None,
        };
        let listener = bind_listener(&ctx, &config.listen).await?;

        let shared = Arc::new(Shared {
            router: router(&config, &ctx, credentials),
            acceptor,
            read_timeout: config.read_timeout,
            shutdown: ctx.shutdown.clone(),
            ctx: ctx.clone(),
        });
        serve_connections(&ctx, listener, config.max_connections, |socket, peer| {
            let shared = Arc::clone(&shared);
            async move { shared.connection(socket, peer).await }
        })
        .await;
        Ok(())
    }
}

fn router(
    config: &InboundConfig,
    ctx: &ServiceContext,
    credentials: Option<Credentials>,
) -> Router {
    let receiver = Arc::new(Receiver {
        ctx: ctx.clone(),
        config: config.clone(),
        credentials,
        refusals: Refusals::default(),
    });
    let mut router = Router::new();
    for path in &config.paths {
        router = router.route(path, any(receive));
    }
    router.fallback(not_found).with_state(receiver)
}

impl Shared {
    async fn connection(&self, socket: TcpStream, peer: SocketAddr) {
        let _ = socket.set_nodelay(true);
        match &self.acceptor {
            None => self.serve(socket, peer).await,
            Some(acceptor) => {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(socket)).await {
                    Ok(Ok(tls)) => self.serve(tls, peer).await,
                    Ok(Err(error)) => {
                        let text = format!("TLS handshake with {peer} failed: {error}");
                        self.ctx.intake.warn(text);
                    }
                    Err(_) => {
                        let text = format!("TLS handshake with {peer} timed out");
                        self.ctx.intake.warn(text);
                    }
                }
            }
        }
    }

    async fn serve<S>(&self, stream: S, peer: SocketAddr)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let heads = Arc::new(Heads::default());
        let io = TokioIo::new(Watched::new(stream, Arc::clone(&heads)));
        let router = self.router.clone();
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let router = router.clone();
            let heads = Arc::clone(&heads);
            async move { Ok::<_, Infallible>(dispatch(router, request, peer, &heads).await) }
        });

        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.read_timeout);
        builder.http2().timer(TokioTimer::new());
        let connection = builder.serve_connection(io, service);
        tokio::pin!(connection);
        let served = tokio::select! {
            served = connection.as_mut() => served,
            () = self.shutdown.cancelled() => {
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        if let Err(error) = served {
            tracing::debug!(item = %self.ctx.item, %peer, %error, "connection ended");
        }
    }
}

/// Answers an HTTP/1 request whose length is ambiguous with 400 before any routing;
/// routes every other request with the peer's address attached.
async fn dispatch(
    router: Router,
    request: Request<Incoming>,
    peer: SocketAddr,
    heads: &Heads,
) -> Response<Body> {
    if request.version() <= Version::HTTP_11 && heads.next_is_ambiguous() {
        let error = "both Content-Length and Transfer-Encoding: the body length is ambiguous \
                     (RFC 9112 section 6.1)";
        return Problem::new(StatusCode::BAD_REQUEST, "headers", error)
            .closing()
            .into_response();
    }
    let mut request = request.map(Body::new);
    request.extensions_mut().insert(Peer { addr: peer });
    match router.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}
