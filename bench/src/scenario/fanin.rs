//! `relay-fan-in`: one standalone `rc-relay serve` carrying many daemons'
//! sessions at once. The bench simulates the daemons itself
//! ([`crate::simdaemon`]: the relay's daemon side of the protocol, no
//! PTY) and a device per session, paired through its daemon's code and
//! attached as phones are; every device types steadily (a key every
//! 100–250 ms, each waiting for its echo or [`KEY_LIMIT`]) and measures
//! each key's round trip: `input` → the `screen` frame that shows it.
//! Reported: the round trip, every key accounted for, the relay's
//! resident memory and CPU.
//!
//! `relay-instances`: the same fan-in on relays that share a Redis, once
//! on one instance and once on three, each daemon on one instance and
//! each of its devices on the next, so that every key crosses from one
//! instance to another: the round trip on each, and what the hop adds.

use super::{Measure, Report};
use crate::device::Device;
use crate::rig::{self, RelayServer};
use crate::simdaemon::{Counters, SimDaemon};
use crate::stats::{self, Summary};
use anyhow::{Context, Result, bail};
use rcd_proto::stream::{DaemonMsg, DeviceMsg};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

const S: &str = "relay-fan-in";
const SI: &str = "relay-instances";
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

/// Scales `sizes` down when the limit of open files is too low for them;
/// says whether it did.
fn fit(sizes: &mut Sizes, what: &str) -> Result<bool> {
    let limit = rig::raise_open_files()?;
    let need = files_needed(sizes.daemons, sizes.sessions);
    if limit >= need {
        return Ok(false);
    }
    let per = (sizes.sessions * 2 + 3) as u64;
    let fit = (limit.saturating_sub(SPARE_FILES) / per) as usize;
    eprintln!(
        "bench: {what}: SCALED DOWN: the limit of open files is {limit} (the hard limit), \
         {} daemons × {} sessions need {need}; running {fit} daemons instead \
         (raise the hard limit, e.g. `ulimit -Hn`, for the full size)",
        sizes.daemons, sizes.sessions
    );
    if fit == 0 {
        bail!("{what}: the limit of open files ({limit}) is too low for even one daemon");
    }
    sizes.daemons = fit;
    Ok(true)
}

/// Where a fan-in runs: daemon `i` uses relay `i % n`; its devices the
/// next one when `cross`, else the same.
struct Relays {
    urls: Vec<String>,
    token: rcd_proto::relay::Secret,
    /// Processes whose memory and CPU count as the relay's.
    pids: Vec<u32>,
    cross: bool,
}

/// What one fan-in measured.
struct Outcome {
    lat: Summary,
    setup: Duration,
    /// KiB, summed over the relay's processes.
    rss: [u64; 3],
    /// Seconds of CPU of the relay's processes and of the bench, and
    /// of the wall clock, while typing.
    cpu: f64,
    own: f64,
    wall: f64,
    all: Tally,
    failed: u64,
    received: u64,
    applied: u64,
    repeats: u64,
    errors: u64,
}

impl Outcome {
    fn failures(&self) -> u64 {
        self.all.timeouts + self.all.unacked + self.failed + self.repeats + self.errors
    }

    /// Every key echoed once and reached its daemon once.
    fn once(&self) -> bool {
        self.all.sent > 0
            && self.all.sent == self.all.echoed
            && self.failures() == 0
            && self.received == self.all.sent
            && self.applied == self.all.sent
    }
}

fn rss_sum(pids: &[u32]) -> Result<u64> {
    pids.iter().map(|p| rig::rss_kib(*p)).sum()
}

fn cpu_sum(pids: &[u32]) -> Result<Duration> {
    pids.iter().map(|p| rig::cpu_time(*p)).sum()
}

/// Sets up `sizes` on `relays`, types, and counts.
async fn fan_in(relays: &Relays, sizes: Sizes, what: &str) -> Result<Outcome> {
    let Sizes {
        daemons,
        sessions,
        secs,
    } = sizes;
    let clients = relays
        .urls
        .iter()
        .map(|u| rcd_net::Relay::new(u, None))
        .collect::<Result<Vec<_>, _>>()?;
    let n = clients.len();
    let counters = Arc::new(Counters::default());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_start = rss_sum(&relays.pids)?;

    // Set-up: the daemons, then a paired device per session.
    let t_setup = Instant::now();
    let gate = Arc::new(Semaphore::new(SETUP_PARALLEL));
    let mut starting = JoinSet::new();
    for i in 0..daemons {
        let (client, token, counters, gate) = (
            clients[i % n].clone(),
            relays.token.clone(),
            counters.clone(),
            gate.clone(),
        );
        starting.spawn(async move {
            let _turn = gate.acquire_owned().await?;
            let d =
                SimDaemon::start(&client, &token, &format!("fanin{i}"), sessions, counters).await?;
            Ok::<_, anyhow::Error>((i, d))
        });
    }
    let mut sims = Vec::with_capacity(daemons);
    while let Some(d) = starting.join_next().await {
        sims.push(d??);
    }
    sims.sort_by_key(|(i, _)| *i);
    let sims: Arc<Vec<SimDaemon>> = Arc::new(sims.into_iter().map(|(_, d)| d).collect());
    let mut attaching = JoinSet::new();
    for di in 0..daemons {
        for si in 0..sessions {
            let at = if relays.cross { (di + 1) % n } else { di % n };
            let (client, sims, gate) = (clients[at].clone(), sims.clone(), gate.clone());
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
    let rss_connected = rss_sum(&relays.pids)?;
    eprintln!(
        "bench: {what}: {} sessions linked and attached in {:.1} s; typing for {secs} s",
        devices.len(),
        setup.as_secs_f64()
    );

    // Typing.
    let me = std::process::id();
    let (cpu0, own0) = (cpu_sum(&relays.pids)?, rig::cpu_time(me)?);
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
    let cpu = (cpu_sum(&relays.pids)? - cpu0).as_secs_f64();
    let own = (rig::cpu_time(me)? - own0).as_secs_f64();
    let rss_end = rss_sum(&relays.pids)?;
    // Let the last acks and input-acks land before the daemons' counts.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let o = Outcome {
        lat: stats::summary(&all.samples),
        setup,
        rss: [rss_start, rss_connected, rss_end],
        cpu,
        own,
        wall,
        received: Counters::get(&counters.received),
        applied: Counters::get(&counters.applied),
        repeats: Counters::get(&counters.repeats),
        errors: Counters::get(&counters.errors),
        all,
        failed,
    };
    drop(sims);
    eprintln!(
        "bench: {what}: keys sent {}, echoed {}, reached the daemons {} (applied {}, \
         repeats {}); timeouts {}, echoes without their input-ack {}, devices failed \
         {}, daemon errors {}",
        o.all.sent,
        o.all.echoed,
        o.received,
        o.applied,
        o.repeats,
        o.all.timeouts,
        o.all.unacked,
        o.failed,
        o.errors
    );
    Ok(o)
}

fn mib(k: u64) -> f64 {
    k as f64 / 1024.0
}

/// `relay-fan-in` at `sizes` (scaled down when the limit of open files
/// is too low for them).
pub async fn run(mut sizes: Sizes, r: &mut Report) -> Result<()> {
    let scaled = fit(&mut sizes, S)?;
    let relay = RelayServer::start()?;
    let relays = Relays {
        urls: vec![relay.url.clone()],
        token: relay.token.clone(),
        pids: vec![relay.pid()],
        cross: false,
    };
    let o = fan_in(&relays, sizes, S).await?;
    drop(relay);
    let Sizes {
        daemons, sessions, ..
    } = sizes;
    let subject = format!("key round trip, {daemons} daemons × {sessions} sessions");
    let subject = if scaled {
        format!("{subject} (scaled down)")
    } else {
        subject
    };
    r.measures.push(Measure::latency(S, &subject, o.lat));
    for (what, k) in ["at start", "all connected", "at the end"]
        .iter()
        .zip(o.rss)
    {
        r.measures.push(Measure::value(
            S,
            &format!("relay RSS {what}"),
            "MiB",
            mib(k),
        ));
    }
    r.measures.push(Measure::value(
        S,
        "relay CPU while typing",
        "% of a core",
        100.0 * o.cpu / o.wall,
    ));
    // Per key, less moved by a busy machine than the round trip: a key is
    // four messages through the relay (input and ack in, input-ack and
    // screen out).
    r.measures.push(Measure::value(
        S,
        "relay CPU per key",
        "µs",
        1e6 * o.cpu / o.all.sent.max(1) as f64,
    ));
    r.measures.push(Measure::value(
        S,
        "bench CPU (daemons and devices)",
        "% of a core",
        100.0 * o.own / o.wall,
    ));
    r.measures
        .push(Measure::value(S, "keys sent", "keys", o.all.sent as f64));
    r.measures.push(Measure::value(
        S,
        "keys per second",
        "keys/s",
        o.all.sent as f64 / o.wall,
    ));
    r.measures.push(Measure::value(
        S,
        "set-up (link + pair + attach)",
        "s",
        o.setup.as_secs_f64(),
    ));
    r.verdict(
        S,
        "p99 round trip and relay RSS reported; nothing lost",
        format!(
            "p99 {:.3} ms (p50 {:.3}), RSS {:.1} → {:.1} MiB; {} of {} keys echoed once, \
             {} failures{}",
            o.lat.p99,
            o.lat.p50,
            mib(o.rss[0]),
            mib(o.rss[2]),
            o.all.echoed,
            o.all.sent,
            o.failures(),
            if scaled {
                " (scaled down: too few open files)"
            } else {
                ""
            }
        ),
        o.once(),
    );
    Ok(())
}

/// `relay-instances`: the fan-in on one and on three instances sharing a
/// Redis (`redis-server` on a free port, started here).
pub async fn instances(mut sizes: Sizes, r: &mut Report) -> Result<()> {
    let scaled = fit(&mut sizes, SI)?;
    let Some(redis) = rig::RedisServer::start() else {
        bail!("{SI}: redis-server is not installed (apt-get install redis-server)");
    };
    let redis_pid = redis.pid().context("redis-server runs")?;
    let mut outcomes = Vec::new();
    // Each on a database of its own: nothing of the first is left for
    // the second to read.
    for (n, url) in [(1usize, redis.url()), (3, redis.url_of(1))] {
        let first = RelayServer::start_with(Some(&url), None)?;
        let mut servers = vec![first];
        for _ in 1..n {
            let token = servers[0].token.clone();
            servers.push(RelayServer::start_with(Some(&url), Some(token))?);
        }
        let mut pids: Vec<u32> = servers.iter().map(RelayServer::pid).collect();
        pids.push(redis_pid);
        let relays = Relays {
            urls: servers.iter().map(|s| s.url.clone()).collect(),
            token: servers[0].token.clone(),
            pids,
            cross: n > 1,
        };
        let what = format!("{SI} ({n} instance{})", if n == 1 { "" } else { "s" });
        let o = fan_in(&relays, sizes, &what).await?;
        drop(servers);
        outcomes.push((n, o));
    }
    let Sizes {
        daemons, sessions, ..
    } = sizes;
    let size = format!(
        "{daemons} daemons × {sessions} sessions{}",
        if scaled { " (scaled down)" } else { "" }
    );
    for (n, o) in &outcomes {
        let layout = match n {
            1 => "one instance".to_string(),
            n => format!("{n} instances, every key crossing"),
        };
        r.measures.push(Measure::latency(
            SI,
            &format!("key round trip, {size}, {layout}"),
            o.lat,
        ));
        r.measures.push(Measure::value(
            SI,
            &format!("relays and Redis CPU per key, {layout}"),
            "µs",
            1e6 * o.cpu / o.all.sent.max(1) as f64,
        ));
        r.measures.push(Measure::value(
            SI,
            &format!("relays and Redis RSS, all connected, {layout}"),
            "MiB",
            mib(o.rss[1]),
        ));
        r.measures.push(Measure::value(
            SI,
            &format!("keys sent, {layout}"),
            "keys",
            o.all.sent as f64,
        ));
    }
    let (one, three) = (&outcomes[0].1, &outcomes[1].1);
    r.measures.push(Measure::value(
        SI,
        "cross-instance hop, added to the p50 round trip",
        "ms",
        three.lat.p50 - one.lat.p50,
    ));
    r.measures.push(Measure::value(
        SI,
        "cross-instance hop, added to the p99 round trip",
        "ms",
        three.lat.p99 - one.lat.p99,
    ));
    r.verdict(
        SI,
        "p99 on one and on three instances and the hop's cost reported; nothing lost",
        format!(
            "one instance p99 {:.3} ms (p50 {:.3}); three, every key crossing, p99 {:.3} ms \
             (p50 {:.3}); {} and {} keys, {} and {} failures",
            one.lat.p99,
            one.lat.p50,
            three.lat.p99,
            three.lat.p50,
            one.all.sent,
            three.all.sent,
            one.failures(),
            three.failures()
        ),
        one.once() && three.once(),
    );
    Ok(())
}
