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
use ferry_adapter::{CharsetChoice, InboundMessage, IntakeError, Reply, ServiceContext, Submitted};
use ferry_hl7::{
    AckCode, AckCondition, ErrorLocation, MshHeader, RequestedAcks, SplitOptions, scan_header,
    split_messages,
};
use ferry_message::{ContentKind, ItemName};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

use crate::answer::{
    APPLICATION_ERROR, Answers, REQUIRED_FIELD_MISSING, Refusal, SEGMENT_SEQUENCE_ERROR,
};
use crate::codec::Framed;
use crate::connection::{Connection, Stream};
use crate::enhanced::ApplicationAcks;
use crate::settings::{AckMode, InboundConfig, InvalidCharset};

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
    async fn store(&self, blocks: Vec<Block>, answers: &mut Vec<Vec<u8>>) -> Result<(), End> {
        if blocks.is_empty() {
            return Ok(());
        }
        let messages = blocks
            .iter()
            .flat_map(|block| block.messages.iter().cloned())
            .collect();
        let mut submitted = self
            .ctx
            .intake
            .submit(messages)
            .await
            .map_err(|e| self.gone(e))?;

        for block in blocks {
            let rest = submitted.split_off(block.messages.len().min(submitted.len()));
            let results = std::mem::replace(&mut submitted, rest);
            answers.extend(self.answer(&block, &results));
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
        let outcome = match self.ctx.intake.request(message, &operation, timeout).await {
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

    /// Turns a framed item into a block to store, or reports junk.
    fn block(&self, item: Framed, origin: &str) -> Option<Block> {
        match item {
            Framed::Message(bytes) => Some(self.message_block(bytes, origin)),
            Framed::Junk(bytes) => {
                self.ctx.intake.warn(format!(
                    "{origin}: {} bytes outside MLLP blocks discarded: {}",
                    bytes.len(),
                    preview(&bytes)
                ));
                None
            }
            Framed::TooLarge { head, length } => {
                let text = format!(
                    "message too large: {length} bytes, the limit is {} (max_message); \
                     its first {} bytes are kept",
                    self.config.max_message,
                    head.len()
                );
                let header = scan_header(&head).ok();
                let answering = self.answering(header.as_ref());
                let refusal = Refusal::new(AckCode::AR, APPLICATION_ERROR, text);
                Some(self.refused(head, header, refusal, answering, origin))
            }
            Framed::Abandoned(bytes) => {
                let text = format!(
                    "incomplete MLLP block: {} bytes without <FS><CR>, before a new block \
                     or the end of the connection",
                    bytes.len()
                );
                let refusal = Refusal::new(AckCode::AR, SEGMENT_SEQUENCE_ERROR, text);
                Some(self.refused(bytes, None, refusal, Answering::Silent, origin))
            }
        }
    }

    fn message_block(&self, bytes: Bytes, origin: &str) -> Block {
        if is_batch(&bytes) {
            return self.batch_block(bytes, origin);
        }
        let header = match scan_header(&bytes) {
            Ok(header) => header,
            Err(error) => {
                let text = format!("not an HL7 v2 message: {error}");
                let refusal = Refusal::new(AckCode::AR, SEGMENT_SEQUENCE_ERROR, text);
                let answering = self.answering(None);
                return self.refused(bytes, None, refusal, answering, origin);
            }
        };
        let answering = self.answering(Some(&header));
        if let Some(refusal) = self.check(&header, &bytes) {
            return self.refused(bytes, Some(header), refusal, answering, origin);
        }

        Block {
            messages: vec![self.inbound(bytes, origin)],
            header: Some(header),
            refusal: None,
            answering,
        }
    }

    /// What makes a message with a readable MSH unusable: no MSH-10, or bytes invalid in
    /// its charset.
    fn check(&self, header: &MshHeader, bytes: &[u8]) -> Option<Refusal> {
        if header.control_id().trim().is_empty() {
            let text = "MSH-10 (message control id) is empty";
            let refusal = Refusal::new(AckCode::AR, REQUIRED_FIELD_MISSING, text)
                .at(ErrorLocation::new("MSH", 1, 10));
            return Some(refusal);
        }
        let text = self.charset_problem(header, bytes)?;
        Some(
            Refusal::new(self.config.nak_code, APPLICATION_ERROR, text)
                .at(ErrorLocation::new("MSH", 1, 18)),
        )
    }

    /// An FHS/BHS batch: its messages stored one by one (`split_batches`, the default),
    /// or the whole batch as one text body. The answer is built from its first MSH.
    fn batch_block(&self, bytes: Bytes, origin: &str) -> Block {
        let options = SplitOptions {
            normalise_terminators: false,
            lenient_lf: true,
        };
        let split = split_messages(&bytes, &options);
        let header = split
            .messages()
            .next()
            .and_then(|message| scan_header(&message.bytes).ok());
        let answering = self.answering(header.as_ref());
        if header.is_none() {
            let text = "a batch without any MSH segment";
            let refusal = Refusal::new(AckCode::AR, SEGMENT_SEQUENCE_ERROR, text);
            return self.refused(bytes, None, refusal, answering, origin);
        }

        let mut refusal = None;
        let messages = if self.config.split_batches {
            let mut messages = Vec::new();
            for (number, piece) in split.pieces.into_iter().enumerate() {
                let (bytes, problem) = match piece {
                    ferry_hl7::Piece::Message(message) => {
                        let problem = scan_header(&message.bytes)
                            .ok()
                            .and_then(|header| self.check(&header, &message.bytes));
                        (message.bytes, problem)
                    }
                    ferry_hl7::Piece::Rejected { bytes, reason, .. } => {
                        let problem = Refusal::new(AckCode::AR, SEGMENT_SEQUENCE_ERROR, reason);
                        (bytes, Some(problem))
                    }
                };
                let mut message = self.inbound(Bytes::from(bytes), origin);
                if let Some(problem) = problem {
                    message.rejected = Some(problem.text.clone());
                    let text = format!("piece {} of the batch: {}", number + 1, problem.text);
                    refusal.get_or_insert(Refusal { text, ..problem });
                }
                messages.push(message);
            }
            messages
        } else {
            let mut whole = self.inbound(bytes, origin);
            whole.kind = ContentKind::Text;
            vec![whole]
        };
        Block {
            messages,
            header,
            refusal,
            answering: match answering {
                Answering::Application => Answering::Original,
                other => other,
            },
        }
    }

    /// A block stored with status Error and answered with `refusal`.
    fn refused(
        &self,
        bytes: Bytes,
        header: Option<MshHeader>,
        refusal: Refusal,
        answering: Answering,
        origin: &str,
    ) -> Block {
        let mut message = self.inbound(bytes, origin);
        message.rejected = Some(refusal.text.clone());
        Block {
            messages: vec![message],
            header,
            refusal: Some(refusal),
            answering,
        }
    }

    fn inbound(&self, bytes: Bytes, origin: &str) -> InboundMessage {
        let mut message = InboundMessage::new(ContentKind::Hl7v2, bytes);
        message.charset = self.config.charset;
        message.duplicates = self.config.duplicates;
        message.origin = Some(origin.to_owned());
        message
    }

    /// How a block with `header` is answered under the service's ack mode.
    fn answering(&self, header: Option<&MshHeader>) -> Answering {
        match self.config.ack_mode {
            AckMode::Never => Answering::Silent,
            AckMode::Immediate => Answering::Original,
            AckMode::Application => Answering::Application,
            AckMode::Msh => {
                let requested = header.map(RequestedAcks::from_header);
                match requested {
                    Some(requested) if requested.is_enhanced() => {
                        let accept = requested.accept.unwrap_or(AckCondition::Always);
                        let application = requested
                            .application
                            .filter(|condition| *condition != AckCondition::Never);
                        match application {
                            Some(application) if self.application_acks.is_some() => {
                                Answering::EnhancedApplication {
                                    accept,
                                    application,
                                }
                            }
                            Some(application) => {
                                self.warn_unsent_application_ack(application);
                                Answering::Enhanced(accept)
                            }
                            None => Answering::Enhanced(accept),
                        }
                    }
                    _ if self.config.response_from.is_some() => Answering::Application,
                    _ => Answering::Original,
                }
            }
        }
    }

    /// Says that an enhanced-mode application ACK that MSH-16 asks for is not sent.
    fn warn_unsent_application_ack(&self, condition: AckCondition) {
        self.ctx.intake.warn(format!(
            "MSH-16 '{}' asks for an enhanced-mode application ACK; only the commit ACK \
             was sent: set `response_from` and `application_ack_to` to send one",
            condition.as_str()
        ));
    }

    /// Why the bytes cannot be read in their charset, when `invalid_charset: reject`.
    fn charset_problem(&self, header: &MshHeader, bytes: &[u8]) -> Option<String> {
        if self.config.invalid_charset == InvalidCharset::Replace {
            return None;
        }
        let declared = header.character_set();
        let encoding = match self.config.charset {
            CharsetChoice::Forced(encoding) => encoding,
            CharsetChoice::Declared { default } => {
                ferry_hl7::encoding_for_msh18(&declared).unwrap_or(default)
            }
        };
        if encoding
            .decode_without_bom_handling_and_without_replacement(bytes)
            .is_some()
        {
            return None;
        }
        let declared = if declared.trim().is_empty() {
            "MSH-18 empty, the service's default".to_owned()
        } else {
            format!("MSH-18 '{declared}'")
        };
        Some(format!(
            "bytes not valid in {} ({declared})",
            encoding.name()
        ))
    }
}

fn is_batch(bytes: &[u8]) -> bool {
    bytes.starts_with(b"FHS") || bytes.starts_with(b"BHS")
}

/// The first bytes as hex, for a warning about junk.
fn preview(bytes: &[u8]) -> String {
    let mut text: String = bytes
        .iter()
        .take(JUNK_PREVIEW)
        .map(|byte| format!("{byte:02x}"))
        .collect::<Vec<_>>()
        .join(" ");
    if bytes.len() > JUNK_PREVIEW {
        text.push_str(" …");
    }
    text
}
