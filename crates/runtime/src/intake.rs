//! The engine side of a service: inspects what the service received, writes it in one
//! atomic batch, waits for the durability barrier, then wakes the targets' workers.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ferry_adapter::{DuplicatePolicy, InboundMessage, Intake, IntakeError, Reply, Submitted};
use ferry_message::{ItemName, NewBody};
use ferry_store::{Accepted, Disposition, EventKind, EventLevel, InboundRecord, NewEvent};

use crate::context::Shared;
use crate::events::item_event;
use crate::items::ItemState;
use crate::metadata::{Inspection, inspect};
use crate::reply::Answer;

/// The intake of one service.
pub(crate) struct ServiceIntake {
    shared: Arc<Shared>,
    item: Arc<ItemState>,
    targets: Vec<ItemName>,
}

impl ServiceIntake {
    pub(crate) fn new(shared: Arc<Shared>, item: Arc<ItemState>, targets: Vec<ItemName>) -> Self {
        ServiceIntake {
            shared,
            item,
            targets,
        }
    }

    /// Inspects each message and turns it into a store record.
    fn records(
        &self,
        messages: Vec<InboundMessage>,
        targets: &[ItemName],
    ) -> (Vec<InboundRecord>, Vec<Inspection>) {
        messages
            .into_iter()
            .map(|message| {
                let inspection = inspect(&message, &self.item.name, &self.shared.search_fields);
                let disposition = match &inspection.rejected {
                    Some(reason) => Disposition::Reject {
                        reason: reason.clone(),
                    },
                    None => Disposition::Enqueue {
                        targets: targets.to_vec(),
                    },
                };
                let discard_duplicate = message.duplicates == DuplicatePolicy::Discard;
                let delivery_key = message
                    .delivery_id
                    .as_deref()
                    .map(|id| delivery_key(&self.item.name, id, &message.bytes));
                let duplicate_key = match message.duplicates {
                    DuplicatePolicy::Off => None,
                    _ => delivery_key.or(inspection.duplicate_key),
                };
                let record = InboundRecord {
                    source: self.item.name.clone(),
                    body: NewBody {
                        kind: message.kind,
                        charset: inspection.charset.clone(),
                        bytes: message.bytes,
                    },
                    doc_type: inspection.doc_type.clone(),
                    search: inspection.search.clone(),
                    duplicate_key,
                    discard_duplicate,
                    skip_redelivery: delivery_key.is_some() && duplicate_key.is_some(),
                    disposition,
                };
                (record, inspection)
            })
            .unzip()
    }

    /// Events for rejected input and warnings, now that the message ids are known.
    fn events(&self, accepted: &[Accepted], inspections: &[Inspection]) -> Vec<NewEvent> {
        let mut events = Vec::new();
        for (written, inspection) in accepted.iter().zip(inspections) {
            let id = written.headers.first().copied();
            let origin = match &inspection.origin {
                Some(origin) => format!("{origin}: "),
                None => String::new(),
            };
            if let Some(reason) = &inspection.rejected {
                events.push(item_event(
                    EventLevel::Error,
                    EventKind::Failed,
                    &self.item.name,
                    id,
                    format!("{origin}input rejected and kept with status Error: {reason}"),
                ));
            }
            for warning in &inspection.warnings {
                events.push(item_event(
                    EventLevel::Warn,
                    EventKind::Warning,
                    &self.item.name,
                    id,
                    format!("{origin}{warning}"),
                ));
            }
        }
        events
    }

    /// Writes the records and their events, then waits until they are durable.
    async fn persist(
        &self,
        records: Vec<InboundRecord>,
        inspections: &[Inspection],
    ) -> Result<Vec<Accepted>, IntakeError> {
        self.persist_for(records, inspections, &self.targets).await
    }

    /// Writes `records` queued for `targets`, waits for the barrier, wakes the targets.
    async fn persist_for(
        &self,
        records: Vec<InboundRecord>,
        inspections: &[Inspection],
        targets: &[ItemName],
    ) -> Result<Vec<Accepted>, IntakeError> {
        let store = &self.shared.store;
        let started = std::time::Instant::now();
        let accepted = store
            .accept(records, Vec::new())
            .map_err(|e| IntakeError::Store(e.to_string()))?;

        let events = self.events(&accepted, inspections);
        for event in &events {
            crate::events::log(event);
        }
        if !events.is_empty()
            && let Err(error) = store.append_events(events)
        {
            tracing::error!(%error, "could not write to the event log");
        }

        store
            .barrier()
            .await
            .map_err(|e| IntakeError::Store(e.to_string()))?;
        self.shared.items.wake(targets);
        self.count(&accepted, inspections, started.elapsed());
        Ok(accepted)
    }

    /// Counts what was stored (not a redelivery stored before) and what was rejected.
    fn count(&self, accepted: &[Accepted], inspections: &[Inspection], took: Duration) {
        let new = accepted.iter().filter(|a| !a.already_stored).count();
        let counters = &self.item.counters;
        counters.received(new, took);
        for _ in inspections.iter().filter(|i| i.rejected.is_some()) {
            counters.error(crate::counters::ErrorKind::Rejected);
        }
    }
}

/// What a request waits for once its message is stored.
struct RequestWait<'a> {
    /// The operation's answer; `None` when the message was rejected.
    answer: Option<tokio::sync::oneshot::Receiver<Answer>>,
    operation: &'a ItemName,
    timeout: Duration,
    /// Told the stored message as soon as it is durable.
    receipt: Option<tokio::sync::oneshot::Sender<Submitted>>,
}

/// The duplicate key of a delivery: the sender's delivery id and the bytes. A redelivery
/// repeats both; a sender that reuses an id for other bytes (a corrected message after a
/// refusal, a careless id scheme) gets a new message, never a silent drop.
fn delivery_key(source: &ItemName, delivery_id: &str, bytes: &[u8]) -> [u8; 16] {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(source.as_str().as_bytes());
    hasher.update(b"\0delivery id\0");
    hasher.update(delivery_id.as_bytes());
    hasher.update(&[0]);
    hasher.update(bytes);
    hasher.digest128().to_be_bytes()
}

fn submitted(accepted: Accepted, inspection: Inspection) -> Submitted {
    let id = accepted
        .headers
        .first()
        .copied()
        .unwrap_or(ferry_message::MessageId(0));
    if accepted.already_stored {
        tracing::info!(
            message_id = id.0,
            origin = inspection.origin.as_deref().unwrap_or("-"),
            "a delivery received before (same delivery id and bytes); not stored again"
        );
    }
    match inspection.rejected {
        Some(reason) => Submitted::Rejected { id, reason },
        None => Submitted::Accepted {
            id,
            session: accepted.session,
            possible_duplicate: accepted.possible_duplicate,
            warnings: inspection.warnings,
            already_stored: accepted.already_stored,
        },
    }
}

#[async_trait]
impl Intake for ServiceIntake {
    fn has_room(&self) -> bool {
        let store = self.shared.store.as_ref();
        self.item.is_enabled() && self.shared.items.has_room(store, &self.targets)
    }

    async fn ready(&self) -> bool {
        let shutdown = &self.shared.shutdown;
        if !self.item.wait_enabled(shutdown).await {
            return false;
        }
        let store = self.shared.store.as_ref();
        self.shared
            .items
            .wait_for_room(store, &self.targets, shutdown)
            .await
    }

    async fn submit(&self, messages: Vec<InboundMessage>) -> Result<Vec<Submitted>, IntakeError> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let (records, inspections) = self.records(messages, &self.targets);
        let accepted = self.persist(records, &inspections).await?;
        Ok(accepted
            .into_iter()
            .zip(inspections)
            .map(|(a, i)| submitted(a, i))
            .collect())
    }

    async fn request(
        &self,
        message: InboundMessage,
        operation: &ItemName,
        timeout: Duration,
    ) -> Result<Reply, IntakeError> {
        self.request_inner(message, operation, timeout, None).await
    }

    async fn request_with_receipt(
        &self,
        message: InboundMessage,
        operation: &ItemName,
        timeout: Duration,
        receipt: tokio::sync::oneshot::Sender<Submitted>,
    ) -> Result<Reply, IntakeError> {
        self.request_inner(message, operation, timeout, Some(receipt))
            .await
    }

    async fn submit_to(
        &self,
        messages: Vec<InboundMessage>,
        target: &ItemName,
    ) -> Result<Vec<Submitted>, IntakeError> {
        let receives = self.shared.items.get(target).is_some_and(|state| {
            matches!(
                state.role,
                ferry_production::Role::Operation | ferry_production::Role::Process
            )
        });
        if !receives {
            return Err(IntakeError::NoResponder(target.clone()));
        }
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let targets = std::slice::from_ref(target);
        let (records, inspections) = self.records(messages, targets);
        let accepted = self.persist_for(records, &inspections, targets).await?;
        Ok(accepted
            .into_iter()
            .zip(inspections)
            .map(|(a, i)| submitted(a, i))
            .collect())
    }

    fn listening(&self, addr: std::net::SocketAddr) {
        *self
            .item
            .listening
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(addr);
        ferry_adapter::announce_listener(&self.item.name, addr);
    }

    fn warn(&self, text: String) {
        self.shared.events.record_repeating(
            "input-warning",
            item_event(
                EventLevel::Warn,
                EventKind::Warning,
                &self.item.name,
                None,
                text,
            ),
        );
    }

    fn error(&self, text: String) {
        self.shared.events.record_repeating(
            "input-error",
            item_event(
                EventLevel::Error,
                EventKind::Failed,
                &self.item.name,
                None,
                text,
            ),
        );
    }
}

impl ServiceIntake {
    /// [`Intake::request`], with the optional receipt of [`Intake::request_with_receipt`].
    async fn request_inner(
        &self,
        message: InboundMessage,
        operation: &ItemName,
        timeout: Duration,
        receipt: Option<tokio::sync::oneshot::Sender<Submitted>>,
    ) -> Result<Reply, IntakeError> {
        let responder = self.shared.items.get(operation);
        if !responder.is_some_and(|state| state.role == ferry_production::Role::Operation) {
            return Err(IntakeError::NoResponder(operation.clone()));
        }

        let (records, inspections) = self.records(vec![message], &self.targets);
        let rejected = inspections.iter().any(|i| i.rejected.is_some());
        let (accepted, answer) = {
            let registration = self.shared.replies.lock();
            let accepted = self
                .shared
                .store
                .accept(records, Vec::new())
                .map_err(|e| IntakeError::Store(e.to_string()))?;
            let session = accepted.first().map(|a| a.session);
            let answer = match (session, rejected) {
                (Some(session), false) => Some(registration.wait_for(session, operation.clone())),
                _ => None,
            };
            (accepted, answer)
        };
        let wait = RequestWait {
            answer,
            operation,
            timeout,
            receipt,
        };
        self.finish_request(accepted, inspections, wait).await
    }

    /// Makes a request's message durable, then waits for its answer.
    async fn finish_request(
        &self,
        accepted: Vec<Accepted>,
        inspections: Vec<Inspection>,
        wait: RequestWait<'_>,
    ) -> Result<Reply, IntakeError> {
        let RequestWait {
            answer,
            operation,
            timeout,
            receipt,
        } = wait;
        let events = self.events(&accepted, &inspections);
        for event in events {
            self.shared.events.record(event);
        }
        self.shared
            .store
            .barrier()
            .await
            .map_err(|e| IntakeError::Store(e.to_string()))?;
        self.shared.items.wake(&self.targets);

        let (Some(first), Some(inspection)) =
            (accepted.into_iter().next(), inspections.into_iter().next())
        else {
            return Err(IntakeError::Store("the store wrote no record".to_owned()));
        };
        let session = first.session;
        let submitted = submitted(first, inspection);
        if let Some(receipt) = receipt {
            let _ = receipt.send(submitted.clone());
        }
        let Some(answer) = answer else {
            return Ok(Reply {
                submitted,
                outcome: None,
                response: None,
            });
        };

        match tokio::time::timeout(timeout, answer).await {
            Ok(Ok(answer)) => Ok(self.reply(submitted, answer)),
            Ok(Err(_)) | Err(_) => {
                self.shared.replies.forget(session);
                Err(IntakeError::Timeout {
                    operation: operation.clone(),
                    timeout,
                    submitted,
                })
            }
        }
    }

    fn reply(&self, submitted: Submitted, answer: Answer) -> Reply {
        let response = answer
            .response
            .and_then(|id| self.shared.store.body(id).ok().flatten());
        Reply {
            submitted,
            outcome: Some(answer.outcome),
            response,
        }
    }
}
