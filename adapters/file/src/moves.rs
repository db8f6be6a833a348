//! Moving a taken file out of the polled folder without ever overwriting another file.

use std::io;
use std::path::{Path, PathBuf};

use crate::names::numbered;

/// How many numbered names to try before giving up.
const MAX_SUFFIX: u32 = 10_000;

/// Moves `file` into `folder` under its own name, or a numbered one when that exists;
/// creates the folder if needed. Returns where it went.
///
/// A rename is atomic within one file system; across file systems the file is copied,
/// synced, then removed.
pub(crate) fn move_into(file: &Path, folder: &Path) -> io::Result<PathBuf> {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "file name is not UTF-8"))?;
    move_as(file, folder, name)
}

/// Moves `file` into `folder` as `name`, or a numbered variant when that exists.
pub(crate) fn move_as(file: &Path, folder: &Path, name: &str) -> io::Result<PathBuf> {
    std::fs::create_dir_all(folder)?;
    for n in 0..MAX_SUFFIX {
        let target = numbered(folder, name, n);
        if std::fs::symlink_metadata(&target).is_ok() {
            continue;
        }
        return match std::fs::rename(file, &target) {
            Ok(()) => Ok(target),
            Err(error) if error.kind() == io::ErrorKind::CrossesDevices => {
                copy_then_remove(file, &target).map(|()| target)
            }
            Err(error) => Err(error),
        };
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!(
            "{MAX_SUFFIX} files named like {name} already exist in {}",
            folder.display()
        ),
    ))
}

fn copy_then_remove(file: &Path, target: &Path) -> io::Result<()> {
    std::fs::copy(file, target)?;
    std::fs::File::open(target)?.sync_all()?;
    std::fs::remove_file(file)
}

/// Writes `reason` beside a file moved to the error folder, as `<name>.reason.txt`.
pub(crate) fn write_reason(moved: &Path, reason: &str) -> io::Result<()> {
    let mut name = moved.as_os_str().to_owned();
    name.push(".reason.txt");
    std::fs::write(PathBuf::from(name), format!("{reason}\n"))
}
