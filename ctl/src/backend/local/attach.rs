//! The local attach: the one raw path. The daemon sends a redraw of the
//! current screen, then the session's bytes; keys go back as typed, and
//! window size changes follow. Ctrl-] detaches; the session keeps running.

use super::client::{Client, unexpected};
use crate::term::{DETACH_KEY, RawMode, winsize};
use rcd_proto::frame::{read_frame, write_frame};
use rcd_proto::{AttachInput, AttachOutput, FrameError, Request, Response};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};

/// Attaches this terminal to session `name` on `c`; returns the closing
/// message once the attributes are reset on a fresh line.
pub fn run(mut c: Client, name: &str) -> anyhow::Result<String> {
    let (rows, cols) = winsize::get().unwrap_or((0, 0));
    let redraw = match c.call(&Request::Attach {
        name: name.to_string(),
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
                    "session {name} exited (status {})",
                    code.map_or("unknown".into(), |c| c.to_string())
                );
            }
            Ok(AttachOutput::Detached) => {
                break format!("detached from {name}; it keeps running");
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
    out.write_all(b"\x1b[0m\r\n")?;
    out.flush()?;
    Ok(end)
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
