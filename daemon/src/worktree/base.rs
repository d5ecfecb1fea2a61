//! The base record: the commit a worktree was made from, kept in a file
//! `rcd-base` in the worktree's administrative directory
//! (`<git common dir>/worktrees/<admin name>/`), so that [`super::list()`] can
//! rebuild everything from git itself after a daemon restart.

use std::fs;
use std::path::Path;

use git2::Oid;

use super::error::{WorktreeError, io_err};

/// File in the worktree's administrative directory holding the base oid.
const BASE_FILE: &str = "rcd-base";

/// Records `base` as the base commit of the worktree whose administrative
/// directory is `admin_dir`.
pub(super) fn record_base(admin_dir: &Path, base: Oid) -> Result<(), WorktreeError> {
    let base_file = admin_dir.join(BASE_FILE);
    fs::write(&base_file, format!("{base}\n")).map_err(|e| {
        io_err(
            format!("recording the base commit in {}", base_file.display()),
            e,
        )
    })
}

/// The recorded base commit, if the record exists and holds an oid.
pub(super) fn read_base(admin_dir: &Path) -> Option<Oid> {
    let text = fs::read_to_string(admin_dir.join(BASE_FILE)).ok()?;
    Oid::from_str(text.trim()).ok()
}
