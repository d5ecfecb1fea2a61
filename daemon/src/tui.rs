//! The daemon's own terminal, when standard input is one: a status line
//! on every change, and single keys (`w` toggles the spawn mode of the
//! next sessions). Ctrl-C still stops the daemon: only canonical mode and
//! echo are turned off, signals stay on.

use crate::console;
use crate::link::LinkHandle;
use crate::supervisor::Supervisor;
use nix::sys::termios::{self, LocalFlags, SetArg, Termios};
use std::io::{IsTerminal, Read};
use std::sync::Arc;

/// Puts the terminal back as it was when dropped.
#[derive(Debug)]
pub struct TerminalGuard {
    saved: Termios,
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        console::end();
        let _ = termios::tcsetattr(std::io::stdin(), SetArg::TCSANOW, &self.saved);
    }
}

/// Starts the status display and the key reader when stdin is a terminal.
pub fn start(sup: Arc<Supervisor>, link: Option<LinkHandle>) -> Option<TerminalGuard> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return None;
    }
    let saved = termios::tcgetattr(&stdin).ok()?;
    let mut raw = saved.clone();
    raw.local_flags
        .remove(LocalFlags::ICANON | LocalFlags::ECHO);
    termios::tcsetattr(&stdin, SetArg::TCSANOW, &raw).ok()?;
    let guard = TerminalGuard { saved };

    let keys = sup.clone();
    let keys_link = link.clone();
    let handle = tokio::runtime::Handle::current();
    std::thread::Builder::new()
        .name("rcd-keys".into())
        .spawn(move || {
            let mut byte = [0u8; 1];
            while let Ok(1) = std::io::stdin().read(&mut byte) {
                match byte[0] {
                    b'w' | b'W' => {
                        if let Err(e) = keys.toggle_spawn() {
                            console::print(&format!("rcd: cannot switch spawn mode: {e}"));
                        }
                    }
                    b'\n' | b'\r' | b's' => print_status(&keys, keys_link.as_ref()),
                    b' ' => {
                        let link = keys_link.clone();
                        handle.spawn(async move { show_pairing(link.as_ref()).await });
                    }
                    _ => {}
                }
            }
        })
        .ok()?;

    let mut changes = sup.subscribe();
    tokio::spawn(async move {
        print_status(&sup, link.as_ref());
        let mut last = String::new();
        while changes.changed().await.is_ok() {
            let line = status_line(&sup, link.as_ref());
            if line != last {
                console::status(&line);
                last = line;
            }
        }
    });
    Some(guard)
}

fn status_line(sup: &Supervisor, link: Option<&LinkHandle>) -> String {
    let (used, capacity, spawn) = sup.counts();
    let link = match link.and_then(LinkHandle::status) {
        None => "local only".to_string(),
        Some(l) => format!("relay {}", l.state),
    };
    let needing = match sup.needing_you() {
        0 => String::new(),
        n => format!(" · {n} need you"),
    };
    format!(
        "rcd: {used}/{capacity} sessions{needing} · spawn {spawn} · {link} · keys: w spawn \
         mode, space pairing QR, Ctrl-C quits"
    )
}

/// Prints a fresh pairing link and its QR code.
async fn show_pairing(link: Option<&LinkHandle>) {
    match crate::link::pairing_url(link).await {
        Ok(url) => {
            let qr = match qrcode::QrCode::new(url.as_bytes()) {
                Ok(code) => code
                    .render::<qrcode::render::unicode::Dense1x2>()
                    .dark_color(qrcode::render::unicode::Dense1x2::Light)
                    .light_color(qrcode::render::unicode::Dense1x2::Dark)
                    .quiet_zone(true)
                    .build(),
                Err(e) => format!("(no QR code: {e})"),
            };
            console::print(&format!(
                "{qr}\nrcd: pair a device: {url}\n     (one-time code, valid 10 minutes)"
            ));
        }
        Err(e) => console::print(&format!("rcd: no pairing link: {e}")),
    }
}

fn print_status(sup: &Supervisor, link: Option<&LinkHandle>) {
    console::status(&status_line(sup, link));
}
