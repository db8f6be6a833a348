//! TLS for the gRPC admin API: connections accepted on the listener are handshaken with
//! the admin certificate before tonic sees them. A slow or failed handshake only costs
//! its own task; the accept loop never waits for one.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;

/// How long a client may take to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Pause after a failed accept (out of file descriptors), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Handshaken connections, ready for tonic.
pub(crate) type Incoming = ReceiverStream<std::io::Result<TlsStream<TcpStream>>>;

/// Accepts on `listener` until `stop`, offering only HTTP/2 (gRPC needs it).
pub(crate) fn incoming(
    listener: TcpListener,
    config: &ServerConfig,
    stop: CancellationToken,
) -> Incoming {
    let mut config = config.clone();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(config));

    let (sender, receiver) = mpsc::channel(16);
    tokio::spawn(accept(listener, acceptor, sender, stop));
    ReceiverStream::new(receiver)
}

async fn accept(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    sender: mpsc::Sender<std::io::Result<TlsStream<TcpStream>>>,
    stop: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let (connection, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "admin grpc cannot accept a connection");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };

        let acceptor = acceptor.clone();
        let sender = sender.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(connection)).await {
                Ok(Ok(stream)) => {
                    let _ = sender.send(Ok(stream)).await;
                }
                Ok(Err(error)) => tracing::debug!(%peer, %error, "admin grpc TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "admin grpc TLS handshake timed out"),
            }
        });
    }
}
