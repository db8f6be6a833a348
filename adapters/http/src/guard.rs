//! A watch on the request heads of an HTTP/1 connection, for the one framing question
//! hyper answers differently from Ferry: a request with both `Content-Length` and
//! `Transfer-Encoding`.
//!
//! hyper 1.x reads such a request as chunked, drops the `Content-Length` header before
//! the service sees it, and closes the connection afterwards. RFC 9112 §6.1 allows that,
//! but the two headers together are the mark of request smuggling through a proxy that
//! read the other length, so Ferry refuses the request with 400 instead of guessing a
//! body. Since the service cannot see the dropped header, [`Watched`] reads the bytes
//! hyper reads, follows the message framing (heads, fixed-length and chunked bodies) and
//! records one verdict per request head in [`Heads`], in order; the service takes them
//! in the same order, one per request.
//!
//! The watch never stops on its own for HTTP/1: when the bytes stop making sense (a head
//! longer than [`MAX_HEAD`], which hyper is set to refuse too, a length it cannot read, a
//! broken chunk), it has lost the framing, and every later request of the connection is
//! refused, since its start can no longer be told. Only the HTTP/2 preface ends the watch,
//! and HTTP/2 requests do not consult it.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The longest head followed; the listener sets hyper's HTTP/1 buffer to this size, so
/// hyper refuses longer heads itself (431).
pub(crate) const MAX_HEAD: usize = 64 * 1024;

/// What the watch says of one request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// One length header at most: hyper and Ferry agree on the body.
    Clear,
    /// Both `Content-Length` and `Transfer-Encoding`.
    Ambiguous,
    /// The watch lost the framing before this request (or never saw its head).
    Lost,
}

/// The verdicts of one connection's request heads, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Heads {
    verdicts: Mutex<VecDeque<bool>>,
}

impl Heads {
    /// The verdict of the next request's head. Each call takes one verdict; with none
    /// left, the watch has no record of the head hyper parsed (it lost the framing), and
    /// the answer is [`Verdict::Lost`].
    pub(crate) fn next(&self) -> Verdict {
        let mut verdicts = self.verdicts.lock().unwrap_or_else(|e| e.into_inner());
        match verdicts.pop_front() {
            Some(true) => Verdict::Ambiguous,
            Some(false) => Verdict::Clear,
            None => Verdict::Lost,
        }
    }

    fn push(&self, ambiguous: bool) {
        let mut verdicts = self.verdicts.lock().unwrap_or_else(|e| e.into_inner());
        verdicts.push_back(ambiguous);
    }
}

/// A stream whose incoming bytes are followed by a [`Framing`].
#[derive(Debug)]
pub(crate) struct Watched<S> {
    inner: S,
    framing: Framing,
}

impl<S> Watched<S> {
    pub(crate) fn new(inner: S, heads: Arc<Heads>) -> Self {
        Watched {
            inner,
            framing: Framing::new(heads),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let fresh = &buf.filled()[before..];
            self.framing.feed(fresh);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Where in the byte stream the watch is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Reading a request head.
    Head,
    /// Skipping a body of this many more bytes.
    Fixed(u64),
    /// Inside a chunked body.
    Chunk(Chunk),
    /// HTTP/2: not followed (its requests do not consult the watch).
    Off,
    /// The framing was lost: no later head is recorded.
    Lost,
}

/// The parts of a chunked body (RFC 9112 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// The hex size; `ext` once a `;` extension began.
    Size {
        size: u64,
        digits: bool,
        ext: bool,
    },
    SizeLf {
        size: u64,
    },
    Data(u64),
    DataCr,
    DataLf,
    /// At the start of a trailer line, or of the final empty line.
    TrailerStart,
    TrailerLine,
    TrailerLf,
    EndLf,
}

/// Follows HTTP/1 message framing over the bytes of a connection.
#[derive(Debug)]
struct Framing {
    heads: Arc<Heads>,
    state: State,
    head: Vec<u8>,
}

impl Framing {
    fn new(heads: Arc<Heads>) -> Self {
        Framing {
            heads,
            state: State::Head,
            head: Vec::new(),
        }
    }

    fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            data = match self.state {
                State::Off | State::Lost => return,
                State::Head => self.head_bytes(data),
                State::Fixed(remaining) => {
                    let taken =
                        usize::try_from(remaining).map_or(data.len(), |r| r.min(data.len()));
                    let left = remaining - taken as u64;
                    self.state = if left == 0 {
                        State::Head
                    } else {
                        State::Fixed(left)
                    };
                    &data[taken..]
                }
                State::Chunk(chunk) => {
                    let (next, rest) = chunk_bytes(chunk, data);
                    self.state = next;
                    rest
                }
            };
        }
    }

    fn head_bytes<'d>(&mut self, data: &'d [u8]) -> &'d [u8] {
        let mut data = data;
        if self.head.is_empty() {
            // Empty lines before a request line are allowed (RFC 9112 §2.2).
            let skip = data
                .iter()
                .take_while(|b| matches!(b, b'\r' | b'\n'))
                .count();
            data = &data[skip..];
            if data.is_empty() {
                return data;
            }
        }
        let start = self.head.len().saturating_sub(3);
        self.head.extend_from_slice(data);
        let end = find_head_end(&self.head[start..]).map(|end| start + end);
        let Some(end) = end else {
            if self.head.starts_with(b"PRI * HTTP/2") {
                self.state = State::Off;
            } else if self.head.len() > MAX_HEAD {
                self.lose();
            }
            return &[];
        };
        if end > MAX_HEAD {
            // hyper refuses it too; nothing after it can be framed.
            self.lose();
            return &[];
        }
        let consumed_here = end - (self.head.len() - data.len());
        let head = std::mem::take(&mut self.head);
        self.state = self.after_head(&head[..end]);
        if self.state == State::Lost {
            return &[];
        }
        &data[consumed_here..]
    }

    fn lose(&mut self) {
        self.state = State::Lost;
        self.head = Vec::new();
    }

    /// Records the head's verdict and says how its body is framed.
    fn after_head(&mut self, head: &[u8]) -> State {
        let text = String::from_utf8_lossy(head);
        let mut lines = text.split('\n').map(|line| line.trim_end_matches('\r'));
        let request_line = lines.next().unwrap_or("");
        if request_line.starts_with("PRI ") {
            return State::Off;
        }

        let mut lengths: Vec<&str> = Vec::new();
        let mut encoding: Option<String> = None;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => lengths.extend(value.split(',').map(str::trim)),
                "transfer-encoding" => {
                    let joined = encoding.map_or(value.to_owned(), |e| format!("{e},{value}"));
                    encoding = Some(joined);
                }
                _ => {}
            }
        }

        // Ferry never switches protocols (no 101, no 2xx to CONNECT), so a request asking
        // for an upgrade or a tunnel is followed by more HTTP/1 like any other.
        let ambiguous = !lengths.is_empty() && encoding.is_some();
        self.heads.push(ambiguous);
        if ambiguous {
            // Answered with 400 and a close: nothing after it is served.
            return State::Lost;
        }
        match encoding {
            Some(encoding) => {
                let last = encoding.rsplit(',').next().unwrap_or("").trim();
                if last.eq_ignore_ascii_case("chunked") {
                    State::Chunk(Chunk::Size {
                        size: 0,
                        digits: false,
                        ext: false,
                    })
                } else {
                    State::Lost
                }
            }
            None => match content_length(&lengths) {
                Some(0) => State::Head,
                Some(length) => State::Fixed(length),
                None if lengths.is_empty() => State::Head,
                None => State::Lost,
            },
        }
    }
}

/// The one length all `Content-Length` values agree on, each plain digits.
fn content_length(values: &[&str]) -> Option<u64> {
    let mut length = None;
    for value in values {
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let value = value.parse::<u64>().ok()?;
        if length.is_some_and(|length| length != value) {
            return None;
        }
        length = Some(value);
    }
    length
}

/// The end of a head (just past its empty line) in `bytes`, for CRLF or bare LF lines.
fn find_head_end(bytes: &[u8]) -> Option<usize> {
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'\n' {
            match bytes.get(index + 1) {
                Some(b'\n') => return Some(index + 2),
                Some(b'\r') if bytes.get(index + 2) == Some(&b'\n') => return Some(index + 3),
                _ => {}
            }
        }
        index += 1;
    }
    None
}

/// Steps a chunked body over `data`; returns the new state and the bytes left.
fn chunk_bytes(chunk: Chunk, data: &[u8]) -> (State, &[u8]) {
    if let Chunk::Data(remaining) = chunk {
        let taken = usize::try_from(remaining).map_or(data.len(), |r| r.min(data.len()));
        let left = remaining - taken as u64;
        let next = if left == 0 {
            Chunk::DataCr
        } else {
            Chunk::Data(left)
        };
        return (State::Chunk(next), &data[taken..]);
    }
    let byte = data[0];
    let rest = &data[1..];
    let next = match (chunk, byte) {
        (
            Chunk::Size {
                size, digits: true, ..
            },
            b'\r',
        ) => Chunk::SizeLf { size },
        (Chunk::Size { ext: true, .. }, _) => chunk,
        (
            Chunk::Size {
                size, digits: true, ..
            },
            b';' | b' ' | b'\t',
        ) => Chunk::Size {
            size,
            digits: true,
            ext: true,
        },
        (Chunk::Size { size, .. }, byte) if byte.is_ascii_hexdigit() => {
            let digit = u64::from((byte as char).to_digit(16).unwrap_or(0));
            match size
                .checked_mul(16)
                .and_then(|size| size.checked_add(digit))
            {
                Some(size) => Chunk::Size {
                    size,
                    digits: true,
                    ext: false,
                },
                None => return (State::Lost, rest),
            }
        }
        (Chunk::SizeLf { size: 0 }, b'\n') => Chunk::TrailerStart,
        (Chunk::SizeLf { size }, b'\n') => Chunk::Data(size),
        (Chunk::DataCr, b'\r') => Chunk::DataLf,
        (Chunk::DataLf, b'\n') => Chunk::Size {
            size: 0,
            digits: false,
            ext: false,
        },
        (Chunk::TrailerStart, b'\r') => Chunk::EndLf,
        (Chunk::TrailerStart, b'\n') | (Chunk::EndLf, b'\n') => return (State::Head, rest),
        (Chunk::TrailerLine, b'\r') => Chunk::TrailerLf,
        (Chunk::TrailerLine, b'\n') | (Chunk::TrailerLf, b'\n') => Chunk::TrailerStart,
        (Chunk::TrailerStart | Chunk::TrailerLine, _) => Chunk::TrailerLine,
        _ => return (State::Lost, rest),
    };
    (State::Chunk(next), rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdicts(stream: &[u8], piece: usize) -> (Vec<bool>, State) {
        let heads = Arc::new(Heads::default());
        let mut framing = Framing::new(Arc::clone(&heads));
        for part in stream.chunks(piece) {
            framing.feed(part);
        }
        let verdicts = heads.verdicts.lock().unwrap().iter().copied().collect();
        (verdicts, framing.state)
    }

    #[test]
    fn pipelined_requests_are_followed_to_the_ambiguous_one() {
        let stream = b"POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello\
            POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\
            3;x=1\r\nabc\r\nA\r\n0123456789\r\n0\r\nT: v\r\n\r\n\
            \r\nGET / HTTP/1.1\r\n\r\n\
            POST /a HTTP/1.1\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
        for piece in [1, 2, 7, stream.len()] {
            let (verdicts, state) = verdicts(stream, piece);
            assert_eq!(verdicts, [false, false, false, true], "pieces of {piece}");
            assert_eq!(state, State::Lost);
        }
    }

    #[test]
    fn a_body_that_looks_like_a_head_is_skipped() {
        let body = b"x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
        let mut stream =
            format!("POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
        stream.extend_from_slice(body);
        let (verdicts, state) = verdicts(&stream, 3);
        assert_eq!(verdicts, [false]);
        assert_eq!(state, State::Head);
    }

    #[test]
    fn http2_is_not_followed() {
        let (verdicts, state) = verdicts(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 4);
        assert!(verdicts.is_empty());
        assert_eq!(state, State::Off);
    }

    #[test]
    fn a_head_too_long_loses_the_framing_for_good() {
        let mut stream = b"POST /a HTTP/1.1\r\nX: ".to_vec();
        stream.extend(vec![b'a'; 70_000]);
        stream.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
        stream.extend_from_slice(
            b"POST /a HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        );
        for piece in [35_000, 4096, stream.len()] {
            let heads = Arc::new(Heads::default());
            let mut framing = Framing::new(Arc::clone(&heads));
            for part in stream.chunks(piece) {
                framing.feed(part);
            }
            assert_eq!(framing.state, State::Lost, "pieces of {piece}");
            assert_eq!(heads.next(), Verdict::Lost);
            assert_eq!(heads.next(), Verdict::Lost);
        }
    }

    #[test]
    fn lengths_that_cannot_be_read_lose_the_framing() {
        for head in [
            "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        ] {
            let (verdicts, state) = verdicts(head.as_bytes(), 5);
            assert_eq!(verdicts, [false], "{head}");
            assert_eq!(state, State::Lost, "{head}");
        }
        let stream = b"POST / HTTP/1.1\r\nContent-Length: 2, 2\r\n\r\nab";
        let (verdicts, state) = verdicts(stream, 1);
        assert_eq!(verdicts, [false]);
        assert_eq!(state, State::Head);
    }

    #[test]
    fn an_upgrade_request_is_followed_like_any_other() {
        let stream = b"POST / HTTP/1.1\r\nUpgrade: websocket\r\nContent-Length: 1\r\n\r\nx\
            POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
        let (verdicts, _) = verdicts(stream, 3);
        assert_eq!(verdicts, [false, true]);
    }

    proptest::proptest! {
        /// The guard reads bytes straight off the network: no input may panic it, and
        /// what it decides must not depend on how the reads cut the stream.
        #[test]
        fn any_stream_in_any_pieces_gets_the_same_verdicts(
            stream in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048),
            piece in 1usize..64,
        ) {
            let (whole, whole_state) = verdicts(&stream, stream.len().max(1));
            let (cut, cut_state) = verdicts(&stream, piece);
            proptest::prop_assert_eq!(whole, cut);
            proptest::prop_assert_eq!(whole_state, cut_state);
        }

        /// Streams made of plausible request pieces reach the interesting states more
        /// often than random bytes do.
        #[test]
        fn request_shaped_streams_in_any_pieces_get_the_same_verdicts(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "POST /a HTTP/1.1\r\n", "Content-Length: 5\r\n", "Content-Length: x\r\n",
                "Transfer-Encoding: chunked\r\n", "Transfer-Encoding: gzip\r\n", "\r\n",
                "hello", "5\r\n", "0\r\n", ";ext=1", "GET / HTTP/1.1\r\n", "X: y\r\n",
            ]), 0..40),
            piece in 1usize..16,
        ) {
            let stream = parts.concat().into_bytes();
            let (whole, whole_state) = verdicts(&stream, stream.len().max(1));
            let (cut, cut_state) = verdicts(&stream, piece);
            proptest::prop_assert_eq!(whole, cut);
            proptest::prop_assert_eq!(whole_state, cut_state);
        }
    }
}
