//! What a person does to a message: resend, suspend, discard. Each is one batch with an
//! Admin event naming the actor.
//!
//! Suspend and discard hold the target queue's take lock while they read and change the
//! header, so a worker cannot lease the message between the check and the write.

use ferry_message::{Header, MessageId, Status};

use crate::codec::corrupt;
use crate::records::StoredHeader;
use crate::sled_store::SledStore;
use crate::writer::Writer;
use crate::{EventKind, EventLevel, NewEvent, StoreError, keys};

impl SledStore {
    /// See [`crate::Store::resend`].
    pub(crate) fn resend_message(
        &self,
        id: MessageId,
        actor: &str,
    ) -> Result<MessageId, StoreError> {
        // A purge running now must not remove the body the copy will point at.
        let _admin = self
            .admin
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let original = self.stored_header(id)?.ok_or(StoreError::NotFound(id))?;
        let mut stamp = self.clock.stamp(2)?;
        let copy = MessageId(stamp.id()?);

        let stored = StoredHeader {
            header: Header {
                id: copy,
                resend_of: Some(id),
                created: stamp.time,
                updated: stamp.time,
                status: Status::Queued,
                possible_duplicate: false,
                attempts: 0,
                reason: None,
                response: None,
                ..original.header
            },
            queue_seq: Some(copy.0),
            duplicate_key: None,
            search: original.search,
        };
        let mut writer = Writer::new(self);
        writer.new_header(&stored)?;
        let queue = writer.item(&stored.header.target)?;
        writer.enqueue(&queue, copy.0, copy)?;

        let text = format!("resent message {id} as {copy}");
        writer.events(&mut stamp, &[admin_event(&stored, actor, text)])?;
        writer.commit()?;
        Ok(copy)
    }

    /// See [`crate::Store::suspend`].
    pub(crate) fn suspend_message(&self, id: MessageId, actor: &str) -> Result<(), StoreError> {
        self.hold(id, actor, Status::Suspended)
    }

    /// See [`crate::Store::discard`].
    pub(crate) fn discard_message(&self, id: MessageId, actor: &str) -> Result<(), StoreError> {
        self.hold(id, actor, Status::Discarded)
    }

    /// Moves a message to Suspended or Discarded, off its queue if it is queued.
    fn hold(&self, id: MessageId, actor: &str, to: Status) -> Result<(), StoreError> {
        let (action, done) = match to {
            Status::Suspended => ("suspend", "suspended"),
            _ => ("discard", "discarded"),
        };
        let target = self
            .stored_header(id)?
            .ok_or(StoreError::NotFound(id))?
            .header
            .target;
        let queue = self.items.get(&target);
        let _taking = queue.as_ref().map(|queue| queue.lock());

        let mut stored = self.stored_header(id)?.ok_or(StoreError::NotFound(id))?;
        let from = stored.header.status;
        if !may_hold(from, to) {
            return Err(StoreError::WrongState {
                id,
                status: from,
                action,
            });
        }

        let mut writer = Writer::new(self);
        if from == Status::Queued {
            let queue = queue
                .as_ref()
                .ok_or_else(|| corrupt(&keys::header(id), "queued nowhere"))?;
            let seq = stored
                .queue_seq
                .ok_or_else(|| corrupt(&keys::header(id), "no queue seq"))?;
            if !self.db.contains_key(keys::queue(queue.number, seq))? {
                return Err(corrupt(
                    &keys::queue(queue.number, seq),
                    "queued header not queued",
                ));
            }
            writer.dequeue(queue, seq);
        }

        let mut stamp = self.clock.stamp(1)?;
        stored.header.status = to;
        stored.header.updated = stamp.time;
        stored.header.reason = Some(match stored.header.reason.take() {
            Some(was) => format!("{done} by {actor}; was: {was}"),
            None => format!("{done} by {actor}"),
        });
        writer.update_header(from, &stored)?;

        let text = format!("{done} message {id} (was {from})");
        writer.events(&mut stamp, &[admin_event(&stored, actor, text)])?;
        writer.commit()
    }
}

/// Whether a person may move a message in `from` to `to`: suspend only what waits in a
/// queue; discard what waits, is held or failed, never what a worker holds or what is done.
fn may_hold(from: Status, to: Status) -> bool {
    match to {
        Status::Suspended => from == Status::Queued,
        Status::Discarded => matches!(from, Status::Queued | Status::Suspended | Status::Error),
        _ => false,
    }
}

fn admin_event(stored: &StoredHeader, actor: &str, text: String) -> NewEvent {
    NewEvent {
        level: EventLevel::Info,
        kind: EventKind::Admin,
        item: Some(stored.header.target.clone()),
        message: Some(stored.header.id),
        actor: Some(actor.to_owned()),
        text,
    }
}
