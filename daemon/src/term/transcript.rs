//! The transcript a session writes: numbered lines appended to its live
//! segment, which rolls into a closed segment at a size; the closed
//! segments, their compression and the cap are `crate::transcripts`.

use crate::transcripts::{self, Layout, Live};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Lines between two entries of a transcript's index.
pub const INDEX_STRIDE: u64 = 1024;

/// Where a journal's resume point left the transcript: the live
/// segment's first line (absent in resume points of older rcds, which
/// had only the one file) and its length then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub first: Option<u64>,
    pub bytes: u64,
}

/// Append-only, numbered transcript lines on disk.
#[derive(Debug)]
pub struct Transcript {
    /// The live segment.
    path: PathBuf,
    file: File,
    /// Byte offset of every [`INDEX_STRIDE`]th line of the live segment
    /// (its lines 1, 1 + stride, …), so a page is one seek and a short
    /// skip, and the index of 20 million lines is 160 KB, not 160 MB.
    offsets: Vec<u64>,
    /// Number of the live segment's first line.
    first: u64,
    /// Number of the last line (of all segments).
    lines: u64,
    /// Bytes of the live segment.
    end: u64,
    /// Size at which the live segment rolls.
    segment: u64,
}

fn open_live(path: &Path, truncate: bool) -> io::Result<File> {
    OpenOptions::new()
        .mode(0o600)
        .create(true)
        .write(true)
        .truncate(truncate)
        .read(true)
        .open(path)
}

fn segment_of(path: &Path) -> u64 {
    transcripts::policy_of(path.parent().unwrap_or(Path::new("."))).segment_bytes()
}

impl Transcript {
    /// Creates (or truncates) the transcript whose live segment is at
    /// `path`.
    pub fn create(path: &Path) -> io::Result<Self> {
        Ok(Self {
            path: path.to_path_buf(),
            file: open_live(path, true)?,
            offsets: Vec::new(),
            first: 1,
            lines: 0,
            end: 0,
            segment: segment_of(path),
        })
    }

    /// Opens the transcript an earlier rcd wrote for a session it left
    /// running, cut back to `at` when given (what it held at the screen's
    /// last snapshot) and to its last whole line; the live segment's
    /// index is rebuilt by reading it once.
    pub fn reopen(path: &Path, at: Option<Position>) -> io::Result<Self> {
        let mut layout = transcripts::layout(path)?;
        let mut limit = None;
        if let Some(at) = at {
            let want = at.first.unwrap_or(layout.live_first);
            if want < layout.live_first {
                // It rolled after the resume point: the lines since are
                // replayed from the journal into the segment they began.
                if transcripts::reopen_at(&layout, want)? {
                    layout = transcripts::layout(path)?;
                    limit = Some(at.bytes);
                } else {
                    tracing::warn!(
                        transcript = %path.display(),
                        "the segment of the journal's resume point is gone: lines printed \
                         since may be shown twice"
                    );
                }
            } else if want == layout.live_first {
                limit = Some(at.bytes);
            }
        }
        let mut t = Self {
            path: path.to_path_buf(),
            file: open_live(path, false)?,
            offsets: Vec::new(),
            first: layout.live_first,
            lines: layout.live_first - 1,
            end: 0,
            segment: segment_of(path),
        };
        let size = t.file.metadata()?.len();
        let limit = limit.map_or(size, |l| l.min(size));
        let mut reader = BufReader::with_capacity(64 * 1024, (&t.file).take(limit));
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = reader.read_until(b'\n', &mut line)?;
            if n == 0 || line.last() != Some(&b'\n') {
                break;
            }
            if (t.lines + 1 - t.first) % INDEX_STRIDE == 0 {
                t.offsets.push(t.end);
            }
            t.lines += 1;
            t.end += n as u64;
        }
        drop(reader);
        t.file.set_len(t.end)?;
        Ok(t)
    }

    /// Where the journal's resume point finds it again.
    pub fn position(&self) -> Position {
        Position {
            first: Some(self.first),
            bytes: self.end,
        }
    }

    /// Where the live segment is stored.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of lines so far (the number of the last one).
    pub fn len(&self) -> u64 {
        self.lines
    }

    /// Whether no line has scrolled off yet.
    pub fn is_empty(&self) -> bool {
        self.lines == 0
    }

    /// Whether the live segment has reached its size and should roll.
    pub fn roll_due(&self) -> bool {
        self.end >= self.segment
    }

    /// Closes the live segment (renamed to a closed segment) and starts
    /// an empty one; returns the closed segment's path, or `None` when
    /// the live segment holds no line. The caller writes its journal's
    /// resume point, then hands the segment on
    /// ([`transcripts::tidy_later`]).
    pub fn roll(&mut self) -> io::Result<Option<PathBuf>> {
        if self.lines < self.first {
            return Ok(None);
        }
        let closed = transcripts::closed_path(&self.path, self.first, self.lines)?;
        std::fs::rename(&self.path, &closed)?;
        // Should this fail, the next write retries on a new file: a
        // missing live segment reads as empty.
        self.file = open_live(&self.path, true)?;
        self.offsets.clear();
        self.first = self.lines + 1;
        self.end = 0;
        Ok(Some(closed))
    }

    /// Appends `text`, `lines` lines each ended by `\n`, in one write.
    pub(crate) fn append(&mut self, text: &str, lines: u64) -> io::Result<()> {
        if lines == 0 {
            return Ok(());
        }
        // The index entries of the lines that start a stride, found only
        // when one is in this batch (once per 1,024 lines).
        let indexed = self.offsets.len();
        let live = self.lines + 1 - self.first;
        let mut next = (INDEX_STRIDE - live % INDEX_STRIDE) % INDEX_STRIDE;
        if next < lines {
            let ends = text.bytes().enumerate().filter(|&(_, b)| b == b'\n');
            let starts = std::iter::once(0).chain(ends.map(|(i, _)| i + 1));
            for (line, start) in (0..lines).zip(starts) {
                if line == next {
                    self.offsets.push(self.end + start as u64);
                    next += INDEX_STRIDE;
                    if next >= lines {
                        break;
                    }
                }
            }
        }
        if let Err(e) =
            std::os::unix::fs::FileExt::write_all_at(&self.file, text.as_bytes(), self.end)
        {
            // Counted only once written: a failed write (a full disk)
            // leaves the index as the file is.
            self.offsets.truncate(indexed);
            return Err(e);
        }
        self.lines += lines;
        self.end += text.len() as u64;
        Ok(())
    }

    /// A page of a transcript written by an earlier session (no index in
    /// memory): the first line's number, lines from `from` (1-based),
    /// and the total.
    pub fn page_of_file(path: &Path, from: u64, max: u32) -> io::Result<(u64, Vec<String>, u64)> {
        transcripts::page_of_disk(path, from, max)
    }

    /// What it takes to read a page from line `from` without the
    /// session's lock: the segments as they are and a descriptor of the
    /// live one with the place to start in it.
    pub fn reader(&self, from: u64) -> io::Result<Reader> {
        let from = from.max(1);
        let (line, offset) = if from >= self.first && from <= self.lines {
            let entry = (from - self.first) / INDEX_STRIDE;
            (
                self.first + entry * INDEX_STRIDE,
                self.offsets[entry as usize],
            )
        } else {
            (self.first, 0)
        };
        Ok(Reader {
            live: self.path.clone(),
            file: self.file.try_clone()?,
            first: self.first,
            line,
            offset,
            end: self.end,
            lines: self.lines,
        })
    }

    /// Up to `max` lines (at most [`super::MAX_PAGE_LINES`], and fewer
    /// where they would pass [`super::MAX_PAGE_BYTES`]) starting at line
    /// `from` (1-based).
    pub fn page(&self, from: u64, max: u32) -> io::Result<Vec<String>> {
        Ok(self.reader(from)?.page(from, max)?.1)
    }
}

/// A page to read from a running session's transcript
/// ([`Transcript::reader`]).
#[derive(Debug)]
pub struct Reader {
    live: PathBuf,
    file: File,
    first: u64,
    line: u64,
    offset: u64,
    end: u64,
    /// Number of the last line when it was taken.
    pub lines: u64,
}

impl Reader {
    /// The page from line `from`: the number of its first line (later
    /// than `from` when the lines before were dropped by the cap) and its
    /// lines.
    pub fn page(self, from: u64, max: u32) -> io::Result<(u64, Vec<String>)> {
        let from = from.max(1);
        if from > self.lines {
            return Ok((from, Vec::new()));
        }
        transcripts::retrying(|| {
            let mut layout: Layout = transcripts::layout(&self.live)?;
            // The segments as the session knew them: one that rolled
            // since is still read through the descriptor taken then.
            layout.closed.retain(|c| c.last < self.first);
            layout.live_first = self.first;
            let live = Live::Open {
                file: self.file.try_clone()?,
                line: self.line,
                offset: self.offset,
                end: self.end,
            };
            transcripts::read_page(&layout, live, from, max)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::term::{MAX_PAGE_BYTES, MAX_PAGE_LINES};
    use crate::transcripts::Policy;

    /// Appends `lines` as the screen's capture hands them over.
    fn append(t: &mut Transcript, lines: &[String]) {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        t.append(&text, lines.len() as u64).unwrap();
    }

    fn numbered(from: u64, to: u64) -> Vec<String> {
        (from..=to).map(|i| format!("line {i}")).collect()
    }

    /// Every line of the transcript, read page by page as rcctl does.
    fn read_all_pages(read: impl Fn(u64) -> (u64, Vec<String>)) -> Vec<String> {
        let mut all = Vec::new();
        let mut next = 1;
        loop {
            let (from, lines) = read(next);
            if lines.is_empty() {
                return all;
            }
            assert!(from >= next, "a page never starts before what was asked");
            next = from + lines.len() as u64;
            all.extend(lines);
        }
    }

    #[test]
    fn pages_are_found_through_a_sparse_index() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = Transcript::create(&dir.path().join("t.log")).unwrap();
        let n = 3 * INDEX_STRIDE + 5;
        // Appended in uneven chunks, as output comes.
        let all = numbered(1, n);
        for chunk in all.chunks(333) {
            append(&mut t, chunk);
        }
        assert_eq!(t.len(), n);
        assert_eq!(t.offsets.len(), 4, "one entry per {INDEX_STRIDE} lines");
        for from in [
            1,
            2,
            INDEX_STRIDE,
            INDEX_STRIDE + 1,
            2 * INDEX_STRIDE + 7,
            n,
        ] {
            let page = t.page(from, 3).unwrap();
            assert_eq!(page, numbered(from, (from + 2).min(n)), "from {from}");
        }
        assert!(t.page(n + 1, 3).unwrap().is_empty());
    }

    #[test]
    fn a_page_stops_at_its_byte_limit_but_holds_at_least_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = Transcript::create(&dir.path().join("t.log")).unwrap();
        let long = "x".repeat(100 * 1024);
        append(
            &mut t,
            &[long.clone(), long.clone(), long.clone(), "short".into()],
        );
        assert_eq!(t.page(1, 10).unwrap().len(), 2, "256 KiB holds two");
        let huge = "y".repeat(MAX_PAGE_BYTES + 1);
        append(&mut t, std::slice::from_ref(&huge));
        assert_eq!(t.page(5, 10).unwrap(), vec![huge]);
        let (from, lines, total) = Transcript::page_of_file(t.path(), 1, 10).unwrap();
        assert_eq!((from, lines.len(), total), (1, 2, 5));
    }

    /// Segments rolled, compressed or not yet, read as one file: every
    /// page from every line, by the session and from the disk alone,
    /// and across a reopen.
    #[test]
    fn segments_read_as_one_transcript() {
        let dir = tempfile::tempdir().unwrap();
        transcripts::configure(
            dir.path(),
            Policy {
                max: 0,
                days: 0,
                segment: 8 * 1024,
            },
        );
        let path = dir.path().join("s-0000000a.log");
        let mut t = Transcript::create(&path).unwrap();
        let n = 5000;
        let all = numbered(1, n);
        let mut rolled = Vec::new();
        for chunk in all.chunks(97) {
            append(&mut t, chunk);
            if t.roll_due()
                && let Some(c) = t.roll().unwrap()
            {
                rolled.push(c);
            }
        }
        assert!(rolled.len() >= 5, "{} segments", rolled.len());
        // The first two compressed, the others still plain.
        for c in &rolled[..2] {
            let l = transcripts::layout(&path).unwrap();
            let seg = l.closed.iter().find(|s| &s.path == c).unwrap();
            transcripts::compress(seg).unwrap();
            assert!(!c.exists());
            assert!(c.with_extension("log.gz").exists());
        }
        assert_eq!(t.len(), n);
        let by_session = read_all_pages(|from| t.reader(from).unwrap().page(from, 250).unwrap());
        assert_eq!(by_session, all);
        let from_disk = read_all_pages(|from| {
            let (f, lines, total) = Transcript::page_of_file(&path, from, 333).unwrap();
            assert_eq!(total, n);
            (f, lines)
        });
        assert_eq!(from_disk, all);
        for from in [1, 2, 400, 1000, 1001, 2999, 4999, 5000] {
            assert_eq!(
                t.page(from, 7).unwrap(),
                numbered(from, (from + 6).min(n)),
                "from {from}"
            );
        }
        // Reopened where the journal left it: the same lines.
        let at = t.position();
        drop(t);
        let t = Transcript::reopen(&path, Some(at)).unwrap();
        assert_eq!(t.len(), n);
        assert_eq!(
            read_all_pages(|f| t.reader(f).unwrap().page(f, 500).unwrap()),
            all
        );
        // Everything compressed: still the same.
        transcripts::tidy(&path, transcripts::policy_of(dir.path())).unwrap();
        assert!(
            transcripts::layout(&path)
                .unwrap()
                .closed
                .iter()
                .all(|c| c.gz)
        );
        assert_eq!(
            read_all_pages(|f| t.reader(f).unwrap().page(f, MAX_PAGE_LINES).unwrap()),
            all
        );
    }

    /// A resume point taken before a roll (rcd died between the roll and
    /// the resume point after it): the segment it points into becomes
    /// the live one again and is cut back to it, compressed or not.
    #[test]
    fn a_resume_point_before_a_roll_reopens_its_segment() {
        for compressed in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("s-0000000b.log");
            let mut t = Transcript::create(&path).unwrap();
            append(&mut t, &numbered(1, 10));
            let at = t.position();
            append(&mut t, &numbered(11, 20));
            let closed = t.roll().unwrap().unwrap();
            append(&mut t, &numbered(21, 25));
            if compressed {
                let l = transcripts::layout(&path).unwrap();
                transcripts::compress(&l.closed[0]).unwrap();
            }
            drop(t);
            assert!(closed.exists() != compressed);
            let t = Transcript::reopen(&path, Some(at)).unwrap();
            assert_eq!(t.len(), 10, "compressed: {compressed}");
            assert_eq!(t.page(1, 100).unwrap(), numbered(1, 10));
            assert!(transcripts::layout(&path).unwrap().closed.is_empty());
        }
    }

    /// A kill at any step of a compression leaves every line once.
    #[test]
    fn a_compression_cut_anywhere_reads_every_line_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s-0000000c.log");
        let mut t = Transcript::create(&path).unwrap();
        append(&mut t, &numbered(1, 100));
        let plain = t.roll().unwrap().unwrap();
        append(&mut t, &numbered(101, 150));
        let all = numbered(1, 150);
        let read = |t: &Transcript| read_all_pages(|f| t.reader(f).unwrap().page(f, 40).unwrap());
        let gz = plain.with_extension("log.gz");
        let tmp = plain.with_extension("log.gz.tmp");
        // A temporary file cut short beside the plain one.
        transcripts::write_plain(&tmp, b"\x1f\x8b\x08garbage").unwrap();
        assert_eq!(read(&t), all, "a cut temporary file");
        // Renamed, the plain one not yet removed: read once.
        std::fs::remove_file(&tmp).unwrap();
        let l = transcripts::layout(&path).unwrap();
        transcripts::compress(&l.closed[0]).unwrap();
        std::fs::write(&plain, transcripts::read_all(&gz).unwrap()).unwrap();
        assert!(plain.exists() && gz.exists());
        assert_eq!(read(&t), all, "both copies");
        // The next tidy finishes the work.
        transcripts::write_plain(&tmp, b"partial").unwrap();
        transcripts::tidy(&path, Policy::default()).unwrap();
        assert!(!plain.exists() && !tmp.exists() && gz.exists());
        assert_eq!(read(&t), all, "tidied");
    }

    /// The cap drops the oldest segments and a line says how many lines
    /// went, in their place; line numbers stay what they were.
    #[test]
    fn the_cap_drops_the_oldest_segments_with_a_line_in_their_place() {
        let dir = tempfile::tempdir().unwrap();
        let policy = Policy {
            max: 64 * 1024,
            days: 0,
            segment: 8 * 1024,
        };
        transcripts::configure(dir.path(), policy);
        let path = dir.path().join("s-0000000d.log");
        let mut t = Transcript::create(&path).unwrap();
        let mut state = 1u64;
        let n = 20_000u64;
        let all: Vec<String> = (1..=n)
            .map(|i| {
                // Text that compresses little, as real output may not.
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                format!("{i} {:016x}{:016x}", state, state.rotate_left(17))
            })
            .collect();
        for chunk in all.chunks(50) {
            append(&mut t, chunk);
            if t.roll_due() && t.roll().unwrap().is_some() {
                transcripts::tidy(&path, policy).unwrap();
            }
        }
        let l = transcripts::layout(&path).unwrap();
        let d = l.dropped;
        assert!(d > 0, "something was dropped");
        let disk: u64 = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.metadata().unwrap().len())
            .sum();
        assert!(
            disk <= policy.max + 2 * policy.segment_bytes(),
            "{disk} bytes on disk"
        );
        let pages = read_all_pages(|f| t.reader(f).unwrap().page(f, 300).unwrap());
        assert_eq!(pages[0], transcripts::dropped_line(d));
        assert_eq!(pages[1..], all[d as usize..]);
        // Asked from line 1, a page starts at the dropped line's number.
        let (from, lines) = t.reader(1).unwrap().page(1, 2).unwrap();
        assert_eq!(from, d);
        assert_eq!(lines[1], all[d as usize]);
        // Any later line keeps its number.
        assert_eq!(t.page(n - 1, 5).unwrap(), all[n as usize - 2..]);
        assert_eq!(t.len(), n);
        let (_, _, total) = Transcript::page_of_file(&path, 1, 1).unwrap();
        assert_eq!(total, n);
        // A kill after the mark and before the segment went: no line twice.
        let oldest = transcripts::layout(&path).unwrap().closed[0].clone();
        std::fs::write(
            dir.path()
                .join(format!("s-0000000d~dropped-{}", oldest.last)),
            b"",
        )
        .unwrap();
        let pages = read_all_pages(|f| t.reader(f).unwrap().page(f, 300).unwrap());
        assert_eq!(pages[0], transcripts::dropped_line(oldest.last));
        assert_eq!(pages[1..], all[oldest.last as usize..]);
    }
}
