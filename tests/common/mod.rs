//! Shared test support: temporary production folders, the real `ferry` binary, an
//! in-process engine, the shared corpus, and waiting for conditions instead of sleeping.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

pub mod admin;
pub mod amqp;
pub mod binary;
pub mod corpus;
pub mod hl7;
pub mod http;
pub mod inproc;
pub mod mllp;
pub mod rabbit;
pub mod yaml;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Waits until `condition` holds, checking every 20 ms; panics with `what` after
/// `timeout`. Tests wait for what they expect to see, never for a fixed time.
pub fn wait_until(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The async version of [`wait_until`].
pub async fn eventually(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Regular files directly in `folder` (none if it does not exist), sorted.
pub fn files_in(folder: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// Files in `folder` whose name does not start with a dot, sorted.
pub fn visible_files(folder: &Path) -> Vec<PathBuf> {
    files_in(folder)
        .into_iter()
        .filter(|path| !path.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect()
}

/// Writes `bytes` to `folder/name` atomically (a hidden temporary, then a rename), the
/// way a careful sender drops files.
pub fn drop_file(folder: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(folder).unwrap();
    let temporary = folder.join(format!(".{name}.part"));
    std::fs::write(&temporary, bytes).unwrap();
    std::fs::rename(&temporary, folder.join(name)).unwrap();
}

/// True when the tests run as root, where file permissions cannot make a file unreadable.
pub fn running_as_root() -> bool {
    rustix::process::geteuid().is_root()
}
