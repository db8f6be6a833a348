//! One MLLP connection, plain or TLS: read framed items, write blocks.

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::codec::{Decoder, Encoder};

use crate::codec::{Framed, MllpCodec};

/// A byte stream a connection runs on: TCP, or TLS over TCP.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// How much is read at once; a larger message arrives over several reads.
const READ_CHUNK: usize = 64 * 1024;

/// A stream with its codec and read buffer.
pub(crate) struct Connection {
    stream: Box<dyn Stream>,
    codec: MllpCodec,
    buffer: BytesMut,
    out: BytesMut,
    ended: bool,
}

impl Connection {
    pub(crate) fn new(stream: Box<dyn Stream>, max_message: usize) -> Self {
        Connection {
            stream,
            codec: MllpCodec::new(max_message),
            buffer: BytesMut::with_capacity(READ_CHUNK),
            out: BytesMut::new(),
            ended: false,
        }
    }

    /// The next item already in the buffer, without reading.
    pub(crate) fn buffered(&mut self) -> std::io::Result<Option<Framed>> {
        self.codec.decode(&mut self.buffer)
    }

    /// The next item, reading as needed. `None` once the peer has closed its side and
    /// everything before the close has been handed out.
    ///
    /// Cancel safe: a read that is cancelled loses no bytes, since bytes read stay in the
    /// buffer.
    pub(crate) async fn next(&mut self) -> std::io::Result<Option<Framed>> {
        loop {
            if let Some(item) = self.codec.decode(&mut self.buffer)? {
                return Ok(Some(item));
            }
            if self.ended {
                return self.codec.decode_eof(&mut self.buffer);
            }
            self.buffer.reserve(READ_CHUNK);
            if self.stream.read_buf(&mut self.buffer).await? == 0 {
                self.ended = true;
            }
        }
    }

    /// The bytes of a block cut off because this side ends the connection (idle timeout,
    /// shutdown, a failed write); `None` when no block was open. Complete blocks still in
    /// the buffer were never acknowledged, so their senders send them again.
    pub(crate) fn unfinished(&mut self) -> Option<bytes::Bytes> {
        if !self.codec.in_block() {
            return None;
        }
        while let Ok(Some(item)) = self.codec.decode_eof(&mut self.buffer) {
            if let Framed::Abandoned(bytes) = item {
                return Some(bytes);
            }
        }
        None
    }

    /// Writes one block and flushes it.
    pub(crate) async fn send(&mut self, message: &[u8]) -> std::io::Result<()> {
        self.out.clear();
        self.codec.encode(message, &mut self.out)?;
        self.stream.write_all(&self.out).await?;
        self.stream.flush().await
    }

    /// Writes several blocks with one flush (ACKs for pipelined messages).
    pub(crate) async fn send_all(&mut self, messages: &[Vec<u8>]) -> std::io::Result<()> {
        self.out.clear();
        for message in messages {
            self.codec.encode(message, &mut self.out)?;
        }
        self.stream.write_all(&self.out).await?;
        self.stream.flush().await
    }

    /// Closes the writing side (TLS close_notify, then FIN).
    pub(crate) async fn close(&mut self) {
        let _ = self.stream.shutdown().await;
    }
}
