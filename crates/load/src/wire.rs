//! One MLLP connection over TCP for the load tool: write a block, read the next block.
//!
//! Framing is Ferry's own codec ([`ferry_mllp::codec`]), so the tool exercises the same
//! byte handling as the engine. Bytes outside blocks (a stray LF after `<FS><CR>`, which
//! some receivers send) are skipped here: MLLP discards them, and counting them would make
//! a receiver's harmless habit look like a failed exchange.

use bytes::{Bytes, BytesMut};
use ferry_mllp::codec::{Framed, MllpCodec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::{Decoder, Encoder};

/// The largest block read: far above any load message or ACK, small enough that a peer
/// sending endless bytes costs little memory.
pub(crate) const MAX_BLOCK: usize = 1024 * 1024;

/// How much is read at once.
const READ_CHUNK: usize = 16 * 1024;

/// What the next read produced.
#[derive(Debug)]
pub(crate) enum Block {
    /// A complete block's content.
    Message(Bytes),
    /// A block that cannot be used: over [`MAX_BLOCK`], or cut short by a new start byte.
    Broken,
    /// The peer closed the connection; `mid_block` when it did so inside a block, whose
    /// bytes are dropped.
    Closed {
        /// Whether a started block was cut off.
        mid_block: bool,
    },
}

/// A TCP stream with MLLP framing.
#[derive(Debug)]
pub(crate) struct MllpStream {
    stream: TcpStream,
    codec: MllpCodec,
    input: BytesMut,
    output: BytesMut,
}

impl MllpStream {
    /// Wraps a connected stream. Nagle's algorithm is turned off, since every exchange is
    /// one small write followed by a wait for the answer: with it on, a block could sit in
    /// the kernel waiting for more data and each round trip would gain tens of ms.
    pub(crate) fn new(stream: TcpStream) -> MllpStream {
        let _ = stream.set_nodelay(true);
        MllpStream {
            stream,
            codec: MllpCodec::new(MAX_BLOCK),
            input: BytesMut::with_capacity(READ_CHUNK),
            output: BytesMut::with_capacity(4096),
        }
    }

    /// Writes one block around `message`.
    ///
    /// # Errors
    ///
    /// The I/O error of the write.
    pub(crate) async fn send(&mut self, message: &[u8]) -> std::io::Result<()> {
        self.output.clear();
        self.codec.encode(message, &mut self.output)?;
        self.stream.write_all(&self.output).await
    }

    /// Reads until the next block, skipping bytes outside blocks. Cancel safe: bytes read
    /// stay in the buffer.
    ///
    /// # Errors
    ///
    /// The I/O error of a read.
    pub(crate) async fn next(&mut self) -> std::io::Result<Block> {
        loop {
            match self.codec.decode(&mut self.input)? {
                Some(Framed::Message(bytes)) => return Ok(Block::Message(bytes)),
                Some(Framed::Junk(_)) => continue,
                Some(Framed::TooLarge { .. } | Framed::Abandoned(_)) => return Ok(Block::Broken),
                None => {}
            }
            self.input.reserve(READ_CHUNK);
            if self.stream.read_buf(&mut self.input).await? == 0 {
                let mid_block = self.codec.in_block();
                self.input.clear();
                return Ok(Block::Closed { mid_block });
            }
        }
    }
}
