//! The item table: each item name gets a compact number, used in queue, lease and item
//! index keys, and an in-memory queue state (the take lock and the depth counter).
//!
//! A number is handed out in memory first; the batch of the first step that uses it also
//! writes its table entry, and every later batch writes it again until one has been applied,
//! so a queue key never refers to a number that is not on disk.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use ferry_message::ItemName;

use crate::StoreError;
use crate::codec::{self, corrupt};
use crate::keys;
use crate::records::ItemRecord;

/// One item's queue state.
#[derive(Debug)]
pub(crate) struct ItemQueue {
    /// The item.
    pub(crate) name: ItemName,
    /// Its number in keys.
    pub(crate) number: u32,
    /// Held while taking the head of the queue or moving a queued message off it, so two
    /// workers never lease the same message.
    take_lock: Mutex<()>,
    /// Messages waiting in the queue.
    depth: AtomicU64,
    /// True once a batch holding the table entry was applied (or it was read from disk).
    persisted: AtomicBool,
}

impl ItemQueue {
    fn new(name: ItemName, number: u32, persisted: bool) -> Self {
        ItemQueue {
            name,
            number,
            take_lock: Mutex::new(()),
            depth: AtomicU64::new(0),
            persisted: AtomicBool::new(persisted),
        }
    }

    /// Serialises takes (and suspends, discards) on this queue.
    pub(crate) fn lock(&self) -> MutexGuard<'_, ()> {
        self.take_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Messages waiting.
    pub(crate) fn depth(&self) -> u64 {
        self.depth.load(Ordering::Acquire)
    }

    /// Counts `n` messages put on the queue.
    pub(crate) fn add(&self, n: u64) {
        self.depth.fetch_add(n, Ordering::AcqRel);
    }

    /// Counts `n` messages taken off the queue.
    pub(crate) fn sub(&self, n: u64) {
        let _ = self
            .depth
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |d| {
                Some(d.saturating_sub(n))
            });
    }

    /// Sets the depth found by a scan at open.
    pub(crate) fn set_depth(&self, depth: u64) {
        self.depth.store(depth, Ordering::Release);
    }

    /// True until a batch carrying the table entry has been applied.
    pub(crate) fn needs_entry(&self) -> bool {
        !self.persisted.load(Ordering::Acquire)
    }

    /// Notes that the table entry is on disk.
    pub(crate) fn entry_written(&self) {
        self.persisted.store(true, Ordering::Release);
    }

    /// The table entry: key and value.
    pub(crate) fn entry(&self) -> Result<(Vec<u8>, Vec<u8>), StoreError> {
        let value = codec::encode(&ItemRecord {
            number: self.number,
        })?;
        Ok((keys::item(self.name.as_str()), value))
    }
}

#[derive(Debug, Default)]
struct Table {
    by_name: HashMap<ItemName, Arc<ItemQueue>>,
    by_number: HashMap<u32, Arc<ItemQueue>>,
    next: u32,
}

/// Every item the store has seen.
#[derive(Debug, Default)]
pub(crate) struct Items {
    table: RwLock<Table>,
}

impl Items {
    /// Reads the item table.
    pub(crate) fn load(tree: &sled::Tree) -> Result<Items, StoreError> {
        let mut table = Table::default();

        for entry in tree.scan_prefix([keys::ITEM]) {
            let (key, value) = entry?;
            let name = std::str::from_utf8(&key[1..])
                .map_err(|_| corrupt(&key, "item name is not UTF-8"))?;
            let record: ItemRecord = codec::decode(&key, &value)?;

            let queue = Arc::new(ItemQueue::new(ItemName::from(name), record.number, true));
            if table
                .by_number
                .insert(record.number, queue.clone())
                .is_some()
            {
                return Err(corrupt(
                    &key,
                    format!("item number {} used twice", record.number),
                ));
            }
            table.by_name.insert(queue.name.clone(), queue);
            table.next = table.next.max(record.number.saturating_add(1));
        }

        Ok(Items {
            table: RwLock::new(table),
        })
    }

    /// The item's queue state, if the item was ever used.
    pub(crate) fn get(&self, name: &ItemName) -> Option<Arc<ItemQueue>> {
        self.read().by_name.get(name).cloned()
    }

    /// The item with number `number`.
    pub(crate) fn by_number(&self, number: u32) -> Option<Arc<ItemQueue>> {
        self.read().by_number.get(&number).cloned()
    }

    /// The item's queue state, numbering the item when it is new.
    pub(crate) fn ensure(&self, name: &ItemName) -> Result<Arc<ItemQueue>, StoreError> {
        if let Some(queue) = self.get(name) {
            return Ok(queue);
        }

        let mut table = self.table.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(queue) = table.by_name.get(name) {
            return Ok(queue.clone());
        }
        let number = table.next;
        table.next = number.checked_add(1).ok_or_else(|| StoreError::Corrupt {
            key: "I".to_owned(),
            reason: "item numbers exhausted".to_owned(),
        })?;

        let queue = Arc::new(ItemQueue::new(name.clone(), number, false));
        table.by_name.insert(name.clone(), queue.clone());
        table.by_number.insert(number, queue.clone());
        Ok(queue)
    }

    /// Every known item.
    pub(crate) fn all(&self) -> Vec<Arc<ItemQueue>> {
        self.read().by_number.values().cloned().collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Table> {
        self.table.read().unwrap_or_else(PoisonError::into_inner)
    }
}
