//! [`RelayOptions`]: every interval and lifetime of the relay.

use std::time::Duration;

/// Largest request body and WebSocket message, in bytes.
pub const MAX_BODY: usize = 1024 * 1024;

/// The read buffer of each WebSocket. tungstenite's default (128 KiB) is
/// zero-filled on a socket's first read, so it is resident for every open
/// socket: 400 MiB for 3,200 of them. Session messages are mostly far
/// smaller; a larger one grows the buffer as it needs.
pub const WS_READ_BUFFER: usize = 8 * 1024;

/// How long an environment credential and a session credential live.
pub const DEFAULT_CREDENTIAL_TTL: Duration = Duration::from_secs(600);
/// How often daemons are told to heartbeat.
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(10);
/// After this long without a heartbeat an environment is dropped from every
/// list.
pub const DEFAULT_FORGET_AFTER: Duration = Duration::from_secs(300);
/// Longest a work poll is held open.
pub const DEFAULT_POLL_TIMEOUT: Duration = Duration::from_secs(25);
/// How long a device's create or stop waits for the daemon's result.
pub const DEFAULT_WORK_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a pairing code lives.
pub const DEFAULT_PAIRING_TTL: Duration = Duration::from_secs(600);
/// How long an attach ticket lives.
pub const DEFAULT_TICKET_TTL: Duration = Duration::from_secs(60);
/// How often the relay pings each link and attach socket; two unanswered
/// pings close it.
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(15);
/// How often the sweeper forgets silent environments, drops expired
/// secrets, and applies revocations made by `rc-relay token revoke`.
pub const DEFAULT_SWEEP_INTERVAL: Duration = Duration::from_secs(2);

/// How long a client has to finish a TLS handshake, and to send a request's
/// header once it has connected or finished its last request: a connection
/// that sends nothing (or a byte at a time) is closed after it.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Open connections (HTTP and WebSocket) beyond which new ones are refused:
/// below the usual file-descriptor limit of a service (see
/// `systemd/rc-relay.service`), so the relay never runs out of them.
pub const DEFAULT_MAX_CONNECTIONS: usize = 16_384;

/// The VAPID `sub` claim when none is given: push services may write to
/// it about the relay's pushes (`rc-relay serve --push-contact`).
pub const DEFAULT_PUSH_CONTACT: &str = "mailto:rc-relay@localhost";
/// The delay before a failed push is tried again; it doubles each time.
pub const DEFAULT_PUSH_RETRY: Duration = Duration::from_secs(2);

/// The relay's intervals and lifetimes. `Default` gives the documented
/// defaults; tests shorten them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayOptions {
    /// Lifetime of environment and session credentials.
    pub credential_ttl: Duration,
    /// Heartbeat interval told to daemons.
    pub heartbeat_interval: Duration,
    /// An environment is online while its last sign of life is younger.
    pub offline_after: Duration,
    /// An environment silent this long leaves every list.
    pub forget_after: Duration,
    /// Longest work poll.
    pub poll_timeout: Duration,
    /// How long a device waits for a work result (then 504 `timeout`).
    pub work_timeout: Duration,
    /// Lifetime of a pairing code.
    pub pairing_ttl: Duration,
    /// Lifetime of an attach ticket.
    pub ticket_ttl: Duration,
    /// Ping interval on links and attach sockets.
    pub ping_interval: Duration,
    /// Interval of the background sweeper.
    pub sweep_interval: Duration,
    /// Deadline of a TLS handshake and of each request's header.
    pub header_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
    /// The VAPID `sub` claim of Web Push: a `mailto:` or `https:` URL.
    pub push_contact: String,
    /// The delay before the first retry of a failed push.
    pub push_retry: Duration,
}

impl Default for RelayOptions {
    fn default() -> Self {
        RelayOptions {
            credential_ttl: DEFAULT_CREDENTIAL_TTL,
            heartbeat_interval: DEFAULT_HEARTBEAT_INTERVAL,
            offline_after: DEFAULT_HEARTBEAT_INTERVAL * 3,
            forget_after: DEFAULT_FORGET_AFTER,
            poll_timeout: DEFAULT_POLL_TIMEOUT,
            work_timeout: DEFAULT_WORK_TIMEOUT,
            pairing_ttl: DEFAULT_PAIRING_TTL,
            ticket_ttl: DEFAULT_TICKET_TTL,
            ping_interval: DEFAULT_PING_INTERVAL,
            sweep_interval: DEFAULT_SWEEP_INTERVAL,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            push_contact: DEFAULT_PUSH_CONTACT.to_string(),
            push_retry: DEFAULT_PUSH_RETRY,
        }
    }
}

/// Whole seconds for the wire, rounded up so that a sub-second test value
/// is not announced as 0.
pub(crate) fn wire_secs(d: Duration) -> u64 {
    let s = d.as_secs();
    if d.subsec_nanos() > 0 { s + 1 } else { s }
}
