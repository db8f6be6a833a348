//! Turning what the codec read into blocks to store: the checks of a message's header,
//! charset and batch layout, and how each block is to be answered under the service's
//! `ack_mode`. Nothing here does I/O.

use bytes::Bytes;
use ferry_adapter::InboundMessage;
use ferry_hl7::{
    AckCode, AckCondition, ErrorLocation, MshHeader, RequestedAcks, SplitOptions, scan_header,
    split_messages,
};
use ferry_message::ContentKind;

use super::{Answering, Block, JUNK_PREVIEW, Receiver};
use crate::answer::{APPLICATION_ERROR, REQUIRED_FIELD_MISSING, Refusal, SEGMENT_SEQUENCE_ERROR};
use crate::codec::Framed;
use crate::settings::AckMode;

impl Receiver {
    /// Turns a framed item into a block to store, or reports junk.
    pub(super) fn block(&self, item: Framed, origin: &str) -> Option<Block> {
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
        if let Some(refusal) = self.check(&header) {
            return self.refused(bytes, Some(header), refusal, answering, origin);
        }

        Block {
            messages: vec![self.inbound(bytes, origin)],
            header: Some(header),
            refusal: None,
            answering,
        }
    }

    /// A batch piece's bytes, and what makes it unusable if anything does.
    fn checked_piece(&self, piece: ferry_hl7::Piece) -> (Vec<u8>, Option<Refusal>) {
        match piece {
            ferry_hl7::Piece::Message(message) => {
                let problem = scan_header(&message.bytes)
                    .ok()
                    .and_then(|header| self.check(&header));
                (message.bytes, problem)
            }
            ferry_hl7::Piece::Rejected { bytes, reason, .. } => {
                let problem = Refusal::new(AckCode::AR, SEGMENT_SEQUENCE_ERROR, reason);
                (bytes, Some(problem))
            }
        }
    }

    /// What makes a message with a readable MSH unusable before the engine looks at it:
    /// no MSH-10, which an ACK must echo. (Bytes invalid in the charset are found by the
    /// engine, which decodes the message anyway, as `invalid_charset: reject` asks.)
    fn check(&self, header: &MshHeader) -> Option<Refusal> {
        if !header.control_id().trim().is_empty() {
            return None;
        }
        let text = "MSH-10 (message control id) is empty";
        Some(
            Refusal::new(AckCode::AR, REQUIRED_FIELD_MISSING, text)
                .at(ErrorLocation::new("MSH", 1, 10)),
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
        let mut pieces = Vec::new();
        for (number, piece) in split.pieces.into_iter().enumerate() {
            let (piece, problem) = self.checked_piece(piece);
            let mut message = self.inbound(Bytes::from(piece), origin);
            if let Some(problem) = problem {
                message.rejected = Some(problem.text.clone());
                let text = format!("piece {} of the batch: {}", number + 1, problem.text);
                refusal.get_or_insert(Refusal { text, ..problem });
            }
            pieces.push(message);
        }
        let messages = if self.config.split_batches {
            pieces
        } else {
            let mut whole = self.inbound(bytes, origin);
            whole.kind = ContentKind::Text;
            whole.rejected = refusal.as_ref().map(|refusal| refusal.text.clone());
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

    pub(super) fn inbound(&self, bytes: Bytes, origin: &str) -> InboundMessage {
        let mut message = InboundMessage::new(ContentKind::Hl7v2, bytes);
        message.charset = self.config.charset;
        message.invalid_text = self.config.invalid_charset;
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
