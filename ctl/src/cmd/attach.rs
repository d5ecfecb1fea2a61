//! `rcctl attach`: the one raw path. The daemon sends a redraw of the
//! current screen, then the session's bytes; keys go back as typed, and
//! window size changes follow. Ctrl-] detaches; the session keeps running.

use crate::client::{Client, unexpected};
use rcd_proto::frame::{read_frame, write_frame};
use rcd_proto::{AttachInput, AttachOutput, FrameError, Request, Response};
use std::io::{IsTerminal, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The detach key: Ctrl-] (as in telnet).
pub const DETACH_KEY: u8 = 0x1d;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The session.
    name: String,
}

pub fn run(socket: &Path, args: Args) -> anyhow::Result<()> {
    let mut c = Client::connect(socket)?;
    let (rows, cols) = winsize::get().unwrap_or((0, 0));
    let redraw = match c.call(&Request::Attach {
        name: args.name.clone(),
        rows,
        cols,
    })? {
        Response::Attached { redraw } => redraw,
        other => return Err(unexpected(other)),
    };
    let raw = RawMode::enable();
    let mut out = std::io::stdout().lock();
    out.write_all(&redraw)?;
    out.flush()?;

    let writer = Arc::new(Mutex::new(c.stream.try_clone()?));
    spawn_input(writer.clone());
    spawn_resize(writer);

    let mut reader = c.stream;
    let end = loop {
        match read_frame::<_, AttachOutput>(&mut reader) {
            Ok(AttachOutput::Data { bytes }) | Ok(AttachOutput::Redraw { bytes }) => {
                out.write_all(&bytes)?;
                out.flush()?;
            }
            Ok(AttachOutput::Exited { code }) => {
                break format!(
                    "session {} exited (status {})",
                    args.name,
                    code.map_or("unknown".into(), |c| c.to_string())
                );
            }
            Ok(AttachOutput::Detached) => {
                break format!("detached from {}; it keeps running", args.name);
            }
            Err(FrameError::Closed | FrameError::Truncated) => {
                break "rcd closed the connection".to_string();
            }
            Err(e) => {
                drop(raw);
                return Err(e.into());
            }
        }
    };
    drop(raw);
    // Leave the cursor on a fresh line, attributes reset.
    writeln!(out, "\x1b[0m\r\n[rcctl: {end}]")?;
    Ok(())
}

fn send(writer: &Mutex<UnixStream>, msg: &AttachInput) -> bool {
    let mut w = writer.lock().unwrap_or_else(|e| e.into_inner());
    write_frame(&mut *w, msg).is_ok()
}

/// Copies standard input to the session until the detach key.
fn spawn_input(writer: Arc<Mutex<UnixStream>>) {
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = [0u8; 4096];
        loop {
            let n = match stdin.read(&mut buf) {
                Ok(0) | Err(_) => 0,
                Ok(n) => n,
            };
            if n == 0 {
                // End of input (a pipe): detach rather than leave it hanging.
                send(&writer, &AttachInput::Detach);
                return;
            }
            let chunk = &buf[..n];
            if let Some(i) = chunk.iter().position(|&b| b == DETACH_KEY) {
                if i > 0 {
                    send(
                        &writer,
                        &AttachInput::Data {
                            bytes: chunk[..i].to_vec(),
                        },
                    );
                }
                send(&writer, &AttachInput::Detach);
                return;
            }
            if !send(
                &writer,
                &AttachInput::Data {
                    bytes: chunk.to_vec(),
                },
            ) {
                return;
            }
        }
    });
}

/// Passes window size changes on.
fn spawn_resize(writer: Arc<Mutex<UnixStream>>) {
    let Ok(mut signals) = signal_hook::iterator::Signals::new([signal_hook::consts::SIGWINCH])
    else {
        return;
    };
    std::thread::spawn(move || {
        for _ in signals.forever() {
            if let Some((rows, cols)) = winsize::get()
                && !send(&writer, &AttachInput::Resize { rows, cols })
            {
                return;
            }
        }
    });
}

/// Raw mode on the local terminal while attached.
struct RawMode(Option<nix::sys::termios::Termios>);

impl RawMode {
    fn enable() -> Self {
        use nix::sys::termios;
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return Self(None);
        }
        let Ok(saved) = termios::tcgetattr(&stdin) else {
            return Self(None);
        };
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        if termios::tcsetattr(&stdin, termios::SetArg::TCSANOW, &raw).is_err() {
            return Self(None);
        }
        Self(Some(saved))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(saved) = &self.0 {
            let _ = nix::sys::termios::tcsetattr(
                std::io::stdin(),
                nix::sys::termios::SetArg::TCSANOW,
                saved,
            );
        }
    }
}

#[allow(unsafe_code)]
mod winsize {
    nix::ioctl_read_bad!(tiocgwinsz, nix::libc::TIOCGWINSZ, nix::libc::winsize);

    /// (rows, cols) of the terminal on stdout or stdin, if either is one.
    pub fn get() -> Option<(u16, u16)> {
        for fd in [1, 0] {
            let mut ws = nix::libc::winsize {
                ws_row: 0,
                ws_col: 0,
                ws_xpixel: 0,
                ws_ypixel: 0,
            };
            // SAFETY: TIOCGWINSZ writes one winsize into the pointer we pass,
            // which points at a live, properly aligned local; on a descriptor
            // that is not a terminal it fails with ENOTTY and writes nothing.
            if unsafe { tiocgwinsz(fd, &mut ws) }.is_ok() && ws.ws_row > 0 && ws.ws_col > 0 {
                return Some((ws.ws_row, ws.ws_col));
            }
        }
        None
    }
}
