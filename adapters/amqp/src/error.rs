//! The ways talking to a broker fails, classified by what the item does next.

use std::time::Duration;

/// A failure of a broker call.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum AmqpError {
    /// No connection could be made or it failed during the handshake; try again later.
    #[error("cannot connect to {url}: {reason}")]
    Connect {
        /// The URL without its password.
        url: String,
        reason: String,
    },
    /// The broker refused a declaration or a check (406 PRECONDITION_FAILED, 404 NOT_FOUND,
    /// 403, 405) and closed the channel: the broker's state must change before a retry
    /// can work.
    #[error("{0}")]
    Refused(String),
    /// The connection or channel failed while in use; reconnecting may work at once.
    #[error("{0}")]
    Lost(String),
    /// A call got no answer in time.
    #[error("{what}: no answer from the broker within {}s", .after.as_secs_f32())]
    Timeout { what: String, after: Duration },
}

impl AmqpError {
    /// True when the broker refused what the production asks for, as opposed to a
    /// connection problem.
    pub(crate) fn is_refusal(&self) -> bool {
        matches!(self, AmqpError::Refused(_))
    }

    /// A channel or connection error from lapin during `what`.
    pub(crate) fn lost(what: &str, error: &lapin::Error) -> AmqpError {
        AmqpError::Lost(format!("{what}: {error}"))
    }

    /// An error from lapin during `what`: a channel-level refusal by the broker (such as
    /// 404 for a queue deleted a moment ago) is a refusal, anything else a lost channel.
    pub(crate) fn of_call(what: &str, error: &lapin::Error) -> AmqpError {
        if error.is_amqp_soft_error() {
            AmqpError::Refused(format!("{what}: the broker refused: {error}"))
        } else {
            AmqpError::lost(what, error)
        }
    }
}

/// Runs a broker call with a timeout, mapping lapin's error with `map`.
pub(crate) async fn within<T>(
    what: &str,
    after: Duration,
    call: impl Future<Output = lapin::Result<T>>,
    map: impl FnOnce(&lapin::Error) -> AmqpError,
) -> Result<T, AmqpError> {
    match tokio::time::timeout(after, call).await {
        Err(_) => Err(AmqpError::Timeout {
            what: what.to_owned(),
            after,
        }),
        Ok(Err(error)) => Err(map(&error)),
        Ok(Ok(value)) => Ok(value),
    }
}
