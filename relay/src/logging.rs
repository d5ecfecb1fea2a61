//! The log filter of `rc-relay` and of `rcd` (which embeds the relay).
//!
//! Neither program logs a secret or what passes through a session, at any
//! level. Their own code logs ids, names and sizes only; the libraries
//! underneath do not know what is secret: at debug and trace level
//! tungstenite logs every WebSocket frame with its payload (screen
//! content, keystrokes) and the handshake with its headers (credentials),
//! and the HTTP and TLS stacks log requests and headers. So those
//! libraries are capped at info whatever `RUST_LOG` asks for.

use tracing_subscriber::EnvFilter;

/// Targets that log payloads or headers below info.
pub const QUIET_TARGETS: [&str; 11] = [
    "tungstenite",
    "tokio_tungstenite",
    "hyper",
    "hyper_util",
    "reqwest",
    "rustls",
    "tokio_rustls",
    "h2",
    "axum",
    "tower",
    "tower_http",
];

/// `RUST_LOG` if set (else `default`), with [`QUIET_TARGETS`] capped at
/// info.
pub fn filter(default: &str) -> EnvFilter {
    capped(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default)))
}

/// `filter` with [`QUIET_TARGETS`] at info at most.
fn capped(mut filter: EnvFilter) -> EnvFilter {
    for target in QUIET_TARGETS {
        // A directive for the same target replaces the one `RUST_LOG` gave.
        if let Ok(d) = format!("{target}=info").parse() {
            filter = filter.add_directive(d);
        }
    }
    filter
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::level_filters::LevelFilter;

    #[test]
    fn dependencies_stay_at_info_even_when_trace_is_asked_for() {
        let f = capped(EnvFilter::new("trace,tungstenite=trace,hyper=debug"));
        let text = f.to_string();
        assert!(text.contains("tungstenite=info"), "{text}");
        assert!(!text.contains("tungstenite=trace"), "{text}");
        assert!(!text.contains("hyper=debug"), "{text}");
        assert_eq!(f.max_level_hint(), Some(LevelFilter::TRACE));
    }
}
