//! Writing answers to stdout.
//!
//! A reader that stops reading (`ferry status | head -1`, `ferry events --follow | grep -m1
//! x`) closes the pipe; the next write fails with `BrokenPipe`. Rust ignores SIGPIPE, so
//! `println!` would panic there. Writes here turn it into [`Halt::Unread`]: the command
//! stops quietly and exits 0, as `ripgrep` and `head` do, because the reader got all it
//! asked for. Each write is flushed so `--follow` lines reach the reader as they happen.

use std::io::Write;

use super::{Failure, Halt};

/// Writes `text` as it is (tables end their own lines).
///
/// # Errors
///
/// [`Halt::Unread`] when the reader has gone; a failure for any other write error.
pub(crate) fn text(text: &str) -> Result<(), Halt> {
    bytes(text.as_bytes())
}

/// Writes `text` and a line break.
///
/// # Errors
///
/// As [`text`].
pub(crate) fn line(text: &str) -> Result<(), Halt> {
    let mut whole = String::with_capacity(text.len() + 1);
    whole.push_str(text);
    whole.push('\n');
    bytes(whole.as_bytes())
}

/// Writes one JSON value on its own line.
///
/// # Errors
///
/// As [`text`].
pub(crate) fn json(value: &serde_json::Value) -> Result<(), Halt> {
    line(&value.to_string())
}

/// Writes `bytes` exactly.
///
/// # Errors
///
/// As [`text`].
pub(crate) fn bytes(bytes: &[u8]) -> Result<(), Halt> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::BrokenPipe => Halt::Unread,
            _ => Halt::Failed(Failure(format!("cannot write the answer: {error}"))),
        })
}
