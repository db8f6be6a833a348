//! `operation: mllp`: send one message per connection at a time and judge the reply.
//!
//! Connections are kept open between messages and reused; each worker of the item holds
//! its own while it delivers, so a connection never has two messages in flight. The
//! reply that counts is the first ACK whose MSA-2 is the control id (MSH-10) of the
//! message in flight: any other reply is logged as unsolicited and never taken as
//! success. What a reply means is the `reply_actions` setting's business; a connection
//! that fails, times out or answers garbage is dropped, and the next delivery opens a new
//! one, paced by the item's retry policy.

use std::sync::{Mutex, OnceLock};

use async_trait::async_trait;
use ferry_adapter::{
    AdapterError, Delivered, Delivery, DeliveryError, Operation, OperationFactory, Reporter,
};
use ferry_hl7::{AckReply, read_ack, scan_header};
use ferry_message::{ContentKind, ItemName, NewBody};
use ferry_production::{Diagnostics, Item};
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;

use crate::codec::Framed;
use crate::connection::{Connection, Stream};
use crate::reply_actions::ReplyKind;
use crate::settings::{self, OutboundConfig};

/// Builds `operation: mllp` items.
#[derive(Debug, Clone, Copy, Default)]
pub struct MllpOperationFactory;

impl OperationFactory for MllpOperationFactory {
    fn kind(&self) -> &'static str {
        "mllp"
    }

    fn build(&self, item: &Item) -> Result<std::sync::Arc<dyn Operation>, Diagnostics> {
        let config = settings::outbound(item)?;
        Ok(std::sync::Arc::new(MllpOperation {
            item: item.name.clone(),
            config,
            tls: OnceLock::new(),
            idle: Mutex::new(Vec::new()),
        }))
    }
}

struct MllpOperation {
    item: ItemName,
    config: OutboundConfig,
    tls: OnceLock<(TlsConnector, ServerName<'static>)>,
    /// Open connections no worker is using.
    idle: Mutex<Vec<Connection>>,
}

/// How a sent message's wait ended.
enum Outcome {
    /// An ACK for the message.
    Ack(AckReply, bytes::Bytes),
    /// A reply that is no usable ACK.
    Invalid(String),
    /// No ACK in time.
    Timeout,
    /// The connection failed or closed before an ACK; nothing was read for the message.
    Lost(String),
}

#[async_trait]
impl Operation for MllpOperation {
    async fn start(&self, _report: &Reporter) -> Result<(), AdapterError> {
        if let Some(files) = &self.config.tls
            && self.tls.get().is_none()
        {
            let connector = crate::tls::connector(files)
                .map_err(|error| AdapterError::new(&self.item, error))?;
            let _ = self.tls.set(connector);
        }
        Ok(())
    }

    async fn deliver(&self, delivery: Delivery<'_>) -> Result<Delivered, DeliveryError> {
        let bytes = &delivery.body.bytes;
        let control_id = scan_header(bytes)
            .map(|header| header.control_id().into_owned())
            .ok()
            .filter(|id| !id.is_empty());

        let (mut connection, reused) = match self.take_idle() {
            Some(connection) => (connection, true),
            None => (self.connect().await?, false),
        };
        let mut outcome = self
            .exchange(&mut connection, bytes, control_id.as_deref())
            .await;
        if reused && matches!(outcome, Outcome::Lost(_)) {
            connection = self.connect().await?;
            outcome = self
                .exchange(&mut connection, bytes, control_id.as_deref())
                .await;
        }

        if matches!(outcome, Outcome::Ack(..) | Outcome::Invalid(_)) {
            self.put_idle(connection);
        }
        self.judge(outcome)
    }
}

impl MllpOperation {
    fn take_idle(&self) -> Option<Connection> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }

    fn put_idle(&self, connection: Connection) {
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(connection);
    }

    async fn connect(&self) -> Result<Connection, DeliveryError> {
        let address = &self.config.address;
        let timeout = self.config.connect_timeout;
        let socket = tokio::time::timeout(timeout, TcpStream::connect(address))
            .await
            .map_err(|_| DeliveryError::retry(format!("connecting to {address} timed out")))?
            .map_err(|error| {
                DeliveryError::retry(format!("cannot connect to {address}: {error}"))
            })?;
        let _ = socket.set_nodelay(true);

        let stream: Box<dyn Stream> = match self.tls.get() {
            None if self.config.tls.is_some() => {
                return Err(DeliveryError::retry(
                    "TLS is not set up: the item did not start",
                ));
            }
            None => Box::new(socket),
            Some((connector, name)) => {
                let handshake = connector.connect(name.clone(), socket);
                let tls = tokio::time::timeout(timeout, handshake)
                    .await
                    .map_err(|_| DeliveryError::retry(format!("TLS with {address} timed out")))?
                    .map_err(|error| {
                        DeliveryError::retry(format!("TLS with {address} failed: {error}"))
                    })?;
                Box::new(tls)
            }
        };
        tracing::debug!(item = %self.item, %address, "connected");
        Ok(Connection::new(stream, self.config.max_message))
    }

    /// Sends `message` and waits for its ACK.
    async fn exchange(
        &self,
        connection: &mut Connection,
        message: &[u8],
        control_id: Option<&str>,
    ) -> Outcome {
        if let Err(error) = connection.send(message).await {
            return Outcome::Lost(format!("sending failed: {error}"));
        }
        let deadline = Instant::now() + self.config.response_timeout;
        loop {
            let read = tokio::time::timeout_at(deadline, connection.next()).await;
            let item = match read {
                Err(_) => return Outcome::Timeout,
                Ok(Err(error)) => return Outcome::Lost(format!("reading the ACK failed: {error}")),
                Ok(Ok(None)) => return Outcome::Lost("the receiver closed the connection".into()),
                Ok(Ok(Some(item))) => item,
            };
            match item {
                Framed::Message(reply) => match read_ack(&reply) {
                    Err(error) => return Outcome::Invalid(format!("{error}")),
                    Ok(ack) if control_id.is_some_and(|id| id != ack.control_id) => {
                        tracing::warn!(
                            item = %self.item,
                            expected = control_id.unwrap_or_default(),
                            got = %ack.control_id,
                            code = ack.code.as_str(),
                            "unsolicited reply ignored: its MSA-2 is not the message in flight"
                        );
                    }
                    Ok(ack) => return Outcome::Ack(ack, reply),
                },
                Framed::Junk(junk) => {
                    tracing::warn!(item = %self.item, bytes = junk.len(), "junk between replies");
                }
                Framed::TooLarge { length, .. } => {
                    return Outcome::Invalid(format!(
                        "a reply of {length} bytes, over max_message"
                    ));
                }
                Framed::Abandoned(part) => {
                    return Outcome::Invalid(format!(
                        "an incomplete reply of {} bytes",
                        part.len()
                    ));
                }
            }
        }
    }

    /// Applies the reply actions to an outcome.
    fn judge(&self, outcome: Outcome) -> Result<Delivered, DeliveryError> {
        let address = &self.config.address;
        let (kind, reason, response) = match outcome {
            Outcome::Lost(reason) => {
                return Err(DeliveryError::retry(format!("{address}: {reason}")));
            }
            Outcome::Timeout => (
                ReplyKind::Timeout,
                format!(
                    "no ACK from {address} within {}s",
                    self.config.response_timeout.as_secs_f32()
                ),
                None,
            ),
            Outcome::Invalid(why) => (
                ReplyKind::Invalid,
                format!("the reply from {address} is not a usable ACK: {why}"),
                None,
            ),
            Outcome::Ack(ack, bytes) => {
                let reason = ack_reason(&ack, address);
                (ReplyKind::Code(ack.code), reason, Some(bytes))
            }
        };

        let response = response.map(|bytes| NewBody::new(ContentKind::Hl7v2, bytes));
        self.config
            .reply_actions
            .action(kind)
            .outcome(reason, response)
    }
}

/// `AE from HOST:PORT: <MSA-3>; <ERR>`, for events and the message's header.
fn ack_reason(ack: &AckReply, address: &str) -> String {
    let mut reason = format!("{} from {address}", ack.code.as_str());
    if let Some(text) = ack.text.as_deref().filter(|text| !text.is_empty()) {
        reason.push_str(": ");
        reason.push_str(text);
    }
    for error in &ack.errors {
        reason.push_str("; ERR ");
        reason.push_str(error);
    }
    reason
}
