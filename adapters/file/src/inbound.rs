//! The file service: polls a folder and hands every stable file's messages to the
//! engine.
//!
//! Per file, in name order: read it; split HL7 into messages (a piece without a usable
//! MSH becomes rejected input, kept with status Error); submit every piece in one atomic,
//! durable write; only then archive or delete the file. A file that cannot be read, or
//! whose pieces were all rejected, goes to the error folder with a `.reason.txt` beside
//! it. A store failure leaves the file where it is, to be tried at the next poll. A crash
//! between the write and the move makes the file be read again at the next start; its
//! messages are then flagged as possible duplicates, never dropped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use ferry_adapter::{
    AdapterError, InboundMessage, Service, ServiceContext, ServiceFactory, Submitted,
};
use ferry_hl7::{Piece, SplitOptions};
use ferry_message::ContentKind;
use ferry_production::{Diagnostics, Item};

use crate::moves::{move_as, move_into, write_reason};
use crate::settings::{AfterTaking, InboundConfig};
use crate::stability::{Observation, Stability};

/// Builds `service: file` items.
#[derive(Debug, Default, Clone, Copy)]
pub struct FileServiceFactory;

impl ServiceFactory for FileServiceFactory {
    fn kind(&self) -> &'static str {
        "file"
    }

    fn build(&self, item: &Item) -> Result<Box<dyn Service>, Diagnostics> {
        let config = crate::settings::inbound(item)?;
        Ok(Box::new(FileService { config }))
    }
}

/// A running file service.
#[derive(Debug)]
struct FileService {
    config: InboundConfig,
}

#[async_trait]
impl Service for FileService {
    fn folders(&self) -> Vec<ferry_adapter::FolderUse> {
        self.config.folders.clone()
    }

    async fn run(self: Box<Self>, ctx: ServiceContext) -> Result<(), AdapterError> {
        let config = Arc::new(self.config);
        let mut poller = Poller {
            config,
            ctx,
            stability: Stability::default(),
            stored: HashMap::new(),
        };
        poller.run().await;
        Ok(())
    }
}

struct Poller {
    config: Arc<InboundConfig>,
    ctx: ServiceContext,
    stability: Stability,
    /// Files whose messages are stored but which could not be archived, deleted or moved
    /// to the error folder: never stored again while they stay unchanged; only the move is
    /// tried again at each poll.
    stored: HashMap<PathBuf, Stored>,
}

/// A file taken into the store and still in the polled folder.
#[derive(Debug, Clone)]
struct Stored {
    observation: Option<Observation>,
    outcome: Outcome,
}

/// Where a taken file belongs.
#[derive(Debug, Clone)]
enum Outcome {
    /// Its messages are stored: archive or delete it.
    Taken,
    /// Nothing in it was usable: the error folder, with this reason.
    Unusable(String),
}

impl Poller {
    async fn run(&mut self) {
        self.create_folders().await;
        tracing::info!(item = %self.ctx.item, folder = %self.config.folder.display(), "polling");
        let shutdown = self.ctx.shutdown.clone();
        loop {
            if !self.ctx.intake.ready().await {
                return;
            }
            for (file, observation) in self.stable_files().await {
                if shutdown.is_cancelled() || !self.ctx.intake.ready().await {
                    return;
                }
                match self.stored.get(&file) {
                    Some(stored) if stored.observation == observation => {
                        let outcome = stored.outcome.clone();
                        self.finish(&file, observation, outcome).await;
                    }
                    _ => {
                        self.stored.remove(&file);
                        self.take(&file, observation).await;
                    }
                }
                self.stability.forget(&file);
            }

            tokio::select! {
                _ = tokio::time::sleep(self.config.poll_interval) => {}
                _ = shutdown.cancelled() => return,
            }
        }
    }

    /// Creates the polled, archive and error folders, so a first run needs no setup. A
    /// failure is reported and polling starts anyway: the folder may appear later.
    async fn create_folders(&self) {
        let mut folders = vec![self.config.folder.clone(), self.config.error_folder.clone()];
        if let AfterTaking::Archive(archive) = &self.config.after {
            folders.push(archive.clone());
        }
        for folder in folders {
            if let Err(error) = tokio::fs::create_dir_all(&folder).await {
                self.ctx
                    .intake
                    .error(format!("cannot create {}: {error}", folder.display()));
            }
        }
    }

    /// The files that match the glob and have been quiet long enough, in name order, each
    /// with what the listing saw of it.
    async fn stable_files(&mut self) -> Vec<(PathBuf, Option<Observation>)> {
        let config = self.config.clone();
        let listed = tokio::task::spawn_blocking(move || list(&config)).await;
        let candidates = match listed {
            Ok(Ok(candidates)) => candidates,
            Ok(Err(error)) => {
                self.ctx.intake.error(format!(
                    "cannot list {}: {error}; polling goes on",
                    self.config.folder.display()
                ));
                return Vec::new();
            }
            Err(error) => {
                self.ctx.intake.error(format!("listing stopped: {error}"));
                return Vec::new();
            }
        };

        let present: Vec<PathBuf> = candidates.iter().map(|(path, _)| path.clone()).collect();
        self.stability.retain(&present);
        self.stored.retain(|path, _| present.contains(path));
        let now = Instant::now();
        let quiet = self.config.quiet_period;
        candidates
            .into_iter()
            .filter(|(path, observation)| match observation {
                Some(seen) => self.stability.is_stable(path, *seen, quiet, now),
                None => true,
            })
            .collect()
    }

    /// Takes one file: read, split, submit, then archive, delete or move to error.
    async fn take(&mut self, file: &Path, observation: Option<Observation>) {
        let name = display_name(file);
        let path = file.to_owned();
        let read = tokio::task::spawn_blocking(move || read_with_identity(&path))
            .await
            .unwrap_or_else(|error| Err(std::io::Error::other(error.to_string())));
        let (bytes, identity) = match read {
            Ok(read) => read,
            Err(error) => {
                let reason = format!("cannot read {name}: {error}");
                self.finish(file, observation, Outcome::Unusable(reason))
                    .await;
                return;
            }
        };

        let messages = self.messages(&name, bytes);
        let pieces: Vec<(Bytes, Option<String>)> = messages
            .iter()
            .map(|m| (m.bytes.clone(), m.origin.clone()))
            .collect();
        let Some(submitted) = self.submit_in_batches(&name, messages).await else {
            return;
        };

        let rejected: Vec<Rejected> = submitted
            .iter()
            .zip(pieces)
            .filter_map(|(outcome, (bytes, origin))| match outcome {
                Submitted::Rejected { id, reason } => Some(Rejected {
                    id: id.0,
                    bytes,
                    origin,
                    reason: reason.clone(),
                }),
                Submitted::Accepted { .. } => None,
            })
            .collect();
        if !self.unchanged_since_read(file, &name, &identity).await {
            return;
        }
        let outcome = if rejected.len() == submitted.len() {
            let reasons: Vec<String> = rejected.iter().map(Rejected::describe).collect();
            Outcome::Unusable(format!("{name}: nothing usable: {}", reasons.join("; ")))
        } else {
            if !rejected.is_empty() {
                self.keep_rejected_pieces(&name, rejected, submitted.len())
                    .await;
            }
            Outcome::Taken
        };
        self.finish(file, observation, outcome).await;
    }

    /// Hands a file's messages to the engine, [`BATCH`] at a time, each batch one durable
    /// write, waiting for room in the targets' queues between batches. `None` when the
    /// store failed or the production stops part way: the file then stays and is read
    /// again, its messages already stored flagged as possible duplicates.
    async fn submit_in_batches(
        &self,
        name: &str,
        messages: Vec<InboundMessage>,
    ) -> Option<Vec<Submitted>> {
        let mut submitted = Vec::with_capacity(messages.len());
        let mut messages = messages.into_iter().peekable();
        while messages.peek().is_some() {
            if !submitted.is_empty() && !self.ctx.intake.ready().await {
                return None;
            }
            let batch: Vec<InboundMessage> = messages.by_ref().take(BATCH).collect();
            match self.ctx.intake.submit(batch).await {
                Ok(done) => submitted.extend(done),
                Err(error) => {
                    self.ctx.intake.error(format!(
                        "could not store the messages of {name}: {error}; the file stays and \
                         is read again at the next poll"
                    ));
                    return None;
                }
            }
        }
        Some(submitted)
    }

    /// True when `file` is still the file that was read, unchanged. A sender that appends
    /// to it or replaces it while Ferry reads would otherwise lose what it wrote when the
    /// file is archived; it is left in place instead, to be taken again.
    async fn unchanged_since_read(&self, file: &Path, name: &str, read: &Identity) -> bool {
        let path = file.to_owned();
        let now = tokio::task::spawn_blocking(move || std::fs::metadata(&path).map(identity_of))
            .await
            .ok()
            .and_then(Result::ok);
        if now.as_ref() == Some(read) {
            return true;
        }
        self.ctx.intake.warn(format!(
            "{name} changed while it was read; it stays in the folder and is taken again, \
             its messages stored so far flagged as possible duplicates"
        ));
        false
    }

    /// Writes the rejected pieces of a file that also held usable messages to the error
    /// folder (`<name>.rejected`, with a `.reason.txt` naming each piece), so what was
    /// refused can be found without the store.
    async fn keep_rejected_pieces(&self, name: &str, rejected: Vec<Rejected>, total: usize) {
        let count = rejected.len();
        let folder = self.config.error_folder.clone();
        let file_name = format!("{name}.rejected");
        let written = tokio::task::spawn_blocking(move || {
            let bytes: Vec<u8> = rejected
                .iter()
                .flat_map(|r| r.bytes.iter().copied())
                .collect();
            let reasons: Vec<String> = rejected.iter().map(Rejected::describe).collect();
            write_new(&folder, &file_name, &bytes, &reasons.join("\n"))
        })
        .await;

        let kept = match written {
            Ok(Ok(path)) => format!("; the rejected pieces are in {}", path.display()),
            Ok(Err(error)) => format!("; they could not be written to the error folder: {error}"),
            Err(error) => format!("; {error}"),
        };
        self.ctx.intake.warn(format!(
            "{name}: {count} of {total} pieces rejected and kept with status Error{kept}"
        ));
    }

    /// The file's messages, as the engine will store them.
    fn messages(&self, name: &str, bytes: Vec<u8>) -> Vec<InboundMessage> {
        let config = &self.config;
        if config.kind != ContentKind::Hl7v2 || !config.split {
            let mut message = InboundMessage::new(config.kind, bytes);
            message.charset = config.charset;
            message.origin = Some(name.to_owned());
            if message.bytes.is_empty() {
                message.rejected = Some(format!("{name} is empty"));
            }
            return vec![message];
        }

        let options = SplitOptions {
            normalise_terminators: config.normalise_terminators,
            lenient_lf: config.lenient_terminators,
        };
        let split = ferry_hl7::split_messages(&bytes, &options);
        for warning in &split.warnings {
            self.ctx.intake.warn(format!("{name}: {warning}"));
        }

        let mut messages: Vec<InboundMessage> = split
            .pieces
            .into_iter()
            .map(|piece| self.piece_message(name, piece))
            .collect();
        if messages.is_empty() {
            let mut empty = InboundMessage::new(ContentKind::Hl7v2, bytes);
            empty.origin = Some(name.to_owned());
            empty.rejected = Some(format!("{name} holds no HL7 message"));
            messages.push(empty);
        }
        messages
    }

    fn piece_message(&self, name: &str, piece: Piece) -> InboundMessage {
        let (offset, bytes, rejected) = match piece {
            Piece::Message(message) => (message.offset, message.bytes, None),
            Piece::Rejected {
                offset,
                bytes,
                reason,
            } => (offset, bytes, Some(reason)),
        };
        let mut message = InboundMessage::new(ContentKind::Hl7v2, bytes);
        message.charset = self.config.charset;
        message.origin = Some(format!("{name} at byte {offset}"));
        message.rejected = rejected;
        message
    }

    /// Moves a taken file where it belongs: archive (or delete) when its messages are
    /// stored, the error folder with its reason when nothing in it was usable. When the
    /// move fails the file is remembered, so it is not stored again while it stays as it
    /// is; the move is tried again at the next poll.
    async fn finish(&mut self, file: &Path, observation: Option<Observation>, outcome: Outcome) {
        let name = display_name(file);
        let source = file.to_owned();
        let after = self.config.after.clone();
        let error_folder = self.config.error_folder.clone();
        let target = outcome.clone();
        let moved = tokio::task::spawn_blocking(move || match target {
            Outcome::Taken => match after {
                AfterTaking::Archive(folder) => move_into(&source, &folder).map(Some),
                AfterTaking::Delete => std::fs::remove_file(&source).map(|()| None),
            },
            Outcome::Unusable(reason) => {
                let moved = move_into(&source, &error_folder)?;
                write_reason(&moved, &reason)?;
                Ok(Some(moved))
            }
        })
        .await
        .unwrap_or_else(|error| Err(std::io::Error::other(error.to_string())));

        let was_pending = self.stored.remove(file).is_some();
        match (moved, &outcome) {
            (Ok(_), Outcome::Taken) => {
                if was_pending {
                    self.ctx
                        .intake
                        .warn(format!("{name} could be moved out at last"));
                }
                tracing::debug!(file = %name, "taken");
            }
            (Ok(moved), Outcome::Unusable(reason)) => {
                let place = moved.map(|p| p.display().to_string()).unwrap_or_default();
                self.ctx.intake.error(format!("{reason}; moved to {place}"));
            }
            (Err(error), _) if error.kind() == std::io::ErrorKind::NotFound => {
                tracing::debug!(file = %name, "gone before it could be moved");
            }
            (Err(error), _) => {
                self.ctx.intake.error(format!(
                    "{name} is stored but could not be moved out of the polled folder: {error}; \
                     it is not stored again while it stays unchanged (a restart would read it \
                     again, flagged as a possible duplicate)"
                ));
                let stored = Stored {
                    observation,
                    outcome,
                };
                self.stored.insert(file.to_owned(), stored);
            }
        }
    }
}

/// How many messages of one file go into one atomic write: a batch file of 100,000
/// messages must not be held in memory and written in one piece.
const BATCH: usize = 500;

/// What identifies the content of a file: the same inode, size and modification time.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Identity {
    device: u64,
    inode: u64,
    size: u64,
    modified: Option<std::time::SystemTime>,
}

fn identity_of(metadata: std::fs::Metadata) -> Identity {
    use std::os::unix::fs::MetadataExt;

    Identity {
        device: metadata.dev(),
        inode: metadata.ino(),
        size: metadata.len(),
        modified: metadata.modified().ok(),
    }
}

/// Reads a file through one handle, with the identity of what was read.
fn read_with_identity(path: &Path) -> std::io::Result<(Vec<u8>, Identity)> {
    use std::io::Read;

    let mut file = std::fs::File::open(path)?;
    let identity = identity_of(file.metadata()?);
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok((bytes, identity))
}

/// A piece of a file that the engine kept with status Error.
struct Rejected {
    id: u64,
    bytes: Bytes,
    origin: Option<String>,
    reason: String,
}

impl Rejected {
    fn describe(&self) -> String {
        let origin = self.origin.as_deref().unwrap_or("a piece");
        format!("{origin} (message {}): {}", self.id, self.reason)
    }
}

/// Writes `bytes` as a new file in `folder` (a numbered name if `name` exists) with
/// `reason` beside it.
fn write_new(folder: &Path, name: &str, bytes: &[u8], reason: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(folder)?;
    let temporary = folder.join(format!(".{name}.part"));
    std::fs::write(&temporary, bytes)?;
    let placed = move_as(&temporary, folder, name);
    let _ = std::fs::remove_file(&temporary);
    let placed = placed?;
    write_reason(&placed, reason)?;
    Ok(placed)
}

/// Lists the candidates: names matching the glob, not hidden. Each comes with its size
/// and modification time, or `None` when its metadata cannot be read (a broken link):
/// such a file is taken at once and ends in the error folder.
fn list(config: &InboundConfig) -> std::io::Result<Vec<(PathBuf, Option<Observation>)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&config.folder)? {
        let entry = entry?;
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str() else {
            continue;
        };
        if name.starts_with('.') || !config.glob.matches(name) {
            continue;
        }

        let path = entry.path();
        match std::fs::metadata(&path) {
            Ok(metadata) if metadata.is_file() => {
                // Without a modification time (rare file systems) the size alone decides.
                let modified = metadata.modified().unwrap_or(std::time::UNIX_EPOCH);
                let observation = Observation {
                    size: metadata.len(),
                    modified,
                };
                found.push((path, Some(observation)));
            }
            Ok(_) => {}
            Err(_) => found.push((path, None)),
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found)
}

fn display_name(file: &Path) -> String {
    file.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.display().to_string())
}
