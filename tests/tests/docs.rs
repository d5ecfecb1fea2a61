//! The shipped shell completions and man pages (share/) are what the
//! binaries make from their clap definitions today, and the public
//! `completions SHELL` of each binary prints the shipped file.

use rcd_tests::{bin, stdout_of};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const PROGRAMS: [&str; 3] = ["rcd", "rcctl", "rc-relay"];
const REFRESH: &str = "run scripts/gen-docs and commit share/";

fn share() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .join("share")
}

/// Every file under `dir`, by its path relative to `dir`.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries {
            let path = e.expect("dir entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).expect("under root");
                out.insert(
                    rel.display().to_string(),
                    std::fs::read(&path).expect("read"),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn the_shipped_completions_and_man_pages_are_current() {
    let fresh = tempfile::tempdir().expect("tmp");
    for program in PROGRAMS {
        let out = Command::new(bin(program))
            .arg("--generate-docs")
            .arg(fresh.path())
            .output()
            .expect("runs");
        stdout_of(&out, format_args!("{program} --generate-docs"));
    }
    let made = tree(fresh.path());
    let shipped = tree(&share());
    // Each binary's own page and its three completion files, at least.
    for program in PROGRAMS {
        for f in [
            format!("man/man1/{program}.1"),
            format!("completions/{program}.bash"),
            format!("completions/_{program}"),
            format!("completions/{program}.fish"),
        ] {
            assert!(made.contains_key(&f), "{program} did not make {f}");
        }
    }
    assert!(
        made.contains_key("man/man1/rcctl-pair.1"),
        "no subcommand pages"
    );
    let missing: Vec<&String> = made.keys().filter(|k| !shipped.contains_key(*k)).collect();
    let stale: Vec<&String> = shipped.keys().filter(|k| !made.contains_key(*k)).collect();
    let differ: Vec<&String> = made
        .iter()
        .filter(|(k, v)| shipped.get(*k).is_some_and(|s| s != *v))
        .map(|(k, _)| k)
        .collect();
    assert!(
        missing.is_empty() && stale.is_empty() && differ.is_empty(),
        "share/ is out of date ({REFRESH}): missing {missing:?}, no longer made {stale:?}, \
         different {differ:?}"
    );
}

#[test]
fn completions_shell_prints_the_shipped_file() {
    let cases = [
        (
            "rcctl",
            vec!["completions", "bash"],
            "completions/rcctl.bash",
        ),
        ("rcctl", vec!["completions", "zsh"], "completions/_rcctl"),
        (
            "rc-relay",
            vec!["completions", "fish"],
            "completions/rc-relay.fish",
        ),
        ("rcd", vec!["--completions", "bash"], "completions/rcd.bash"),
        ("rcd", vec!["--completions", "zsh"], "completions/_rcd"),
    ];
    for (program, args, file) in cases {
        let out = Command::new(bin(program))
            .args(&args)
            // rc-relay must not need a data directory for this.
            .env("HOME", "/nonexistent")
            .env_remove("XDG_DATA_HOME")
            .env_remove("RC_RELAY_DATA_DIR")
            .output()
            .expect("runs");
        let printed = stdout_of(&out, format_args!("{program} {args:?}"));
        let shipped = std::fs::read_to_string(share().join(file))
            .unwrap_or_else(|e| panic!("share/{file}: {e} ({REFRESH})"));
        assert!(
            printed == shipped,
            "{program} {args:?} differs from share/{file} ({REFRESH})"
        );
    }
    // A shell it does not know is refused with the ones it knows.
    let out = Command::new(bin("rcctl"))
        .args(["completions", "tcsh"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("bash") && e.contains("fish"), "{e}");
}
