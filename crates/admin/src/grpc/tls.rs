//! The connections tonic serves, plain or over TLS: one accept loop admits them under
//! the surface's cap ([`crate::limits`]), handshakes them with the admin certificate when
//! TLS is configured, and hands them on guarded by the opening deadline. A slow or
//! failed handshake only costs its own task; the accept loop never waits for one.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;

use crate::limits::{Admission, Admitted, Guarded};

/// How long a client may take to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections ready for tonic.
pub(crate) type Incoming<S> = ReceiverStream<io::Result<Guarded<S>>>;

/// Accepts on `listener` until `stop`, without TLS.
pub(crate) fn plain(listener: TcpListener, stop: CancellationToken) -> Incoming<TcpStream> {
    let handshake = |socket: TcpStream, _peer: SocketAddr| async move { Some(socket) };
    incoming(listener, handshake, stop)
}

/// Accepts on `listener` until `stop`, offering only HTTP/2 over TLS (gRPC needs it).
pub(crate) fn tls(
    listener: TcpListener,
    config: &ServerConfig,
    stop: CancellationToken,
) -> Incoming<TlsStream<TcpStream>> {
    let mut config = config.clone();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(config));

    let handshake = move |socket: TcpStream, peer: SocketAddr| {
        let accepting = acceptor.accept(socket);
        async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, accepting).await {
                Ok(Ok(stream)) => Some(stream),
                Ok(Err(error)) => {
                    tracing::debug!(%peer, %error, "admin grpc TLS handshake failed");
                    None
                }
                Err(_) => {
                    tracing::debug!(%peer, "admin grpc TLS handshake timed out");
                    None
                }
            }
        }
    };
    incoming(listener, handshake, stop)
}

/// Runs the accept loop in its own task, `handshake` turning each admitted socket into
/// the stream to serve (or `None` to drop it).
fn incoming<S, H, F>(listener: TcpListener, handshake: H, stop: CancellationToken) -> Incoming<S>
where
    S: Send + 'static,
    H: Fn(TcpStream, SocketAddr) -> F + Send + 'static,
    F: Future<Output = Option<S>> + Send + 'static,
{
    let (sender, receiver) = mpsc::channel(16);
    tokio::spawn(accept(listener, handshake, sender, stop));
    ReceiverStream::new(receiver)
}

async fn accept<S, H, F>(
    listener: TcpListener,
    handshake: H,
    sender: mpsc::Sender<io::Result<Guarded<S>>>,
    stop: CancellationToken,
) where
    S: Send + 'static,
    H: Fn(TcpStream, SocketAddr) -> F,
    F: Future<Output = Option<S>> + Send + 'static,
{
    let mut admission = Admission::new("grpc");
    loop {
        let Admitted {
            socket,
            peer,
            place,
        } = tokio::select! {
            () = stop.cancelled() => return,
            admitted = admission.next(&listener) => admitted,
        };
        let _ = socket.set_nodelay(true);

        // The place under the cap travels with the handshake, so connections still
        // handshaking count too.
        let handshaking = handshake(socket, peer);
        let sender = sender.clone();
        tokio::spawn(async move {
            if let Some(stream) = handshaking.await {
                let _ = sender.send(Ok(place.guard(stream))).await;
            }
        });
    }
}
