//! Transcripts on disk stay bounded: the live segment rolls at a size
//! and closed segments are compressed, `rcctl transcript` reads through
//! them as one file, the cap drops the oldest lines with a line saying
//! how many, the transcripts of sessions that ended long ago are removed
//! (time driven by the files' modification times), and a `kill -9` of
//! rcd while segments roll and compress loses and repeats no line.

use rcd_tests::{Daemon, Options, wait_for};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

fn transcripts(d: &Daemon) -> PathBuf {
    d.state_dir.join("transcripts")
}

/// The files of the transcripts directory whose names contain `part`.
fn files_with(d: &Daemon, part: &str) -> Vec<PathBuf> {
    std::fs::read_dir(transcripts(d))
        .map(|r| {
            r.flatten()
                .map(|e| e.path())
                .filter(|p| p.file_name().unwrap().to_string_lossy().contains(part))
                .collect()
        })
        .unwrap_or_default()
}

/// The numbers among the lines, in order.
fn numbers(lines: &[&str]) -> Vec<u64> {
    lines.iter().filter_map(|l| l.trim().parse().ok()).collect()
}

fn assert_consecutive(ns: &[u64], what: &str) {
    for w in ns.windows(2) {
        assert_eq!(w[1], w[0] + 1, "{what}: {} then {}", w[0], w[1]);
    }
}

/// The session's segments as a reader with `gzip` would put them
/// together: closed ones by first line, then the live one.
fn segments_by_hand(d: &Daemon, stem: &str) -> String {
    let mut closed: Vec<(u64, PathBuf)> = files_with(d, &format!("{stem}~"))
        .into_iter()
        .filter(|p| !p.to_string_lossy().ends_with(".tmp"))
        .filter_map(|p| {
            let name = p.file_name()?.to_string_lossy().into_owned();
            let range = name.split_once('~')?.1.split('.').next()?.to_string();
            Some((range.split_once('-')?.0.parse().ok()?, p))
        })
        .collect();
    closed.sort();
    let mut text = String::new();
    for (_, p) in closed {
        let out = Command::new("gzip")
            .arg("-dc")
            .arg(&p)
            .output()
            .expect("gzip");
        assert!(out.status.success(), "gzip -dc {}", p.display());
        text.push_str(&String::from_utf8_lossy(&out.stdout));
    }
    text.push_str(&std::fs::read_to_string(transcripts(d).join(format!("{stem}.log"))).unwrap());
    text
}

fn stem_of(d: &Daemon, name: &str) -> String {
    let id = d
        .list()
        .into_iter()
        .find(|s| s["name"] == name)
        .expect("listed")["id"]
        .as_str()
        .expect("id")
        .to_string();
    format!("{name}-{id}")
}

#[test]
fn a_long_transcript_reads_the_same_through_compressed_segments() {
    let d = Daemon::start(Options::with_args(
        false,
        &["--transcript-segment", "16KiB"],
    ));
    d.ok(&["new", "--name", "flood"]);
    let stem = stem_of(&d, "flood");
    d.ok(&["send", "flood", "seq 1 30000; echo done-$((6*7))"]);
    d.wait_screen("flood", "done-42");
    // About 170 KB of lines: ten segments, compressed in the background.
    wait_for("compressed segments", Duration::from_secs(20), || {
        files_with(&d, ".log.gz").len() >= 8
            && files_with(&d, "~")
                .iter()
                .all(|p| p.to_string_lossy().ends_with(".log.gz"))
    });
    let text = d.ok(&["transcript", "flood"]);
    let lines: Vec<&str> = text.lines().collect();
    let ns = numbers(&lines);
    assert_eq!(ns.first(), Some(&1), "from the first line");
    assert!(*ns.last().unwrap() > 29_900, "up to {:?}", ns.last());
    assert_consecutive(&ns, "rcctl transcript");
    // What rcctl reads is the segments put together, every line once.
    assert_eq!(text, segments_by_hand(&d, &stem));
    // A page from a line inside a compressed segment, numbered.
    let from = d.ok(&["transcript", "flood", "--from", "12345", "-n"]);
    let first = from.lines().next().unwrap();
    let (n, line) = first.trim_start().split_once("  ").unwrap();
    assert_eq!(n, "12345");
    assert_eq!(line, lines[12344]);
    // The same after the session ended: read from the files alone.
    d.ok(&["stop", "flood"]);
    let after = d.ok(&["transcript", "flood"]);
    assert!(after.starts_with(&text), "an ended session's transcript");
}

#[test]
fn the_cap_drops_the_oldest_lines_and_says_how_many() {
    let d = Daemon::start(Options::with_args(
        false,
        &["--transcript-segment", "8KiB", "--transcript-max", "64KiB"],
    ));
    d.ok(&["new", "--name", "capped"]);
    // Lines that do not compress to nothing.
    d.ok(&[
        "send",
        "capped",
        "for i in $(seq 1 20000); do echo $i $((i * 7919 % 10007)) $((i * 104729 % 65521)); done; echo done-$((6*7))",
    ]);
    d.wait_screen("capped", "done-42");
    wait_for("a dropped mark", Duration::from_secs(20), || {
        !files_with(&d, "~dropped-").is_empty()
    });
    wait_for("tidy", Duration::from_secs(20), || {
        files_with(&d, "~")
            .iter()
            .all(|p| !p.to_string_lossy().ends_with(".log"))
    });
    let disk: u64 = std::fs::read_dir(transcripts(&d))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("capped-"))
        .map(|e| e.metadata().unwrap().len())
        .sum();
    assert!(disk <= 64 * 1024 + 3 * 8 * 1024, "{disk} bytes on disk");
    let text = d.ok(&["transcript", "capped", "-n"]);
    let mut lines = text.lines();
    let first = lines.next().unwrap();
    let (n, note) = first.trim_start().split_once("  ").unwrap();
    let dropped: u64 = n.parse().unwrap();
    assert!(
        note.starts_with(&format!("[rcd: {dropped} earlier lines were dropped")),
        "{first}"
    );
    let rest: Vec<(u64, &str)> = lines
        .map(|l| {
            let (n, line) = l.trim_start().split_once("  ").unwrap_or((l.trim(), ""));
            (n.parse().unwrap(), line)
        })
        .collect();
    assert_eq!(rest[0].0, dropped + 1, "numbers go on after the note");
    assert_consecutive(
        &rest.iter().map(|r| r.0).collect::<Vec<_>>(),
        "line numbers",
    );
    let firsts: Vec<u64> = rest
        .iter()
        .filter_map(|(_, l)| l.split(' ').next()?.parse().ok())
        .collect();
    assert_consecutive(&firsts, "the loop's lines");
    assert!(*firsts.last().unwrap() > 19_900);
    // Line numbers are what they were: the last line's number is the
    // count of every line the session scrolled off.
    let last_number = rest.last().unwrap().0;
    let i_of_last = *firsts.last().unwrap();
    assert_eq!(
        last_number - i_of_last,
        dropped + 1 - firsts[0],
        "no renumbering"
    );
}

/// Sets the modification time of every file of the transcript `stem`.
fn age(dir: &Path, stem: &str, days: u64) {
    let then = SystemTime::now() - Duration::from_secs(days * 86_400);
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.file_name()
            .to_string_lossy()
            .starts_with(&format!("{stem}."))
        {
            let f = std::fs::File::options().write(true).open(e.path()).unwrap();
            f.set_modified(then).unwrap();
        }
    }
}

#[test]
fn transcripts_of_sessions_that_ended_long_ago_are_removed() {
    let mut d = Daemon::start(Options::with_args(false, &["--transcript-days", "0"]));
    for name in ["old", "recent", "idle"] {
        d.ok(&["new", "--name", name]);
        d.ok(&["send", name, &format!("echo {name}-was-here; seq 1 40")]);
        d.wait_screen(name, "40");
    }
    let stems: Vec<String> = ["old", "recent", "idle"]
        .iter()
        .map(|n| stem_of(&d, n))
        .collect();
    d.ok(&["stop", "old"]);
    d.ok(&["stop", "recent"]);
    // rcd goes (its sessions stay with the keeper) and comes back with
    // the old transcript 31 days old, and the idle session's too.
    let _ = d.signal_and_wait(nix::sys::signal::Signal::SIGTERM);
    age(&transcripts(&d), &stems[0], 31);
    age(&transcripts(&d), &stems[1], 29);
    age(&transcripts(&d), &stems[2], 40);
    // --transcript-days 0 keeps everything.
    let swept = |d: &Daemon| d.log_text().matches("transcripts swept").count();
    let before = swept(&d);
    d.spawn();
    d.wait_ready();
    wait_for("a sweep", Duration::from_secs(10), || swept(&d) > before);
    assert!(d.ok(&["transcript", "old"]).contains("old-was-here"));
    let _ = d.signal_and_wait(nix::sys::signal::Signal::SIGTERM);
    age(&transcripts(&d), &stems[0], 31);
    d.opts.args.clear();
    d.spawn();
    d.wait_ready();
    wait_for(
        "the old transcript removed",
        Duration::from_secs(10),
        || files_with(&d, &stems[0]).is_empty(),
    );
    let err = d.fails(&["transcript", "old"]);
    assert!(err.contains("old"), "{err}");
    assert!(d.ok(&["transcript", "recent"]).contains("recent-was-here"));
    // A session that still runs keeps its transcript, however old.
    assert!(d.ok(&["transcript", "idle"]).contains("idle-was-here"));
    assert!(!files_with(&d, &stems[2]).is_empty());
    let log = d.log_text();
    assert!(log.contains("--transcript-days"), "the removal is logged");
}

#[test]
fn a_kill_9_while_segments_roll_and_compress_keeps_every_line_once() {
    let mut d = Daemon::start(Options::with_args(false, &["--transcript-segment", "4KiB"]));
    d.ok(&["new", "--name", "busy"]);
    // Lines come for a while, so rcd dies in the middle of them.
    d.ok(&[
        "send",
        "busy",
        "for i in $(seq 1 40000); do echo $i; if [ $((i % 2000)) = 0 ]; then sleep 0.1; fi; done; echo done-$((6*7))",
    ]);
    wait_for("a few compressed segments", Duration::from_secs(20), || {
        files_with(&d, ".log.gz").len() >= 5
    });
    let _ = d.signal_and_wait(nix::sys::signal::Signal::SIGKILL);
    d.spawn();
    d.wait_ready();
    d.wait_screen("busy", "done-42");
    let text = d.ok(&["transcript", "busy"]);
    let lines: Vec<&str> = text.lines().collect();
    let ns = numbers(&lines);
    assert_eq!(ns.first(), Some(&1));
    assert!(*ns.last().unwrap() > 39_900, "up to {:?}", ns.last());
    assert_consecutive(&ns, "after kill -9");
    wait_for(
        "every closed segment compressed",
        Duration::from_secs(20),
        || {
            files_with(&d, "~")
                .iter()
                .all(|p| p.to_string_lossy().ends_with(".log.gz"))
        },
    );
    assert_eq!(
        d.ok(&["transcript", "busy"]),
        text,
        "the same once compressed"
    );
}
