//! `key-flood`: a key's round trip into a quiet session while every other
//! session prints as fast as it can. The same world in tmux is the peer:
//! as many windows, each flooding but the one typed into, and a tmux
//! client attached to the quiet one, typed into through its terminal.
//!
//! What is measured is how much of the machine a flood leaves to a
//! session that is not flooding: every hop of a key's way waits for its
//! turn among the floods.

use super::keys::{self, KEY_LIMIT, WARM_UP, key};
use super::{Measure, Report};
use crate::rig::{BarePty, Tmux};
use crate::stats::{self, Summary};
use anyhow::{Context, Result, bail};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// What every flooding program prints, as fast as it can.
const LINE: &str = "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz";

/// rcd's program: the echo in the session typed into, a flood elsewhere.
fn rcd_command() -> String {
    format!(
        "sh -c 'if [ \"$RCD_SESSION\" = keys ]; then stty raw -echo; exec cat; else exec yes {LINE}; fi'"
    )
}

/// tmux: the quiet window 0 (the echo) and `floods` windows printing; a
/// client on a PTY of the bench's, attached to window 0, typed into.
fn tmux(keys: usize, floods: usize) -> Result<Summary> {
    let t = Tmux::start("stty raw -echo; exec cat")?;
    t.run(&["set-option", "-g", "status", "off"])?;
    for i in 0..floods {
        t.run(&[
            "new-window",
            "-d",
            "-n",
            &format!("busy{i}"),
            &format!("exec yes {LINE}"),
        ])?;
    }
    let mut client = BarePty::spawn(&format!(
        "TERM=xterm-256color exec tmux -S {} attach -t 0:0",
        t.socket().display()
    ))?;
    let mut parser = vt100::Parser::new(nz(24), nz(80), 0);
    let mut buf = [0u8; 16 * 1024];
    // Let the client draw its first screen.
    read_for(
        &mut client,
        &mut parser,
        &mut buf,
        Duration::from_millis(500),
    )?;
    let mut samples = Vec::with_capacity(keys);
    for i in 0..keys + WARM_UP {
        let (c, bytes) = key(i);
        let t = Instant::now();
        client.master.write_all(&bytes)?;
        loop {
            if t.elapsed() > KEY_LIMIT {
                bail!("a key typed into tmux's client did not show within {KEY_LIMIT:?}");
            }
            wait_readable(&client.master, KEY_LIMIT)?;
            let n = client.master.read(&mut buf)?;
            if n == 0 {
                bail!("tmux's client ended");
            }
            parser.process(&buf[..n]);
            let screen = parser.screen();
            let row = screen.cursor_position().0;
            if screen.contents_between(row, 0, row, 1) == (c as char).to_string() {
                break;
            }
        }
        if i >= WARM_UP {
            samples.push(t.elapsed());
        }
    }
    Ok(stats::summary(&samples))
}

fn nz(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n).expect("not zero")
}

fn wait_readable(file: &std::fs::File, limit: Duration) -> Result<()> {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::AsFd;
    let mut fds = [PollFd::new(file.as_fd(), PollFlags::POLLIN)];
    let ms = PollTimeout::try_from(limit.as_millis() as i32).unwrap_or(PollTimeout::MAX);
    match poll(&mut fds, ms).context("poll")? {
        0 => bail!("tmux's client wrote nothing for {limit:?}"),
        _ => Ok(()),
    }
}

/// Reads the client for `d`, feeding its screen.
fn read_for(
    client: &mut BarePty,
    parser: &mut vt100::Parser,
    buf: &mut [u8],
    d: Duration,
) -> Result<()> {
    let end = Instant::now() + d;
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        if wait_readable(&client.master, left).is_err() {
            break;
        }
        let n = client.master.read(buf)?;
        if n == 0 {
            bail!("tmux's client ended");
        }
        parser.process(&buf[..n]);
    }
    Ok(())
}

pub async fn run(keys: usize, floods: usize, r: &mut Report) -> Result<()> {
    let s = "key-flood";
    let t = tokio::task::spawn_blocking(move || tmux(keys, floods)).await??;
    let command = rcd_command();
    let l = keys::local_with(keys, floods, &command).await?;
    let d = keys::relay_with(keys, floods, &command).await?;
    r.measures.push(Measure::latency(
        s,
        &format!("tmux client, {floods} windows flooding"),
        t,
    ));
    r.measures.push(Measure::latency(
        s,
        &format!("rcd attach, {floods} sessions flooding"),
        l,
    ));
    r.measures.push(Measure::latency(
        s,
        &format!("rcd device via relay, {floods} sessions flooding"),
        d,
    ));
    r.verdict(
        s,
        "attach p99 ≤ tmux p99",
        format!("{:.1} ms vs tmux {:.1} ms", l.p99, t.p99),
        l.p99 <= t.p99,
    );
    r.verdict(
        s,
        "device p99 ≤ tmux p99",
        format!("{:.1} ms vs tmux {:.1} ms", d.p99, t.p99),
        d.p99 <= t.p99,
    );
    Ok(())
}
