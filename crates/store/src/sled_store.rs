//! [`SledStore`]: opening, closing, and the [`Store`] trait wired to the step modules.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_message::{Body, BodyId, Header, ItemName, MessageId, SessionId};
use jiff::Timestamp;

use crate::barrier::{self, Committer};
use crate::clock::Clock;
use crate::codec::{self, corrupt};
use crate::hooks::TestHooks;
use crate::items::Items;
use crate::records::StoredHeader;
use crate::{
    Accepted, BarrierFuture, Event, InboundRecord, Lease, NewEvent, PurgeReport, Query,
    RecoveryReport, SearchValue, Step, StepDone, Store, StoreConfig, StoreError, body, keys,
};

/// The embedded message store and bus: one sled database in the folder the config names.
///
/// See the crate documentation for what it writes and what is durable when.
#[derive(Debug)]
pub struct SledStore {
    pub(crate) db: sled::Db,
    pub(crate) items: Items,
    pub(crate) clock: Clock,
    /// How long a duplicate digest counts.
    pub(crate) duplicate_window: Duration,
    /// Held by resend and purge, so a purge never removes a body a resend is pointing at.
    pub(crate) admin: Mutex<()>,
    /// Held by accepts that carry duplicate digests, so two copies accepted at once still
    /// see each other.
    pub(crate) duplicates: Mutex<()>,
    pub(crate) hooks: Arc<TestHooks>,
    closed: AtomicBool,
    committer: Committer,
}

impl SledStore {
    /// Opens (or creates) the store, runs startup recovery and starts the committer.
    ///
    /// Works in any context (no runtime needed): the committer is a plain thread. Queue
    /// workers may start once this returns: every lease of the previous run is back in its
    /// queue by then.
    ///
    /// # Errors
    ///
    /// [`StoreError::Io`] when the folder cannot be created or synced,
    /// [`StoreError::Database`] when sled cannot open it (another process holds it; a store
    /// dropped in this process is waited for, up to 5 s),
    /// [`StoreError::Corrupt`] when it holds another format version or a bad record.
    pub fn open(config: StoreConfig) -> Result<(SledStore, RecoveryReport), StoreError> {
        let db = open_db(&config)?;
        check_format(&db)?;

        let hooks = Arc::new(TestHooks::new());
        let committer =
            Committer::start(db.clone(), &config.path, config.durability, hooks.clone())?;
        let store = SledStore {
            items: Items::load(&db)?,
            clock: Clock::new(db.clone()),
            duplicate_window: config.duplicate_window,
            admin: Mutex::new(()),
            duplicates: Mutex::new(()),
            hooks,
            closed: AtomicBool::new(false),
            committer,
            db,
        };

        let report = store.recover()?;
        store.count_depths()?;
        Ok((store, report))
    }

    /// Runs a final barrier and stops the committer. Later writes and barriers fail with
    /// [`StoreError::Closed`]; reads still work. Dropping the store closes it too.
    pub fn close(&self) {
        if !self.closed.swap(true, Ordering::AcqRel) {
            self.committer.stop();
        }
    }

    /// [`StoreError::Closed`] once the store is closed.
    pub(crate) fn check_open(&self) -> Result<(), StoreError> {
        if self.closed.load(Ordering::Acquire) {
            Err(StoreError::Closed)
        } else {
            Ok(())
        }
    }

    /// The header `id` with what the store keeps beside it.
    pub(crate) fn stored_header(&self, id: MessageId) -> Result<Option<StoredHeader>, StoreError> {
        let key = keys::header(id);
        match self.db.get(key)? {
            Some(value) => Ok(Some(StoredHeader::decode(&key, id, &value)?)),
            None => Ok(None),
        }
    }

    /// Like [`SledStore::stored_header`] for a header an index or queue entry points at:
    /// its absence is corruption.
    pub(crate) fn referenced_header(
        &self,
        from: &[u8],
        id: MessageId,
    ) -> Result<StoredHeader, StoreError> {
        self.stored_header(id)?
            .ok_or_else(|| corrupt(from, format!("points at message {id}, which is missing")))
    }

    /// Like [`SledStore::referenced_header`] for readers that scan an index without a lock:
    /// a purge may remove the header and its index entry between the scan and this read.
    /// `None` then; corruption only when the index entry is still there.
    pub(crate) fn indexed_header(
        &self,
        from: &[u8],
        id: MessageId,
    ) -> Result<Option<StoredHeader>, StoreError> {
        match self.stored_header(id)? {
            Some(stored) => Ok(Some(stored)),
            None if self.db.contains_key(from)? => Err(corrupt(
                from,
                format!("points at message {id}, which is missing"),
            )),
            None => Ok(None),
        }
    }
}

impl Drop for SledStore {
    fn drop(&mut self) {
        self.close();
    }
}

fn open_db(config: &StoreConfig) -> Result<sled::Db, StoreError> {
    let path = &config.path;
    let created = !path.exists();
    std::fs::create_dir_all(path).map_err(|source| StoreError::Io {
        context: format!("creating the store folder {}", path.display()),
        source,
    })?;
    if !wait_for_previous_instance(&path.join("db")) {
        return Err(StoreError::InUse {
            path: path.to_owned(),
        });
    }

    let db = sled::Config::new()
        .path(path)
        .cache_capacity(config.cache_capacity)
        .open()?;

    // sled writes `conf` and creates `db` and `blobs/` without syncing them or the folder.
    barrier::sync_now(&path.join("conf"), "fsync of the store's conf file")?;
    barrier::sync_now(path, "fsync of the store folder")?;
    if created {
        sync_parent(path)?;
    }
    Ok(db)
}

/// How long `open` waits for a store closed in this process to let go of its file.
const RELEASE_WAIT: Duration = Duration::from_secs(5);

/// Waits until nothing holds the lock on sled's log file, or [`RELEASE_WAIT`] passed;
/// false when the lock is still held then (another live process uses the store).
///
/// sled closes the file (and drops its `flock`) only when its last internal reference goes,
/// which can be after the `Db` itself was dropped: IO tasks and deferred garbage hold it
/// for a moment. sled flushes and syncs the log before that, so once the lock is free the
/// old instance writes nothing more.
fn wait_for_previous_instance(log: &Path) -> bool {
    let Ok(file) = std::fs::OpenOptions::new().read(true).write(true).open(log) else {
        return true;
    };

    let deadline = std::time::Instant::now() + RELEASE_WAIT;
    while let Err(std::fs::TryLockError::WouldBlock) = file.try_lock() {
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

fn sync_parent(path: &Path) -> Result<(), StoreError> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => {
            barrier::sync_now(parent, "fsync of the store folder's parent")
        }
        _ => Ok(()),
    }
}

/// Checks the format version of an existing store, or writes it into a new one.
fn check_format(db: &sled::Db) -> Result<(), StoreError> {
    match db.get(keys::META_FORMAT)? {
        Some(value) => {
            let rest = codec::payload(keys::META_FORMAT, &value)?;
            if rest.is_empty() {
                Ok(())
            } else {
                Err(corrupt(
                    keys::META_FORMAT,
                    "unexpected bytes after the version",
                ))
            }
        }
        None if db.iter().next().is_some() => Err(corrupt(
            keys::META_FORMAT,
            "the folder holds a sled database without a Ferry format version",
        )),
        None => {
            db.insert(keys::META_FORMAT, codec::encode(&())?)?;
            Ok(())
        }
    }
}

impl Store for SledStore {
    fn accept(
        &self,
        records: Vec<InboundRecord>,
        events: Vec<NewEvent>,
    ) -> Result<Vec<Accepted>, StoreError> {
        self.accept_records(records, &events)
    }

    fn take(&self, item: &ItemName) -> Result<Option<Lease>, StoreError> {
        self.take_head(item)
    }

    fn complete(&self, step: &Step) -> Result<StepDone, StoreError> {
        self.complete_step(step)
    }

    fn release(&self, lease: Lease) -> Result<(), StoreError> {
        self.release_lease(&lease)
    }

    fn record_attempt(
        &self,
        lease: &mut Lease,
        reason: &str,
        event: Option<NewEvent>,
    ) -> Result<(), StoreError> {
        self.attempt(lease, reason, event)
    }

    fn barrier(&self) -> BarrierFuture {
        if self.closed.load(Ordering::Acquire) {
            return Box::pin(async { Err(StoreError::Closed) });
        }
        self.committer.request()
    }

    fn header(&self, id: MessageId) -> Result<Option<Header>, StoreError> {
        Ok(self.stored_header(id)?.map(|stored| stored.header))
    }

    fn search_values(&self, id: MessageId) -> Result<Vec<SearchValue>, StoreError> {
        Ok(self
            .stored_header(id)?
            .map(|stored| stored.search)
            .unwrap_or_default())
    }

    fn body(&self, id: BodyId) -> Result<Option<Body>, StoreError> {
        body::read(&self.db, id)
    }

    fn queue_depth(&self, item: &ItemName) -> u64 {
        self.items.get(item).map_or(0, |queue| queue.depth())
    }

    fn oldest_queued(&self, item: &ItemName) -> Result<Option<Timestamp>, StoreError> {
        self.head_created(item)
    }

    fn search(&self, query: &Query) -> Result<Vec<Header>, StoreError> {
        self.search_headers(query)
    }

    fn session(&self, session: SessionId) -> Result<Vec<Header>, StoreError> {
        self.session_headers(session)
    }

    fn resend(&self, id: MessageId, actor: &str) -> Result<MessageId, StoreError> {
        self.resend_message(id, actor)
    }

    fn suspend(&self, id: MessageId, actor: &str) -> Result<(), StoreError> {
        self.suspend_message(id, actor)
    }

    fn discard(&self, id: MessageId, actor: &str) -> Result<(), StoreError> {
        self.discard_message(id, actor)
    }

    fn append_events(&self, events: Vec<NewEvent>) -> Result<(), StoreError> {
        self.write_events(&events)
    }

    fn events(&self, after: Option<u64>, limit: usize) -> Result<Vec<Event>, StoreError> {
        self.read_events(after, limit)
    }

    fn recent_events(&self, before: Option<u64>, limit: usize) -> Result<Vec<Event>, StoreError> {
        self.read_recent_events(before, limit)
    }

    fn purge(&self, before: Timestamp) -> Result<PurgeReport, StoreError> {
        self.purge_before(before)
    }
}
