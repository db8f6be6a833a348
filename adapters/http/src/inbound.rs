//! `service: http`: a listener that serves each connection with hyper (HTTP/1.1 and
//! HTTP/2, plain or TLS) and routes the configured paths to [`crate::receive`].
//!
//! The listener binds when the service runs (never while a production is validated),
//! announces the address it got, and serves at most `max_connections` connections at
//! once; further peers wait in the kernel's backlog. A request head must arrive within
//! the read timeout. On shutdown it stops accepting and closes idle connections; the
//! others get [`SHUTDOWN_GRACE`] to finish the requests they are handling (a message read
//! whole is stored and answered), bodies still being read after [`READS_CUT`] are
//! abandoned with 503, and what is still open at the end of the grace is dropped.
//!
//! Paths are compared literally in one fallback handler (no route table), so no setting
//! can make building the router panic.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::header::TRANSFER_ENCODING;
use axum::http::{HeaderMap, Request, Response, StatusCode, Version};
use axum::response::IntoResponse;
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
use crate::guard::{Heads, MAX_HEAD, Verdict, Watched};
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

/// How long open connections may go on once the service is stopping; then they are
/// dropped, whatever they are doing.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// When, after the service began stopping, bodies still being read are abandoned (nothing
/// is stored; the sender gets 503): early enough that the answer can leave before the
/// connection is dropped.
const READS_CUT: Duration = Duration::from_secs(4);

/// What every connection of the service shares.
struct Shared {
    router: Router,
    acceptor: Option<TlsAcceptor>,
    read_timeout: Duration,
    shutdown: CancellationToken,
    ctx: ServiceContext,
}

/// Cancels `cut` [`READS_CUT`] after `shutdown`, or when `cut` is cancelled otherwise.
fn cut_reads_on_shutdown(shutdown: CancellationToken, cut: CancellationToken) {
    tokio::spawn(async move {
        tokio::select! {
            () = cut.cancelled() => {}
            () = async {
                shutdown.cancelled().await;
                tokio::time::sleep(READS_CUT).await;
            } => cut.cancel(),
        }
    });
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
        let cut = CancellationToken::new();
        let _stop_cutting = cut.clone().drop_guard();
        cut_reads_on_shutdown(ctx.shutdown.clone(), cut.clone());

        let shared = Arc::new(Shared {
            router: router(&config, &ctx, credentials, cut),
            acceptor,
            read_timeout: config.read_timeout,
            shutdown: ctx.shutdown.clone(),
            ctx: ctx.clone(),
        });
        let serve = ferry_adapter::WhileDisabled::Serve;
        serve_connections(
            &ctx,
            listener,
            config.max_connections,
            serve,
            |socket, peer| {
                let shared = Arc::clone(&shared);
                async move { shared.connection(socket, peer).await }
            },
        )
        .await;
        Ok(())
    }
}

fn router(
    config: &InboundConfig,
    ctx: &ServiceContext,
    credentials: Option<Credentials>,
    cut: CancellationToken,
) -> Router {
    let receiver = Arc::new(Receiver {
        ctx: ctx.clone(),
        config: config.clone(),
        credentials,
        refusals: Refusals::default(),
        cut,
    });
    // One fallback that compares the path itself: axum's route table would read `:`, `*`
    // and braces as patterns and panics on duplicate or malformed routes, while a
    // fallback alone cannot fail to build.
    Router::new().fallback(route).with_state(receiver)
}

/// Sends a request at a configured path (compared literally) to [`receive`], any other
/// to [`not_found`].
async fn route(State(receiver): State<Arc<Receiver>>, request: Request<Body>) -> Response<Body> {
    let path = request.uri().path();
    if receiver.config.paths.iter().any(|taken| taken == path) {
        receive(State(receiver), request).await
    } else {
        not_found().await
    }
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
            .header_read_timeout(self.read_timeout)
            // Heads the guard cannot follow are refused by hyper (431).
            .max_buf_size(MAX_HEAD);
        builder.http2().timer(TokioTimer::new());
        let connection = builder.serve_connection(io, service);
        tokio::pin!(connection);
        let served = tokio::select! {
            served = connection.as_mut() => served,
            () = self.shutdown.cancelled() => {
                connection.as_mut().graceful_shutdown();
                match tokio::time::timeout(SHUTDOWN_GRACE, connection).await {
                    Ok(served) => served,
                    Err(_) => {
                        tracing::debug!(item = %self.ctx.item, %peer, "connection dropped");
                        return;
                    }
                }
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
    if request.version() <= Version::HTTP_11 {
        let error = match heads.next() {
            Verdict::Clear => None,
            Verdict::Ambiguous => Some(
                "both Content-Length and Transfer-Encoding: the body length is ambiguous \
                 (RFC 9112 section 6.1)",
            ),
            Verdict::Lost => Some(
                "an earlier request on this connection could not be framed, so where this \
                 one starts is unknown",
            ),
        };
        if let Some(error) = error {
            return Problem::new(StatusCode::BAD_REQUEST, "headers", error)
                .closing()
                .into_response();
        }
        if let Some(coding) = unknown_transfer_coding(request.headers()) {
            let error = format!(
                "Transfer-Encoding '{coding}' is not implemented: only chunked is understood \
                 (RFC 9112 section 6.1)"
            );
            return Problem::new(
                StatusCode::NOT_IMPLEMENTED,
                "Transfer-Encoding header",
                error,
            )
            .closing()
            .into_response();
        }
    }
    let mut request = request.map(Body::new);
    request.extensions_mut().insert(Peer { addr: peer });
    match router.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// The `Transfer-Encoding` of a request when it is anything but a single `chunked`: hyper
/// takes any list ending in `chunked` and hands over the body still in the other codings
/// (`gzip, chunked` gives gzip bytes), so such a body would be stored undecoded.
fn unknown_transfer_coding(headers: &HeaderMap) -> Option<String> {
    let mut codings = Vec::new();
    for value in headers.get_all(TRANSFER_ENCODING) {
        let text = String::from_utf8_lossy(value.as_bytes());
        codings.extend(
            text.split(',')
                .map(|coding| coding.trim().to_owned())
                .filter(|coding| !coding.is_empty()),
        );
    }
    match codings.as_slice() {
        [] => None,
        [only] if only.eq_ignore_ascii_case("chunked") => None,
        _ => Some(codings.join(", ")),
    }
}
