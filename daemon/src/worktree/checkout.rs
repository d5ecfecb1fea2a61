//! Checking a tree out into a new, empty worktree with several threads,
//! for when no content filter applies (`create::filters_may_apply`).
//!
//! Making 20,000 files is almost all the kernel's work, file after file;
//! libgit2's checkout makes them one at a time and compares each with
//! what the directory holds, which an empty directory makes pointless.
//! Here the directories are made first, then the files are written by
//! [`workers`] threads, each reading blobs through its own handle on the
//! repository, and the index is built from the tree's ids and the files'
//! stat data in one pass, so git trusts it as it trusts its own.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use git2::{FileMode, IndexEntry, IndexTime, ObjectType, Oid, Repository, Tree, TreeWalkMode};

/// One entry of the tree to check out.
struct Item {
    path: Vec<u8>,
    id: Oid,
    mode: i32,
}

/// How many threads write files: one per core, at most four.
fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

fn io_git(e: io::Error) -> git2::Error {
    git2::Error::from_str(&e.to_string())
}

/// Checks `tree` out into the empty worktree at `path` (of the repository
/// whose git directory is `git_dir`) and writes its index.
pub(super) fn check_out(
    git_dir: &Path,
    wt: &Repository,
    tree: &Tree<'_>,
) -> Result<(), git2::Error> {
    let path = wt
        .workdir()
        .ok_or_else(|| git2::Error::from_str("the worktree has no working directory"))?
        .to_path_buf();
    let mut dirs: Vec<PathBuf> = Vec::new();
    let mut items: Vec<Item> = Vec::new();
    let mut failed = None;
    tree.walk(TreeWalkMode::PreOrder, |root, entry| {
        let mut rel = root.as_bytes().to_vec();
        rel.extend_from_slice(entry.name_bytes());
        match entry.kind() {
            Some(ObjectType::Tree) => dirs.push(path.join(bytes_path(&rel))),
            Some(ObjectType::Blob) | Some(ObjectType::Commit) => items.push(Item {
                path: rel,
                id: entry.id(),
                mode: entry.filemode(),
            }),
            other => failed = Some(format!("unexpected {other:?} in the tree")),
        }
        git2::TreeWalkResult::Ok
    })?;
    if let Some(why) = failed {
        return Err(git2::Error::from_str(&why));
    }
    for d in &dirs {
        fs::create_dir(d).map_err(io_git)?;
    }
    let n = workers();
    let mut entries: Vec<IndexEntry> = Vec::with_capacity(items.len());
    std::thread::scope(|s| -> Result<(), git2::Error> {
        let handles: Vec<_> = (0..n)
            .map(|k| {
                let items = &items;
                let path = &path;
                s.spawn(move || -> Result<Vec<IndexEntry>, git2::Error> {
                    let repo = Repository::open(git_dir)?;
                    items
                        .iter()
                        .skip(k)
                        .step_by(n)
                        .map(|it| write_item(&repo, path, it))
                        .collect()
                })
            })
            .collect();
        for h in handles {
            let part = h
                .join()
                .map_err(|_| git2::Error::from_str("a checkout thread panicked"))??;
            entries.extend(part);
        }
        Ok(())
    })?;
    let mut index = wt.index()?;
    index.clear()?;
    for e in entries {
        index.add(&e)?;
    }
    index.write()
}

fn bytes_path(b: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(b))
}

/// Writes one file (or link, or a submodule's empty directory) and gives
/// its index entry.
fn write_item(repo: &Repository, root: &Path, it: &Item) -> Result<IndexEntry, git2::Error> {
    let target = root.join(bytes_path(&it.path));
    let mode = it.mode;
    let meta = if mode == i32::from(FileMode::Commit) {
        // A submodule: git leaves an empty directory until it is set up.
        fs::create_dir(&target).map_err(io_git)?;
        fs::symlink_metadata(&target).map_err(io_git)?
    } else {
        let blob = repo.find_blob(it.id)?;
        if mode == i32::from(FileMode::Link) {
            std::os::unix::fs::symlink(bytes_path(blob.content()), &target).map_err(io_git)?;
            fs::symlink_metadata(&target).map_err(io_git)?
        } else {
            let perm = if mode == i32::from(FileMode::BlobExecutable) {
                0o777
            } else {
                0o666
            };
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(perm)
                .open(&target)
                .map_err(io_git)?;
            f.write_all(blob.content()).map_err(io_git)?;
            f.metadata().map_err(io_git)?
        }
    };
    let time = |secs: i64, nanos: i64| IndexTime::new(secs as i32, nanos as u32);
    Ok(IndexEntry {
        ctime: time(meta.ctime(), meta.ctime_nsec()),
        mtime: time(meta.mtime(), meta.mtime_nsec()),
        dev: meta.dev() as u32,
        ino: meta.ino() as u32,
        mode: mode as u32,
        uid: meta.uid(),
        gid: meta.gid(),
        file_size: if mode == i32::from(FileMode::Commit) {
            0
        } else {
            meta.size() as u32
        },
        id: it.id,
        flags: it.path.len().min(0xfff) as u16,
        flags_extended: 0,
        path: it.path.clone(),
    })
}
