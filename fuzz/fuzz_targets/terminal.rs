//! A session's terminal (`rcd::term::Terminal`): arbitrary program output
//! interleaved with resizes. The input is a list of steps: a byte below
//! 16 is a resize to the size the next two bytes give (at most 64 rows
//! by 256 columns), any other byte `n` is a chunk of the next `n` bytes
//! fed to `process`. After every step: the size is the one asked for,
//! `rows()` has a row per screen row, the cursor is on the screen,
//! `styled()` agrees with the size and the plain rows, and the frame from
//! the previous styled screen to this one (`rcd::link::device::frame`)
//! takes a device from one to the other. At the end, a transcript page
//! keeps to its limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rcd::link::device::frame;
use rcd::pty::Size;
use rcd::term::{MAX_PAGE_LINES, StyledScreen, Terminal};
use rcd_proto::stream;
use std::path::PathBuf;
use std::sync::OnceLock;

const MAX_ROWS: u16 = 64;
const MAX_COLS: u16 = 256;

fn transcript_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::env::temp_dir().join(format!("rcd-fuzz-terminal-{}.log", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    let mut term = Terminal::new(Size::DEFAULT, transcript_path()).expect("a transcript file");
    let mut size = Size::DEFAULT;
    let mut before = term.styled();
    let mut rest = data;
    while let Some((&op, tail)) = rest.split_first() {
        rest = tail;
        if op < 16 {
            let [r, c] = match rest.split_first_chunk::<2>() {
                Some((rc, tail)) => {
                    rest = tail;
                    *rc
                }
                None => break,
            };
            size = Size {
                rows: 1 + u16::from(r) % MAX_ROWS,
                cols: 1 + (u16::from(op) << 8 | u16::from(c)) % MAX_COLS,
            };
            term.resize(size).expect("resize");
        } else {
            let n = (op as usize).min(rest.len());
            let (chunk, tail) = rest.split_at(n);
            rest = tail;
            term.process(chunk).expect("process");
        }
        let now = check(&term, size);
        let f = frame(Some(&before), &now);
        let mut copy = before.rows.clone();
        assert!(stream::apply(&mut copy, before.version, &f));
        assert_eq!(copy, now.rows, "the frame takes a device to the new screen");
        let full = frame(None, &now);
        assert_eq!(full.base, 0);
        assert_eq!(full.changed.len(), now.rows.len());
        before = now;
    }
    let (from, max) = match data.first_chunk::<4>() {
        Some(b) => (u64::from(b[0]), u32::from_be_bytes(*b)),
        None => (1, 10),
    };
    let page = term.transcript().page(from, max).expect("a page");
    assert!(page.len() <= max.clamp(1, MAX_PAGE_LINES) as usize);
    assert!(page.len() as u64 <= term.transcript().len());
});

fn check(term: &Terminal, size: Size) -> StyledScreen {
    assert_eq!(term.size(), size);
    let rows = term.rows();
    assert_eq!(rows.len(), size.rows as usize);
    let (r, c) = term.cursor();
    assert!(
        r < size.rows && c < size.cols,
        "cursor ({r}, {c}) off a {size:?} screen"
    );
    let styled = term.styled();
    assert_eq!(styled.version, term.version());
    assert_eq!(styled.rows.len(), size.rows as usize);
    assert_eq!(styled.cols, size.cols);
    assert_eq!(styled.cursor, (r, c));
    assert_eq!(styled.title, term.title());
    for (plain, row) in rows.iter().zip(&styled.rows) {
        assert_eq!(
            row.text().trim_end(),
            plain.trim_end(),
            "styled and plain rows agree"
        );
    }
    styled
}
