//! The durability barrier, with group commit.
//!
//! One committer thread owns durability. [`Committer::request`] queues a request at the
//! moment it is called and returns a future for its answer. The committer takes every
//! request waiting, runs one sync round and answers them all, so any number of concurrent
//! writers share one round; a round covers every write applied before its requests were
//! queued.
//!
//! A round with [`Durability::Fsync`]:
//! 1. `Db::flush` writes sled's buffers to `<store>/db` (sled then calls only
//!    `sync_file_range`, which neither flushes the drive cache nor the file size);
//! 2. `fdatasync` of `<store>/db` through a handle opened at start;
//! 3. `fsync` of every file in `blobs/` not synced yet at its current size (sled writes
//!    blobs with plain `write` and never syncs them), then of the `blobs/` folder.
//!
//! Blob files are tracked by name and size rather than by the highest name: sled names
//! them by log position, but a concurrent writer may still be writing a lower-numbered one
//! when a round lists the folder.
//!
//! With [`Durability::Os`] a round is only step 1: the data survives a crash of Ferry, not
//! a power cut or a kernel crash (sled's background flusher syncs every 500 ms).
//!
//! After a failed sync the kernel may have dropped the dirty pages it could not write, so a
//! later sync that succeeds would prove nothing: the committer answers every later request
//! with the first failure until the store is reopened.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use crate::hooks::TestHooks;
use crate::{BarrierFuture, Durability, StoreError};

enum Command {
    Sync(oneshot::Sender<Result<(), StoreError>>),
    Stop,
}

/// The handle to the committer thread.
#[derive(Debug)]
pub(crate) struct Committer {
    commands: Sender<Command>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Committer {
    /// Starts the committer for the store in `path`, syncing every blob file already there
    /// once (a previous run may have crashed before syncing them).
    ///
    /// # Errors
    ///
    /// [`StoreError::Io`] when `<path>/db` cannot be opened or the first sync fails.
    pub(crate) fn start(
        db: sled::Db,
        path: &Path,
        durability: Durability,
        hooks: Arc<TestHooks>,
    ) -> Result<Committer, StoreError> {
        let db_file = match durability {
            Durability::Fsync => Some(open_for_sync(&path.join("db"))?),
            Durability::Os => None,
        };
        let mut syncer = Syncer {
            db,
            db_file,
            blobs: path.join("blobs"),
            synced_blobs: HashMap::new(),
            failure: None,
            hooks,
        };
        syncer.sync()?;

        let (commands, requests) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("ferry-store-committer".to_owned())
            .spawn(move || syncer.run(&requests))
            .map_err(|source| StoreError::Io {
                context: "starting the store's committer thread".to_owned(),
                source,
            })?;

        Ok(Committer {
            commands,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Queues a barrier request now and returns the future of its answer.
    pub(crate) fn request(&self) -> BarrierFuture {
        let (answer, answered) = oneshot::channel();
        let sent = self.commands.send(Command::Sync(answer)).is_ok();

        Box::pin(async move {
            if !sent {
                return Err(StoreError::Closed);
            }
            answered.await.unwrap_or(Err(StoreError::Closed))
        })
    }

    /// Runs a last sync round and stops the thread; later requests answer
    /// [`StoreError::Closed`].
    pub(crate) fn stop(&self) {
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(thread) = thread else {
            return;
        };

        let _ = self.commands.send(Command::Stop);
        if thread.join().is_err() {
            tracing::error!("the store's committer thread panicked");
        }
    }
}

/// What a failed round reports to each waiter.
#[derive(Debug, Clone)]
struct Failure {
    context: String,
    kind: io::ErrorKind,
    message: String,
}

impl Failure {
    fn new(context: &str, err: impl std::fmt::Display, kind: io::ErrorKind) -> Self {
        Failure {
            context: context.to_owned(),
            kind,
            message: err.to_string(),
        }
    }

    fn io(context: &str, err: &io::Error) -> Self {
        Failure::new(context, err, err.kind())
    }

    fn to_error(&self) -> StoreError {
        StoreError::Io {
            context: self.context.clone(),
            source: io::Error::new(self.kind, self.message.clone()),
        }
    }
}

struct Syncer {
    db: sled::Db,
    db_file: Option<File>,
    blobs: PathBuf,
    /// Blob files synced so far, with the size they had when synced.
    synced_blobs: HashMap<u64, u64>,
    failure: Option<Failure>,
    hooks: Arc<TestHooks>,
}

impl Syncer {
    fn run(mut self, requests: &Receiver<Command>) {
        while let Ok(first) = requests.recv() {
            let mut waiters = Vec::new();
            let mut stop = false;
            for command in std::iter::once(first).chain(requests.try_iter()) {
                match command {
                    Command::Sync(answer) => waiters.push(answer),
                    Command::Stop => stop = true,
                }
            }

            let started = std::time::Instant::now();
            let outcome = self.round();
            metrics::histogram!("ferry_store_flush_seconds").record(started.elapsed());
            metrics::histogram!("ferry_store_flush_batch_size").record(waiters.len() as f64);
            self.hooks.record_round(waiters.len());
            for answer in waiters {
                let _ = answer.send(outcome.clone().map_err(|failure| failure.to_error()));
            }

            if stop {
                return;
            }
        }
    }

    fn sync(&mut self) -> Result<(), StoreError> {
        self.round().map_err(|failure| failure.to_error())
    }

    fn round(&mut self) -> Result<(), Failure> {
        if let Some(failure) = &self.failure {
            return Err(failure.clone());
        }

        let outcome = self.flush_and_sync();
        if let Err(failure) = &outcome {
            tracing::error!(
                context = %failure.context,
                error = %failure.message,
                "store sync failed; writes are no longer acknowledged until restart"
            );
            self.failure = Some(failure.clone());
        }
        outcome
    }

    fn flush_and_sync(&mut self) -> Result<(), Failure> {
        self.db
            .flush()
            .map_err(|err| Failure::new("flushing sled's log", err, io::ErrorKind::Other))?;

        let Some(db_file) = &self.db_file else {
            return Ok(());
        };
        db_file
            .sync_data()
            .map_err(|err| Failure::io("fdatasync of the store log", &err))?;
        self.hooks.record_fsync();

        self.sync_new_blobs()
    }

    fn sync_new_blobs(&mut self) -> Result<(), Failure> {
        let listing = match std::fs::read_dir(&self.blobs) {
            Ok(listing) => listing,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(Failure::io("listing the store's blobs", &err)),
        };

        let mut present = HashMap::new();
        let mut synced_any = false;
        for entry in listing {
            let entry = entry.map_err(|err| Failure::io("listing the store's blobs", &err))?;
            let Some(name) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            let Some(len) = self.sync_blob(name, &entry.path())? else {
                continue;
            };
            synced_any |= self.synced_blobs.get(&name) != Some(&len);
            present.insert(name, len);
        }

        if synced_any {
            sync_path(&self.blobs, "fsync of the blobs folder")?;
            self.hooks.record_fsync();
        }
        self.synced_blobs = present;
        Ok(())
    }

    /// Syncs one blob file unless it was synced at its current size; returns that size, or
    /// `None` when sled removed the file meanwhile.
    fn sync_blob(&self, name: u64, path: &Path) -> Result<Option<u64>, Failure> {
        let len = match std::fs::metadata(path) {
            Ok(meta) => meta.len(),
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(Failure::io("reading a blob's size", &err)),
        };
        if self.synced_blobs.get(&name) == Some(&len) {
            return Ok(Some(len));
        }

        match File::open(path) {
            Ok(file) => {
                file.sync_all()
                    .map_err(|err| Failure::io("fsync of a blob file", &err))?;
                self.hooks.record_fsync();
                Ok(Some(len))
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(Failure::io("opening a blob file", &err)),
        }
    }
}

/// Opens a file or folder and `fsync`s it.
fn sync_path(path: &Path, context: &str) -> Result<(), Failure> {
    File::open(path)
        .and_then(|file| file.sync_all())
        .map_err(|err| Failure::io(context, &err))
}

/// [`sync_path`] for callers outside the committer.
pub(crate) fn sync_now(path: &Path, context: &str) -> Result<(), StoreError> {
    sync_path(path, context).map_err(|failure| failure.to_error())
}

fn open_for_sync(path: &Path) -> Result<File, StoreError> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|source| StoreError::Io {
            context: format!("opening {} to sync it", path.display()),
            source,
        })
}
