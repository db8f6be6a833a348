//! One inbound MLLP connection: read blocks, store them, answer each block once.
//!
//! The order on a connection is the order of its blocks: every block that expects an
//! answer gets exactly one, in the order the blocks came. Blocks that arrived together
//! (a sender that pipelines) are stored in one write with one durability barrier, and
//! their ACKs leave in one write.
//!
//! No ACK is written before the intake has returned, that is before the message is on
//! disk. When the store cannot write, the connection is closed without an answer: the
//! sender resends, and nothing it holds an AA for is missing. When the service's targets
//! are full (queue limits) or the service is disabled, the connection stops reading; the
//! sender's writes then block on TCP flow control, which is the honest back-pressure MLLP
//! offers (a NAK would only make it resend sooner).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferry_adapter::{InboundMessage, IntakeError, Reply, ServiceContext, Submitted};
use ferry_hl7::{AckCode, AckCondition, MshHeader};
use ferry_message::ItemName;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

use crate::answer::{APPLICATION_ERROR, Answers, Refusal};
use crate::codec::Framed;
use crate::connection::{Connection, Stream};
use crate::enhanced::ApplicationAcks;
use crate::settings::InboundConfig;

mod blocks;

/// How many blocks already received are stored together.
const MAX_PIPELINED: usize = 64;

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// How many bytes of junk a warning shows.
const JUNK_PREVIEW: usize = 16;

/// Serves the connections of one service.
pub(crate) struct Receiver {
    ctx: ServiceContext,
    config: InboundConfig,
    answers: Arc<Answers>,
    acceptor: Option<TlsAcceptor>,
    /// Set when `ack_mode: msh` can send enhanced-mode application ACKs.
    application_acks: Option<ApplicationAcks>,
}

/// How a block is to be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answering {
    /// Not at all (ack_mode never, an abandoned block).
    Silent,
    /// In original mode once stored.
    Original,
    /// In enhanced mode, when the sender's accept condition asks for this outcome.
    Enhanced(AckCondition),
    /// In enhanced mode with a commit ACK as [`Answering::Enhanced`], then an application
    /// ACK as a new message when the `application` condition (MSH-16) asks for one.
    EnhancedApplication {
        accept: AckCondition,
        application: AckCondition,
    },
    /// With the verdict of the `response_from` operation.
    Application,
}

/// One block, ready to be stored.
struct Block {
    messages: Vec<InboundMessage>,
    header: Option<MshHeader>,
    refusal: Option<Refusal>,
    answering: Answering,
}

/// Why a conversation ended.
enum End {
    Closed,
    Idle,
    Shutdown,
    Failed(String),
}

impl End {
    fn describe(&self) -> &str {
        match self {
            End::Closed => "closed by the peer",
            End::Idle => "idle timeout",
            End::Shutdown => "shutdown",
            End::Failed(why) => why,
        }
    }
}

impl Receiver {
    pub(crate) fn new(
        ctx: ServiceContext,
        config: InboundConfig,
        answers: Answers,
        acceptor: Option<TlsAcceptor>,
    ) -> Self {
        let answers = Arc::new(answers);
        let application_acks = match (&config.response_from, &config.application_ack_to) {
            (Some(operation), Some(target)) => Some(ApplicationAcks {
                answers: Arc::clone(&answers),
                operation: operation.clone(),
                target: target.clone(),
                timeout: config.response_timeout,
                nak_code: config.nak_code,
            }),
            _ => None,
        };
        Receiver {
            ctx,
            config,
            answers,
            acceptor,
            application_acks,
        }
    }

    /// Runs one connection to its end.
    pub(crate) async fn serve(&self, socket: TcpStream, peer: SocketAddr) {
        let _ = socket.set_nodelay(true);
        let stream: Box<dyn Stream> = match &self.acceptor {
            None => Box::new(socket),
            Some(acceptor) => {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(socket)).await {
                    Ok(Ok(tls)) => Box::new(tls),
                    Ok(Err(error)) => {
                        self.ctx
                            .intake
                            .warn(format!("TLS handshake with {peer} failed: {error}"));
                        return;
                    }
                    Err(_) => {
                        self.ctx
                            .intake
                            .warn(format!("TLS handshake with {peer} timed out"));
                        return;
                    }
                }
            }
        };

        let mut connection = Connection::new(stream, self.config.max_message);
        tracing::debug!(item = %self.ctx.item, %peer, "connection opened");
        let end = self.converse(&mut connection, peer).await;
        if !matches!(end, End::Closed)
            && let Some(bytes) = connection.unfinished()
        {
            self.keep_unfinished(bytes, peer, &end).await;
        }
        connection.close().await;
        tracing::debug!(item = %self.ctx.item, %peer, end = end.describe(), "connection closed");
    }

    async fn converse(&self, connection: &mut Connection, peer: SocketAddr) -> End {
        loop {
            if !self.wait_until_ready().await {
                return End::Shutdown;
            }

            let first = tokio::select! {
                () = self.ctx.shutdown.cancelled() => return End::Shutdown,
                read = tokio::time::timeout(self.config.idle_timeout, connection.next()) => read,
            };
            let first = match first {
                Err(_) => return End::Idle,
                Ok(Err(error)) => return End::Failed(error.to_string()),
                Ok(Ok(None)) => return End::Closed,
                Ok(Ok(Some(item))) => item,
            };
            let mut items = vec![first];
            while items.len() < MAX_PIPELINED {
                match connection.buffered() {
                    Ok(Some(item)) => items.push(item),
                    _ => break,
                }
            }

            let answers = match self.handle(items, peer).await {
                Ok(answers) => answers,
                Err(end) => return end,
            };
            if !answers.is_empty()
                && let Err(error) = connection.send_all(&answers).await
            {
                return End::Failed(format!("writing ACKs: {error}"));
            }
            #[cfg(feature = "test-hooks")]
            if !answers.is_empty() && std::env::var_os("FERRY_TEST_ABORT_AFTER_ACK").is_some() {
                std::process::abort();
            }
        }
    }

    /// Keeps the part of a block that Ferry cut off by closing the connection, with
    /// status Error: bad input is kept, even when it was never answered.
    async fn keep_unfinished(&self, bytes: Bytes, peer: SocketAddr, end: &End) {
        let reason = format!(
            "incomplete MLLP block: {} bytes without <FS><CR> when the connection was \
             closed ({})",
            bytes.len(),
            end.describe()
        );
        let mut message = self.inbound(bytes, &peer.to_string());
        message.rejected = Some(reason);
        if let Err(error) = self.ctx.intake.submit(vec![message]).await {
            let item = &self.ctx.item;
            tracing::warn!(%item, %peer, %error, "an incomplete block was not kept");
        }
    }

    /// Waits until the service may take input; false when the production stops.
    async fn wait_until_ready(&self) -> bool {
        tokio::select! {
            () = self.ctx.shutdown.cancelled() => false,
            ready = self.ctx.intake.ready() => ready,
        }
    }

    /// Stores the blocks of `items` and returns their answers, in order.
    async fn handle(&self, items: Vec<Framed>, peer: SocketAddr) -> Result<Vec<Vec<u8>>, End> {
        let origin = peer.to_string();
        let blocks: Vec<Block> = items
            .into_iter()
            .filter_map(|item| self.block(item, &origin))
            .collect();

        let mut answers = Vec::new();
        let mut pending = Vec::new();
        for block in blocks {
            if block.refusal.is_some() {
                pending.push(block);
                continue;
            }
            match block.answering {
                Answering::Application => {
                    self.store(std::mem::take(&mut pending), &mut answers)
                        .await?;
                    answers.extend(self.request(block).await?);
                }
                Answering::EnhancedApplication {
                    accept,
                    application,
                } => {
                    self.store(std::mem::take(&mut pending), &mut answers)
                        .await?;
                    answers.extend(self.commit_then_follow(block, accept, application).await?);
                }
                _ => pending.push(block),
            }
        }
        self.store(pending, &mut answers).await?;
        Ok(answers)
    }

    /// Stores `blocks` in one write and appends their answers.
    async fn store(&self, mut blocks: Vec<Block>, answers: &mut Vec<Vec<u8>>) -> Result<(), End> {
        if blocks.is_empty() {
            return Ok(());
        }
        let counts: Vec<usize> = blocks.iter().map(|block| block.messages.len()).collect();
        let messages = blocks
            .iter_mut()
            .flat_map(|block| std::mem::take(&mut block.messages))
            .collect();
        let submitted = self
            .ctx
            .intake
            .submit(messages)
            .await
            .map_err(|e| self.gone(e))?;

        let mut results = submitted.into_iter();
        for (block, count) in blocks.iter().zip(counts) {
            let own: Vec<Submitted> = results.by_ref().take(count).collect();
            answers.extend(self.answer(block, &own));
        }
        Ok(())
    }

    /// The answer to a stored block, if it gets one.
    fn answer(&self, block: &Block, results: &[Submitted]) -> Option<Vec<u8>> {
        let rejected = results.iter().find_map(|result| match result {
            Submitted::Rejected { reason, .. } => Some(reason.as_str()),
            Submitted::Accepted { .. } => None,
        });
        let refusal = block.refusal.clone().or_else(|| {
            rejected.map(|reason| Refusal::new(self.config.nak_code, APPLICATION_ERROR, reason))
        });
        self.verdict(block, refusal)
    }

    /// Builds the ACK or NAK of a block, as its answering mode asks.
    fn verdict(&self, block: &Block, refusal: Option<Refusal>) -> Option<Vec<u8>> {
        let header = block.header.as_ref();
        let answering = match block.answering {
            Answering::EnhancedApplication { accept, .. } => Answering::Enhanced(accept),
            other => other,
        };
        match (answering, refusal) {
            (Answering::Silent, _) => None,
            (Answering::Enhanced(condition), refusal) => {
                if !condition.wants(refusal.is_none()) {
                    return None;
                }
                match (refusal, header) {
                    (None, Some(header)) => Some(self.answers.accept(header, AckCode::CA, None)),
                    (Some(refusal), header) => {
                        let code = if refusal.code.is_reject() {
                            AckCode::CR
                        } else {
                            AckCode::CE
                        };
                        Some(self.answers.refuse(header, &Refusal { code, ..refusal }))
                    }
                    (None, None) => None,
                }
            }
            (_, Some(refusal)) => Some(self.answers.refuse(header, &refusal)),
            (_, None) => header.map(|header| self.answers.accept(header, AckCode::AA, None)),
        }
    }

    /// Stores one message, waits for the `response_from` operation and answers with its
    /// verdict.
    async fn request(&self, block: Block) -> Result<Option<Vec<u8>>, End> {
        let Some(operation) = self.config.response_from.clone() else {
            return Ok(None);
        };
        let Some(message) = block.messages.first().cloned() else {
            return Ok(None);
        };
        let timeout = self.config.response_timeout;
        // A stop does not wait for the reply: the message is stored and is delivered
        // after the restart, and the sender, left without an answer, sends it again.
        let request = self.ctx.intake.request(message, &operation, timeout);
        let outcome = tokio::select! {
            outcome = request => outcome,
            () = self.ctx.shutdown.cancelled() => return Err(End::Shutdown),
        };
        let outcome = match outcome {
            Err(error @ (IntakeError::ShuttingDown | IntakeError::Store(_))) => {
                return Err(self.gone(error));
            }
            outcome => outcome,
        };
        let refusal = self.reply_verdict(&operation, outcome);
        Ok(self.verdict(
            &Block {
                answering: Answering::Original,
                ..block
            },
            refusal,
        ))
    }

    /// Stores one enhanced-mode message, answers with the commit ACK once it is durable,
    /// and leaves the application ACK to a task that waits for the `response_from`
    /// operation.
    async fn commit_then_follow(
        &self,
        block: Block,
        accept: AckCondition,
        application: AckCondition,
    ) -> Result<Option<Vec<u8>>, End> {
        let (Some(acks), Some(message), Some(header)) = (
            self.application_acks.as_ref(),
            block.messages.first().cloned(),
            block.header.clone(),
        ) else {
            return Ok(None);
        };

        let (receipt, stored) = tokio::sync::oneshot::channel();
        let intake = Arc::clone(&self.ctx.intake);
        let (operation, timeout) = (acks.operation.clone(), acks.timeout);
        let request = tokio::spawn(async move {
            intake
                .request_with_receipt(message, &operation, timeout, receipt)
                .await
        });
        let Ok(submitted) = stored.await else {
            return match request.await {
                Ok(Err(error)) => Err(self.gone(error)),
                _ => Err(End::Failed("the message was not stored".to_owned())),
            };
        };

        let refusal = match submitted {
            Submitted::Rejected { reason, .. } => Some(Refusal::new(
                self.config.nak_code,
                APPLICATION_ERROR,
                reason,
            )),
            Submitted::Accepted { .. } => {
                acks.follow(Arc::clone(&self.ctx.intake), header, application, request);
                None
            }
        };
        let commit = Block {
            answering: Answering::Enhanced(accept),
            ..block
        };
        Ok(self.verdict(&commit, refusal))
    }

    /// What a request's outcome means for the sender: `None` for an accept.
    fn reply_verdict(
        &self,
        operation: &ItemName,
        outcome: Result<Reply, IntakeError>,
    ) -> Option<Refusal> {
        let verdict = crate::answer::verdict_of(
            self.config.nak_code,
            operation,
            self.config.response_timeout,
            outcome,
        );
        if let Some(text) = &verdict.alarm {
            self.ctx.intake.error(text.clone());
        }
        verdict.refusal
    }

    /// Logs why the intake could not take a message; the connection closes unanswered.
    fn gone(&self, error: IntakeError) -> End {
        match error {
            IntakeError::ShuttingDown => End::Shutdown,
            other => {
                let text = format!("message not stored, connection closed unanswered: {other}");
                self.ctx.intake.error(text.clone());
                End::Failed(text)
            }
        }
    }
}
