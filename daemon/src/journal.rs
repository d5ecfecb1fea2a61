//! A session's journal: what the next rcd needs to bring its terminal back
//! exactly, should this one end without a word (`kill -9`).
//!
//! Two files beside the session's transcript:
//! - `<name>-<id>.resume`: a resume point (JSON): the screens as escape
//!   sequences, the title, the transcript's length at that moment and the
//!   input sequence numbers of every device; written whole (a temporary
//!   file, then a rename) with a generation number;
//! - `<name>-<id>.raw`: everything since that point, as records: the
//!   program's output as it was read, each device input applied, each
//!   resize. Its header names the generation it follows.
//!
//! A restart replays the resume point onto a blank screen (the transcript
//! cut back to its length then), then the records, which scroll the same
//! lines into the transcript again. When the records pass
//! [`RAW_BUDGET`] (or four times the resume point, for a large screen) a
//! new resume point is written and the records start again, so a restart
//! replays little and the files stay small. A crash between the rename
//! and the reset leaves records of the older generation: they are
//! skipped, the resume point already holds them.
//!
//! Records go through the page cache (no fsync): they protect against
//! rcd's death, not the machine's. A record cut short by a crash ends the
//! replay there.

use crate::pty::Size;
use crate::term::{ResumePoint, Terminal};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Records kept before a new resume point is written.
pub const RAW_BUDGET: u64 = 256 * 1024;

const MAGIC: &[u8; 8] = b"rcdraw1\n";
const HEADER: u64 = 16;
const OUTPUT: u8 = 1;
const INPUT: u8 = 2;
const RESIZE: u8 = 3;

/// A resume point on disk.
#[derive(Debug, Serialize, Deserialize)]
struct Resume {
    generation: u64,
    point: ResumePoint,
    inputs: HashMap<String, u64>,
}

/// One session's journal, written under its terminal's lock.
#[derive(Debug)]
pub struct Journal {
    resume: PathBuf,
    raw_path: PathBuf,
    raw: File,
    generation: u64,
    /// End of the records.
    end: u64,
    /// Size of the last resume point written.
    point_bytes: u64,
    inputs: HashMap<String, u64>,
    /// A write failed (a full disk): said once.
    failing: bool,
}

/// The journal's files for a session whose transcript is `transcript`.
fn paths(transcript: &Path) -> (PathBuf, PathBuf) {
    (
        transcript.with_extension("resume"),
        transcript.with_extension("raw"),
    )
}

impl Journal {
    /// A new session's journal: no resume point, records from its start.
    pub fn create(transcript: &Path) -> io::Result<Journal> {
        let (resume, raw_path) = paths(transcript);
        let _ = std::fs::remove_file(&resume);
        let raw = open_raw(&raw_path, true)?;
        let mut j = Journal {
            resume,
            raw_path,
            raw,
            generation: 0,
            end: HEADER,
            point_bytes: 0,
            inputs: HashMap::new(),
            failing: false,
        };
        j.write_header()?;
        Ok(j)
    }

    /// Brings a session's terminal back from its journal (the transcript
    /// at `transcript`), and the input sequence numbers with it; then
    /// starts a new generation from that point.
    pub fn recover(transcript: &Path) -> io::Result<(Terminal, Journal)> {
        let (resume, raw_path) = paths(transcript);
        let stored: Option<Resume> = match std::fs::read(&resume) {
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(r) => Some(r),
                Err(e) => {
                    tracing::warn!("ignoring {}: {e}", resume.display());
                    None
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let (mut term, generation, mut inputs) = match stored {
            Some(r) => (
                Terminal::resume(&r.point, transcript)?,
                r.generation,
                r.inputs,
            ),
            None => (
                Terminal::reopen(
                    Size::DEFAULT,
                    transcript,
                    Some(crate::term::Position {
                        first: Some(1),
                        bytes: 0,
                    }),
                )?,
                0,
                HashMap::new(),
            ),
        };
        match std::fs::read(&raw_path) {
            Ok(raw) => replay(&raw, generation, &mut term, &mut inputs),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let mut j = Journal {
            resume,
            raw: open_raw(&raw_path, false)?,
            raw_path,
            generation,
            end: HEADER,
            point_bytes: 0,
            inputs,
            failing: false,
        };
        j.point(&term)?;
        Ok((term, j))
    }

    /// The input sequence numbers recovered (or applied since).
    pub fn inputs(&self) -> &HashMap<String, u64> {
        &self.inputs
    }

    /// The program's output, as read, before the terminal sees it; a new
    /// resume point when the records are due one (`term` as it is after
    /// this output is the caller's to pass to [`Journal::point_if_due`]).
    pub fn output(&mut self, bytes: &[u8]) {
        self.record(OUTPUT, &[bytes]);
    }

    /// A device's input `seq` applied, before it goes to the terminal.
    pub fn input(&mut self, client: &str, seq: u64) {
        self.inputs.insert(client.to_string(), seq);
        self.record(INPUT, &[&seq.to_le_bytes(), client.as_bytes()]);
    }

    /// The terminal resized.
    pub fn resize(&mut self, size: Size) {
        self.record(
            RESIZE,
            &[&size.rows.to_le_bytes(), &size.cols.to_le_bytes()],
        );
    }

    /// Writes a resume point once the records pass their budget.
    pub fn point_if_due(&mut self, term: &Terminal) {
        if self.end - HEADER >= RAW_BUDGET.max(4 * self.point_bytes)
            && let Err(e) = self.point(term)
        {
            self.failed(&e);
        }
    }

    /// Writes a resume point of `term` now and starts the records anew.
    pub fn point(&mut self, term: &Terminal) -> io::Result<()> {
        let next = Resume {
            generation: self.generation + 1,
            point: term.resume_point(),
            inputs: self.inputs.clone(),
        };
        let bytes = serde_json::to_vec(&next).map_err(io::Error::other)?;
        let tmp = self.resume.with_extension("resume.tmp");
        let written = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .and_then(|mut f| std::io::Write::write_all(&mut f, &bytes))
            .and_then(|()| std::fs::rename(&tmp, &self.resume));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        self.generation = next.generation;
        self.point_bytes = bytes.len() as u64;
        self.raw.set_len(HEADER)?;
        self.end = HEADER;
        self.write_header()?;
        self.failing = false;
        Ok(())
    }

    /// Removes the journal: the session has ended for good.
    pub fn remove(&self) {
        let _ = std::fs::remove_file(&self.resume);
        let _ = std::fs::remove_file(&self.raw_path);
        let _ = std::fs::remove_file(self.fixed_path());
    }

    /// Whether someone chose to keep the session's size (`fixed`): a
    /// mark beside the journal, so the next rcd keeps it too.
    pub fn fixed(&self) -> bool {
        self.fixed_path().exists()
    }

    pub fn set_fixed(&self, fixed: bool) {
        let path = self.fixed_path();
        let r = if fixed {
            std::fs::write(&path, b"fixed\n")
        } else {
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                other => other,
            }
        };
        if let Err(e) = r {
            tracing::warn!(file = %path.display(), "cannot keep the session's size mode: {e}");
        }
    }

    fn fixed_path(&self) -> PathBuf {
        self.resume.with_extension("fixed")
    }

    fn write_header(&mut self) -> io::Result<()> {
        let mut h = [0u8; HEADER as usize];
        h[..8].copy_from_slice(MAGIC);
        h[8..].copy_from_slice(&self.generation.to_le_bytes());
        self.raw.write_all_at(&h, 0)
    }

    fn record(&mut self, kind: u8, parts: &[&[u8]]) {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let mut buf = Vec::with_capacity(5 + len);
        buf.push(kind);
        buf.extend_from_slice(&(len as u32).to_le_bytes());
        for p in parts {
            buf.extend_from_slice(p);
        }
        match self.raw.write_all_at(&buf, self.end) {
            Ok(()) => self.end += buf.len() as u64,
            Err(e) => self.failed(&e),
        }
    }

    fn failed(&mut self, e: &io::Error) {
        if !std::mem::replace(&mut self.failing, true) {
            tracing::error!(
                "writing the session's journal {} failed: {e}; should rcd end now, the next one \
                 may not show this session's screen exactly",
                self.raw_path.display()
            );
        }
    }
}

fn open_raw(path: &Path, truncate: bool) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .read(true)
        .write(true)
        .truncate(truncate)
        .mode(0o600)
        .open(path)
}

/// Applies the records of `raw` that follow resume point `generation`.
fn replay(raw: &[u8], generation: u64, term: &mut Terminal, inputs: &mut HashMap<String, u64>) {
    if raw.len() < HEADER as usize || &raw[..8] != MAGIC {
        return;
    }
    let of = u64::from_le_bytes(raw[8..16].try_into().expect("8 bytes"));
    if of != generation {
        // Written before the resume point that holds them.
        return;
    }
    let mut at = HEADER as usize;
    while at + 5 <= raw.len() {
        let kind = raw[at];
        let len = u32::from_le_bytes(raw[at + 1..at + 5].try_into().expect("4 bytes")) as usize;
        let Some(body) = raw.get(at + 5..at + 5 + len) else {
            break;
        };
        match kind {
            OUTPUT => {
                if let Err(e) = term.process(body) {
                    tracing::warn!("replaying output into the transcript failed: {e}");
                }
            }
            INPUT if len >= 8 => {
                let seq = u64::from_le_bytes(body[..8].try_into().expect("8 bytes"));
                inputs.insert(String::from_utf8_lossy(&body[8..]).into_owned(), seq);
            }
            RESIZE if len == 4 => {
                let rows = u16::from_le_bytes([body[0], body[1]]);
                let cols = u16::from_le_bytes([body[2], body[3]]);
                let _ = term.resize(Size::clamped(rows, cols));
            }
            _ => break,
        }
        at += 5 + len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(term: &mut Terminal, j: &mut Journal, bytes: &[u8]) {
        j.output(bytes);
        term.process(bytes).unwrap();
        j.point_if_due(term);
    }

    /// What a restart brings back equals what the terminal was, at any
    /// moment: screens (the alternate one too), the title, the transcript
    /// and the inputs, across resume points and records.
    #[test]
    fn a_recovered_terminal_is_the_one_that_was() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("s-1.log");
        let mut term = Terminal::new(Size::DEFAULT, &path).unwrap();
        let mut j = Journal::create(&path).unwrap();
        // Recovering writes a new resume point: it works on a copy, as
        // the next rcd would find the files.
        let check = |term: &Terminal, j: &Journal| {
            let copy = tempfile::tempdir().unwrap();
            for ext in ["log", "resume", "raw"] {
                let from = path.with_extension(ext);
                if from.exists() {
                    std::fs::copy(&from, copy.path().join("s-1").with_extension(ext)).unwrap();
                }
            }
            let (back, j2) = Journal::recover(&copy.path().join("s-1.log")).unwrap();
            assert_eq!(back.rows(), term.rows());
            assert_eq!(back.cursor(), term.cursor());
            assert_eq!(back.title(), term.title());
            assert_eq!(back.redraw(), term.redraw());
            assert_eq!(back.transcript().len(), term.transcript().len());
            assert_eq!(
                back.transcript().page(1, 5000).unwrap(),
                term.transcript().page(1, 5000).unwrap()
            );
            assert_eq!(j2.inputs(), j.inputs());
        };
        feed(&mut term, &mut j, b"\x1b]0;the title\x07hello\r\n");
        j.input("phone", 1);
        check(&term, &j);
        // Enough lines to pass the budget a few times: resume points, and
        // lines scrolled into the transcript across them.
        for i in 0..20_000 {
            feed(
                &mut term,
                &mut j,
                format!("\x1b[3{}mline {i} of the flood\x1b[0m\r\n", i % 8).as_bytes(),
            );
        }
        j.input("phone", 2);
        j.input("laptop", 7);
        term.resize(Size {
            rows: 30,
            cols: 100,
        })
        .unwrap();
        j.resize(Size {
            rows: 30,
            cols: 100,
        });
        feed(
            &mut term,
            &mut j,
            b"a line that wraps ".repeat(12).as_slice(),
        );
        check(&term, &j);
        // A full-screen program on the alternate screen over it.
        feed(
            &mut term,
            &mut j,
            b"\x1b[?1049h\x1b[2J\x1b[5;5Hin vim\x1b[7m!",
        );
        check(&term, &j);
        // A resume point taken on the alternate screen holds both.
        j.point(&term).unwrap();
        feed(&mut term, &mut j, b"x");
        check(&term, &j);
        feed(&mut term, &mut j, b"\x1b[?1049l");
        check(&term, &j);
        assert!(term.transcript().len() > 19_000);
    }

    /// The output path as the session runs it: a roll is followed by a
    /// resume point (`Session::roll`).
    fn feed_rolling(term: &mut Terminal, j: &mut Journal, bytes: &[u8], point_after_roll: bool) {
        j.output(bytes);
        term.process(bytes).unwrap();
        if term.roll_due() {
            term.roll().unwrap();
            if point_after_roll {
                j.point(term).unwrap();
            }
        } else {
            j.point_if_due(term);
        }
    }

    /// rcd dies right after a roll, before the resume point that follows
    /// it: the next one puts the lines since the last point back into
    /// the segment they began in, each once.
    #[test]
    fn a_roll_without_its_resume_point_loses_and_repeats_nothing() {
        let d = tempfile::tempdir().unwrap();
        crate::transcripts::configure(
            d.path(),
            crate::transcripts::Policy {
                max: 0,
                days: 0,
                segment: 4096,
            },
        );
        let path = d.path().join("s-00000003.log");
        let mut term = Terminal::new(Size::DEFAULT, &path).unwrap();
        let mut j = Journal::create(&path).unwrap();
        let mut i = 0;
        while crate::transcripts::layout(&path).unwrap().closed.len() < 3 {
            i += 1;
            feed_rolling(&mut term, &mut j, format!("line {i}\r\n").as_bytes(), true);
        }
        // Now the roll happens and rcd dies before its resume point.
        let rolls = crate::transcripts::layout(&path).unwrap().closed.len();
        while crate::transcripts::layout(&path).unwrap().closed.len() == rolls {
            i += 1;
            feed_rolling(&mut term, &mut j, format!("line {i}\r\n").as_bytes(), false);
        }
        let want = term.transcript().page(1, 5000).unwrap();
        let len = term.transcript().len();
        drop((term, j));
        let (back, _) = Journal::recover(&path).unwrap();
        assert_eq!(back.transcript().len(), len);
        assert_eq!(back.transcript().page(1, 5000).unwrap(), want);
    }

    /// A crash between the new resume point and the reset of the records
    /// replays nothing twice; a record cut short ends the replay.
    #[test]
    fn records_of_an_older_point_and_a_torn_record_are_not_replayed() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("s-2.log");
        let mut term = Terminal::new(Size::DEFAULT, &path).unwrap();
        let mut j = Journal::create(&path).unwrap();
        feed(&mut term, &mut j, b"one\r\n");
        let raw_before = std::fs::read(path.with_extension("raw")).unwrap();
        j.point(&term).unwrap();
        // As if rcd died right after the rename: the old records are back.
        std::fs::write(path.with_extension("raw"), &raw_before).unwrap();
        let (back, _) = Journal::recover(&path).unwrap();
        assert_eq!(back.rows(), term.rows());
        // A torn record at the end.
        let (mut term, mut j) = Journal::recover(&path).unwrap();
        feed(&mut term, &mut j, b"two\r\n");
        let raw = path.with_extension("raw");
        let mut bytes = std::fs::read(&raw).unwrap();
        bytes.extend_from_slice(&[OUTPUT, 200, 0, 0, 0, b'x']);
        std::fs::write(&raw, bytes).unwrap();
        let (back, _) = Journal::recover(&path).unwrap();
        assert_eq!(back.rows(), term.rows());
    }
}
