//! Startup recovery: leases of the previous run go back to their queues.
//!
//! Runs inside `SledStore::open`, before any worker can take. Every lease returns to its
//! queue at its own seq, which puts it at the head, in the original order, and its header
//! goes from Delivered back to Queued (with its status index entry). One batch does all of
//! it, with a `Recovered` event per item naming how many came back.

use std::collections::BTreeMap;

use ferry_message::{ItemName, MessageId, Status};
use jiff::Timestamp;

use crate::codec::{self, corrupt};
use crate::records::Slot;
use crate::sled_store::SledStore;
use crate::writer::Writer;
use crate::{EventKind, EventLevel, NewEvent, RecoveryReport, StoreError, keys};

impl SledStore {
    /// Returns every lease to its queue; see the module documentation.
    pub(crate) fn recover(&self) -> Result<RecoveryReport, StoreError> {
        let mut writer = Writer::new(self);
        let mut returned: BTreeMap<ItemName, u64> = BTreeMap::new();
        let now = Timestamp::now();

        for entry in self.db.scan_prefix([keys::LEASE]) {
            let (key, value) = entry?;
            let number = keys::item_number(&key).ok_or_else(|| corrupt(&key, "short key"))?;
            let seq = keys::trailing_u64(&key).ok_or_else(|| corrupt(&key, "short key"))?;
            let queue = self
                .items
                .by_number(number)
                .ok_or_else(|| corrupt(&key, "lease of an item missing from the item table"))?;

            let slot: Slot = codec::decode(&key, &value)?;
            let mut stored = self.referenced_header(&key, MessageId(slot.message))?;
            if stored.header.status != Status::Delivered {
                return Err(corrupt(
                    &key,
                    format!("leased message is {}", stored.header.status),
                ));
            }
            stored.header.status = Status::Queued;
            stored.header.updated = now;

            writer.unlease(&queue, seq);
            writer.enqueue(&queue, seq, stored.header.id)?;
            writer.update_header(Status::Delivered, &stored)?;
            *returned.entry(queue.name.clone()).or_default() += 1;
        }
        if returned.is_empty() {
            return Ok(RecoveryReport::default());
        }

        let events: Vec<NewEvent> = returned
            .iter()
            .map(|(item, n)| recovered(item, *n))
            .collect();
        let mut stamp = self.clock.stamp(events.len())?;
        writer.events(&mut stamp, &events)?;
        writer.commit()?;

        for (item, count) in &returned {
            tracing::warn!(item = %item, count, "returned in-flight messages to the queue head");
        }
        Ok(RecoveryReport {
            returned: returned.into_iter().collect(),
        })
    }
}

fn recovered(item: &ItemName, count: u64) -> NewEvent {
    NewEvent {
        level: EventLevel::Warn,
        kind: EventKind::Recovered,
        item: Some(item.clone()),
        message: None,
        actor: None,
        text: format!("{count} in-flight message(s) returned to the head of the queue at start"),
    }
}
