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

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use ferry_adapter::{
    AdapterError, InboundMessage, Service, ServiceContext, ServiceFactory, Submitted,
};
use ferry_hl7::{Piece, SplitOptions};
use ferry_message::ContentKind;
use ferry_production::{Diagnostics, Item};

use crate::moves::{move_into, write_reason};
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
    async fn run(self: Box<Self>, ctx: ServiceContext) -> Result<(), AdapterError> {
        let config = Arc::new(self.config);
        let mut poller = Poller {
            config,
            ctx,
            stability: Stability::default(),
        };
        poller.run().await;
        Ok(())
    }
}

struct Poller {
    config: Arc<InboundConfig>,
    ctx: ServiceContext,
    stability: Stability,
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
            for file in self.stable_files().await {
                if shutdown.is_cancelled() || !self.ctx.intake.ready().await {
                    return;
                }
                self.take(&file).await;
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

    /// The files that match the glob and have been quiet long enough, in name order.
    async fn stable_files(&mut self) -> Vec<PathBuf> {
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
        let now = Instant::now();
        let quiet = self.config.quiet_period;
        candidates
            .into_iter()
            .filter_map(|(path, observation)| match observation {
                Some(seen) if !self.stability.is_stable(&path, seen, quiet, now) => None,
                _ => Some(path),
            })
            .collect()
    }

    /// Takes one file: read, split, submit, then archive, delete or move to error.
    async fn take(&self, file: &Path) {
        let name = display_name(file);
        let bytes = match tokio::fs::read(file).await {
            Ok(bytes) => bytes,
            Err(error) => {
                let reason = format!("cannot read {name}: {error}");
                self.reject_file(file, &reason).await;
                return;
            }
        };

        let messages = self.messages(&name, bytes);
        let submitted = match self.ctx.intake.submit(messages).await {
            Ok(submitted) => submitted,
            Err(error) => {
                self.ctx.intake.error(format!(
                    "could not store the messages of {name}: {error}; the file stays and is \
                     read again at the next poll"
                ));
                return;
            }
        };

        let rejected: Vec<&str> = submitted
            .iter()
            .filter_map(|s| match s {
                Submitted::Rejected { reason, .. } => Some(reason.as_str()),
                Submitted::Accepted { .. } => None,
            })
            .collect();
        if rejected.len() == submitted.len() {
            let reason = format!("{name}: nothing usable: {}", rejected.join("; "));
            self.reject_file(file, &reason).await;
            return;
        }
        if !rejected.is_empty() {
            self.ctx.intake.warn(format!(
                "{name}: {} of {} pieces rejected and kept with status Error",
                rejected.len(),
                submitted.len()
            ));
        }
        self.done_with(file, &name).await;
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
            } => (
                offset,
                bytes,
                Some(format!("{name} at byte {offset}: {reason}")),
            ),
        };
        let mut message = InboundMessage::new(ContentKind::Hl7v2, bytes);
        message.charset = self.config.charset;
        message.origin = Some(format!("{name} at byte {offset}"));
        message.rejected = rejected;
        message
    }

    /// Archives or deletes a file whose messages are durable.
    async fn done_with(&self, file: &Path, name: &str) {
        let file = file.to_owned();
        let after = self.config.after.clone();
        let result = tokio::task::spawn_blocking(move || match after {
            AfterTaking::Archive(folder) => move_into(&file, &folder).map(|_| ()),
            AfterTaking::Delete => std::fs::remove_file(&file),
        })
        .await;
        match result {
            Ok(Ok(())) => tracing::debug!(file = %name, "taken"),
            Ok(Err(error)) => self.ctx.intake.error(format!(
                "{name} is stored but could not be archived or deleted: {error}; it will be \
                 read again and its messages flagged as possible duplicates"
            )),
            Err(error) => self
                .ctx
                .intake
                .error(format!("archiving {name} stopped: {error}")),
        }
    }

    /// Moves a file that gave nothing usable to the error folder, with its reason.
    async fn reject_file(&self, file: &Path, reason: &str) {
        let file = file.to_owned();
        let folder = self.config.error_folder.clone();
        let why = reason.to_owned();
        let moved = tokio::task::spawn_blocking(move || {
            let moved = move_into(&file, &folder)?;
            write_reason(&moved, &why)?;
            Ok::<_, std::io::Error>(moved)
        })
        .await;
        match moved {
            Ok(Ok(moved)) => self
                .ctx
                .intake
                .error(format!("{reason}; moved to {}", moved.display())),
            Ok(Err(error)) => self.ctx.intake.error(format!(
                "{reason}; could not move it to the error folder either: {error}"
            )),
            Err(error) => self.ctx.intake.error(format!("{reason}; {error}")),
        }
    }
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
