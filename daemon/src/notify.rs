//! The service manager's side channel (`sd_notify`): READY once the
//! control socket listens and the relay link has made its first attempt,
//! a one-line STATUS on every change, and WATCHDOG pings at half the
//! interval systemd asked for. Without `NOTIFY_SOCKET` all of it is off.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::Duration;

/// A handle on `NOTIFY_SOCKET`.
#[derive(Debug)]
pub struct Notifier {
    socket: UnixDatagram,
    target: Target,
}

#[derive(Debug)]
enum Target {
    Path(PathBuf),
    #[cfg(any(target_os = "linux", target_os = "android"))]
    Abstract(Vec<u8>),
}

impl Notifier {
    /// From the environment; `None` when not run by a service manager
    /// that asked for notifications.
    pub fn from_env() -> Option<Notifier> {
        let raw = std::env::var_os("NOTIFY_SOCKET")?;
        let bytes = std::os::unix::ffi::OsStrExt::as_bytes(raw.as_os_str()).to_vec();
        let target = match bytes.first() {
            Some(b'/') => Target::Path(PathBuf::from(raw)),
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Some(b'@') => Target::Abstract(bytes[1..].to_vec()),
            _ => {
                tracing::warn!("ignoring NOTIFY_SOCKET: not a path or an abstract socket name");
                return None;
            }
        };
        let socket = UnixDatagram::unbound().ok()?;
        Some(Notifier { socket, target })
    }

    /// Sends one notification (`KEY=VALUE` lines).
    pub fn send(&self, msg: &str) {
        let r = match &self.target {
            Target::Path(p) => self.socket.send_to(msg.as_bytes(), p),
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Target::Abstract(name) => {
                use std::os::linux::net::SocketAddrExt;
                std::os::unix::net::SocketAddr::from_abstract_name(name)
                    .and_then(|addr| self.socket.send_to_addr(msg.as_bytes(), &addr))
            }
        };
        if let Err(e) = r {
            tracing::debug!("service manager notification failed: {e}");
        }
    }
}

/// The watchdog interval systemd asked for (`WATCHDOG_USEC`, for this
/// process per `WATCHDOG_PID`).
pub fn watchdog_interval() -> Option<Duration> {
    if let Some(pid) = std::env::var("WATCHDOG_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        && pid != std::process::id()
    {
        return None;
    }
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec))
}

/// One line for `systemctl status`.
pub fn status_line(sup: &crate::Supervisor, link: Option<&crate::link::LinkHandle>) -> String {
    let st = crate::ops::status(sup, link.and_then(crate::link::LinkHandle::status));
    let link = match &st.link {
        None => "local only".to_string(),
        Some(l) => format!("relay {}", l.state),
    };
    let needing = match sup.needing_you() {
        0 => String::new(),
        n => format!(", {n} need you"),
    };
    format!(
        "{}/{} sessions{needing}, spawn {}, {link}",
        st.used, st.capacity, st.spawn
    )
}
