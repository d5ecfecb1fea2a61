//! `relay-fan-in`: one standalone `rc-relay serve` carrying many daemons'
//! sessions at once. The bench simulates the daemons itself
//! ([`crate::simdaemon`]: the relay's daemon side of the protocol, no
//! PTY) and a device per session, paired through its daemon's code and
//! attached as phones are; every device types steadily (a key every
//! 100–250 ms, each waiting for its echo or [`KEY_LIMIT`]) and measures
//! each key's round trip: `input` → the `screen` frame that shows it.
//! Reported: the round trip, every key accounted for, the relay's
//! resident memory and CPU.

use super::{Measure, Report};
use crate::device::Device;
use crate::rig::{self, RelayServer};
use crate::simdaemon::{Counters, SimDaemon};
use crate::stats;
use anyhow::{Context, Result, bail};
use rcd_proto::stream::{DaemonMsg, DeviceMsg};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

const S: &str = "relay-fan-in";
/// How long one key may take before it counts as lost.
const KEY_LIMIT: Duration = Duration::from_secs(5);
/// The pace of each device: a key every 100 to 250 ms.
const PACE_MIN_MS: u64 = 100;
const PACE_SPAN_MS: u64 = 150;
/// Set-up steps run at once (registrations, pairings, attaches).
const SETUP_PARALLEL: usize = 32;
/// Descriptors the bench and the relay need beyond the sockets counted.
const SPARE_FILES: u64 = 256;

/// The sizes of one run.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub daemons: usize,
    pub sessions: usize,
    pub secs: u64,
}

/// Open files each of the bench and the relay needs: per session a link
/// and an attach socket, per daemon its HTTP connections (a long poll, a
/// heartbeat), and some spare.
fn files_needed(daemons: usize, sessions: usize) -> u64 {
    (daemons * (sessions * 2 + 3)) as u64 + SPARE_FILES
}

/// What one device counted.
#[derive(Debug, Default)]
struct Tally {
    samples: Vec<Duration>,
    sent: u64,
    echoed: u64,
    /// Keys whose `input-ack` did not name them by the time they showed.
    unacked: u64,
    timeouts: u64,
    /// The device's socket failed (it stops typing).
    failed: bool,
}

/// A small deterministic generator for each device's pace.
fn pace(state: &mut u64) -> Duration {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    Duration::from_millis(PACE_MIN_MS + *state % (PACE_SPAN_MS + 1))
}

/// Types until `until`, a key at a time.
async fn type_steadily(mut d: Device, index: u64, start: Instant, until: Instant) -> Tally {
    let mut t = Tally::default();
    let mut rng = 0x9e37_79b9_7f4a_7c15 ^ (index + 1).wrapping_mul(0x2545_f491_4f6c_dd1d);
    let mut next = start + Duration::from_millis(index % (PACE_MIN_MS + PACE_SPAN_MS));
    let mut acked_seq = 0u64;
    let mut i = 0u64;
    while next < until {
        tokio::time::sleep_until(next).await;
        let c = b'a' + (i % 26) as u8;
        let seq = i + 1;
        let sent_at = Instant::now();
        next = sent_at + pace(&mut rng);
        i += 1;
        if d.send(&DeviceMsg::Input {
            seq,
            bytes: vec![b'\r', c],
        })
        .await
        .is_err()
        {
            t.failed = true;
            break;
        }
        t.sent += 1;
        let echo = tokio::time::timeout(KEY_LIMIT, async {
            loop {
                match d.next().await? {
                    DaemonMsg::InputAck { seq } => acked_seq = seq,
                    DaemonMsg::Screen(_) if d.shows(c) => return Ok::<_, anyhow::Error>(()),
                    DaemonMsg::Error { message } => bail!("the daemon: {message}"),
                    _ => {}
                }
            }
        })
        .await;
        match echo {
            Ok(Ok(())) => {
                t.samples.push(sent_at.elapsed());
                t.echoed += 1;
                if acked_seq != seq {
                    t.unacked += 1;
                }
            }
            Ok(Err(_)) => {
                t.failed = true;
                break;
            }
            Err(_) => t.timeouts += 1,
        }
    }
    t
}

/// `relay-fan-in` at `sizes` (scaled down when the limit of open files
/// is too low for them).
pub async fn run(mut sizes: Sizes, r: &mut Report) -> Result<()> {
    let limit = rig::raise_open_files()?;
    let need = files_needed(sizes.daemons, sizes.sessions);
    let scaled = limit < need;
    if scaled {
        let per = (sizes.sessions * 2 + 3) as u64;
        let fit = (limit.saturating_sub(SPARE_FILES) / per) as usize;
        eprintln!(
            "bench: {S}: SCALED DOWN: the limit of open files is {limit} (the hard limit), \
             {} daemons × {} sessions need {need}; running {fit} daemons instead \
             (raise the hard limit, e.g. `ulimit -Hn`, for the full size)",
            sizes.daemons, sizes.sessions
        );
        if fit == 0 {
            bail!("{S}: the limit of open files ({limit}) is too low for even one daemon");
        }
        sizes.daemons = fit;
    }
    let Sizes {
        daemons,
        sessions,
        secs,
    } = sizes;
    let relay = RelayServer::start()?;
    let pid = relay.pid();
    let client = rcd_net::Relay::new(&relay.url, None)?;
    let counters = Arc::new(Counters::default());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_start = rig::rss_kib(pid)?;

    // Set-up: the daemons, then a paired device per session.
    let t_setup = Instant::now();
    let gate = Arc::new(Semaphore::new(SETUP_PARALLEL));
    let mut starting = JoinSet::new();
    for i in 0..daemons {
        let (client, token, counters, gate) = (
            client.clone(),
            relay.token.clone(),
            counters.clone(),
            gate.clone(),
        );
        starting.spawn(async move {
            let _turn = gate.acquire_owned().await?;
            SimDaemon::start(&client, &token, &format!("fanin{i}"), sessions, counters).await
        });
    }
    let mut sims = Vec::with_capacity(daemons);
    while let Some(d) = starting.join_next().await {
        sims.push(d??);
    }
    let sims = Arc::new(sims);
    let mut attaching = JoinSet::new();
    for di in 0..daemons {
        for si in 0..sessions {
            let (client, sims, gate) = (client.clone(), sims.clone(), gate.clone());
            attaching.spawn(async move {
                let _turn = gate.acquire_owned().await?;
                let d = &sims[di];
                let code = d.pairing_code().await?;
                let token = Device::pair(&client, code).await?;
                let ws = client.attach(&token, &d.env, &d.sessions[si]).await?;
                let dev = Device::on(ws, &format!("fanin-device-{di}-{si}")).await?;
                Ok::<_, anyhow::Error>(dev)
            });
        }
    }
    let mut devices = Vec::with_capacity(daemons * sessions);
    while let Some(d) = attaching.join_next().await {
        devices.push(d?.context("a device's set-up")?);
    }
    let setup = t_setup.elapsed();
    let rss_connected = rig::rss_kib(pid)?;
    eprintln!(
        "bench: {S}: {} sessions linked and attached in {:.1} s; typing for {secs} s",
        devices.len(),
        setup.as_secs_f64()
    );

    // Typing.
    let me = std::process::id();
    let (cpu0, own0) = (rig::cpu_time(pid)?, rig::cpu_time(me)?);
    let start = Instant::now() + Duration::from_millis(100);
    let until = start + Duration::from_secs(secs);
    let mut typing = JoinSet::new();
    for (i, d) in devices.into_iter().enumerate() {
        typing.spawn(type_steadily(d, i as u64, start, until));
    }
    let mut all = Tally::default();
    let mut failed = 0u64;
    while let Some(t) = typing.join_next().await {
        let t = t?;
        all.samples.extend(t.samples);
        all.sent += t.sent;
        all.echoed += t.echoed;
        all.unacked += t.unacked;
        all.timeouts += t.timeouts;
        failed += u64::from(t.failed);
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = (rig::cpu_time(pid)? - cpu0).as_secs_f64();
    let own = (rig::cpu_time(me)? - own0).as_secs_f64();
    let rss_end = rig::rss_kib(pid)?;
    // Let the last acks and input-acks land before the daemons' counts.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received = Counters::get(&counters.received);
    let applied = Counters::get(&counters.applied);
    let repeats = Counters::get(&counters.repeats);
    let errors = Counters::get(&counters.errors);
    drop(sims);
    drop(relay);

    let lat = stats::summary(&all.samples);
    let subject = format!("key round trip, {daemons} daemons × {sessions} sessions");
    let subject = if scaled {
        format!("{subject} (scaled down)")
    } else {
        subject
    };
    r.measures.push(Measure::latency(S, &subject, lat));
    let mib = |k: u64| k as f64 / 1024.0;
    r.measures.push(Measure::value(
        S,
        "relay RSS at start",
        "MiB",
        mib(rss_start),
    ));
    r.measures.push(Measure::value(
        S,
        "relay RSS, all connected",
        "MiB",
        mib(rss_connected),
    ));
    r.measures.push(Measure::value(
        S,
        "relay RSS at the end",
        "MiB",
        mib(rss_end),
    ));
    r.measures.push(Measure::value(
        S,
        "relay CPU while typing",
        "% of a core",
        100.0 * cpu / wall,
    ));
    // Per key, less moved by a busy machine than the round trip: a key is
    // four messages through the relay (input and ack in, input-ack and
    // screen out).
    r.measures.push(Measure::value(
        S,
        "relay CPU per key",
        "µs",
        1e6 * cpu / all.sent.max(1) as f64,
    ));
    r.measures.push(Measure::value(
        S,
        "bench CPU (daemons and devices)",
        "% of a core",
        100.0 * own / wall,
    ));
    r.measures
        .push(Measure::value(S, "keys sent", "keys", all.sent as f64));
    r.measures.push(Measure::value(
        S,
        "keys per second",
        "keys/s",
        all.sent as f64 / wall,
    ));
    r.measures.push(Measure::value(
        S,
        "set-up (link + pair + attach)",
        "s",
        setup.as_secs_f64(),
    ));
    let lost = all.sent - all.echoed;
    let failures = all.timeouts + all.unacked + failed + repeats + errors;
    eprintln!(
        "bench: {S}: keys sent {}, echoed {}, reached the daemons {received} (applied {applied}, \
         repeats {repeats}); timeouts {}, echoes without their input-ack {}, devices failed \
         {failed}, daemon errors {errors}",
        all.sent, all.echoed, all.timeouts, all.unacked
    );
    let once = lost == 0 && failures == 0 && received == all.sent && applied == all.sent;
    r.verdict(
        S,
        "p99 round trip and relay RSS reported; nothing lost",
        format!(
            "p99 {:.3} ms (p50 {:.3}), RSS {:.1} → {:.1} MiB; {} of {} keys echoed once, \
             {failures} failures{}",
            lat.p99,
            lat.p50,
            mib(rss_start),
            mib(rss_end),
            all.echoed,
            all.sent,
            if scaled {
                " (scaled down: too few open files)"
            } else {
                ""
            }
        ),
        once && all.sent > 0,
    );
    Ok(())
}
