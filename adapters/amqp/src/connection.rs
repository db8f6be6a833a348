//! Connecting to the broker: one connection per item, named, with a timeout, and the
//! waits between attempts.
//!
//! lapin's own recovery is not used: each item's supervisor (the service's run loop, the
//! operation's `link`) drops a failed connection and builds a new one, declaring again
//! what it uses. That keeps one rule for every failure (lost socket, missed heartbeat,
//! closed channel, broker restart) and means a closed channel is never reused. Each item
//! has its own connection, so a refusal or a blocked publisher of one item never touches
//! another (field case B37).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use ferry_adapter::Reporter;
use lapin::types::LongString;
use lapin::{Connection, ConnectionProperties, Event};

use crate::error::{AmqpError, within};
use crate::settings::{Backoff, ConnectionConfig};

/// Opens a connection named `config.name`; the handshake is bounded by
/// `config.connect_timeout`.
///
/// The client announces `consumer_cancel_notify` and `connection.blocked` among its
/// capabilities (lapin does so for every connection), so RabbitMQ tells a consumer when
/// its queue goes away and a publisher when it is blocked.
///
/// # Errors
///
/// [`AmqpError::Connect`] or [`AmqpError::Timeout`].
pub(crate) async fn connect(config: &ConnectionConfig) -> Result<Connection, AmqpError> {
    let properties = ConnectionProperties::default()
        .with_connection_name(LongString::from(config.name.as_str()));
    let connect = Connection::connect_uri(config.uri.clone(), properties);
    let what = format!("connecting to {}", config.shown);
    within(&what, config.connect_timeout, connect, |error| {
        AmqpError::Connect {
            url: config.shown.clone(),
            reason: error.to_string(),
        }
    })
    .await
}

/// Closes a connection politely, so the broker requeues its unacknowledged deliveries at
/// once; a connection that does not answer in `timeout` is dropped.
pub(crate) async fn close(connection: &Connection, timeout: Duration) {
    if connection.status().connected() {
        let closing = connection.close(200, "ferry item stopped".into());
        let _ = tokio::time::timeout(timeout, closing).await;
    }
}

/// Whether the broker blocks this connection's publishers (connection.blocked, e.g. a
/// memory or disk alarm), followed from the connection's events for as long as the
/// watch lives. Each change is also the item's trouble: "blocked by broker" while
/// blocked, cleared when unblocked (field case B34).
#[derive(Debug)]
pub(crate) struct BlockedWatch {
    reason: Arc<Mutex<Option<String>>>,
    /// Dropping it ends the task that follows the events.
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl BlockedWatch {
    /// Starts following `connection`'s events.
    pub(crate) fn start(connection: &Connection, report: Option<Reporter>, url: &str) -> Self {
        use futures_lite::StreamExt;

        let reason = Arc::new(Mutex::new(None));
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let mut events = Box::pin(connection.events_listener());
        let shared = Arc::clone(&reason);
        let url = url.to_owned();
        tokio::spawn(async move {
            loop {
                let event = tokio::select! {
                    _ = &mut stopped => break,
                    event = events.next() => event,
                };
                match event {
                    None => break,
                    Some(Event::ConnectionBlocked(why)) => {
                        let text = format!("{url} blocks publishers: {why}");
                        *lock(&shared) = Some(text.clone());
                        if let Some(report) = &report {
                            report.trouble("blocked by broker", text);
                        }
                    }
                    Some(Event::ConnectionUnblocked) => {
                        *lock(&shared) = None;
                        if let Some(report) = &report {
                            report.recovered();
                        }
                    }
                    Some(_) => {}
                }
            }
        });
        BlockedWatch {
            reason,
            _stop: stop,
        }
    }

    /// Why the broker blocks publishers, while it does.
    pub(crate) fn blocked(&self) -> Option<String> {
        lock(&self.reason).clone()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The waits between attempts: from `initial`, doubling, never above `cap`.
#[derive(Debug)]
pub(crate) struct Delays {
    backoff: Backoff,
    current: ExponentialBackoff,
}

impl Delays {
    pub(crate) fn new(backoff: Backoff) -> Self {
        Delays {
            backoff,
            current: builder(backoff).build(),
        }
    }

    /// The next wait.
    pub(crate) fn next_delay(&mut self) -> Duration {
        self.current.next().unwrap_or(self.backoff.cap)
    }

    /// Starts again from `initial`, after an attempt worked.
    pub(crate) fn reset(&mut self) {
        self.current = builder(self.backoff).build();
    }
}

fn builder(backoff: Backoff) -> ExponentialBuilder {
    ExponentialBuilder::new()
        .with_min_delay(backoff.initial)
        .with_max_delay(backoff.cap)
        .with_factor(2.0)
        .without_max_times()
}

/// "3s", "500ms": a wait as people read it.
pub(crate) fn humanize(wait: Duration) -> String {
    if wait.subsec_millis() == 0 {
        format!("{}s", wait.as_secs())
    } else {
        format!("{}ms", wait.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap() {
        let mut delays = Delays::new(Backoff {
            initial: Duration::from_secs(1),
            cap: Duration::from_secs(5),
        });
        let waits: Vec<u64> = (0..5).map(|_| delays.next_delay().as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 5, 5]);
        delays.reset();
        assert_eq!(delays.next_delay(), Duration::from_secs(1));
    }
}
