//! Transcripts on disk: segments, their compression, the per-session cap
//! and the retention of ended sessions' transcripts.
//!
//! A session's transcript (stem `S` = `<name>-<id>`, in
//! `<state>/transcripts/`) is a chain of segments, numbered by line:
//!
//! - `S.log`, the live segment: the newest lines, appended by the session
//!   ([`crate::term::Transcript`]); the only file an older rcd wrote;
//! - `S~A-B.log`: a closed segment holding lines A to B, plain, waiting
//!   for compression; `S~A-B.log.gz` once compressed (gzip, so `zcat`
//!   reads it). `S~A-B.log.gz.tmp` is a compression under way;
//! - `S~dropped-D`: lines 1 to D were dropped by the cap
//!   (`--transcript-max`); readers show one line in their place, at
//!   number D ([`dropped_line`]).
//!
//! `~` never occurs in a session name, so no other session's file can
//! look like a segment of this one. The live segment rolls (it is
//! renamed `S~A-B.log` and a new `S.log` begins) once it holds
//! [`Policy::segment_bytes`]; the session writes its journal's resume
//! point right after, then hands the segment to the one background
//! thread of the daemon ([`tidy_later`]), which compresses it (temporary
//! file, fsync, rename, fsync of the directory, then the plain file goes)
//! and applies the cap. Whatever a kill interrupts, the files left read
//! every line once: a temporary file is ignored (and removed by the next
//! tidy), a plain segment beside its compressed copy is read instead of
//! it, a segment under a `dropped` mark is not read.
//!
//! Retention ([`sweep`], at start and every [`SWEEP_EVERY`]): the files of
//! a session that this rcd neither runs nor lists, and that were last
//! written more than `--transcript-days` ago, are removed. A session's
//! last write is its last screen, appended when it ends, so that time is
//! when it ended.

use flate2::Compression;
use flate2::bufread::GzDecoder;
use flate2::write::GzEncoder;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock, RwLock};
use std::time::{Duration, SystemTime};

/// Where the live segment rolls, by default.
pub const DEFAULT_SEGMENT: u64 = 4 * 1024 * 1024;
/// The default cap of one session's transcript on disk.
pub const DEFAULT_MAX: u64 = 256 * 1024 * 1024;
/// The default retention of ended sessions' transcripts, in days.
pub const DEFAULT_DAYS: u32 = 30;
/// The smallest segment: a cap is not cut into slivers.
pub const MIN_SEGMENT: u64 = 4 * 1024;
/// How often retention runs while rcd runs.
pub const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// How transcripts are kept (`--transcript-max`, `--transcript-days`,
/// `--transcript-segment`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Most bytes one session's transcript takes on disk (compressed
    /// segments counted as compressed); 0: no cap.
    pub max: u64,
    /// Days an ended session's transcript is kept; 0: for ever.
    pub days: u32,
    /// Size at which the live segment rolls.
    pub segment: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max: DEFAULT_MAX,
            days: DEFAULT_DAYS,
            segment: DEFAULT_SEGMENT,
        }
    }
}

impl Policy {
    /// The size at which the live segment rolls: the segment size, and
    /// under a cap at most an eighth of it, so the cap drops an eighth at
    /// a time.
    pub fn segment_bytes(&self) -> u64 {
        let s = self.segment.max(MIN_SEGMENT);
        if self.max == 0 {
            s
        } else {
            s.min((self.max / 8).max(MIN_SEGMENT))
        }
    }
}

/// The policy of each transcript directory (one per state directory: a
/// process may run several daemons, as the tests do).
fn policies() -> &'static RwLock<HashMap<PathBuf, Policy>> {
    static P: OnceLock<RwLock<HashMap<PathBuf, Policy>>> = OnceLock::new();
    P.get_or_init(Default::default)
}

/// Sets the policy of the transcripts in `dir`.
pub fn configure(dir: &Path, policy: Policy) {
    policies()
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(dir.to_path_buf(), policy);
}

/// The policy of the transcripts in `dir` (the default when none was set).
pub fn policy_of(dir: &Path) -> Policy {
    policies()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(dir)
        .copied()
        .unwrap_or_default()
}

/// Parses a size: bytes, or a number with K, M, G (or KiB, MiB, GiB, KB,
/// …: all powers of 1,024), e.g. `256MiB`, `1G`, `0`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size: give e.g. 256MiB, 1G or 0"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        other => return Err(format!("{s:?}: unknown unit {other:?}: give K, M or G")),
    };
    Ok((n * mult as f64) as u64)
}

/// A size as people read it (`256 MiB`).
pub fn show_size(n: u64) -> String {
    match n {
        0 => "0".into(),
        n if n % (1 << 30) == 0 => format!("{} GiB", n >> 30),
        n if n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

/// The line shown in place of the lines a cap dropped, at number `d`.
pub fn dropped_line(d: u64) -> String {
    format!(
        "[rcd: {d} earlier line{} dropped: this transcript reached its limit (--transcript-max)]",
        if d == 1 { " was" } else { "s were" }
    )
}

/// A closed segment on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    pub first: u64,
    pub last: u64,
    pub path: PathBuf,
    pub gz: bool,
}

/// A transcript's files as they are now.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The live segment's path (it may not exist yet).
    pub live: PathBuf,
    /// Number of the live segment's first line.
    pub live_first: u64,
    /// Closed segments after the dropped lines, by first line; one file
    /// per range (the plain one where both are there).
    pub closed: Vec<Closed>,
    /// Lines 1 to `dropped` were dropped (0: none).
    pub dropped: u64,
}

/// What one file of a transcript directory is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Live,
    Closed {
        first: u64,
        last: u64,
        gz: bool,
    },
    /// A compression under way (or cut short).
    Tmp,
    Dropped(u64),
    /// The journal and its marks (`crate::journal`).
    Journal,
}

/// Splits a file name of the transcript directory into its stem and
/// what it is; `None` for anything else.
fn classify(file: &str) -> Option<(&str, Part)> {
    if let Some((stem, rest)) = file.split_once('~') {
        if let Some(d) = rest.strip_prefix("dropped-") {
            return Some((stem, Part::Dropped(d.parse().ok()?)));
        }
        let (range, part) = if let Some(r) = rest.strip_suffix(".log.gz.tmp") {
            (r, Part::Tmp)
        } else if let Some(r) = rest.strip_suffix(".log.gz") {
            (
                r,
                Part::Closed {
                    first: 0,
                    last: 0,
                    gz: true,
                },
            )
        } else if let Some(r) = rest.strip_suffix(".log") {
            (
                r,
                Part::Closed {
                    first: 0,
                    last: 0,
                    gz: false,
                },
            )
        } else {
            return None;
        };
        let (a, b) = range.split_once('-')?;
        let (first, last): (u64, u64) = (a.parse().ok()?, b.parse().ok()?);
        if first == 0 || last < first {
            return None;
        }
        return Some((
            stem,
            match part {
                Part::Closed { gz, .. } => Part::Closed { first, last, gz },
                p => p,
            },
        ));
    }
    for (ext, part) in [
        (".log", Part::Live),
        (".resume", Part::Journal),
        (".resume.tmp", Part::Journal),
        (".raw", Part::Journal),
        (".fixed", Part::Journal),
    ] {
        if let Some(stem) = file.strip_suffix(ext) {
            return Some((stem, part));
        }
    }
    None
}

/// The stem of a live segment's path (`S` of `S.log`).
fn stem_of(live: &Path) -> io::Result<(PathBuf, String)> {
    let dir = live.parent().unwrap_or(Path::new(".")).to_path_buf();
    let stem = live
        .file_name()
        .and_then(|f| f.to_str())
        .and_then(|f| f.strip_suffix(".log"))
        .ok_or_else(|| io::Error::other(format!("{}: not a transcript", live.display())))?;
    Ok((dir, stem.to_string()))
}

/// A transcript's files and what each is.
type Parts = Vec<(PathBuf, Part)>;

/// The files of the transcript whose live segment is `live`, with its
/// directory and stem.
fn parts(live: &Path) -> io::Result<(PathBuf, String, Parts)> {
    let (dir, stem) = stem_of(live)?;
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((dir, stem, out)),
        Err(e) => return Err(e),
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some((s, part)) = classify(name)
            && s == stem
        {
            out.push((e.path(), part));
        }
    }
    Ok((dir, stem, out))
}

/// The layout of the transcript whose live segment is `live`.
pub fn layout(live: &Path) -> io::Result<Layout> {
    let (_, _, parts) = parts(live)?;
    Ok(layout_of(live, &parts))
}

fn layout_of(live: &Path, parts: &[(PathBuf, Part)]) -> Layout {
    let dropped = parts
        .iter()
        .filter_map(|(_, p)| match p {
            Part::Dropped(d) => Some(*d),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let mut by_range: BTreeMap<(u64, u64), Closed> = BTreeMap::new();
    for (path, p) in parts {
        if let Part::Closed { first, last, gz } = *p
            && last > dropped
        {
            let c = Closed {
                first,
                last,
                path: path.clone(),
                gz,
            };
            by_range
                .entry((first, last))
                .and_modify(|old| {
                    // A plain segment beside its compressed copy: both are
                    // whole, the plain one is cheaper to read.
                    if old.gz && !gz {
                        *old = c.clone();
                    }
                })
                .or_insert(c);
        }
    }
    let closed: Vec<Closed> = by_range.into_values().collect();
    let live_first = closed
        .iter()
        .map(|c| c.last)
        .max()
        .unwrap_or(0)
        .max(dropped)
        + 1;
    Layout {
        live: live.to_path_buf(),
        live_first,
        closed,
        dropped,
    }
}

/// Keeps lines while they fit a page ([`crate::term::MAX_PAGE_LINES`],
/// [`crate::term::MAX_PAGE_BYTES`]), and at least one.
#[derive(Debug)]
pub struct Page {
    pub lines: Vec<String>,
    max: usize,
    used: usize,
    pub full: bool,
}

impl Page {
    pub fn new(max: u32) -> Self {
        Self {
            lines: Vec::new(),
            max: max.clamp(1, crate::term::MAX_PAGE_LINES) as usize,
            used: 0,
            full: false,
        }
    }

    /// Takes `line` if it fits; once one does not, the page is full.
    pub fn offer(&mut self, line: String) -> bool {
        if self.full {
            return false;
        }
        // Each line costs its bytes and a little for quoting and commas.
        self.used += line.len() + 8;
        if self.lines.len() < self.max
            && (self.lines.is_empty() || self.used <= crate::term::MAX_PAGE_BYTES)
        {
            self.lines.push(line);
            true
        } else {
            self.full = true;
            false
        }
    }
}

/// Reads lines of `reader` after the first `skip` into `page`; returns
/// how many lines it went through (all of them with `count_all`).
pub fn read_lines(
    reader: impl BufRead,
    skip: u64,
    page: &mut Page,
    count_all: bool,
) -> io::Result<u64> {
    let mut read = 0u64;
    for raw in reader.split(b'\n') {
        let raw = raw?;
        read += 1;
        if read > skip && !page.full {
            page.offer(String::from_utf8_lossy(&raw).into_owned());
        }
        if page.full && !count_all {
            break;
        }
    }
    Ok(read)
}

/// A closed segment's lines, decompressed when it is compressed.
fn open_closed(c: &Closed) -> io::Result<Box<dyn BufRead>> {
    let f = BufReader::with_capacity(64 * 1024, File::open(&c.path)?);
    Ok(if c.gz {
        Box::new(BufReader::with_capacity(64 * 1024, GzDecoder::new(f)))
    } else {
        Box::new(f)
    })
}

/// The live segment as a page reader sees it.
#[derive(Debug)]
pub enum Live {
    /// From the session writing it: a descriptor of the file, the byte
    /// offset of line `line` and the end of what was written.
    Open {
        file: File,
        line: u64,
        offset: u64,
        end: u64,
    },
    /// From the file alone (a session that is gone).
    Disk,
}

/// Up to `max` lines from line `from` (1-based) across the segments of
/// `layout`: the first line's number (which is later than `from` when
/// lines before it were dropped: the page begins with the line in their
/// place) and the lines.
pub fn read_page(
    layout: &Layout,
    live: Live,
    from: u64,
    max: u32,
) -> io::Result<(u64, Vec<String>)> {
    let mut from = from.max(1);
    let mut page = Page::new(max);
    let mut next = from;
    if layout.dropped >= from {
        from = layout.dropped;
        page.offer(dropped_line(layout.dropped));
        next = layout.dropped + 1;
    }
    for c in &layout.closed {
        if page.full {
            break;
        }
        if c.last < next {
            continue;
        }
        let skip = next.saturating_sub(c.first);
        read_lines(open_closed(c)?, skip, &mut page, false)?;
        next = c.last + 1;
    }
    if !page.full && next >= layout.live_first {
        match live {
            Live::Open {
                file,
                line,
                offset,
                end,
            } => {
                if next >= line {
                    let mut f = file;
                    io::Seek::seek(&mut f, io::SeekFrom::Start(offset))?;
                    let r = BufReader::with_capacity(64 * 1024, f.take(end - offset));
                    read_lines(r, next - line, &mut page, false)?;
                }
            }
            Live::Disk => match File::open(&layout.live) {
                Ok(f) => {
                    let r = BufReader::with_capacity(64 * 1024, f);
                    read_lines(r, next - layout.live_first, &mut page, false)?;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            },
        }
    }
    Ok((from, page.lines))
}

/// [`read_page`] again when a segment went between listing and opening
/// (compressed or dropped meanwhile): `attempt` lists and reads.
pub fn retrying<T>(mut attempt: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    let mut tries = 0;
    loop {
        match attempt() {
            Err(e) if e.kind() == io::ErrorKind::NotFound && tries < 4 => tries += 1,
            other => return other,
        }
    }
}

/// A page of the transcript of a session that is gone (its live segment
/// at `live`): the first line's number, the lines and the total.
pub fn page_of_disk(live: &Path, from: u64, max: u32) -> io::Result<(u64, Vec<String>, u64)> {
    retrying(|| {
        let l = layout(live)?;
        let live_lines = match File::open(&l.live) {
            Ok(f) => {
                let mut none = Page::new(1);
                none.full = true;
                read_lines(BufReader::new(f), 0, &mut none, true)?
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
            Err(e) => return Err(e),
        };
        let total = l.live_first - 1 + live_lines;
        let (from, lines) = read_page(&l, Live::Disk, from, max)?;
        Ok((from, lines, total))
    })
}

/// The name of the closed segment of lines `first` to `last`.
pub fn closed_path(live: &Path, first: u64, last: u64) -> io::Result<PathBuf> {
    let (dir, stem) = stem_of(live)?;
    Ok(dir.join(format!("{stem}~{first}-{last}.log")))
}

/// Makes the segment that starts at line `first` the live one again,
/// for a journal whose resume point is older than the last roll (rcd
/// died between a roll and the resume point after it): the segments
/// after it and the live one go (their lines are replayed from the
/// journal). Returns whether it found that segment.
pub fn reopen_at(l: &Layout, first: u64) -> io::Result<bool> {
    let Some(seg) = l.closed.iter().find(|c| c.first == first).cloned() else {
        return Ok(false);
    };
    for c in l.closed.iter().filter(|c| c.first > first) {
        remove_range(&l.live, c.first, c.last)?;
    }
    match std::fs::remove_file(&l.live) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    if seg.gz {
        let tmp = l.live.with_extension("log.tmp");
        let mut out = create_private(&tmp)?;
        io::copy(&mut open_closed(&seg)?, &mut out)?;
        out.sync_all()?;
        std::fs::rename(&tmp, &l.live)?;
    } else {
        std::fs::rename(&seg.path, &l.live)?;
    }
    remove_range(&l.live, seg.first, seg.last)?;
    Ok(true)
}

/// Removes both files of a closed range (plain and compressed), and a
/// compression of it under way.
fn remove_range(live: &Path, first: u64, last: u64) -> io::Result<()> {
    let plain = closed_path(live, first, last)?;
    for p in [
        plain.clone(),
        plain.with_extension("log.gz"),
        plain.with_extension("log.gz.tmp"),
    ] {
        match std::fs::remove_file(&p) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

fn create_private(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Compresses a closed segment: a temporary file, fsynced, renamed, the
/// directory fsynced, then the plain file removed. A kill at any point
/// leaves one whole copy to read.
pub fn compress(c: &Closed) -> io::Result<()> {
    let gz = c.path.with_extension("log.gz");
    let tmp = c.path.with_extension("log.gz.tmp");
    let result = (|| {
        let src = BufReader::with_capacity(256 * 1024, File::open(&c.path)?);
        let out = BufWriter::with_capacity(256 * 1024, create_private(&tmp)?);
        let mut enc = GzEncoder::new(out, Compression::fast());
        let mut src = src;
        io::copy(&mut src, &mut enc)?;
        let file = enc.finish()?.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, &gz)?;
        if let Some(dir) = c.path.parent() {
            sync_dir(dir)?;
        }
        std::fs::remove_file(&c.path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Bytes the transcript takes on disk.
fn disk_bytes(parts: &[(PathBuf, Part)]) -> u64 {
    parts
        .iter()
        .filter(|(_, p)| matches!(p, Part::Live | Part::Closed { .. } | Part::Tmp))
        .filter_map(|(path, _)| std::fs::metadata(path).ok())
        .map(|m| m.len())
        .sum()
}

/// Brings a transcript's closed segments to their resting state:
/// leftovers of a kill removed, every closed segment compressed, and
/// the cap applied (the oldest segments dropped, the newest closed one
/// and the live one always kept).
pub fn tidy(live: &Path, policy: Policy) -> io::Result<()> {
    let (dir, stem, all) = parts(live)?;
    let l = layout_of(live, &all);
    // Leftovers: compressions cut short, plain segments whose compressed
    // copy is whole, segments under the dropped mark, older marks.
    for (path, p) in &all {
        let stale = match *p {
            Part::Tmp => true,
            Part::Closed { last, gz, first } => {
                last <= l.dropped
                    || (!gz
                        && all.iter().any(|(_, q)| {
                            *q == Part::Closed {
                                first,
                                last,
                                gz: true,
                            }
                        }))
            }
            Part::Dropped(d) => d < l.dropped,
            _ => false,
        };
        if stale {
            let _ = std::fs::remove_file(path);
        }
    }
    let l = layout(live)?;
    for c in l.closed.iter().filter(|c| !c.gz) {
        compress(c)?;
    }
    if policy.max > 0 {
        loop {
            let (_, _, all) = parts(live)?;
            let l = layout_of(live, &all);
            if disk_bytes(&all) <= policy.max || l.closed.len() < 2 {
                break;
            }
            let oldest = &l.closed[0];
            // The mark first: from then on the segment is not read, so a
            // kill before it is removed shows no line twice.
            let mark = dir.join(format!("{stem}~dropped-{}", oldest.last));
            create_private(&mark)?.sync_all()?;
            sync_dir(&dir)?;
            remove_range(live, oldest.first, oldest.last)?;
            if l.dropped > 0 {
                let _ = std::fs::remove_file(dir.join(format!("{stem}~dropped-{}", l.dropped)));
            }
            tracing::info!(
                transcript = %live.display(),
                lines = oldest.last,
                "the transcript reached --transcript-max ({}): its oldest lines were dropped",
                show_size(policy.max)
            );
        }
    }
    Ok(())
}

/// What the background thread does.
enum Job {
    Tidy(PathBuf),
    Sweep { dir: PathBuf, keep: HashSet<String> },
    Settle(mpsc::Sender<()>),
}

/// The background thread, started on first use: compression, caps and
/// retention never run on a session's output path.
fn worker() -> &'static Mutex<mpsc::Sender<Job>> {
    static W: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    W.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("rcd-transcripts".into())
            .spawn(move || {
                for job in rx {
                    match job {
                        Job::Tidy(live) => {
                            let dir = live.parent().unwrap_or(Path::new(".")).to_path_buf();
                            if let Err(e) = tidy(&live, policy_of(&dir)) {
                                tracing::warn!(transcript = %live.display(), "compressing the transcript failed: {e}");
                            }
                        }
                        Job::Sweep { dir, keep } => match sweep(&dir, &keep, SystemTime::now()) {
                            Ok(removed) => {
                                tracing::debug!(removed = removed.len(), "transcripts swept")
                            }
                            Err(e) => {
                                tracing::warn!(dir = %dir.display(), "tidying the transcripts failed: {e}")
                            }
                        },
                        Job::Settle(done) => {
                            let _ = done.send(());
                        }
                    }
                }
            })
            .expect("a thread for the transcripts");
        Mutex::new(tx)
    })
}

fn send(job: Job) {
    let _ = worker().lock().unwrap_or_else(|e| e.into_inner()).send(job);
}

/// Compresses the closed segments of the transcript at `live` (and
/// applies its cap) on the background thread.
pub fn tidy_later(live: &Path) {
    send(Job::Tidy(live.to_path_buf()));
}

/// Retention and tidying of every transcript in `dir` on the background
/// thread; `keep` are the ids of sessions that are not over.
pub fn sweep_later(dir: &Path, keep: HashSet<String>) {
    send(Job::Sweep {
        dir: dir.to_path_buf(),
        keep,
    });
}

/// Retention and tidying at start and every [`SWEEP_EVERY`]: the
/// sessions `sup` holds (running, or ended and still listed) and those
/// of `also_keep` (orphans, sessions of a keeper this rcd cannot speak
/// to) are not over.
pub fn start(sup: &std::sync::Arc<crate::Supervisor>, also_keep: Vec<String>) {
    let sup = std::sync::Arc::downgrade(sup);
    tokio::spawn(async move {
        loop {
            let Some(s) = sup.upgrade() else { return };
            let dir = s.config().state_dir.join("transcripts");
            let mut keep: HashSet<String> = also_keep.iter().cloned().collect();
            keep.extend(s.sessions().iter().map(|x| x.id.0.clone()));
            drop(s);
            sweep_later(&dir, keep);
            tokio::time::sleep(SWEEP_EVERY).await;
        }
    });
}

/// Waits until the background thread has done what it was given so far.
pub fn settle() {
    let (tx, rx) = mpsc::channel();
    send(Job::Settle(tx));
    let _ = rx.recv();
}

/// The session id of a stem `<name>-<id>` (8 hex digits), if it is one.
fn id_of(stem: &str) -> Option<&str> {
    let (name, id) = stem.rsplit_once('-')?;
    (rcd_proto::SessionName::new(name).is_ok()
        && id.len() == 8
        && id.bytes().all(|b| b.is_ascii_hexdigit()))
    .then_some(id)
}

/// Retention, then tidying, of every transcript in `dir` as of `now`:
/// the files of a session not in `keep` whose newest file is older than
/// the policy's days go; the others are tidied. Returns the stems
/// removed.
pub fn sweep(dir: &Path, keep: &HashSet<String>, now: SystemTime) -> io::Result<Vec<String>> {
    let policy = policy_of(dir);
    let mut stems: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some((stem, _)) = classify(name)
            && id_of(stem).is_some()
        {
            stems.entry(stem.to_string()).or_default().push(e.path());
        }
    }
    let mut removed = Vec::new();
    for (stem, files) in stems {
        let id = id_of(&stem).unwrap_or_default();
        let live = dir.join(format!("{stem}.log"));
        if policy.days > 0 && !keep.contains(id) {
            let newest = files
                .iter()
                .filter_map(|f| std::fs::symlink_metadata(f).and_then(|m| m.modified()).ok())
                .max();
            let limit = Duration::from_secs(u64::from(policy.days) * 86_400);
            if let Some(newest) = newest
                && now.duration_since(newest).unwrap_or_default() > limit
            {
                for f in &files {
                    let _ = std::fs::remove_file(f);
                }
                tracing::info!(
                    transcript = %stem,
                    "removed the transcript of a session that ended over {} days ago \
                     (--transcript-days)",
                    policy.days
                );
                removed.push(stem);
                continue;
            }
        }
        if files.iter().any(|f| {
            f.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.contains('~'))
        }) && let Err(e) = tidy(&live, policy)
        {
            tracing::warn!(transcript = %live.display(), "tidying the transcript failed: {e}");
        }
    }
    Ok(removed)
}

/// Reads every line of a compressed or plain file (for tests and tools).
pub fn read_all(path: &Path) -> io::Result<Vec<u8>> {
    let f = BufReader::new(File::open(path)?);
    let mut out = Vec::new();
    if path.extension().is_some_and(|e| e == "gz") {
        GzDecoder::new(f).read_to_end(&mut out)?;
    } else {
        let mut f = f;
        f.read_to_end(&mut out)?;
    }
    Ok(out)
}

/// Writes `bytes` to `path` (for tests).
#[cfg(test)]
pub fn write_plain(path: &Path, bytes: &[u8]) -> io::Result<()> {
    std::io::Write::write_all(&mut create_private(path)?, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(parse_size("256MiB"), Ok(256 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("16 KiB"), Ok(16 << 10));
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("1.5M"), Ok(3 << 19));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5 parsecs").is_err());
        assert_eq!(show_size(256 << 20), "256 MiB");
        let p = Policy {
            max: 1 << 20,
            days: 0,
            segment: DEFAULT_SEGMENT,
        };
        assert_eq!(p.segment_bytes(), 128 << 10, "an eighth of the cap");
    }

    #[test]
    fn names_of_other_files_and_sessions_are_not_segments() {
        assert_eq!(classify("a-0000abcd.log"), Some(("a-0000abcd", Part::Live)));
        assert_eq!(
            classify("a.b-0000abcd~3-9.log.gz"),
            Some((
                "a.b-0000abcd",
                Part::Closed {
                    first: 3,
                    last: 9,
                    gz: true
                }
            ))
        );
        assert_eq!(
            classify("a-0000abcd~dropped-7"),
            Some(("a-0000abcd", Part::Dropped(7)))
        );
        assert_eq!(classify("a-0000abcd~9-3.log"), None);
        assert_eq!(classify("a-0000abcd~x.log"), None);
        assert_eq!(classify("notes.txt"), None);
        assert_eq!(id_of("a.b-0000abcd"), Some("0000abcd"));
        assert_eq!(id_of("a-b"), None);
    }

    /// Only the files of sessions that are over and were last written
    /// longer ago than the retention go; a running session's stay.
    #[test]
    fn retention_removes_only_what_ended_long_ago() {
        let dir = tempfile::tempdir().unwrap();
        configure(
            dir.path(),
            Policy {
                max: 0,
                days: 30,
                segment: DEFAULT_SEGMENT,
            },
        );
        let now = SystemTime::now();
        let day = Duration::from_secs(86_400);
        let make = |stem: &str, days_ago: u32| {
            for f in [
                format!("{stem}.log"),
                format!("{stem}~1-5.log.gz"),
                format!("{stem}.resume"),
            ] {
                let p = dir.path().join(f);
                write_plain(&p, b"x\n").unwrap();
                File::options()
                    .write(true)
                    .open(&p)
                    .unwrap()
                    .set_modified(now - day * days_ago)
                    .unwrap();
            }
        };
        make("old-00000001", 31);
        make("recent-00000002", 29);
        make("running-00000003", 90);
        write_plain(&dir.path().join("unrelated.txt"), b"keep").unwrap();
        let keep: HashSet<String> = ["00000003".to_string()].into();
        let removed = sweep(dir.path(), &keep, now).unwrap();
        assert_eq!(removed, ["old-00000001"]);
        let left: HashSet<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(!left.iter().any(|f| f.starts_with("old-")), "{left:?}");
        assert_eq!(left.iter().filter(|f| f.starts_with("recent-")).count(), 3);
        assert_eq!(left.iter().filter(|f| f.starts_with("running-")).count(), 3);
        assert!(left.contains("unrelated.txt"));
        // Days 0 keeps everything.
        configure(
            dir.path(),
            Policy {
                max: 0,
                days: 0,
                segment: DEFAULT_SEGMENT,
            },
        );
        assert!(
            sweep(dir.path(), &HashSet::new(), now + day * 365)
                .unwrap()
                .is_empty()
        );
    }
}
