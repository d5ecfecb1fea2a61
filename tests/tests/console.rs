//! rcd's own terminal: log lines scroll above the status line, which
//! stays on the bottom row (daemon/src/console.rs).

use nix::pty::{Winsize, openpty};
use rcd_tests::{Daemon, Options, wait_for};
use std::io::Read;
use std::os::fd::OwnedFd;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ROWS: u16 = 12;
const COLS: u16 = 100;

/// What a terminal of ROWS × COLS shows of everything read so far.
fn screen(bytes: &Mutex<Vec<u8>>) -> vt100::Screen {
    let mut parser = vt100::Parser::new(nz(ROWS), nz(COLS), 0);
    parser.process(&bytes.lock().unwrap());
    parser.screen().clone()
}

fn nz(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n).expect("not zero")
}

fn rows(screen: &vt100::Screen) -> Vec<String> {
    screen.rows(0, COLS).collect()
}

#[test]
fn log_lines_scroll_above_a_status_line_that_stays_at_the_bottom() {
    let size = Winsize {
        ws_row: ROWS,
        ws_col: COLS,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = openpty(Some(&size), None).expect("openpty");
    let mut d = Daemon::new(Options::default());
    let slave = |fd: &OwnedFd| Stdio::from(fd.try_clone().expect("dup"));
    let child = d
        .command()
        .stdin(slave(&pty.slave))
        .stdout(slave(&pty.slave))
        .stderr(slave(&pty.slave))
        .spawn()
        .expect("rcd starts");
    drop(pty.slave);
    d.child = Some(child);

    let bytes = Arc::new(Mutex::new(Vec::new()));
    let sink = bytes.clone();
    let mut master = std::fs::File::from(pty.master);
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = master.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    d.wait_ready();

    // Enough sessions, each logged at debug level, to scroll the screen
    // several times over while the status line changes with each.
    for i in 0..6 {
        d.ok(&["new", "--name", &format!("s{i}")]);
    }
    d.ok(&["stop", "s0"]);
    wait_for(
        "the status line to count five sessions",
        Duration::from_secs(10),
        || {
            rows(&screen(&bytes))
                .iter()
                .any(|r| r.contains("5/32 sessions"))
        },
    );
    let shown = screen(&bytes);
    let rows = rows(&shown);
    let text = rows.join("\n");
    let status: Vec<usize> = (0..rows.len())
        .filter(|&i| rows[i].contains(" sessions · spawn "))
        .collect();
    assert_eq!(
        status.len(),
        1,
        "the status line is on one row only:\n{text}"
    );
    let at = status[0];
    assert!(
        rows[at].starts_with("rcd: 5/32 sessions"),
        "the status row holds the status alone:\n{text}"
    );
    assert_eq!(
        usize::from(shown.cursor_position().0),
        at,
        "the cursor stays on the status row:\n{text}"
    );
    assert!(
        rows[at + 1..].iter().all(|r| r.trim().is_empty()),
        "nothing is below the status line:\n{text}"
    );
    assert!(
        rows[..at]
            .iter()
            .filter(|r| r.contains("DEBUG") || r.contains("INFO"))
            .count()
            >= 3,
        "log lines are above it:\n{text}"
    );
    assert!(
        rows[at].chars().count() < usize::from(COLS),
        "the status line leaves the last column free, so it never wraps:\n{text}"
    );
}
