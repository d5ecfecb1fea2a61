//! A key's round trip: typed, and back as the program's echo.
//!
//! - `key-local`: `rcctl attach`'s path (the control socket's attach
//!   stream) against the floor, the same program on a bare PTY written and
//!   read by the bench itself;
//! - `key-relay`: a device's path through rcd's embedded relay (the
//!   session stream: `input`, then the `screen` frame that shows the key)
//!   against the local path measured in the same run.
//!
//! Every key is `\r` and a letter, so the letter always lands in column 0
//! of the cursor's row: the screen frame that shows it is unambiguous.

use super::{Measure, Report};
use crate::device::Device;
use crate::rig::{self, BarePty, ECHO, Rcd};
use crate::stats::{self, Summary};
use anyhow::{Context, Result, bail};
use rcd_proto::frame::tokio_io::{read_frame, write_frame};
use rcd_proto::stream::{DaemonMsg, DeviceMsg};
use rcd_proto::{AttachInput, AttachOutput, Request, Response};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// How long one key may take before the scenario fails.
pub const KEY_LIMIT: Duration = Duration::from_secs(5);
/// Sessions printing steadily while `key-relay` types.
const BUSY_SESSIONS: usize = 32;
/// Keys typed before measuring.
pub const WARM_UP: usize = 20;

pub fn key(i: usize) -> (u8, Vec<u8>) {
    let c = b'a' + (i % 26) as u8;
    (c, vec![b'\r', c])
}

/// The floor: write to a bare PTY's master, read until the echo.
fn floor(keys: usize) -> Result<Summary> {
    let mut pty = BarePty::spawn("stty raw -echo; exec cat")?;
    std::thread::sleep(Duration::from_millis(300));
    let mut samples = Vec::with_capacity(keys);
    let mut buf = [0u8; 4096];
    for i in 0..keys + WARM_UP {
        let (c, bytes) = key(i);
        let t = Instant::now();
        pty.master.write_all(&bytes)?;
        loop {
            let n = pty.master.read(&mut buf)?;
            if n == 0 {
                bail!("the program on the bare PTY ended");
            }
            if buf[..n].contains(&c) {
                break;
            }
        }
        if i >= WARM_UP {
            samples.push(t.elapsed());
        }
    }
    Ok(stats::summary(&samples))
}

/// `rcctl attach`'s path: attach input in, attach output back.
async fn local(keys: usize) -> Result<Summary> {
    local_with(keys, 0, ECHO).await
}

/// `rcctl attach`'s path into the session `keys`, with `busy` other
/// sessions running `command` too (which must echo in `keys`).
pub async fn local_with(keys: usize, busy: usize, command: &str) -> Result<Summary> {
    let capacity = (busy + 1).to_string();
    let rcd = Rcd::start(&["--no-relay", "--capacity", &capacity, "--command", command])?;
    for i in 0..busy {
        rcd.new_session(&format!("busy{i}")).await?;
    }
    rcd.new_session("keys").await?;
    let mut s = rcd.connect().await?;
    write_frame(
        &mut s,
        &Request::Attach {
            name: "keys".into(),
            rows: 24,
            cols: 80,
        },
    )
    .await?;
    match read_frame::<_, Response>(&mut s).await? {
        Response::Attached { .. } => {}
        other => bail!("attach: {other:?}"),
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut samples = Vec::with_capacity(keys);
    for i in 0..keys + WARM_UP {
        let (c, bytes) = key(i);
        let t = Instant::now();
        write_frame(&mut s, &AttachInput::Data { bytes }).await?;
        tokio::time::timeout(KEY_LIMIT, async {
            loop {
                match read_frame::<_, AttachOutput>(&mut s).await? {
                    AttachOutput::Data { bytes } | AttachOutput::Redraw { bytes }
                        if bytes.contains(&c) =>
                    {
                        return Ok::<_, anyhow::Error>(());
                    }
                    AttachOutput::Exited { .. } => bail!("the session ended"),
                    _ => {}
                }
            }
        })
        .await
        .context("a key did not come back")??;
        if i >= WARM_UP {
            samples.push(t.elapsed());
        }
    }
    Ok(stats::summary(&samples))
}

/// A device's path: pair with rcd's embedded relay, start a session,
/// type into its attach socket and wait for the frame that shows the key.
/// The program of every session of `key-relay`: the echo for the session
/// typed into, a line every 10 ms for the others (perl, so the load is
/// the printing and not a process started per line).
const ECHO_OR_PRINT: &str = "sh -c 'if [ \"$RCD_SESSION\" = keys ]; then stty raw -echo; exec cat; \
     else exec perl -e \"\\$|=1; while (1) { print qq(\\$ENV{RCD_SESSION} printing steadily\\\\n); select(undef, undef, undef, 0.01) }\"; fi'";

/// A device's round trip, with `busy` other sessions printing meanwhile.
async fn relay(keys: usize, busy: usize) -> Result<Summary> {
    relay_with(keys, busy, ECHO_OR_PRINT).await
}

/// A device's round trip into the session `keys`, with `busy` other
/// sessions running `command` too (which must echo in `keys`).
pub async fn relay_with(keys: usize, busy: usize, command: &str) -> Result<Summary> {
    let port = rig::free_port()?;
    let listen = format!("127.0.0.1:{port}");
    let capacity = (busy + 1).to_string();
    let rcd = Rcd::start(&[
        "--listen",
        &listen,
        "--capacity",
        &capacity,
        "--command",
        command,
    ])?;
    for i in 0..busy {
        rcd.new_session(&format!("busy{i}")).await?;
    }
    let mut d = Device::attach(&rcd, &listen, "keys").await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut samples = Vec::with_capacity(keys);
    for i in 0..keys + WARM_UP {
        let (c, bytes) = key(i);
        let t = Instant::now();
        d.send(&DeviceMsg::Input {
            seq: i as u64 + 1,
            bytes,
        })
        .await?;
        tokio::time::timeout(KEY_LIMIT, async {
            loop {
                match d.next().await? {
                    DaemonMsg::Screen(_) if d.shows(c) => return Ok::<_, anyhow::Error>(()),
                    DaemonMsg::Exited { .. } => bail!("the session ended"),
                    DaemonMsg::Error { message } => bail!("the daemon: {message}"),
                    _ => {}
                }
            }
        })
        .await
        .context("a key did not show on the device's screen")??;
        if i >= WARM_UP {
            samples.push(t.elapsed());
        }
    }
    drop(rcd);
    Ok(stats::summary(&samples))
}

/// `key-local`: rcd's local attach against the bare PTY.
pub async fn key_local(keys: usize, r: &mut Report) -> Result<Summary> {
    let f = tokio::task::spawn_blocking(move || floor(keys)).await??;
    let l = local(keys).await?;
    r.measures
        .push(Measure::latency("key-local", "bare PTY (floor)", f));
    r.measures
        .push(Measure::latency("key-local", "rcd attach", l));
    r.verdict(
        "key-local",
        "p50 ≤ floor + 0.3 ms",
        format!("{:.3} ms vs floor {:.3} ms", l.p50, f.p50),
        l.p50 <= f.p50 + 0.3,
    );
    Ok(l)
}

/// A device's round trip through the embedded relay, nothing else
/// running: the peer of `key-browser` when `key-relay` is not run.
pub async fn relay_alone(keys: usize) -> Result<Summary> {
    relay(keys, 0).await
}

/// `key-relay`: a device through the embedded relay against the local
/// path of the same run. Returns the figure of the device alone.
pub async fn key_relay(keys: usize, local: Summary, r: &mut Report) -> Result<Summary> {
    let quiet = relay(keys, 0).await?;
    r.measures.push(Measure::latency(
        "key-relay",
        "rcd device via relay, alone",
        quiet,
    ));
    let d = relay(keys, BUSY_SESSIONS).await?;
    r.measures.push(Measure::latency(
        "key-relay",
        &format!("rcd device via relay, {BUSY_SESSIONS} others printing"),
        d,
    ));
    r.verdict(
        "key-relay",
        "p50 ≤ local + 1 ms",
        format!("{:.3} ms vs local {:.3} ms", d.p50, local.p50),
        d.p50 <= local.p50 + 1.0,
    );
    r.verdict(
        "key-relay",
        "p99 ≤ local + 5 ms",
        format!("{:.3} ms vs local {:.3} ms", d.p99, local.p99),
        d.p99 <= local.p99 + 5.0,
    );
    Ok(quiet)
}
