//! Counters and fault injection for tests (feature `test-hooks`).
//!
//! Only dev-dependencies enable the feature, so the `ferry` binary is built with the empty
//! version below: every hook is a no-op and nothing public is exported.

#[cfg(feature = "test-hooks")]
mod enabled {
    use std::collections::BTreeMap;
    use std::path::PathBuf;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    use ferry_message::{ItemName, MessageId, Status};

    use crate::records::{Slot, StoredHeader};
    use crate::sled_store::SledStore;
    use crate::{StoreError, codec, keys};

    /// What the tests can observe and break.
    #[derive(Debug, Default)]
    pub struct TestHooks {
        fsyncs: AtomicU64,
        rounds: AtomicU64,
        served: AtomicU64,
        failing_writes: AtomicU64,
        /// Every write fails until this instant.
        failing_until: Mutex<Option<Instant>>,
        /// A file whose appearance starts a [`TestHooks::fail_writes_for`] window, and the
        /// window's length: for tests that run the real binary, which cannot call in.
        trigger: Option<(PathBuf, Duration)>,
    }

    impl TestHooks {
        /// Reads `FERRY_TEST_FAIL_WRITES_WHEN` (a file path) and
        /// `FERRY_TEST_FAIL_WRITES_FOR` (milliseconds): once that file exists, every write
        /// fails for that long (field case B38, a store that fails for a while).
        pub(crate) fn new() -> Self {
            let file = std::env::var_os("FERRY_TEST_FAIL_WRITES_WHEN").map(PathBuf::from);
            let millis = std::env::var("FERRY_TEST_FAIL_WRITES_FOR")
                .ok()
                .and_then(|millis| millis.parse::<u64>().ok());
            TestHooks {
                trigger: file.zip(millis.map(Duration::from_millis)),
                ..TestHooks::default()
            }
        }

        /// Makes every write fail with [`StoreError::Injected`] for `window` from now.
        pub fn fail_writes_for(&self, window: Duration) {
            let mut until = self.failing_until.lock().unwrap_or_else(|e| e.into_inner());
            *until = Some(Instant::now() + window);
        }

        /// True while a timed failure window is open; opens the window of the trigger
        /// file the first time the file is seen.
        fn in_failure_window(&self) -> bool {
            let mut until = self.failing_until.lock().unwrap_or_else(|e| e.into_inner());
            if until.is_none()
                && let Some((file, window)) = &self.trigger
                && file.exists()
            {
                *until = Some(Instant::now() + *window);
            }
            until.is_some_and(|until| Instant::now() < until)
        }

        /// `fdatasync`/`fsync` calls the barrier made (log, blob files, blob folder).
        pub fn fsync_calls(&self) -> u64 {
            self.fsyncs.load(Ordering::Acquire)
        }

        /// Sync rounds the committer ran.
        pub fn barrier_rounds(&self) -> u64 {
            self.rounds.load(Ordering::Acquire)
        }

        /// Barrier requests answered.
        pub fn barrier_requests(&self) -> u64 {
            self.served.load(Ordering::Acquire)
        }

        /// Makes the next `n` writes fail with [`StoreError::Injected`] before they reach
        /// sled.
        pub fn fail_next_writes(&self, n: u64) {
            self.failing_writes.store(n, Ordering::Release);
        }

        pub(crate) fn record_fsync(&self) {
            self.fsyncs.fetch_add(1, Ordering::AcqRel);
        }

        pub(crate) fn record_round(&self, requests: usize) {
            self.rounds.fetch_add(1, Ordering::AcqRel);
            self.served.fetch_add(requests as u64, Ordering::AcqRel);
        }

        pub(crate) fn check_write(&self) -> Result<(), StoreError> {
            let fail = self
                .failing_writes
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
                .is_ok();
            if fail || self.in_failure_window() {
                Err(StoreError::Injected("write"))
            } else {
                Ok(())
            }
        }
    }

    /// Where every message is, read from disk, next to the in-memory depth counters.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct Audit {
        /// Each item's queue, head first.
        pub queued: BTreeMap<ItemName, Vec<MessageId>>,
        /// Each item's leases, in seq order.
        pub leased: BTreeMap<ItemName, Vec<MessageId>>,
        /// The status of every header.
        pub statuses: BTreeMap<MessageId, Status>,
        /// The in-memory depth counter of every known item.
        pub depth_counters: BTreeMap<ItemName, u64>,
    }

    impl SledStore {
        /// The test hooks of this store.
        pub fn test_hooks(&self) -> &TestHooks {
            &self.hooks
        }

        /// Rescans queues, leases and headers.
        ///
        /// # Errors
        ///
        /// [`StoreError`] when the store cannot be read or a record is corrupt.
        pub fn audit(&self) -> Result<Audit, StoreError> {
            let mut audit = Audit {
                queued: self.scan_slots(keys::QUEUE)?,
                leased: self.scan_slots(keys::LEASE)?,
                ..Audit::default()
            };

            for entry in self.db.scan_prefix([keys::HEADER]) {
                let (key, value) = entry?;
                let id = MessageId(keys::trailing_u64(&key).unwrap_or_default());
                let stored = StoredHeader::decode(&key, id, &value)?;
                audit.statuses.insert(id, stored.header.status);
            }
            for queue in self.items.all() {
                audit
                    .depth_counters
                    .insert(queue.name.clone(), queue.depth());
            }
            Ok(audit)
        }

        fn scan_slots(&self, space: u8) -> Result<BTreeMap<ItemName, Vec<MessageId>>, StoreError> {
            let mut slots: BTreeMap<ItemName, Vec<MessageId>> = BTreeMap::new();
            for entry in self.db.scan_prefix([space]) {
                let (key, value) = entry?;
                let number = keys::item_number(&key).unwrap_or_default();
                let name = self
                    .items
                    .by_number(number)
                    .map(|q| q.name.clone())
                    .unwrap_or_else(|| ItemName::from(format!("#{number}")));
                let slot: Slot = codec::decode(&key, &value)?;
                slots.entry(name).or_default().push(MessageId(slot.message));
            }
            Ok(slots)
        }
    }
}

#[cfg(not(feature = "test-hooks"))]
mod disabled {
    use crate::StoreError;

    /// No hooks in a build without `test-hooks`.
    #[derive(Debug)]
    pub(crate) struct TestHooks;

    impl TestHooks {
        pub(crate) fn new() -> Self {
            TestHooks
        }

        pub(crate) fn record_fsync(&self) {}

        pub(crate) fn record_round(&self, _requests: usize) {}

        pub(crate) fn check_write(&self) -> Result<(), StoreError> {
            Ok(())
        }
    }
}

#[cfg(not(feature = "test-hooks"))]
pub(crate) use disabled::TestHooks;
#[cfg(feature = "test-hooks")]
pub use enabled::{Audit, TestHooks};
