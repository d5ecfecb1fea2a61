//! A review of what a worktree session changed: `rcctl diff` locally and
//! through the relay, in a real repository where the test made commits,
//! changes, a rename and an untracked file; and the list's `+added
//! −removed`, kept fresh.

use rcd_tests::{Daemon, Options, git, remote, stdout_of, wait_for};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

#[test]
fn rcctl_diff_shows_the_same_review_locally_and_through_the_relay() {
    let d = Daemon::start(Options::with_args(
        true,
        &[
            "--spawn",
            "worktree",
            "--listen",
            "127.0.0.1:0",
            "--name",
            "home",
        ],
    ));
    let (url, token) = rcd_tests::pair_with_embedded(&d);
    let s: Value = serde_json::from_str(&d.ok(&["new", "--name", "agent", "--json"])).unwrap();
    let wt = PathBuf::from(s["dir"].as_str().expect("dir"));

    // A commit, then changes on top: an edit, a rename, an untracked file,
    // a binary file.
    std::fs::write(wt.join("lib.rs"), "fn one() {}\nfn two() {}\n").unwrap();
    git(&wt, &["add", "lib.rs"]);
    git(&wt, &["commit", "-q", "-m", "add lib"]);
    std::fs::write(wt.join("lib.rs"), "fn one() {}\nfn three() {}\n").unwrap();
    git(&wt, &["mv", "README.md", "GUIDE.md"]);
    std::fs::write(wt.join("notes.txt"), "todo\n").unwrap();
    std::fs::write(wt.join("logo.png"), [0x89u8, b'P', b'N', b'G', 0, 0, 1, 0]).unwrap();
    std::fs::write(wt.join("build.log"), "ignored\n").unwrap();

    let local: Value = serde_json::from_str(&d.ok(&["diff", "agent", "--json"])).unwrap();
    let files: Vec<&str> = local["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    for want in ["lib.rs", "GUIDE.md", "notes.txt", "logo.png"] {
        assert!(files.contains(&want), "{want} in {files:?}");
    }
    assert!(
        !files.contains(&"build.log"),
        "ignored files are not changes"
    );
    let file = |path: &str| {
        local["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == path)
            .unwrap()
            .clone()
    };
    assert_eq!(
        file("lib.rs")["status"],
        "added",
        "against the base, lib.rs is new"
    );
    assert_eq!(file("GUIDE.md")["status"], "renamed");
    assert_eq!(file("GUIDE.md")["old_path"], "README.md");
    assert_eq!(file("notes.txt")["status"], "untracked");
    assert_eq!(file("logo.png")["binary"], true);

    // Through the relay: the same review.
    wait_for(
        "the relay to list the session",
        Duration::from_secs(15),
        || String::from_utf8_lossy(&remote(&url, &token, None, &["list"]).stdout).contains("agent"),
    );
    let through: Value = serde_json::from_str(&stdout_of(
        &remote(&url, &token, None, &["diff", "agent", "--json"]),
        "diff through the relay",
    ))
    .unwrap();
    assert_eq!(through, local);

    // Only what is not committed: lib.rs is modified, one line each way.
    let unc: Value =
        serde_json::from_str(&d.ok(&["diff", "agent", "--uncommitted", "--json"])).unwrap();
    let lib = unc["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "lib.rs")
        .unwrap()
        .clone();
    assert_eq!(lib["status"], "modified");
    assert_eq!(
        (lib["added"].as_u64(), lib["removed"].as_u64()),
        (Some(1), Some(1))
    );
    let text = d.ok(&["diff", "agent", "--uncommitted"]);
    assert!(
        text.contains("-fn two() {}") && text.contains("+fn three() {}"),
        "{text}"
    );
    let stat = d.ok(&["diff", "agent", "--stat"]);
    assert!(
        stat.contains("README.md → GUIDE.md") && stat.contains("binary"),
        "{stat}"
    );

    // The list counts it soon after the session prints (as an agent
    // does while it works).
    d.ok(&["send", "agent", "git status --short"]);
    wait_for(
        "the list to count the change",
        Duration::from_secs(15),
        || {
            let l: Value = serde_json::from_str(&d.ok(&["list", "--json"])).unwrap();
            l[0]["change"]["files"].as_u64()
                == Some(local["files"].as_array().unwrap().len() as u64)
        },
    );
    let table = d.ok(&["list"]);
    assert!(table.contains("rcd/agent +"), "{table}");

    // A session in the shared directory has nothing to compare with.
    d.ok(&["new", "--name", "plain", "--spawn", "same-dir"]);
    let err = d.fails(&["diff", "plain"]);
    assert!(err.contains("not in a worktree"), "{err}");
}
