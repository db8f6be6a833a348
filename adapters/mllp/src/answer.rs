//! The ACKs an MLLP service writes: positive, negative for bad input, and relayed
//! downstream verdicts, all built by the rules of HL7 v2 chapter 2 (`ferry_hl7::build_ack`).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use std::time::Duration;

use ferry_adapter::{IntakeError, Reply, ReplyOutcome, Submitted};
use ferry_hl7::{AckCode, AckError, AckOptions, ErrorLocation, MshHeader, Severity, read_ack};
use ferry_message::{ItemName, Status};

/// Table 0357: segment sequence error (no usable MSH).
pub(crate) const SEGMENT_SEQUENCE_ERROR: u16 = 100;
/// Table 0357: required field missing.
pub(crate) const REQUIRED_FIELD_MISSING: u16 = 101;
/// Table 0357: application internal error.
pub(crate) const APPLICATION_ERROR: u16 = 207;

/// Builds the ACKs of one service.
#[derive(Debug)]
pub(crate) struct Answers {
    local_application: Option<String>,
    local_facility: Option<String>,
}

/// The next ACK control id, shared by every service of the process so two listeners
/// never answer with the same id. It starts at the start time in microseconds: ids stay
/// unique across restarts unless the previous run answered more than a million messages
/// a second on average.
static NEXT_ACK_ID: OnceLock<AtomicU64> = OnceLock::new();

fn next_ack_id() -> u64 {
    let counter = NEXT_ACK_ID.get_or_init(|| {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_micros());
        AtomicU64::new(u64::try_from(now).unwrap_or(0))
    });
    counter.fetch_add(1, Ordering::Relaxed)
}

/// Why a message gets a negative ACK.
#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    pub(crate) code: AckCode,
    pub(crate) error: u16,
    pub(crate) text: String,
    pub(crate) location: Option<ErrorLocation>,
}

impl Refusal {
    pub(crate) fn new(code: AckCode, error: u16, text: impl Into<String>) -> Self {
        Refusal {
            code,
            error,
            text: text.into(),
            location: None,
        }
    }

    pub(crate) fn at(mut self, location: ErrorLocation) -> Self {
        self.location = Some(location);
        self
    }
}

impl Answers {
    pub(crate) fn new(local_application: Option<String>, local_facility: Option<String>) -> Self {
        Answers {
            local_application,
            local_facility,
        }
    }

    /// A positive ACK: AA, or CA when `code` says enhanced mode.
    pub(crate) fn accept(&self, header: &MshHeader, code: AckCode, text: Option<&str>) -> Vec<u8> {
        self.build(Some(header), code, text, None)
    }

    /// A negative ACK with an ERR segment; `header` is `None` when the input has no
    /// usable MSH, and default delimiters are used.
    pub(crate) fn refuse(&self, header: Option<&MshHeader>, refusal: &Refusal) -> Vec<u8> {
        let error = AckError {
            code: refusal.error,
            text: refusal.text.clone(),
            location: refusal.location.clone(),
            severity: Severity::Error,
        };
        self.build(header, refusal.code, Some(&refusal.text), Some(&error))
    }

    fn build(
        &self,
        header: Option<&MshHeader>,
        code: AckCode,
        text: Option<&str>,
        error: Option<&AckError>,
    ) -> Vec<u8> {
        let control_id = next_ack_id().to_string();
        let timestamp = ferry_hl7::hl7_timestamp(SystemTime::now());
        let options = AckOptions {
            control_id: &control_id,
            timestamp: &timestamp,
            local_application: self.local_application.as_deref(),
            local_facility: self.local_facility.as_deref(),
        };
        ferry_hl7::build_ack(header, code, text, error, &options)
    }
}

/// What a downstream operation's answer means for the original sender.
#[derive(Debug)]
pub(crate) struct Verdict {
    /// `None` for an accept.
    pub(crate) refusal: Option<Refusal>,
    /// A configuration problem a person must fix, for the event log.
    pub(crate) alarm: Option<String>,
}

/// The verdict on a request to `operation`: its ACK's code and text when it stored one,
/// else its final status; AE after `timeout`.
pub(crate) fn verdict_of(
    nak_code: AckCode,
    operation: &ItemName,
    timeout: Duration,
    outcome: Result<Reply, IntakeError>,
) -> Verdict {
    let refuse = |code, text: String| Verdict {
        refusal: Some(Refusal::new(code, APPLICATION_ERROR, text)),
        alarm: None,
    };
    let reply = match outcome {
        Ok(reply) => reply,
        Err(IntakeError::Timeout { .. }) => {
            let text = format!(
                "no reply from {operation} within {}s; the message is stored",
                timeout.as_secs_f32()
            );
            return refuse(AckCode::AE, text);
        }
        Err(IntakeError::NoResponder(name)) => {
            let text = format!("response_from names '{name}', not an operation");
            return Verdict {
                alarm: Some(text.clone()),
                ..refuse(AckCode::AE, text)
            };
        }
        Err(error) => return refuse(AckCode::AE, error.to_string()),
    };

    if let Submitted::Rejected { reason, .. } = reply.submitted {
        return refuse(nak_code, reason);
    }
    if let Some(ack) = reply.response.and_then(|body| read_ack(&body.bytes).ok()) {
        let mut text = ack.text.unwrap_or_default();
        for error in &ack.errors {
            text.push_str(if text.is_empty() { "ERR " } else { "; ERR " });
            text.push_str(error);
        }
        return match ack.code {
            code if code.is_accept() => Verdict {
                refusal: None,
                alarm: None,
            },
            code if code.is_reject() => refuse(AckCode::AR, text),
            _ => refuse(AckCode::AE, text),
        };
    }
    match reply.outcome {
        Some(ReplyOutcome::Finished(Status::Completed | Status::Discarded))
        | Some(ReplyOutcome::NotRouted) => Verdict {
            refusal: None,
            alarm: None,
        },
        Some(ReplyOutcome::Finished(status)) => refuse(
            AckCode::AE,
            format!("delivery by {operation} ended with status {status}"),
        ),
        None => refuse(AckCode::AE, format!("no verdict from {operation}")),
    }
}
