//! MLLP framing on a byte stream: `<VT>` message `<FS><CR>`.
//!
//! The codec works on bytes only, never on text, so a multi-byte character split across
//! two reads (or a Latin-1 byte) cannot confuse it: 0x0B, 0x1C and 0x0D never occur inside
//! UTF-8 sequences or ISO-8859 text. TCP read boundaries carry no meaning; a block is
//! complete only when `<FS><CR>` has been read (MLLP, HL7 v2.5.1 Appendix C).
//!
//! What the decoder hands out, as [`Framed`] items, in stream order:
//! - [`Framed::Message`]: the exact bytes between `<VT>` and `<FS><CR>`, nothing trimmed;
//! - [`Framed::Junk`]: bytes outside any block (a log line, LF, NUL padding), discarded by
//!   the protocol but reported so a service can log them;
//! - [`Framed::TooLarge`]: a block longer than the size limit. The decoder stops keeping
//!   its bytes once the limit is passed (only the first [`HEAD_KEPT`] bytes stay, enough
//!   for the MSH that a NAK needs), skips to the block's end and reports its length, so a
//!   huge or endless block costs bounded memory;
//! - [`Framed::Abandoned`]: a block cut short by a new `<VT>` or by the end of the
//!   stream, with the bytes received.
//!
//! The encoder writes one block around any bytes.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

/// Start of block.
pub const START_BLOCK: u8 = 0x0B;
/// End of block; a block ends with this byte followed by [`CARRIAGE_RETURN`].
pub const END_BLOCK: u8 = 0x1C;
/// The byte after [`END_BLOCK`].
pub const CARRIAGE_RETURN: u8 = 0x0D;

/// How many leading bytes of an oversized block are kept for building its NAK.
pub const HEAD_KEPT: usize = 64 * 1024;

/// One thing read from an MLLP stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framed {
    /// A complete block's content.
    Message(Bytes),
    /// Bytes outside any block.
    Junk(Bytes),
    /// A block over the size limit: its first bytes and its whole length.
    TooLarge {
        /// The first [`HEAD_KEPT`] bytes (at most).
        head: Bytes,
        /// The block's length in bytes, framing excluded.
        length: usize,
    },
    /// A block that never ended: a new start byte came first, or the stream ended.
    Abandoned(Bytes),
}

/// What the decoder is in the middle of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Outside a block, looking for a start byte.
    Between,
    /// Inside a block; the buffer holds its bytes from index 0.
    InBlock,
    /// Inside a block already over the limit; `head` holds its start.
    Skipping { length: usize },
}

/// The MLLP codec: decodes [`Framed`] items, encodes blocks.
#[derive(Debug, Clone)]
pub struct MllpCodec {
    max_message: usize,
    state: State,
    /// How far the current block has been searched for its end, so each byte is looked
    /// at once however the block arrives.
    searched: usize,
    head: BytesMut,
}

impl MllpCodec {
    /// A codec refusing blocks longer than `max_message` bytes.
    pub fn new(max_message: usize) -> Self {
        MllpCodec {
            max_message,
            state: State::Between,
            searched: 0,
            head: BytesMut::new(),
        }
    }

    /// Whether a block has started and not ended: at the end of the stream, what was read
    /// of it is a protocol error, not a message.
    pub fn in_block(&self) -> bool {
        self.state != State::Between
    }

    fn between(&mut self, buf: &mut BytesMut) -> Option<Framed> {
        match buf.iter().position(|&byte| byte == START_BLOCK) {
            Some(0) => {
                buf.advance(1);
                self.state = State::InBlock;
                self.searched = 0;
                None
            }
            Some(start) => Some(Framed::Junk(buf.split_to(start).freeze())),
            None if buf.is_empty() => None,
            None => Some(Framed::Junk(buf.split().freeze())),
        }
    }

    /// Looks for `<FS><CR>` or a new `<VT>` in `buf[self.searched..]`.
    fn find_end(&mut self, buf: &BytesMut) -> Option<Boundary> {
        let mut from = self.searched;
        while let Some(index) = memchr::memchr2(START_BLOCK, END_BLOCK, &buf[from..]) {
            let at = from + index;
            if buf[at] == START_BLOCK {
                return Some(Boundary::Restart(at));
            }
            match buf.get(at + 1) {
                Some(&CARRIAGE_RETURN) => return Some(Boundary::End(at)),
                Some(_) => from = at + 1,
                None => {
                    self.searched = at;
                    return None;
                }
            }
        }
        self.searched = buf.len();
        None
    }

    fn inside(&mut self, buf: &mut BytesMut) -> Option<Framed> {
        match self.find_end(buf) {
            Some(Boundary::End(at)) if at <= self.max_message => {
                let message = buf.split_to(at).freeze();
                buf.advance(2);
                self.state = State::Between;
                Some(Framed::Message(message))
            }
            Some(Boundary::End(at)) => {
                let head = buf.split_to(at);
                buf.advance(2);
                self.state = State::Between;
                Some(too_large(head.freeze(), at))
            }
            Some(Boundary::Restart(at)) => {
                let cut = buf.split_to(at).freeze();
                self.state = State::Between;
                Some(Framed::Abandoned(cut))
            }
            None => {
                // A trailing <FS> may be the first half of the end: it is not counted, and
                // stays for the next read to complete.
                let length = buf.len() - usize::from(buf.last() == Some(&END_BLOCK));
                if length <= self.max_message {
                    return None;
                }
                self.head = buf.split_to(HEAD_KEPT.min(length));
                buf.advance(length - self.head.len());
                self.state = State::Skipping { length };
                None
            }
        }
    }

    /// Passes over the rest of an oversized block, keeping its first [`HEAD_KEPT`] bytes
    /// whatever the reads were.
    fn skipping(&mut self, buf: &mut BytesMut, length: usize) -> Option<Framed> {
        self.searched = 0;
        let boundary = self.find_end(buf);
        let passed = match boundary {
            Some(Boundary::End(at) | Boundary::Restart(at)) => at,
            None => buf.len() - usize::from(buf.last() == Some(&END_BLOCK)),
        };
        let room = HEAD_KEPT.saturating_sub(self.head.len());
        self.head.extend_from_slice(&buf[..passed.min(room)]);
        buf.advance(passed);

        match boundary {
            Some(Boundary::End(_)) => {
                buf.advance(2);
                self.state = State::Between;
                let head = std::mem::take(&mut self.head).freeze();
                Some(Framed::TooLarge {
                    head,
                    length: length + passed,
                })
            }
            Some(Boundary::Restart(_)) => {
                self.state = State::Between;
                Some(Framed::Abandoned(std::mem::take(&mut self.head).freeze()))
            }
            None => {
                self.state = State::Skipping {
                    length: length + passed,
                };
                None
            }
        }
    }
}

fn too_large(mut head: Bytes, length: usize) -> Framed {
    head.truncate(HEAD_KEPT);
    Framed::TooLarge { head, length }
}

/// Where a block stops.
enum Boundary {
    /// `<FS>` at this index, `<CR>` after it.
    End(usize),
    /// A start byte at this index before any end.
    Restart(usize),
}

impl Decoder for MllpCodec {
    type Item = Framed;
    type Error = std::io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Framed>, std::io::Error> {
        loop {
            let before = (self.state, buf.len());
            let item = match self.state {
                State::Between => self.between(buf),
                State::InBlock => self.inside(buf),
                State::Skipping { length } => self.skipping(buf, length),
            };
            if item.is_some() {
                return Ok(item);
            }
            if (self.state, buf.len()) == before {
                return Ok(None);
            }
        }
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Framed>, std::io::Error> {
        if let Some(item) = self.decode(buf)? {
            return Ok(Some(item));
        }
        let item = match self.state {
            State::Between => None,
            State::InBlock => Some(Framed::Abandoned(buf.split().freeze())),
            State::Skipping { .. } => {
                let room = HEAD_KEPT.saturating_sub(self.head.len());
                self.head.extend_from_slice(&buf[..buf.len().min(room)]);
                buf.clear();
                Some(Framed::Abandoned(std::mem::take(&mut self.head).freeze()))
            }
        };
        self.state = State::Between;
        Ok(item)
    }
}

impl<T: AsRef<[u8]>> Encoder<T> for MllpCodec {
    type Error = std::io::Error;

    fn encode(&mut self, message: T, out: &mut BytesMut) -> Result<(), std::io::Error> {
        out.reserve(message.as_ref().len() + 3);
        out.put_u8(START_BLOCK);
        out.put_slice(message.as_ref());
        out.put_u8(END_BLOCK);
        out.put_u8(CARRIAGE_RETURN);
        Ok(())
    }
}

/// One block around `message`, for writers that do not hold a codec.
pub fn frame(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 3);
    out.push(START_BLOCK);
    out.extend_from_slice(message);
    out.extend_from_slice(&[END_BLOCK, CARRIAGE_RETURN]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(codec: &mut MllpCodec, chunks: &[&[u8]]) -> Vec<Framed> {
        let mut buf = BytesMut::new();
        let mut items = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            while let Some(item) = codec.decode(&mut buf).unwrap() {
                items.push(item);
            }
        }
        while let Some(item) = codec.decode_eof(&mut buf).unwrap() {
            items.push(item);
        }
        items
    }

    fn message(text: &str) -> Framed {
        Framed::Message(Bytes::copy_from_slice(text.as_bytes()))
    }

    #[test]
    fn a_block_in_pieces_is_one_message() {
        let mut codec = MllpCodec::new(1024);
        let items = decode_all(
            &mut codec,
            &[b"\x0b", b"MSH|a\r", b"PID|1\r", b"\x1c", b"\r"],
        );
        assert_eq!(items, vec![message("MSH|a\rPID|1\r")]);
    }

    #[test]
    fn junk_between_blocks_is_reported_and_blocks_survive() {
        let mut codec = MllpCodec::new(1024);
        let input = b"log\r\n\x0bA\x1c\r\n\0\0\x0bB\x1c\r\n";
        let items = decode_all(&mut codec, &[input]);
        assert_eq!(
            items,
            vec![
                Framed::Junk(Bytes::from_static(b"log\r\n")),
                message("A"),
                Framed::Junk(Bytes::from_static(b"\n\0\0")),
                message("B"),
                Framed::Junk(Bytes::from_static(b"\n")),
            ]
        );
    }

    #[test]
    fn a_lone_end_byte_inside_a_block_is_data() {
        let mut codec = MllpCodec::new(1024);
        let items = decode_all(&mut codec, &[b"\x0bA\x1cB\x1c", b"\r"]);
        assert_eq!(items, vec![message("A\x1cB")]);
    }

    #[test]
    fn an_oversized_block_is_skipped_with_its_length() {
        let mut codec = MllpCodec::new(10);
        let body = [b'x'; 100];
        let mut chunks: Vec<&[u8]> = vec![b"\x0b"];
        chunks.extend(body.chunks(7));
        chunks.push(b"\x1c\r\x0bok\x1c\r");
        let items = decode_all(&mut codec, &chunks);
        assert_eq!(items.len(), 2);
        let Framed::TooLarge { head, length } = &items[0] else {
            panic!("{items:?}")
        };
        assert_eq!(*length, 100);
        assert!(head.iter().all(|&b| b == b'x'));
        assert_eq!(items[1], message("ok"));
    }

    #[test]
    fn the_kept_head_of_an_oversized_block_does_not_depend_on_the_reads() {
        let mut input = vec![0x0b];
        input.extend((0..100u8).map(|n| n | 0x80));
        input.extend_from_slice(b"\x1c");
        let whole = decode_all(&mut MllpCodec::new(10), &[&input]);
        let pieces: Vec<&[u8]> = input.chunks(3).collect();
        assert_eq!(decode_all(&mut MllpCodec::new(10), &pieces), whole);
        assert_eq!(
            whole,
            vec![Framed::Abandoned(Bytes::copy_from_slice(&input[1..]))]
        );

        input.push(b'\r');
        let whole = decode_all(&mut MllpCodec::new(10), &[&input]);
        let pieces: Vec<&[u8]> = input.chunks(7).collect();
        assert_eq!(
            decode_all(&mut MllpCodec::new(10), &pieces),
            whole,
            "<FS> and <CR> apart"
        );
        assert!(matches!(whole[..], [Framed::TooLarge { length: 100, .. }]));
    }

    #[test]
    fn a_block_of_exactly_the_limit_passes_whatever_the_reads() {
        let mut input = vec![0x0b];
        input.extend_from_slice(&[b'x'; 10]);
        input.extend_from_slice(b"\x1c\r");
        for piece in 1..input.len() {
            let pieces: Vec<&[u8]> = input.chunks(piece).collect();
            let items = decode_all(&mut MllpCodec::new(10), &pieces);
            assert_eq!(items, vec![message("xxxxxxxxxx")], "reads of {piece}");
        }
    }

    #[test]
    fn a_new_start_or_the_end_of_stream_abandons_a_block() {
        let mut codec = MllpCodec::new(1024);
        let items = decode_all(&mut codec, &[b"\x0bhalf\x0bwhole\x1c\r\x0btail"]);
        assert_eq!(
            items,
            vec![
                Framed::Abandoned(Bytes::from_static(b"half")),
                message("whole"),
                Framed::Abandoned(Bytes::from_static(b"tail")),
            ]
        );
    }

    #[test]
    fn encoding_frames_the_bytes() {
        let mut codec = MllpCodec::new(1024);
        let mut out = BytesMut::new();
        codec.encode(b"MSH|x\r", &mut out).unwrap();
        assert_eq!(&out[..], frame(b"MSH|x\r").as_slice());
        assert_eq!(decode_all(&mut codec, &[&out]), vec![message("MSH|x\r")]);
    }
}
