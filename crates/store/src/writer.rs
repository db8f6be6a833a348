//! One atomic step: a sled batch plus the in-memory changes that must follow it.
//!
//! Every method of the store that writes builds one [`Writer`] and commits it once, so
//! each step is a single `apply_batch` on the one tree, which sled recovers all or nothing.
//! Queue depth counters go up before the batch is applied (so a taker that sees the new
//! entry never counts below zero) and are put back if it fails; they go down only after it
//! succeeded. Nothing here awaits.

use std::sync::Arc;

use ferry_message::{BodyId, ItemName, MessageId, NewBody, Status};
use sled::Batch;

use crate::items::ItemQueue;
use crate::records::{Slot, StoredHeader};
use crate::sled_store::SledStore;
use crate::{NewEvent, StoreError, body, codec, index, keys, records};

/// The writes of one step.
#[derive(Debug)]
pub(crate) struct Writer<'s> {
    store: &'s SledStore,
    batch: Batch,
    /// One entry per message put on a queue.
    added: Vec<Arc<ItemQueue>>,
    /// One entry per message taken off a queue.
    removed: Vec<Arc<ItemQueue>>,
    /// Items whose table entry rides in this batch.
    entries: Vec<Arc<ItemQueue>>,
}

impl<'s> Writer<'s> {
    /// An empty step on `store`.
    pub(crate) fn new(store: &'s SledStore) -> Self {
        Writer {
            store,
            batch: Batch::default(),
            added: Vec::new(),
            removed: Vec::new(),
            entries: Vec::new(),
        }
    }

    /// The item's queue state; writes its table entry with this step if it is not on disk.
    pub(crate) fn item(&mut self, name: &ItemName) -> Result<Arc<ItemQueue>, StoreError> {
        let queue = self.store.items.ensure(name)?;
        if queue.needs_entry() && !self.entries.iter().any(|q| Arc::ptr_eq(q, &queue)) {
            let (key, value) = queue.entry()?;
            self.batch.insert(key, value);
            self.entries.push(queue.clone());
        }
        Ok(queue)
    }

    /// Writes `value` under `key`.
    pub(crate) fn insert(&mut self, key: &[u8], value: Vec<u8>) {
        self.batch.insert(key, value);
    }

    /// Removes `key`.
    pub(crate) fn remove(&mut self, key: &[u8]) {
        self.batch.remove(key);
    }

    /// A new header with all its index entries.
    pub(crate) fn new_header(&mut self, stored: &StoredHeader) -> Result<(), StoreError> {
        let source = self.item(&stored.header.source)?;
        let target = self.item(&stored.header.target)?;

        self.insert(&keys::header(stored.header.id), stored.encode()?);
        for key in index::keys(stored, Some(source.number), Some(target.number)) {
            self.batch.insert(key, &[] as &[u8]);
        }
        Ok(())
    }

    /// A changed header; moves its status index entry when the status changed.
    pub(crate) fn update_header(
        &mut self,
        before: Status,
        stored: &StoredHeader,
    ) -> Result<(), StoreError> {
        let id = stored.header.id;
        self.insert(&keys::header(id), stored.encode()?);

        if before != stored.header.status {
            self.remove(&keys::by_status(before, id));
            self.insert(&keys::by_status(stored.header.status, id), Vec::new());
        }
        Ok(())
    }

    /// Puts message `id` on `queue` at `seq`.
    pub(crate) fn enqueue(
        &mut self,
        queue: &Arc<ItemQueue>,
        seq: u64,
        id: MessageId,
    ) -> Result<(), StoreError> {
        let value = codec::encode(&Slot { message: id.0 })?;
        self.insert(&keys::queue(queue.number, seq), value);
        self.added.push(queue.clone());
        Ok(())
    }

    /// Takes the entry at `seq` off `queue`.
    pub(crate) fn dequeue(&mut self, queue: &Arc<ItemQueue>, seq: u64) {
        self.remove(&keys::queue(queue.number, seq));
        self.removed.push(queue.clone());
    }

    /// Records that message `id` from `queue` at `seq` is in flight.
    pub(crate) fn lease(
        &mut self,
        queue: &ItemQueue,
        seq: u64,
        id: MessageId,
    ) -> Result<(), StoreError> {
        let value = codec::encode(&Slot { message: id.0 })?;
        self.insert(&keys::lease(queue.number, seq), value);
        Ok(())
    }

    /// Ends the lease of `queue` at `seq`.
    pub(crate) fn unlease(&mut self, queue: &ItemQueue, seq: u64) {
        self.remove(&keys::lease(queue.number, seq));
    }

    /// A new body, split into chunks.
    pub(crate) fn body(&mut self, id: BodyId, new: &NewBody) -> Result<(), StoreError> {
        body::write(&mut self.batch, id, new)
    }

    /// Events, each with the next id of `stamp` and its time.
    pub(crate) fn events(
        &mut self,
        stamp: &mut crate::clock::Stamp,
        events: &[NewEvent],
    ) -> Result<(), StoreError> {
        for event in events {
            let id = stamp.id()?;
            let value = records::encode_event(event, stamp.micros())?;
            self.insert(&keys::event(id), value);
        }
        Ok(())
    }

    /// Applies the step as one batch, then updates the depth counters.
    ///
    /// # Errors
    ///
    /// [`StoreError::Closed`] after `close`, the test hook's fault, or sled's error; nothing
    /// was written then and the counters are as before.
    pub(crate) fn commit(self) -> Result<(), StoreError> {
        self.store.check_open()?;

        for queue in &self.added {
            queue.add(1);
        }

        let applied = self
            .store
            .hooks
            .check_write()
            .and_then(|()| Ok(self.store.db.apply_batch(self.batch)?));

        if let Err(err) = applied {
            for queue in &self.added {
                queue.sub(1);
            }
            return Err(err);
        }

        for queue in &self.removed {
            queue.sub(1);
        }
        for queue in &self.entries {
            queue.entry_written();
        }
        Ok(())
    }
}
