#![allow(unused_variables, clippy::todo)]
use std::path::{Path, PathBuf};
#[derive(Debug, thiserror::Error)]
pub enum WorktreeError {
    #[error("x")]
    NotARepository { dir: PathBuf },
    #[error("x")]
    NoCommit { dir: PathBuf },
    #[error("x")]
    BranchExists { branch: String },
    #[error("x")]
    PathExists { path: PathBuf },
    #[error("x")]
    Git {
        context: String,
        source: git2::Error,
    },
}
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Worktree {
    pub name: String,
    pub path: PathBuf,
    pub branch: String,
    pub base: String,
}
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Inspection {
    pub uncommitted: Vec<String>,
    pub untracked: Vec<String>,
    pub ahead: usize,
}
impl Inspection {
    pub fn is_clean(&self) -> bool {
        todo!()
    }
    pub fn reason(&self) -> Option<String> {
        todo!()
    }
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Removed,
    Kept { inspection: Inspection },
    Saved { reference: String, commit: String },
}
pub fn check_repository(dir: &Path) -> Result<PathBuf, WorktreeError> {
    Err(WorktreeError::NotARepository { dir: dir.into() })
}
pub fn create(repo_dir: &Path, root: &Path, name: &str) -> Result<Worktree, WorktreeError> {
    todo!()
}
pub fn inspect(repo_dir: &Path, wt: &Worktree) -> Result<Inspection, WorktreeError> {
    todo!()
}
pub fn remove_if_clean(repo_dir: &Path, wt: &Worktree) -> Result<Outcome, WorktreeError> {
    todo!()
}
pub fn force_remove(repo_dir: &Path, wt: &Worktree) -> Result<Outcome, WorktreeError> {
    todo!()
}
pub fn list(repo_dir: &Path, root: &Path) -> Result<Vec<Worktree>, WorktreeError> {
    todo!()
}
