//! Reading a request body within the service's limits, whatever its framing.
//!
//! The size limit counts the bytes the message will be made of: the bytes read for a
//! plain body, the inflated bytes for a gzip body. Both are counted while the body
//! streams in, so a chunked body without Content-Length, or a small gzip body that
//! inflates to gigabytes, is stopped as soon as it passes the limit; memory never holds
//! much more than the limit (plus one frame, plus the inflater's window). Each frame must
//! arrive within the read timeout, so a sender that goes quiet half-way does not hold a
//! connection and a buffer forever, and the whole body within the body timeout, so one
//! that trickles a byte at a time does not either.
//!
//! A refused body is not simply dropped: an HTTP/1 peer still sending when the server
//! closes gets a reset that can destroy the answer before the client reads it, and an
//! HTTP/2 stream dropped half-read is reset as cancelled. [`drain_later`] reads and
//! throws away a bounded amount for a bounded time after the answer, then lets go
//! (the "lingering close" of web servers).

use std::io::Write;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use flate2::write::GzDecoder;
use http_body_util::BodyExt;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BodyError {
    /// The body passed `limit` (after inflating, when it was compressed).
    #[error("the body is larger than max_body ({limit} bytes)")]
    TooLarge {
        limit: usize,
        /// Bytes read from the connection before reading stopped.
        wire: u64,
    },
    /// Nothing arrived for the read timeout.
    #[error("no body data for {timeout:?}, after {wire} bytes")]
    Timeout { timeout: Duration, wire: u64 },
    /// The whole body did not arrive within the body timeout.
    #[error("the body did not arrive within body_timeout ({limit:?}); {wire} bytes came")]
    TooSlow { limit: Duration, wire: u64 },
    /// The service is stopping and its grace for open connections ran out.
    #[error("the service is stopping; the body was not read to its end ({wire} bytes came)")]
    Stopping { wire: u64 },
    /// A compressed body that does not inflate.
    #[error("the gzip body is corrupt: {0}")]
    Corrupt(String),
    /// The connection failed or closed before the body ended.
    #[error("the body was cut off: {0}")]
    Cut(String),
}

/// How a body is to be read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimits {
    /// The most bytes the message may have.
    pub(crate) max: usize,
    /// The longest wait for the next piece of the body.
    pub(crate) idle: Duration,
    /// The longest time for the whole body.
    pub(crate) total: Duration,
    /// Whether the body is gzip-compressed.
    pub(crate) gzip: bool,
}

/// Reads `body` to its end within `limits`, or until `stop` is cancelled.
///
/// # Errors
///
/// [`BodyError`]: too large, too slow, corrupt, cut off, or the service stopping.
pub(crate) async fn read_body(
    body: &mut Body,
    limits: BodyLimits,
    stop: &CancellationToken,
) -> Result<Bytes, BodyError> {
    let mut sink = Sink::new(limits.max);
    let mut inflater = limits.gzip.then(|| GzDecoder::new(Sink::new(limits.max)));
    let mut wire = 0u64;
    let deadline = Instant::now() + limits.total;
    loop {
        let idle = Instant::now() + limits.idle;
        let next = tokio::select! {
            next = tokio::time::timeout_at(idle.min(deadline), body.frame()) => next,
            () = stop.cancelled() => return Err(BodyError::Stopping { wire }),
        };
        let frame = match next {
            Err(_) if Instant::now() >= deadline => {
                let limit = limits.total;
                return Err(BodyError::TooSlow { limit, wire });
            }
            Err(_) => {
                let timeout = limits.idle;
                return Err(BodyError::Timeout { timeout, wire });
            }
            Ok(None) => break,
            Ok(Some(Err(error))) => return Err(BodyError::Cut(error.to_string())),
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        wire += data.len() as u64;
        let written = match inflater.as_mut() {
            Some(inflater) => inflater.write_all(&data),
            None => sink.write_all(&data),
        };
        if let Err(error) = written {
            let over = inflater.as_ref().map_or(sink.over, |i| i.get_ref().over);
            if over {
                let limit = limits.max;
                return Err(BodyError::TooLarge { limit, wire });
            }
            return Err(BodyError::Corrupt(error.to_string()));
        }
    }

    match inflater {
        None => Ok(Bytes::from(sink.bytes)),
        Some(inflater) => match inflater.finish() {
            Ok(sink) => Ok(Bytes::from(sink.bytes)),
            Err(error) => Err(BodyError::Corrupt(error.to_string())),
        },
    }
}

/// The most of a refused body read and thrown away after answering.
const DRAIN_BYTES: usize = 1 << 20;

/// How long a refused body is drained after answering.
const DRAIN_TIME: Duration = Duration::from_secs(2);

/// Reads and discards what is left of `body` in the background, at most [`DRAIN_BYTES`]
/// for at most [`DRAIN_TIME`], so the answer given meanwhile reaches the client.
pub(crate) fn drain_later(mut body: Body) {
    tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + DRAIN_TIME;
        let mut drained = 0usize;
        while drained <= DRAIN_BYTES {
            match tokio::time::timeout_at(deadline, body.frame()).await {
                Ok(Some(Ok(frame))) => {
                    drained += frame.data_ref().map_or(0, |data| data.len());
                }
                _ => return,
            }
        }
    });
}

/// Collects bytes up to a limit, and refuses the write that would pass it.
struct Sink {
    bytes: Vec<u8>,
    limit: usize,
    over: bool,
}

impl Sink {
    fn new(limit: usize) -> Sink {
        Sink {
            bytes: Vec::new(),
            limit,
            over: false,
        }
    }
}

impl Write for Sink {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len().saturating_add(data.len()) > self.limit {
            self.over = true;
            return Err(std::io::Error::other("over the size limit"));
        }
        self.bytes.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;

    fn limits(max: usize, gzip: bool) -> BodyLimits {
        BodyLimits {
            max,
            idle: Duration::from_secs(5),
            total: Duration::from_secs(60),
            gzip,
        }
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[tokio::test]
    async fn plain_bodies_up_to_the_limit_pass() {
        let mut body = Body::from(vec![b'A'; 100]);
        assert_eq!(
            read_body(&mut body, limits(100, false), &CancellationToken::new())
                .await
                .unwrap()
                .len(),
            100
        );
        let mut body = Body::from(vec![b'A'; 101]);
        assert!(matches!(
            read_body(&mut body, limits(100, false), &CancellationToken::new()).await,
            Err(BodyError::TooLarge { limit: 100, .. })
        ));
    }

    #[tokio::test]
    async fn the_limit_counts_inflated_bytes() {
        let small = gzip(b"MSH|^~\\&|A");
        let read = read_body(
            &mut Body::from(small),
            limits(100, true),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
        assert_eq!(&read[..], b"MSH|^~\\&|A");

        let bomb = gzip(&vec![b'A'; 8 << 20]);
        assert!(bomb.len() < 64 << 10);
        let error = read_body(
            &mut Body::from(bomb),
            limits(1 << 20, true),
            &CancellationToken::new(),
        )
        .await;
        assert!(matches!(error, Err(BodyError::TooLarge { .. })));
    }

    #[tokio::test]
    async fn corrupt_gzip_is_named() {
        let error = read_body(
            &mut Body::from("not gzip at all"),
            limits(100, true),
            &CancellationToken::new(),
        )
        .await;
        assert!(matches!(error, Err(BodyError::Corrupt(_))), "{error:?}");
    }
}
