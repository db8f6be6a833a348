//! Deciding when a file is finished being written: its size and modification time have
//! not changed for a quiet period.
//!
//! Polling, not inotify, so network shares work. A file seen for the first time whose
//! modification time is already a quiet period old is stable at once (a restart does not
//! wait a whole period for files that have sat there for hours).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// What a poll saw of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Observation {
    pub(crate) size: u64,
    pub(crate) modified: SystemTime,
}

/// Remembers what earlier polls saw.
#[derive(Debug, Default)]
pub(crate) struct Stability {
    seen: HashMap<PathBuf, (Observation, Instant)>,
}

impl Stability {
    /// Records `now`'s observation of `path`; true when the file has been unchanged for
    /// `quiet`.
    pub(crate) fn is_stable(
        &mut self,
        path: &Path,
        observation: Observation,
        quiet: Duration,
        now: Instant,
    ) -> bool {
        match self.seen.get(path) {
            Some((earlier, since)) if *earlier == observation => {
                now.duration_since(*since) >= quiet
            }
            _ => {
                self.seen.insert(path.to_owned(), (observation, now));
                let age = SystemTime::now()
                    .duration_since(observation.modified)
                    .unwrap_or_default();
                age >= quiet
            }
        }
    }

    /// Forgets a file that was taken or disappeared.
    pub(crate) fn forget(&mut self, path: &Path) {
        self.seen.remove(path);
    }

    /// Forgets every file not in `present` (deleted or renamed by someone else).
    pub(crate) fn retain(&mut self, present: &[PathBuf]) {
        self.seen.retain(|path, _| present.contains(path));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observed(size: u64, modified: SystemTime) -> Observation {
        Observation { size, modified }
    }

    #[test]
    fn a_growing_file_is_not_stable() {
        let mut stability = Stability::default();
        let path = Path::new("in/a.hl7");
        let quiet = Duration::from_secs(2);
        let start = Instant::now();
        let modified = SystemTime::now();

        assert!(!stability.is_stable(path, observed(10, modified), quiet, start));
        assert!(!stability.is_stable(
            path,
            observed(10, modified),
            quiet,
            start + Duration::from_secs(1)
        ));
        let later = modified + Duration::from_secs(1);
        assert!(!stability.is_stable(
            path,
            observed(20, later),
            quiet,
            start + Duration::from_secs(2)
        ));
        assert!(!stability.is_stable(
            path,
            observed(20, later),
            quiet,
            start + Duration::from_secs(3)
        ));
        assert!(stability.is_stable(
            path,
            observed(20, later),
            quiet,
            start + Duration::from_secs(4)
        ));
    }

    #[test]
    fn an_old_file_is_stable_at_first_sight() {
        let mut stability = Stability::default();
        let old = SystemTime::now() - Duration::from_secs(3600);
        assert!(stability.is_stable(
            Path::new("a"),
            observed(5, old),
            Duration::from_secs(2),
            Instant::now()
        ));
    }
}
