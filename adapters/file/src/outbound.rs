//! The file operation: one file per message, written atomically, never overwriting.
//!
//! The bytes go to a hidden temporary file in the target folder, which is synced, then
//! linked under its final name: a hard link fails when the name exists, so two messages
//! with the same control id (real feeds reuse `MSG00001`) both arrive, the second with a
//! numbered suffix. A reader of the folder never sees a half-written file. Every failure
//! to write (missing or unwritable folder, full disk) is transient: the engine retries
//! per the operation's policy.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use ferry_adapter::{Delivered, Delivery, DeliveryError, Operation, OperationFactory};
use ferry_production::{Diagnostics, Item};
use jiff::ZonedDateTime;

use crate::names::numbered;
use crate::settings::OutboundConfig;
use crate::template::RenderContext;

/// How many numbered names to try for one message.
const MAX_SUFFIX: u32 = 10_000;

/// Builds `operation: file` items.
#[derive(Debug, Default, Clone, Copy)]
pub struct FileOperationFactory;

impl OperationFactory for FileOperationFactory {
    fn kind(&self) -> &'static str {
        "file"
    }

    fn build(&self, item: &Item) -> Result<Arc<dyn Operation>, Diagnostics> {
        let config = crate::settings::outbound(item)?;
        Ok(Arc::new(FileOperation {
            config: Arc::new(config),
            seq: AtomicU64::new(1),
        }))
    }
}

/// A running file operation.
#[derive(Debug)]
struct FileOperation {
    config: Arc<OutboundConfig>,
    /// `{seq}` in file names: counts the files this operation wrote since it started.
    seq: AtomicU64,
}

#[async_trait]
impl Operation for FileOperation {
    fn folders(&self) -> Vec<ferry_adapter::FolderUse> {
        self.config.folders.clone()
    }

    async fn deliver(&self, delivery: Delivery<'_>) -> Result<Delivered, DeliveryError> {
        let now = ZonedDateTime::now();
        let context = RenderContext {
            header: delivery.header,
            body: delivery.body,
            seq: self.seq.fetch_add(1, Ordering::Relaxed),
            now: &now,
        };
        let name = self.config.filename.render(context);
        let temporary = format!(".ferry-{}.tmp", delivery.header.id);
        let bytes = delivery.body.bytes.clone();
        let config = self.config.clone();

        let written =
            tokio::task::spawn_blocking(move || write(&config, &temporary, &name, &bytes))
                .await
                .map_err(|error| {
                    DeliveryError::retry(format!("the file writer stopped: {error}"))
                })?;
        match written {
            Ok(path) => Ok(Delivered {
                response: None,
                note: Some(path.display().to_string()),
            }),
            Err(error) => Err(DeliveryError::retry(format!(
                "cannot write to {}: {error}",
                self.config.folder.display()
            ))),
        }
    }
}

/// Writes `bytes` under `name` (or a numbered variant) in the configured folder.
fn write(
    config: &OutboundConfig,
    temporary: &str,
    name: &str,
    bytes: &[u8],
) -> io::Result<PathBuf> {
    let folder = &config.folder;
    if config.create_folder {
        std::fs::create_dir_all(folder)?;
    }

    let temporary = folder.join(temporary);
    write_temporary(config, &temporary, bytes)?;
    let placed = place(config, &temporary, folder, name);
    if placed.is_err() || !config.overwrite {
        // The link (or the failure) leaves the temporary name behind; it must go.
        let _ = std::fs::remove_file(&temporary);
    }
    let path = placed?;

    if config.fsync {
        std::fs::File::open(folder)?.sync_all()?;
    }
    Ok(path)
}

fn write_temporary(config: &OutboundConfig, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    if let Some(mode) = config.mode {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    if config.fsync {
        file.sync_all()?;
    }
    Ok(())
}

/// Gives the temporary file its final name.
fn place(
    config: &OutboundConfig,
    temporary: &Path,
    folder: &Path,
    name: &str,
) -> io::Result<PathBuf> {
    if config.overwrite {
        let target = folder.join(name);
        std::fs::rename(temporary, &target)?;
        return Ok(target);
    }

    for n in 0..MAX_SUFFIX {
        let target = numbered(folder, name, n);
        match std::fs::hard_link(temporary, &target) {
            Ok(()) => return Ok(target),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(error),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("{MAX_SUFFIX} files named like {name} already exist"),
    ))
}
