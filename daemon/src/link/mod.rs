//! The daemon's link to its relay: outbound only.
//!
//! One task runs the environment: register with the enrollment token,
//! then heartbeat, refresh the credential before it expires, and long-poll
//! for work (create or stop a session), answering each item with its
//! result. Any failure ends the connected phase; the task then registers
//! again at once, and after a failed try waits as [`retry`] says (within
//! a second while the relay refuses connections, `Retry-After` when it
//! asks for it, capped and jittered backoff otherwise), at once after a
//! wake from sleep. While
//! the relay is unreachable the outage clock runs on awake (monotonic)
//! time; past `--outage-timeout` the link returns [`LinkEnd::Outage`] and
//! the daemon stops its sessions and exits with [`OUTAGE_EXIT_CODE`].
//!
//! Each running session has a stream of its own (see [`stream`]), a
//! WebSocket admitted with a credential for that session alone.

pub mod clock;
pub mod device;
mod handle;
pub mod retry;
pub mod stream;

use handle::PairingReply;
pub use handle::{Link, LinkHandle, PairingError, Published, pairing_url};

use crate::supervisor::Supervisor;
use clock::{Clock, WakeDetector};
use rcd_net::{NetError, Relay};
use rcd_proto::LinkStatus;
use rcd_proto::relay::{
    Heartbeat, RELAY_PROTOCOL_VERSION, RegisterRequest, RegisterResponse, Secret, WorkItem,
    WorkResult,
};
use retry::Retry;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// Exit status of rcd after an outage longer than `--outage-timeout`
/// (EX_TEMPFAIL: a service manager should restart it).
pub const OUTAGE_EXIT_CODE: u8 = 75;

/// How often the clocks are compared for a wake from sleep.
const WAKE_CHECK: Duration = Duration::from_secs(1);
/// A connected phase this long resets the backoff even when it ended on
/// an error answer (a shorter one that keeps ending so backs off).
const STEADY: Duration = Duration::from_secs(30);
/// A heartbeat goes out this soon after a change of sessions.
const CHANGE_DEBOUNCE: Duration = Duration::from_millis(150);

/// Tunables of the link.
#[derive(Debug, Clone)]
pub struct LinkOptions {
    pub outage_timeout: Duration,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    pub embedded: bool,
}

impl LinkOptions {
    /// The defaults for a given outage timeout.
    pub fn new(outage_timeout: Duration, embedded: bool) -> Self {
        Self {
            outage_timeout,
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(30),
            embedded,
        }
    }
}

/// Why the link stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEnd {
    /// The daemon is shutting down.
    Stopped,
    /// The relay was unreachable for longer than the outage timeout.
    Outage(Duration),
}

/// The current environment registration, shared with session links.
#[derive(Debug, Clone)]
pub struct EnvAuth {
    pub id: String,
    pub credential: Secret,
    /// Counts registrations (not credential refreshes): a session link
    /// made under an earlier one may be dead (the relay restarted, the
    /// machine slept) and is replaced.
    pub registration: u64,
}

/// What the link shares with its session links.
#[derive(Debug)]
pub struct Shared {
    pub relay: Relay,
    pub sup: Arc<Supervisor>,
    /// `None` while (re)registering.
    pub env: watch::Sender<Option<EnvAuth>>,
}

use rcd_proto::LinkState as Phase;

struct Status {
    tx: watch::Sender<Option<Published>>,
    relay: String,
    embedded: bool,
    phase: Phase,
    since: Instant,
    env: Option<String>,
    last_error: Option<String>,
}

impl Status {
    fn publish(&self, next_retry: Option<Duration>, outage_left: Option<Duration>) {
        let status = LinkStatus {
            relay: self.relay.clone(),
            embedded: self.embedded,
            state: self.phase,
            environment_id: self.env.clone(),
            // Filled in when read: the phase's age then, not now.
            since_secs: 0,
            next_retry_secs: next_retry.map(|d| d.as_secs_f64().ceil() as u64),
            outage_left_secs: outage_left.map(|d| d.as_secs()),
            last_error: self.last_error.clone(),
        };
        self.tx.send_replace(Some(Published {
            status,
            since: self.since,
        }));
    }

    fn enter(&mut self, phase: Phase) {
        self.phase = phase;
        self.since = Instant::now();
    }
}

/// Starts the link; it runs until `stop` fires or the outage timeout
/// passes.
pub fn start(
    sup: Arc<Supervisor>,
    relay: Relay,
    token: Secret,
    opts: LinkOptions,
    clock: Arc<dyn Clock>,
    stop: watch::Receiver<bool>,
) -> Link {
    let (status_tx, status_rx) = watch::channel(None);
    let (pair_tx, pair_rx) = mpsc::channel(4);
    let task = tokio::spawn(run(
        sup, relay, token, opts, clock, stop, status_tx, pair_rx,
    ));
    Link {
        handle: LinkHandle {
            status: status_rx,
            pairing: pair_tx,
        },
        task,
    }
}

#[allow(clippy::too_many_arguments)]
async fn run(
    sup: Arc<Supervisor>,
    relay: Relay,
    token: Secret,
    opts: LinkOptions,
    clock: Arc<dyn Clock>,
    mut stop: watch::Receiver<bool>,
    status_tx: watch::Sender<Option<Published>>,
    mut pair_rx: mpsc::Receiver<PairingReply>,
) -> LinkEnd {
    let shared = Arc::new(Shared {
        relay: relay.clone(),
        sup: sup.clone(),
        env: watch::channel(None).0,
    });
    let sessions = tokio::spawn(stream::manage(shared.clone()));
    let (wake_tx, mut wake_rx) = watch::channel(0u64);
    let wake_task = {
        let clock = clock.clone();
        tokio::spawn(async move {
            let mut detector = WakeDetector::new(clock.as_ref());
            let mut tick = rcd_proto::liveness::beat(WAKE_CHECK);
            loop {
                tick.tick().await;
                if let Some(slept) = detector.check(clock.as_ref()) {
                    tracing::info!(?slept, "wake from sleep detected; reconnecting now");
                    wake_tx.send_modify(|n| *n += 1);
                }
            }
        })
    };

    let mut status = Status {
        tx: status_tx,
        relay: relay.url().to_string(),
        embedded: opts.embedded,
        phase: Phase::Connecting,
        since: Instant::now(),
        env: None,
        last_error: None,
    };
    let mut backoff = Retry::new(opts.backoff_base, opts.backoff_cap);
    let mut last_failure: Option<NetError> = None;
    let mut after_connected = false;
    let mut registration = 0u64;
    let mut outage_start = Instant::now();
    let mut first = true;
    let end = loop {
        status.publish(None, None);
        // A relay that accepts connections but does not answer (a
        // partition that drops its answers, a frozen process) holds a
        // registration for up to the request's 30 s: the outage clock
        // still ends it on time.
        let left = opts.outage_timeout.saturating_sub(outage_start.elapsed());
        let registered = tokio::select! {
            r = tokio::time::timeout(left, register(&shared, &token)) => r,
            // A wake while registering: the attempt may be on a dead
            // connection; start again on a fresh one.
            _ = wake_rx.changed() => {
                backoff.reset();
                relay.forget_connections();
                continue;
            }
        };
        let Ok(registered) = registered else {
            break LinkEnd::Outage(outage_start.elapsed());
        };
        match registered {
            Ok(reg) => {
                let since_outage = outage_start.elapsed();
                if !first {
                    tracing::info!(after = ?since_outage, "relay link back");
                }
                registration += 1;
                shared.env.send_replace(Some(EnvAuth {
                    id: reg.environment_id.clone(),
                    credential: reg.credential.token.clone(),
                    registration,
                }));
                if first {
                    match new_pairing_url(&shared, &reg.environment_id).await {
                        Ok(url) => announce(&url, relay.url()),
                        Err(e) => tracing::warn!("cannot get a pairing code: {e}"),
                    }
                }
                first = false;
                status.env = Some(reg.environment_id.clone());
                status.last_error = None;
                status.enter(Phase::Connected);
                status.publish(None, None);
                let connected_at = Instant::now();
                // A wake from before this phase is not one to act on.
                wake_rx.borrow_and_update();
                let (why, answered) = tokio::select! {
                    end = connected(&shared, &reg, registration, &mut pair_rx) => end,
                    // Even in the middle of a request: after a sleep it may
                    // wait on a dead connection for its whole time limit.
                    _ = wake_rx.changed() => ("woke from sleep".into(), false),
                    _ = stop.changed() => {
                        deregister(&shared, &reg).await;
                        break LinkEnd::Stopped;
                    }
                };
                shared.env.send_replace(None);
                // Kept-alive connections may be half-open now.
                relay.forget_connections();
                tracing::warn!("relay link lost: {why}");
                status.last_error = Some(why);
                status.enter(Phase::Reconnecting);
                outage_start = Instant::now();
                // The relay answered with an error: something is wrong
                // there, back off. Otherwise (the connection broke, the
                // relay may have restarted) register again at once.
                after_connected = answered;
                if !answered || connected_at.elapsed() >= STEADY {
                    backoff.reset();
                }
            }
            Err(NetError::Unauthorized(_)) => {
                // The relay does not know the enrollment token (revoked, or
                // never made there): no retry can succeed. The sessions go on
                // locally; the link waits only for rcd to stop.
                let why = format!(
                    "the relay {} refused rcd's enrollment token (revoked or unknown); not \
                     retrying: make a new one with `rc-relay token create` and restart rcd with it",
                    relay.url()
                );
                tracing::error!("{why}");
                status.last_error = Some(why);
                status.enter(Phase::Refused);
                status.publish(None, None);
                shared.env.send_replace(None);
                sessions.abort();
                wake_task.abort();
                loop {
                    tokio::select! {
                        Some(reply) = pair_rx.recv() => {
                            let _ = reply.send(Err(PairingError::NotConnected));
                        }
                        _ = stop.changed() => return LinkEnd::Stopped,
                    }
                }
            }
            Err(e) => {
                tracing::warn!("cannot register with the relay {}: {e}", relay.url());
                status.last_error = Some(e.to_string());
                if matches!(status.phase, Phase::Connected) {
                    status.enter(Phase::Reconnecting);
                }
                last_failure = Some(e);
            }
        }
        let out = outage_start.elapsed();
        if out >= opts.outage_timeout {
            break LinkEnd::Outage(out);
        }
        let left = opts.outage_timeout - out;
        // Right after the connected phase ended: register again at once
        // (the relay may have restarted and be back already).
        let delay = match last_failure.take() {
            Some(e) => backoff.after(&e),
            None if std::mem::take(&mut after_connected) => backoff.after_answer(),
            None => Duration::ZERO,
        }
        .min(left);
        status.publish(Some(delay), Some(left));
        let deadline = Instant::now() + delay;
        // While waiting, keep the status fresh and answer pairing requests.
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break,
                _ = wake_rx.changed() => {
                    backoff.reset();
                    relay.forget_connections();
                    break;
                }
                Some(reply) = pair_rx.recv() => {
                    let _ = reply.send(Err(PairingError::NotConnected));
                }
                _ = tokio::time::sleep(Duration::from_secs(1)) => {
                    let left = opts.outage_timeout.saturating_sub(outage_start.elapsed());
                    status.publish(Some(deadline.saturating_duration_since(Instant::now())), Some(left));
                }
                _ = stop.changed() => {
                    sessions.abort();
                    wake_task.abort();
                    return LinkEnd::Stopped;
                }
            }
        }
    };
    sessions.abort();
    wake_task.abort();
    end
}

async fn register(shared: &Shared, token: &Secret) -> Result<RegisterResponse, NetError> {
    let sup = &shared.sup;
    let cfg = sup.config();
    let (_, capacity, spawn) = sup.counts();
    let req = RegisterRequest {
        protocol: RELAY_PROTOCOL_VERSION,
        version: rcd_proto::PACKAGE_VERSION.to_string(),
        name: cfg.name.clone(),
        machine: cfg.machine.clone(),
        dir: cfg.dir.display().to_string(),
        spawn,
        capacity,
        programs: cfg.programs.names(),
        default_program: Some(cfg.programs.default_program().name.clone()),
    };
    let reg = shared.relay.register(token, &req).await?;
    tracing::info!(environment = %reg.environment_id, relay = %shared.relay.url(), "registered with the relay");
    Ok(reg)
}

async fn deregister(shared: &Shared, reg: &RegisterResponse) {
    let Some(auth) = shared.env.borrow().clone() else {
        return;
    };
    let r = shared
        .relay
        .deregister(&reg.environment_id, &auth.credential)
        .await;
    match r {
        Ok(_) => tracing::info!("deregistered from the relay"),
        Err(e) => tracing::warn!("could not deregister from the relay: {e}"),
    }
}

/// Refresh the credential when this much of its life is left.
fn refresh_margin(ttl: Duration) -> Duration {
    (ttl / 3).min(Duration::from_secs(60))
}

/// Why a call of the connected phase failed, and whether the relay
/// answered it (with an error) rather than the connection failing.
fn failure(what: &str, e: &NetError) -> (String, bool) {
    (format!("{what} failed: {e}"), e.answered())
}

/// The connected phase; returns why it ended, and whether the relay
/// answered with an error (then the next registration backs off).
async fn connected(
    shared: &Arc<Shared>,
    reg: &RegisterResponse,
    registration: u64,
    pairing: &mut mpsc::Receiver<PairingReply>,
) -> (String, bool) {
    let env = reg.environment_id.clone();
    let mut cred = reg.credential.clone();
    shared.env.send_replace(Some(EnvAuth {
        id: env.clone(),
        credential: cred.token.clone(),
        registration,
    }));
    let heartbeat_every = Duration::from_secs(reg.heartbeat_interval_secs.max(1));
    let poll_wait = reg.poll_timeout_secs.max(1);
    let (fail_tx, mut fail_rx) = mpsc::channel::<(String, bool)>(4);
    let _poller = AbortOnDrop(tokio::spawn(poll_work(
        shared.clone(),
        env.clone(),
        poll_wait,
        fail_tx.clone(),
    )));
    let mut changes = shared.sup.subscribe();
    let mut beat = rcd_proto::liveness::beat(heartbeat_every);
    let mut refresh_at = Instant::now()
        + Duration::from_secs(cred.expires_in_secs)
            .saturating_sub(refresh_margin(Duration::from_secs(cred.expires_in_secs)));
    // The first heartbeat goes at once: it carries the session list, which
    // a relay that just restarted does not have. The rest keep the beat.
    // The poller ends with this phase (`_poller`).
    if let Err(e) = heartbeat(shared, &env, heartbeat_every).await {
        failure("heartbeat", &e)
    } else {
        loop {
            tokio::select! {
                _ = beat.tick() => {
                    if let Err(e) = heartbeat(shared, &env, heartbeat_every).await {
                        break failure("heartbeat", &e);
                    }
                }
                Ok(()) = changes.changed() => {
                    tokio::time::sleep(CHANGE_DEBOUNCE).await;
                    changes.borrow_and_update();
                    if let Err(e) = heartbeat(shared, &env, heartbeat_every).await {
                        break failure("heartbeat", &e);
                    }
                }
                _ = tokio::time::sleep_until(refresh_at) => {
                    let auth = shared.env.borrow().clone();
                    let Some(auth) = auth else { break ("no credential".into(), false) };
                    match shared.relay.refresh(&env, &auth.credential).await {
                        Ok(c) => {
                            tracing::debug!(expires_in = c.expires_in_secs, "credential refreshed");
                            cred = c;
                            let ttl = Duration::from_secs(cred.expires_in_secs);
                            refresh_at = Instant::now() + ttl.saturating_sub(refresh_margin(ttl));
                            shared.env.send_replace(Some(EnvAuth { id: env.clone(), credential: cred.token.clone(), registration }));
                        }
                        Err(e) => break failure("credential refresh", &e),
                    }
                }
                Some(reply) = pairing.recv() => {
                    let _ = reply.send(new_pairing_url(shared, &env).await);
                }
                Some(why) = fail_rx.recv() => break why,
            }
        }
    }
}

/// Ends a task when the phase that started it ends, however it ends
/// (a phase future may be dropped mid-way by a wake or a stop).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Tells the person at the terminal how to pair a device.
fn announce(url: &str, relay: &str) {
    let code = url.rsplit_once("#pair=").map_or("", |(_, c)| c);
    crate::console::print(&format!(
        "rcd: pair a device: open {url}\n     or run: rcctl --relay {relay} pair {code}\n     \
         (one-time code, valid 10 minutes; press space for a QR code and a new code)"
    ));
}

/// A fresh one-time pairing URL for a device.
async fn new_pairing_url(shared: &Shared, env: &str) -> Result<String, PairingError> {
    let auth = shared
        .env
        .borrow()
        .clone()
        .ok_or(PairingError::NotConnected)?;
    let code = shared
        .relay
        .pairing_code(env, &auth.credential)
        .await
        .map_err(|e| PairingError::Relay(e.to_string()))?;
    Ok(format!("{}/#pair={}", shared.relay.url(), code.code))
}

/// How long a heartbeat may take: a relay that does not answer one within
/// its own interval (5 s at least) is as good as gone, and the link is
/// re-established instead of waiting out the request's 30 s.
fn heartbeat_limit(every: Duration) -> Duration {
    every.max(Duration::from_secs(5))
}

async fn heartbeat(shared: &Shared, env: &str, every: Duration) -> Result<(), NetError> {
    let auth = shared
        .env
        .borrow()
        .clone()
        .ok_or_else(|| NetError::Setup("no credential".into()))?;
    let (used, capacity, spawn) = shared.sup.counts();
    let body = Heartbeat {
        spawn,
        capacity,
        used: u32::try_from(used).unwrap_or(u32::MAX),
        sessions: shared.sup.list(),
    };
    let limit = heartbeat_limit(every);
    tokio::time::timeout(limit, shared.relay.heartbeat(env, &auth.credential, &body))
        .await
        .unwrap_or_else(|_| {
            Err(NetError::Transport {
                url: shared.relay.url().to_string(),
                reason: format!("no answer to a heartbeat within {limit:?}"),
                connect: false,
            })
        })
}

/// Long-polls for work; each item is handled in its own task so a slow
/// stop never holds up the next create.
async fn poll_work(
    shared: Arc<Shared>,
    env: String,
    wait: u64,
    fail: mpsc::Sender<(String, bool)>,
) {
    loop {
        let Some(auth) = shared.env.borrow().clone() else {
            let _ = fail.send(("no credential".into(), false)).await;
            return;
        };
        let r = shared.relay.poll_work(&env, &auth.credential, wait).await;
        match r {
            Ok(Some(item)) => {
                let shared = shared.clone();
                let env = env.clone();
                tokio::spawn(async move { handle_work(&shared, &env, item).await });
            }
            Ok(None) => {}
            Err(e) => {
                let _ = fail.send(failure("work poll", &e)).await;
                return;
            }
        }
    }
}

async fn handle_work(shared: &Shared, env: &str, item: WorkItem) {
    tracing::info!(id = %item.id, work = ?item.work, "work from the relay");
    // The boundary: a create that carries a command line is refused here,
    // never run, whatever the relay let through.
    let result = match rcd_proto::Request::try_from(item.work) {
        Ok(req) => WorkResult::from(crate::ops::answer(&shared.sup, None, req).await),
        Err(error) => {
            tracing::warn!("refused work {} from the relay: {}", item.id, error.message);
            WorkResult::Failed { error }
        }
    };
    let Some(auth) = shared.env.borrow().clone() else {
        tracing::warn!(id = %item.id, "work done but the link is down; the device will see a timeout");
        return;
    };
    if let Err(e) = shared
        .relay
        .post_work_result(env, &auth.credential, &item.id, &result)
        .await
    {
        tracing::warn!(id = %item.id, "could not post the work result: {e}");
    }
}

/// Sessions that should have a link: every one that is listed and not
/// stopping (an exited one keeps its link so devices can read it).
fn linkable(sup: &Supervisor) -> HashMap<String, Arc<crate::session::Session>> {
    sup.sessions()
        .into_iter()
        .filter(|s| !s.stop_requested())
        .map(|s| (s.name.to_string(), s))
        .collect()
}
