//! The remote attach: the session's synchronised screen in this terminal,
//! keys back as sequenced input, across reconnections.
//!
//! The screen is drawn from state (rows and styles), not replayed bytes:
//! after a reconnection the daemon sends a full frame and the renderer
//! draws what changed. Keys are queued until acknowledged and resent after
//! a reconnection, so none is lost or typed twice. Ctrl-] detaches. When
//! standard input is not a terminal, end of input detaches once every key
//! has been acknowledged.

use super::live::Live;
use super::one_line;
use super::remote::Remote;
use super::render::{self, Renderer};
use crate::device::{Event, SessionClient};
use crate::term::{RawMode, split_detach, winsize};
use anyhow::{anyhow, bail};
use std::io::{IsTerminal, Read, Write};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// After end of input, how long to wait for the last keys to be
/// acknowledged.
const EOF_GRACE: Duration = Duration::from_secs(30);
/// After Ctrl-], how long to wait for keys still in flight.
const DETACH_GRACE: Duration = Duration::from_secs(2);
/// How long a message of the daemon stays on the status line.
const MESSAGE_FOR: Duration = Duration::from_secs(5);

/// Attaches this terminal to session `spec` until detach or exit; returns
/// the closing message. With `resize` the session follows this terminal's
/// size.
pub async fn run(remote: &Remote, spec: &str, resize: bool) -> anyhow::Result<String> {
    let interactive = std::io::stdout().is_terminal();
    // A terminal drives the session's size when it types (in the session's
    // default mode, docs/PROTOCOL.md "Who sets the size").
    let drive = if interactive { winsize::get() } else { None };
    let mut live = Live::open_driving(remote, spec, drive).await?;
    let shown = live.shown.clone();
    if resize && let Some((rows, cols)) = winsize::get() {
        live.client.resize(rows, cols);
    }
    let raw = RawMode::enable();
    let screen_guard = AltScreen::enter(interactive);
    let result = attached(&mut live, &shown, resize, interactive).await;
    drop(screen_guard);
    drop(raw);
    live.close().await;
    result
}

/// The alternate screen while attached (only on a terminal).
struct AltScreen(bool);

impl AltScreen {
    fn enter(on: bool) -> Self {
        if on {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(render::ENTER.as_bytes());
            let _ = out.flush();
        }
        Self(on)
    }
}

impl Drop for AltScreen {
    fn drop(&mut self) {
        let mut out = std::io::stdout().lock();
        let leave = if self.0 { render::LEAVE } else { "\x1b[0m\r\n" };
        let _ = out.write_all(leave.as_bytes());
        let _ = out.flush();
    }
}

fn draw(renderer: &mut Renderer, client: &SessionClient) -> anyhow::Result<()> {
    let bytes = renderer.render(&client.screen());
    let mut out = std::io::stdout().lock();
    out.write_all(bytes.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Runs until detach or exit; returns the closing message.
async fn attached(
    live: &mut Live,
    shown: &str,
    resize: bool,
    interactive: bool,
) -> anyhow::Result<String> {
    let mut renderer = Renderer::new(if interactive { winsize::get() } else { None });
    let mut keys = spawn_stdin();
    let mut winch =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change()).ok();
    let mut ever_ready = false;
    // Set once keys stopped coming (end of input, or Ctrl-]): leave when
    // everything is acknowledged, or give up at the deadline.
    let mut leaving: Option<(Instant, bool)> = None;
    let mut message_until: Option<Instant> = None;
    let detached = format!("detached from {shown}; it keeps running");
    loop {
        let leave_at = leaving.map(|(at, _)| at);
        tokio::select! {
            ev = live.next_event() => {
                match ev? {
                    Event::Ready { .. } => {
                        ever_ready = true;
                        renderer.set_status(None);
                        message_until = None;
                    }
                    Event::Screen => {}
                    Event::InputAck { .. } | Event::Transcript(_) => {}
                    Event::Exited { code } => {
                        draw(&mut renderer, &live.client)?;
                        return Ok(format!("session {shown} exited (status {code})"));
                    }
                    Event::Link { up: false } => {
                        renderer.set_status(Some(format!(
                            "rcctl: the machine of {shown} is offline; waiting for it \
                             (Ctrl-] detaches)"
                        )));
                    }
                    Event::Link { up: true } => {
                        renderer.set_status(Some(format!(
                            "rcctl: the machine of {shown} is back; resuming"
                        )));
                    }
                    Event::Reconnecting { reason, attempt, retry_in } => {
                        renderer.set_status(Some(format!(
                            "rcctl: reconnecting in {:.1}s (attempt {attempt}; Ctrl-] \
                             detaches): {}",
                            retry_in.as_secs_f64(),
                            one_line(&reason),
                        )));
                    }
                    Event::DaemonError(message) => {
                        if !ever_ready {
                            bail!("{}", one_line(&message));
                        }
                        renderer.set_status(Some(format!("rcd: {}", one_line(&message))));
                        message_until = Some(Instant::now() + MESSAGE_FOR);
                    }
                }
                draw(&mut renderer, &live.client)?;
                if leaving.is_some() && live.client.unacked() == 0 {
                    return Ok(detached);
                }
            }
            chunk = keys.recv(), if leaving.is_none() => {
                let Some(chunk) = chunk else {
                    // End of input.
                    if live.client.unacked() == 0 {
                        return Ok(detached);
                    }
                    leaving = Some((Instant::now() + EOF_GRACE, false));
                    continue;
                };
                let (keys_before, detach) = split_detach(&chunk);
                if !keys_before.is_empty() {
                    live.client.input(keys_before);
                }
                if detach {
                    if live.client.unacked() == 0 || !live.client.ready() {
                        return Ok(detached);
                    }
                    leaving = Some((Instant::now() + DETACH_GRACE, true));
                }
            }
            Some(()) = async {
                match winch.as_mut() {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            } => {
                if let Some(size) = winsize::get() {
                    if interactive {
                        renderer.resize(size);
                        live.client.drive(size.0, size.1);
                    }
                    if resize {
                        live.client.resize(size.0, size.1);
                    }
                }
                draw(&mut renderer, &live.client)?;
            }
            _ = sleep_until(message_until) => {
                message_until = None;
                if live.client.ready() {
                    renderer.set_status(None);
                }
                draw(&mut renderer, &live.client)?;
            }
            _ = sleep_until(leave_at) => {
                let n = live.client.unacked();
                if leaving.is_some_and(|(_, by_key)| by_key) {
                    return Ok(format!(
                        "{detached} ({n} input(s) were still unacknowledged and may not have \
                         been typed)"
                    ));
                }
                return Err(anyhow!(
                    "end of input, but session {shown} did not acknowledge the last {n} \
                     input(s) within {}s; they may not have been typed",
                    EOF_GRACE.as_secs()
                ));
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Reads standard input on a thread of its own (a blocking read cannot be
/// cancelled; the thread ends with the process). The channel closes at
/// end of input.
fn spawn_stdin() -> mpsc::UnboundedReceiver<Vec<u8>> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = [0u8; 4096];
        loop {
            match stdin.read(&mut buf) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}
