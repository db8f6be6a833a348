//! Queues and leases.
//!
//! A queue entry (`Q` + item + seq) and a lease (`L` + item + seq) hold the message id; a
//! message is in exactly one of: its target's queue (status Queued), its target's leases
//! (Delivered), or neither (a held or final status). Taking moves the entry from queue to
//! lease at the same seq, releasing and recovery move it back, so a returned message is at
//! the head again in its original order.

use std::sync::Arc;

use ferry_message::{ItemName, MessageId, Status};
use jiff::Timestamp;

use crate::codec::{self, corrupt};
use crate::items::ItemQueue;
use crate::records::{Slot, StoredHeader};
use crate::sled_store::SledStore;
use crate::writer::Writer;
use crate::{Lease, StoreError, keys};

impl SledStore {
    /// See [`crate::Store::take`].
    pub(crate) fn take_head(&self, item: &ItemName) -> Result<Option<Lease>, StoreError> {
        self.check_open()?;
        let Some(queue) = self.items.get(item) else {
            return Ok(None);
        };

        // Two workers of one item must not read the same head before either has moved it.
        let _taking = queue.lock();
        let Some(entry) = self.db.scan_prefix(keys::queue_prefix(queue.number)).next() else {
            return Ok(None);
        };
        let (key, value) = entry?;
        let seq = keys::trailing_u64(&key).ok_or_else(|| corrupt(&key, "short queue key"))?;
        let slot: Slot = codec::decode(&key, &value)?;

        let mut stored = self.referenced_header(&key, MessageId(slot.message))?;
        expect_status(&key, &stored, Status::Queued)?;
        stored.header.status = Status::Delivered;
        stored.header.updated = Timestamp::now();

        let mut writer = Writer::new(self);
        writer.dequeue(&queue, seq);
        writer.lease(&queue, seq, stored.header.id)?;
        writer.update_header(Status::Queued, &stored)?;
        writer.commit()?;

        Ok(Some(Lease {
            item: item.clone(),
            seq,
            header: stored.header,
            taken: std::time::Instant::now(),
        }))
    }

    /// See [`crate::Store::release`].
    pub(crate) fn release_lease(&self, lease: &Lease) -> Result<(), StoreError> {
        let (queue, mut stored) = self.check_lease(lease)?;
        stored.header.status = Status::Queued;
        stored.header.updated = Timestamp::now();

        let mut writer = Writer::new(self);
        writer.unlease(&queue, lease.seq);
        writer.enqueue(&queue, lease.seq, stored.header.id)?;
        writer.update_header(Status::Delivered, &stored)?;
        writer.commit()
    }

    /// The queue and current header of a lease that still holds.
    ///
    /// # Errors
    ///
    /// [`StoreError::NotLeased`] when the lease was finished or released.
    pub(crate) fn check_lease(
        &self,
        lease: &Lease,
    ) -> Result<(Arc<ItemQueue>, StoredHeader), StoreError> {
        let id = lease.header.id;
        let queue = self
            .items
            .get(&lease.item)
            .ok_or(StoreError::NotLeased(id))?;

        let key = keys::lease(queue.number, lease.seq);
        let value = self.db.get(key)?.ok_or(StoreError::NotLeased(id))?;
        let slot: Slot = codec::decode(&key, &value)?;
        if slot.message != id.0 {
            return Err(StoreError::NotLeased(id));
        }

        let stored = self.referenced_header(&key, id)?;
        expect_status(&key, &stored, Status::Delivered)?;
        Ok((queue, stored))
    }

    /// See [`crate::Store::oldest_queued`].
    pub(crate) fn head_created(&self, item: &ItemName) -> Result<Option<Timestamp>, StoreError> {
        let Some(queue) = self.items.get(item) else {
            return Ok(None);
        };
        let Some(entry) = self.db.scan_prefix(keys::queue_prefix(queue.number)).next() else {
            return Ok(None);
        };
        let (key, value) = entry?;
        let slot: Slot = codec::decode(&key, &value)?;

        // The head may be taken between the two reads; then the next call sees the new one.
        Ok(self
            .stored_header(MessageId(slot.message))?
            .map(|stored| stored.header.created))
    }

    /// Sets every item's depth counter from its queue entries on disk.
    pub(crate) fn count_depths(&self) -> Result<(), StoreError> {
        let mut counts = std::collections::HashMap::<u32, u64>::new();
        for key in self.db.scan_prefix([keys::QUEUE]).keys() {
            let key = key?;
            let number = keys::item_number(&key).ok_or_else(|| corrupt(&key, "short key"))?;
            *counts.entry(number).or_default() += 1;
        }

        for number in counts.keys() {
            if self.items.by_number(*number).is_none() {
                return Err(corrupt(
                    &keys::queue_prefix(*number),
                    "queue of an item missing from the item table",
                ));
            }
        }
        for queue in self.items.all() {
            queue.set_depth(counts.get(&queue.number).copied().unwrap_or(0));
        }
        Ok(())
    }
}

/// Corruption unless the header a queue or lease entry points at has `status`.
fn expect_status(key: &[u8], stored: &StoredHeader, status: Status) -> Result<(), StoreError> {
    if stored.header.status == status {
        Ok(())
    } else {
        Err(corrupt(
            key,
            format!(
                "message {} is {}, expected {status}",
                stored.header.id, stored.header.status
            ),
        ))
    }
}
