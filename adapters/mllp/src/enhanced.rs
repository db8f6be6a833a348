//! HL7 enhanced-mode acknowledgements for `ack_mode: msh`: a commit ACK on the connection
//! once the message is durable, then, when the `response_from` operation has finished the
//! message, an application ACK sent as a new message through the operation that
//! `application_ack_to` names (the sender's own listener, as enhanced mode expects).
//!
//! The application ACK follows MSH-16 (table 0155): `AL` always, `ER` only for AE/AR,
//! `SU` only for AA. It is stored like any message before it leaves, so it survives a
//! restart and is retried by its operation's policy.

use std::sync::Arc;
use std::time::Duration;

use ferry_adapter::{InboundMessage, Intake, IntakeError, Reply};
use ferry_hl7::{AckCode, AckCondition, MshHeader};
use ferry_message::{ContentKind, ItemName};
use tokio::task::JoinHandle;

use crate::answer::{Answers, verdict_of};

/// What a service needs to send application ACKs after the fact.
#[derive(Debug, Clone)]
pub(crate) struct ApplicationAcks {
    pub(crate) answers: Arc<Answers>,
    /// The operation whose verdict the application ACK carries.
    pub(crate) operation: ItemName,
    /// The operation that carries application ACKs back to the sender.
    pub(crate) target: ItemName,
    pub(crate) timeout: Duration,
    pub(crate) nak_code: AckCode,
}

impl ApplicationAcks {
    /// Waits for `request` (the stored message's request to the `operation`), then stores
    /// the application ACK for `target` when `condition` asks for one. Runs on its own
    /// task: the connection goes on with the next message meanwhile.
    pub(crate) fn follow(
        &self,
        intake: Arc<dyn Intake>,
        header: MshHeader,
        condition: AckCondition,
        request: JoinHandle<Result<Reply, IntakeError>>,
    ) {
        let acks = self.clone();
        tokio::spawn(async move {
            let Ok(outcome) = request.await else {
                return;
            };
            let verdict = verdict_of(acks.nak_code, &acks.operation, acks.timeout, outcome);
            if let Some(text) = &verdict.alarm {
                intake.error(text.clone());
            }
            if !condition.wants(verdict.refusal.is_none()) {
                return;
            }

            let ack = match &verdict.refusal {
                None => acks.answers.accept(&header, AckCode::AA, None),
                Some(refusal) => acks.answers.refuse(Some(&header), refusal),
            };
            let mut message = InboundMessage::new(ContentKind::Hl7v2, ack);
            message.origin = Some(format!(
                "application ACK for MSH-10 {}",
                header.control_id()
            ));
            if let Err(error) = intake.submit_to(vec![message], &acks.target).await {
                intake.error(format!(
                    "the application ACK for MSH-10 {} was not stored: {error}",
                    header.control_id()
                ));
            }
        });
    }
}
