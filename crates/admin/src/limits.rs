//! What one admin surface (web or gRPC) lets a client hold: at most [`MAX_CONNECTIONS`]
//! connections at a time, and a connection only as long as it sends its opening bytes in
//! time. Without these, idle sockets pile up until the process runs out of file
//! descriptors, and then the production itself cannot open its files.
//!
//! Invariants: every connection a surface serves went through [`Admission::next`], holds
//! one permit from its surface's semaphore until it is dropped, and reaches the server
//! as a [`Guarded`] stream. A connection past the cap is closed before anything is read
//! from it. Warnings about refused or failed accepts appear at most once per
//! [`WARN_INTERVAL`], with the number held back since the last one.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;

/// Connections one surface serves at once. Far more than operators and scrapers need,
/// and small enough that both surfaces together stay well under the usual limit of
/// 1,024 descriptors, leaving the production's own files and sockets room.
pub(crate) const MAX_CONNECTIONS: usize = 256;

/// How long a client has, after accept (or after its TLS handshake), to send its opening
/// bytes. HTTP/1 header timeouts and HTTP/2 keepalives only start once the protocol is
/// known, so a socket that stays silent would otherwise be held forever.
pub(crate) const OPENING_DEADLINE: Duration = Duration::from_secs(10);

/// How many bytes count as the opening: the length of the HTTP/2 client preface. A
/// client that stalls inside the preface is not yet seen by any protocol timeout either,
/// and every real HTTP/1 request head (with its `Host` header) is longer.
const OPENING_BYTES: usize = 24;

/// The least time between two warnings of one kind, so a flood of refused or failed
/// accepts cannot flood the log as well.
const WARN_INTERVAL: Duration = Duration::from_secs(10);

/// Pause after a failed accept: with no descriptors left, accepting again at once would
/// spin on the same error.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// The accept side of one surface: takes connections off the listener and admits those
/// that fit under the cap.
#[derive(Debug)]
pub(crate) struct Admission {
    surface: &'static str,
    permits: Arc<Semaphore>,
    refused: Throttle,
    failed: Throttle,
}

/// An accepted connection holding its place under the cap.
#[derive(Debug)]
pub(crate) struct Admitted {
    /// The socket.
    pub(crate) socket: TcpStream,
    /// Who connected.
    pub(crate) peer: SocketAddr,
    /// Its place under the cap, to hand on to the stream that is served.
    pub(crate) place: Place,
}

impl Admission {
    /// Admission for the surface named `surface` in log lines (`web`, `grpc`).
    pub(crate) fn new(surface: &'static str) -> Admission {
        Admission {
            surface,
            permits: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
            refused: Throttle::default(),
            failed: Throttle::default(),
        }
    }

    /// The next connection on `listener` that fits under the cap; connections beyond it
    /// are closed as they arrive. Cancel-safe: a connection is only taken off the
    /// listener by a call that returns it or closes it.
    pub(crate) async fn next(&mut self, listener: &TcpListener) -> Admitted {
        loop {
            let (socket, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    if let Some(held_back) = self.failed.allow() {
                        tracing::warn!(
                            surface = self.surface,
                            %error,
                            held_back,
                            "admin surface cannot accept a connection"
                        );
                    }
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                    continue;
                }
            };

            match self.permits.clone().try_acquire_owned() {
                Ok(permit) => {
                    let place = Place { _permit: permit };
                    return Admitted {
                        socket,
                        peer,
                        place,
                    };
                }
                Err(_) => {
                    drop(socket);
                    if let Some(held_back) = self.refused.allow() {
                        tracing::warn!(
                            surface = self.surface,
                            %peer,
                            limit = MAX_CONNECTIONS,
                            held_back,
                            "admin surface refused a connection: too many open"
                        );
                    }
                }
            }
        }
    }
}

/// A connection's place under the cap; given back when what holds it is dropped.
#[derive(Debug)]
pub(crate) struct Place {
    _permit: OwnedSemaphorePermit,
}

impl Place {
    /// `stream`, the connection after any TLS handshake, under the opening deadline from
    /// now on and holding this place.
    pub(crate) fn guard<S>(self, stream: S) -> Guarded<S> {
        self.guard_within(stream, OPENING_DEADLINE)
    }

    /// [`Place::guard`] with the opening due within `deadline`.
    fn guard_within<S>(self, stream: S, deadline: Duration) -> Guarded<S> {
        Guarded {
            inner: stream,
            deadline: Some(Box::pin(tokio::time::sleep(deadline))),
            awaited: OPENING_BYTES,
            _place: self,
        }
    }
}

/// A connection's stream whose reads fail with [`io::ErrorKind::TimedOut`] when the
/// opening bytes have not all arrived by the deadline; it holds the connection's place
/// under the cap until dropped.
#[derive(Debug)]
pub(crate) struct Guarded<S> {
    inner: S,
    /// Until the opening has arrived; `None` after.
    deadline: Option<Pin<Box<Sleep>>>,
    /// Opening bytes still to come.
    awaited: usize,
    _place: Place,
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        let Some(deadline) = this.deadline.as_mut() else {
            return polled;
        };

        match polled {
            Poll::Ready(Ok(())) => {
                let arrived = buf.filled().len() - before;
                this.awaited = this.awaited.saturating_sub(arrived);
                if this.awaited == 0 {
                    this.deadline = None;
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => match deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client sent no request in time",
                ))),
                Poll::Pending => Poll::Pending,
            },
            failed @ Poll::Ready(Err(_)) => failed,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// tonic reads the peer address from the stream it serves; the guard must not hide it.
impl<S: tonic::transport::server::Connected> tonic::transport::server::Connected for Guarded<S> {
    type ConnectInfo = S::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.connect_info()
    }
}

/// Lets one warning of a kind through per [`WARN_INTERVAL`] and counts the rest.
#[derive(Debug, Default)]
struct Throttle {
    last: Option<Instant>,
    held_back: u64,
}

impl Throttle {
    /// `Some(number held back since the last one)` when a warning may be logged now.
    fn allow(&mut self) -> Option<u64> {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < WARN_INTERVAL)
        {
            self.held_back += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.held_back))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Short, so the tests run in real time.
    const DEADLINE: Duration = Duration::from_millis(200);

    #[test]
    fn a_throttle_lets_the_first_through_and_counts_the_rest() {
        let mut throttle = Throttle::default();
        assert_eq!(throttle.allow(), Some(0));
        assert_eq!(throttle.allow(), None);
        assert_eq!(throttle.allow(), None);
        throttle.last = Instant::now().checked_sub(WARN_INTERVAL);
        assert_eq!(throttle.allow(), Some(2));
    }

    #[tokio::test]
    async fn a_silent_client_times_out_and_a_talking_one_does_not() {
        let permits = Arc::new(Semaphore::new(2));
        let place = || Place {
            _permit: permits.clone().try_acquire_owned().unwrap(),
        };

        let (_silent, server) = tokio::io::duplex(64);
        let mut guarded = place().guard_within(server, DEADLINE);
        let error = guarded.read(&mut [0; 8]).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);

        let (mut client, server) = tokio::io::duplex(64);
        let mut guarded = place().guard_within(server, DEADLINE);
        client.write_all(&[b'x'; OPENING_BYTES]).await.unwrap();
        let mut opening = [0; OPENING_BYTES];
        guarded.read_exact(&mut opening).await.unwrap();
        tokio::time::sleep(DEADLINE * 2).await;
        client.write_all(b"later").await.unwrap();
        let mut later = [0; 5];
        guarded.read_exact(&mut later).await.unwrap();
        assert_eq!(&later, b"later");

        assert_eq!(permits.available_permits(), 0);
        drop(guarded);
        assert_eq!(permits.available_permits(), 1);
    }

    #[tokio::test]
    async fn a_client_stalling_inside_its_opening_times_out() {
        let permits = Arc::new(Semaphore::new(1));
        let permit = permits.clone().try_acquire_owned().unwrap();
        let (mut client, server) = tokio::io::duplex(64);
        let mut guarded = Place { _permit: permit }.guard_within(server, DEADLINE);

        client.write_all(b"PRI * HTTP/2.0").await.unwrap();
        let mut buf = [0; OPENING_BYTES];
        let read = guarded.read(&mut buf).await.unwrap();
        assert_eq!(read, 14);
        let error = guarded.read(&mut buf).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    }
}
