//! Folders items use, and telling whether two spellings name the same folder.

use std::path::{Component, Path, PathBuf};

use ferry_production::Location;

/// One folder an item reads or writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderUse {
    /// The folder as the production names it.
    pub path: PathBuf,
    /// True when the item takes input from it; false when it writes into it.
    pub polled: bool,
    /// The setting that names it, for the error message.
    pub setting: &'static str,
    /// Where that setting is in the production file.
    pub at: Location,
}

/// True when `a` and `b` name the same folder: compared as absolute paths with `.` and
/// `..` resolved, and through symbolic links when the folders exist.
pub fn same_folder(a: &Path, b: &Path) -> bool {
    resolved(a) == resolved(b)
}

/// True when `inner` is `outer` or a folder inside it (same resolution as
/// [`same_folder`]).
pub fn within_folder(inner: &Path, outer: &Path) -> bool {
    resolved(inner).starts_with(resolved(outer))
}

fn resolved(path: &Path) -> PathBuf {
    let absolute = match std::env::current_dir() {
        Ok(current) => current.join(path),
        Err(_) => path.to_owned(),
    };
    if let Ok(canonical) = absolute.canonicalize() {
        return canonical;
    }

    let mut clean = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                clean.pop();
            }
            other => clean.push(other),
        }
    }
    clean
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_folder_are_the_same() {
        assert!(same_folder(
            Path::new("/tmp/x/in/../in/"),
            Path::new("/tmp/x/in")
        ));
        assert!(same_folder(Path::new("./var/in"), Path::new("var/./in")));
        assert!(!same_folder(
            Path::new("/tmp/x/in"),
            Path::new("/tmp/x/out")
        ));
    }
}

/// An item that a service's settings name, so the production-wide check can refuse a name
/// that is no item, an item of the wrong role, or one the service's messages never reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemReference {
    /// The item named.
    pub name: ferry_message::ItemName,
    /// The setting that names it, for the error message.
    pub setting: &'static str,
    /// Where that setting is in the production file.
    pub at: Location,
    /// It must be an operation the service's messages reach through its targets (the
    /// operation whose reply the service waits for); otherwise it only has to be an
    /// operation or process the service can send new messages to.
    pub downstream: bool,
}
