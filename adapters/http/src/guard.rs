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
//! in the same order, one per request. When the bytes stop making sense (HTTP/2, an
//! upgrade, a head hyper will refuse anyway), the watch stops: hyper then answers or
//! closes on its own, and later requests count as unambiguous.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The longest head followed; hyper refuses longer ones itself.
const MAX_HEAD: usize = 64 * 1024;

/// The verdicts of one connection's request heads, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Heads {
    verdicts: Mutex<VecDeque<bool>>,
}

impl Heads {
    /// Whether the next request's head had both length headers. Each call takes one
    /// verdict; with none left (the watch stopped), the answer is no.
    pub(crate) fn next_is_ambiguous(&self) -> bool {
        let mut verdicts = self.verdicts.lock().unwrap_or_else(|e| e.into_inner());
        verdicts.pop_front().unwrap_or(false)
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
    /// No longer following.
    Off,
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
                State::Off => return,
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
            if self.head.len() > MAX_HEAD || self.head.starts_with(b"PRI * HTTP/2") {
                self.state = State::Off;
            }
            return &[];
        };
        let consumed_here = end - (self.head.len() - data.len());
        let head = std::mem::take(&mut self.head);
        self.state = self.after_head(&head[..end]);
        &data[consumed_here..]
    }

    /// Records the head's verdict and says how its body is framed.
    fn after_head(&mut self, head: &[u8]) -> State {
        let text = String::from_utf8_lossy(head);
        let mut lines = text.split('\n').map(|line| line.trim_end_matches('\r'));
        let request_line = lines.next().unwrap_or("");
        if request_line.starts_with("PRI ") || request_line.starts_with("CONNECT ") {
            return State::Off;
        }

        let mut length: Option<&str> = None;
        let mut encoding: Option<String> = None;
        let mut upgrade = false;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = Some(value),
                "transfer-encoding" => {
                    let joined = encoding.map_or(value.to_owned(), |e| format!("{e},{value}"));
                    encoding = Some(joined);
                }
                "upgrade" => upgrade = true,
                _ => {}
            }
        }

        self.heads.push(length.is_some() && encoding.is_some());
        if upgrade || (length.is_some() && encoding.is_some()) {
            return State::Off;
        }
        match (encoding, length) {
            (Some(encoding), _) => {
                let last = encoding.rsplit(',').next().unwrap_or("").trim();
                if last.eq_ignore_ascii_case("chunked") {
                    State::Chunk(Chunk::Size {
                        size: 0,
                        digits: false,
                        ext: false,
                    })
                } else {
                    State::Off
                }
            }
            (None, Some(length)) => match length.parse::<u64>() {
                Ok(0) => State::Head,
                Ok(length) => State::Fixed(length),
                Err(_) => State::Off,
            },
            (None, None) => State::Head,
        }
    }
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
                None => return (State::Off, rest),
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
        _ => return (State::Off, rest),
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
            assert_eq!(state, State::Off);
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
}
