//! File-system helpers for the data directory: private permissions and fsync of directories.
//! Public for the other files Palisade keeps in the data directory (the audit journal).

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::StoreError;

/// Creates `dir` (and its parents) with mode 0700 if it does not exist. An existing directory
/// is left as the operator made it.
pub fn ensure_private_dir(dir: &Path) -> Result<(), StoreError> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| StoreError::config(&format!("creating data directory {}", dir.display()), e))
}

/// Creates a new file with mode 0600, failing if it exists.
pub fn create_private_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// Makes a directory entry (a created, renamed or removed file) durable.
pub fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::backend(&format!("syncing directory {}", dir.display()), e))
}

/// Refuses a file that group or others may read or write: such a root key is no secret.
pub(crate) fn check_private_file(path: &Path) -> Result<(), StoreError> {
    let meta = fs::metadata(path)
        .map_err(|e| StoreError::config(&format!("reading {}", path.display()), e))?;
    if !meta.is_file() {
        return Err(StoreError::Config(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(StoreError::Config(format!(
            "{} has mode {mode:04o}: group or others can access it; \
             run `chmod 600 {}` (and consider the key compromised)",
            path.display(),
            path.display()
        )));
    }
    Ok(())
}

/// Removes a file; a file that is already gone is fine.
pub(crate) fn remove_if_exists(path: &Path) -> Result<(), StoreError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::backend(
            &format!("removing {}", path.display()),
            e,
        )),
    }
}
