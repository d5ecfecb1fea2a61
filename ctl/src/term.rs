//! The local terminal, shared by local and remote `rcctl attach`: raw mode
//! while attached, the window size, and the detach key.

use std::io::IsTerminal;

/// The detach key: Ctrl-] (as in telnet).
pub const DETACH_KEY: u8 = 0x1d;

/// Splits a chunk of keys at the detach key: the bytes before it, and
/// whether it was pressed (anything after it is dropped).
pub fn split_detach(chunk: &[u8]) -> (&[u8], bool) {
    match chunk.iter().position(|&b| b == DETACH_KEY) {
        Some(i) => (&chunk[..i], true),
        None => (chunk, false),
    }
}

/// Raw mode on the local terminal while attached; restored on drop. Does
/// nothing when standard input is not a terminal.
#[derive(Debug)]
pub struct RawMode(Option<nix::sys::termios::Termios>);

impl RawMode {
    pub fn enable() -> Self {
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
pub mod winsize {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_detach_key_cuts_the_chunk() {
        assert_eq!(split_detach(b"ls\r"), (&b"ls\r"[..], false));
        assert_eq!(split_detach(b"ab\x1dcd"), (&b"ab"[..], true));
        assert_eq!(split_detach(b"\x1d"), (&b""[..], true));
    }
}
