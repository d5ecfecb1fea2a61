//! What a worktree session changed: `rcctl diff`, the web UI's review,
//! and the `+added −removed` of the list.

use serde::{Deserialize, Serialize};

/// A session's change in short, for lists: against its base commit,
/// uncommitted and untracked files included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeStat {
    pub files: u32,
    pub added: u64,
    pub removed: u64,
}

/// The diff of a worktree session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diff {
    /// The session.
    pub name: String,
    /// The commit compared against (hex): the worktree's base, or its
    /// `HEAD` for the uncommitted changes only.
    pub base: String,
    /// Only the changes not yet committed.
    pub uncommitted: bool,
    pub files: Vec<FileDiff>,
    /// Lines added and removed in all files (also those whose lines are
    /// not given).
    pub added: u64,
    pub removed: u64,
    /// Set when the limit of the whole diff ([`Diff::MAX_TOTAL_BYTES`])
    /// left the lines of some files out.
    pub truncated: bool,
}

impl Diff {
    /// Most lines given for one file.
    pub const MAX_FILE_LINES: usize = 2000;
    /// Most bytes of line text in one diff.
    pub const MAX_TOTAL_BYTES: usize = 512 * 1024;
    /// Longest line given, in bytes; longer ones are cut (and say so).
    pub const MAX_LINE: usize = 2000;
}

/// One file of a [`Diff`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDiff {
    pub path: String,
    /// The path before a rename.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_path: Option<String>,
    pub status: FileStatus,
    /// Binary: named, never printed.
    pub binary: bool,
    pub added: u64,
    pub removed: u64,
    pub hunks: Vec<Hunk>,
    /// Why the lines are not (all) given: the file's or the diff's limit,
    /// or only the stat was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileStatus {
    Added,
    /// New and not yet known to git.
    Untracked,
    Modified,
    Deleted,
    Renamed,
    /// Its type changed (a file became a link).
    Typechange,
}

impl FileStatus {
    /// A file that was not there before.
    pub fn is_new(self) -> bool {
        matches!(self, FileStatus::Added | FileStatus::Untracked)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FileStatus::Added => "added",
            FileStatus::Untracked => "untracked",
            FileStatus::Modified => "modified",
            FileStatus::Deleted => "deleted",
            FileStatus::Renamed => "renamed",
            FileStatus::Typechange => "typechange",
        }
    }
}

/// A run of changed lines with their context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hunk {
    /// `@@ -1,4 +1,5 @@ fn main()`.
    pub header: String,
    pub lines: Vec<Line>,
}

/// One line of a [`Hunk`]: `kind` is ` `, `+` or `-`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub kind: char,
    /// Without its line ending.
    pub text: String,
}
