//! What a worktree session changed: the diff of its working tree (index
//! and untracked files included, ignored ones not) against its base
//! commit, or against its `HEAD` for what is not committed yet. Renames
//! are found (untracked files too). Bounded: lines per file, bytes in
//! all, the length of a line; binary files are named, never printed.

use super::Worktree;
use super::error::git_err;
use git2::{Delta, DiffFindOptions, DiffOptions, Oid, Patch, Repository};
use rcd_proto::diff::{ChangeStat, Diff, FileDiff, FileStatus, Hunk, Line};

use super::WorktreeError;

/// The diff of `wt`; `stat`: the counts of each file, no lines.
pub fn diff(wt: &Worktree, uncommitted: bool, stat: bool) -> Result<Diff, WorktreeError> {
    let repo = Repository::open(&wt.path)
        .map_err(|e| git_err(format!("opening the worktree {}", wt.path.display()), e))?;
    let base = base_of(&repo, wt, uncommitted)?;
    let tree = repo
        .find_commit(base)
        .and_then(|c| c.tree())
        .map_err(|e| git_err(format!("reading the commit {base}"), e))?;
    let mut opts = DiffOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .show_untracked_content(true)
        .include_typechange(true)
        .context_lines(3);
    let mut diff = repo
        .diff_tree_to_workdir_with_index(Some(&tree), Some(&mut opts))
        .map_err(|e| git_err(format!("comparing {} with {base}", wt.path.display()), e))?;
    let mut find = DiffFindOptions::new();
    find.renames(true).for_untracked(true);
    diff.find_similar(Some(&mut find))
        .map_err(|e| git_err("finding renames", e))?;

    let mut out = Diff {
        name: wt.name.clone(),
        base: base.to_string(),
        uncommitted,
        files: Vec::new(),
        added: 0,
        removed: 0,
        truncated: false,
    };
    let mut budget = Diff::MAX_TOTAL_BYTES;
    for i in 0..diff.deltas().len() {
        let Some(delta) = diff.get_delta(i) else {
            continue;
        };
        let status = match delta.status() {
            Delta::Added => FileStatus::Added,
            Delta::Untracked => FileStatus::Untracked,
            Delta::Deleted => FileStatus::Deleted,
            Delta::Renamed => FileStatus::Renamed,
            Delta::Typechange => FileStatus::Typechange,
            Delta::Modified | Delta::Copied => FileStatus::Modified,
            _ => continue,
        };
        let path_of = |f: git2::DiffFile<'_>| {
            f.path()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let new_path = path_of(delta.new_file());
        let old_path = path_of(delta.old_file());
        let mut file = FileDiff {
            path: if new_path.is_empty() {
                old_path.clone()
            } else {
                new_path.clone()
            },
            old_path: (status == FileStatus::Renamed && old_path != new_path).then_some(old_path),
            status,
            binary: false,
            added: 0,
            removed: 0,
            hunks: Vec::new(),
            cut: None,
        };
        let patch = Patch::from_diff(&diff, i)
            .map_err(|e| git_err(format!("reading the change of {}", file.path), e))?;
        let binary = delta.flags().is_binary()
            || patch
                .as_ref()
                .is_some_and(|p| p.delta().flags().is_binary());
        match patch {
            Some(patch) if !binary => {
                let (_, added, removed) = patch
                    .line_stats()
                    .map_err(|e| git_err(format!("counting the lines of {}", file.path), e))?;
                file.added = added as u64;
                file.removed = removed as u64;
                if stat {
                    file.cut = Some("only the counts were asked for".into());
                } else {
                    lines_of(&patch, &mut file, &mut budget, &mut out.truncated)?;
                }
            }
            _ => file.binary = true,
        }
        out.added += file.added;
        out.removed += file.removed;
        out.files.push(file);
    }
    Ok(out)
}

/// The counts of [`diff`] against the base, for lists.
pub fn change_stat(wt: &Worktree) -> Result<ChangeStat, WorktreeError> {
    let d = diff(wt, false, true)?;
    Ok(ChangeStat {
        files: d.files.len() as u32,
        added: d.added,
        removed: d.removed,
    })
}

/// The base commit, or the worktree's `HEAD` for `uncommitted`.
fn base_of(repo: &Repository, wt: &Worktree, uncommitted: bool) -> Result<Oid, WorktreeError> {
    if uncommitted {
        return repo
            .head()
            .and_then(|h| h.peel_to_commit())
            .map(|c| c.id())
            .map_err(|e| git_err(format!("reading the HEAD of {}", wt.path.display()), e));
    }
    Oid::from_str(&wt.base).map_err(|e| git_err(format!("the base commit {}", wt.base), e))
}

/// Copies a file's lines into `file.hunks`, within the file's limit and
/// what is left of the diff's (`budget`).
fn lines_of(
    patch: &Patch<'_>,
    file: &mut FileDiff,
    budget: &mut usize,
    truncated: &mut bool,
) -> Result<(), WorktreeError> {
    let mut given = 0usize;
    for h in 0..patch.num_hunks() {
        let (hunk, n) = patch
            .hunk(h)
            .map_err(|e| git_err(format!("reading a hunk of {}", file.path), e))?;
        let mut out = Hunk {
            header: String::from_utf8_lossy(hunk.header())
                .trim_end()
                .to_string(),
            lines: Vec::new(),
        };
        for l in 0..n {
            if given >= Diff::MAX_FILE_LINES {
                file.cut = Some(format!(
                    "only the first {} lines of its change are shown",
                    Diff::MAX_FILE_LINES
                ));
                file.hunks.push(out);
                return Ok(());
            }
            let line = patch
                .line_in_hunk(h, l)
                .map_err(|e| git_err(format!("reading a line of {}", file.path), e))?;
            let kind = match line.origin() {
                '+' | '-' | ' ' => line.origin(),
                // "\ No newline at end of file" and the like.
                _ => continue,
            };
            let mut text = String::from_utf8_lossy(line.content()).into_owned();
            while text.ends_with('\n') || text.ends_with('\r') {
                text.pop();
            }
            if text.len() > Diff::MAX_LINE {
                text = format!(
                    "{} …(line cut)",
                    rcd_proto::name::cut(&text, Diff::MAX_LINE)
                );
            }
            if text.len() + 1 > *budget {
                *truncated = true;
                file.cut =
                    Some("the whole diff's limit was reached: not all lines are shown".into());
                if !out.lines.is_empty() {
                    file.hunks.push(out);
                }
                return Ok(());
            }
            *budget -= text.len() + 1;
            given += 1;
            out.lines.push(Line { kind, text });
        }
        file.hunks.push(out);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worktree::fixture::{Fixture, git};

    #[test]
    fn commits_changes_renames_untracked_and_binary_files_against_the_base() {
        let fx = Fixture::new();
        let wt = fx.create("review");
        let p = &wt.path;
        std::fs::write(p.join("README"), "hello\nmore\nand more\n").unwrap();
        git(p, &["commit", "-q", "-am", "edit"]);
        std::fs::rename(p.join("README"), p.join("GUIDE.md")).unwrap();
        std::fs::write(p.join("new.txt"), "one\ntwo\n").unwrap();
        std::fs::write(p.join("blob.bin"), [0u8, 1, 2, 0, 255, 0]).unwrap();

        let d = diff(&wt, false, false).unwrap();
        let by = |path: &str| d.files.iter().find(|f| f.path == path).cloned();
        let guide = by("GUIDE.md").expect("the rename");
        assert_eq!(guide.status, FileStatus::Renamed, "{d:#?}");
        assert_eq!(guide.old_path.as_deref(), Some("README"));
        let new = by("new.txt").expect("the untracked file");
        assert_eq!(new.status, FileStatus::Untracked);
        assert_eq!((new.added, new.removed), (2, 0));
        assert_eq!(
            new.hunks[0].lines[0],
            Line {
                kind: '+',
                text: "one".into()
            }
        );
        let blob = by("blob.bin").expect("the binary");
        assert!(blob.binary && blob.hunks.is_empty());
        assert_eq!(d.added, d.files.iter().map(|f| f.added).sum::<u64>());

        // Only what is not committed: the committed edit is not in it.
        let u = diff(&wt, true, false).unwrap();
        assert_ne!(u.base, d.base);
        let stat = change_stat(&wt).unwrap();
        assert_eq!(stat.files as usize, d.files.len());
        let s = diff(&wt, false, true).unwrap();
        assert!(s.files.iter().all(|f| f.hunks.is_empty()));
    }

    #[test]
    fn a_large_file_is_cut_and_says_so() {
        let fx = Fixture::new();
        let wt = fx.create("big");
        let text: String = (0..Diff::MAX_FILE_LINES + 50)
            .map(|i| format!("{i}\n"))
            .collect();
        std::fs::write(wt.path.join("big.txt"), text).unwrap();
        let d = diff(&wt, false, false).unwrap();
        let f = &d.files[0];
        let given: usize = f.hunks.iter().map(|h| h.lines.len()).sum();
        assert_eq!(given, Diff::MAX_FILE_LINES);
        assert_eq!(
            f.added as usize,
            Diff::MAX_FILE_LINES + 50,
            "the counts are whole"
        );
        assert!(
            f.cut.as_deref().is_some_and(|c| c.contains("first")),
            "{f:?}"
        );
    }
}
