//! Why the connection to the admin API failed, as one line naming the cause.
//!
//! tonic reports every transport problem as "transport error" or an h2 message; the
//! cause is further down the error's source chain: an I/O error (connection refused) or
//! a rustls error (untrusted certificate, or a peer that does not speak TLS). A status
//! the server sent has no source, so only failures of this side's transport are
//! diagnosed here; the server's own answers are shown as it worded them.

use std::error::Error;
use std::io;

use tokio_rustls::rustls;
use tonic::Status;

use super::Failure;
use super::connect::Target;

/// Whether the server had answered on this connection when it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exchange {
    /// The first call: a peer that closes at once may be speaking another protocol.
    Unanswered,
    /// A call or stream after an answer: the server went away.
    Answered,
}

/// A cause the source chain names that has its own advice.
enum Known {
    Refused,
    NotTls,
    Tls(String),
}

/// Why dialling `target` failed.
pub(crate) fn unreachable(error: &tonic::transport::Error, target: &Target) -> Failure {
    match known(error) {
        Some(known) => advice(known, target),
        None => Failure(format!(
            "cannot reach the admin API at {}: {}",
            target.shown,
            deepest(error)
        )),
    }
}

/// Why a call failed in this side's transport; `None` for an answer the server sent.
pub(crate) fn broken_call(status: &Status, target: &Target, exchange: Exchange) -> Option<Failure> {
    status.source()?;
    if let Some(known) = known(status) {
        return Some(advice(known, target));
    }

    let shown = &target.shown;
    Some(Failure(match exchange {
        Exchange::Answered => format!("the connection to {shown} ended: Ferry stopped?"),
        // A TLS listener drops the HTTP/2 preface of a plain client without answering.
        Exchange::Unanswered if !target.tls() => format!(
            "{shown} closed the connection without answering: if its admin API uses TLS, \
             give --tls-ca FILE"
        ),
        Exchange::Unanswered => format!(
            "the connection to {shown} ended before an answer: {}",
            deepest(status)
        ),
    }))
}

fn advice(known: Known, target: &Target) -> Failure {
    let shown = &target.shown;
    Failure(match known {
        Known::Refused => format!(
            "no Ferry admin API at {shown}: is the production running with an admin section?"
        ),
        Known::NotTls => format!(
            "{shown} does not answer with TLS: omit --tls-ca unless its admin section has tls"
        ),
        Known::Tls(cause) => format!("TLS with {shown} failed: {cause}; check --tls-ca"),
    })
}

fn known(error: &(dyn Error + 'static)) -> Option<Known> {
    chain(error).find_map(|error| {
        if let Some(io) = error.downcast_ref::<io::Error>()
            && io.kind() == io::ErrorKind::ConnectionRefused
        {
            return Some(Known::Refused);
        }
        let tls = error.downcast_ref::<rustls::Error>()?;
        // A plain listener's HTTP/2 bytes are not a TLS record.
        Some(match tls {
            rustls::Error::InvalidMessage(_) => Known::NotTls,
            _ => Known::Tls(tls.to_string()),
        })
    })
}

/// The innermost cause's words: the outer ones only say "transport error".
fn deepest(error: &(dyn Error + 'static)) -> String {
    chain(error)
        .last()
        .map_or_else(|| error.to_string(), ToString::to_string)
}
/// `error` and its sources, including what an I/O error wraps: `io::Error::source` skips
/// its payload, which is where tokio-rustls puts the rustls error.
fn chain<'a>(error: &'a (dyn Error + 'static)) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(Some(error), |&error| error.source()).flat_map(|error| {
        let payload = error
            .downcast_ref::<io::Error>()
            .and_then(io::Error::get_ref)
            .map(|payload| payload as &(dyn Error + 'static));
        std::iter::once(error).chain(payload)
    })
}
