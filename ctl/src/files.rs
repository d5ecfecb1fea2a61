//! Files rcctl writes for the user: replaced whole, never left half
//! written.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Replaces `file` with `text`: written to a temporary file beside it
/// with `mode`, fsynced, renamed over it, and the rename made durable by
/// fsyncing the directory. A missing directory is made, 0700. A failure
/// leaves `file` as it was and no temporary file behind.
pub fn replace(file: &Path, text: &str, mode: u32) -> std::io::Result<()> {
    let dir = file.parent().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the file has no directory",
        )
    })?;
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let tmp = dir.join(format!(
        ".{}.rcd-{:08x}",
        file.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        rand::random::<u32>()
    ));
    let written = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        // The umask may have narrowed what `open` made.
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))?;
        std::fs::rename(&tmp, file)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}
