//! Remote mode: `rcctl --relay URL --token TOKEN VERB`. The verbs go
//! through rc-relay's device API (docs/PROTOCOL.md, "Relay") instead of
//! the local control socket; one file per verb, the session socket client
//! in [`session`]. A tokio runtime runs only here.

pub mod attach;
pub mod list;
pub mod new;
pub mod pair;
pub mod render;
pub mod resolve;
pub mod screen;
pub mod send;
pub mod session;
pub mod status;
pub mod stop;
pub mod transcript;

use crate::Verb;
use anyhow::{Result, anyhow};
use rcd_net::{NetError, Relay};
use rcd_proto::relay::{EnvironmentView, Secret};
use resolve::Unresolved;
use std::path::PathBuf;
use std::time::Duration;

/// Time limit of calls that wait for a daemon (create, stop): the relay
/// gives the daemon 30 s before it answers `timeout` itself.
pub const WORK_TIMEOUT: Duration = Duration::from_secs(45);

/// The global flags of remote mode.
#[derive(Debug, Clone)]
pub struct Options {
    pub url: String,
    pub token: Option<String>,
    pub ca_cert: Option<PathBuf>,
}

/// A relay and this device's token.
#[derive(Debug, Clone)]
pub struct Remote {
    pub relay: Relay,
    /// The URL as given, for messages.
    pub url: String,
    token: Option<Secret>,
}

impl Remote {
    pub fn new(opts: Options) -> Result<Self> {
        let relay = Relay::new(&opts.url, opts.ca_cert.as_deref()).map_err(|e| anyhow!("{e}"))?;
        Ok(Self {
            url: relay.url().to_string(),
            relay,
            token: opts
                .token
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .map(Secret),
        })
    }

    /// The device token, or how to get one.
    pub fn token(&self) -> Result<&Secret> {
        self.token.as_ref().ok_or_else(|| {
            anyhow!(
                "set RCD_TOKEN or --token (pair this device first: rcctl --relay {} pair CODE)",
                self.url
            )
        })
    }

    /// A relay error as a message for people. `session` is the name the
    /// user gave, for "not found" answers about it.
    pub fn error(&self, e: NetError, session: Option<&str>) -> anyhow::Error {
        match e {
            NetError::Unauthorized(_) => anyhow!(
                "the relay refused the device token (expired or revoked?): pair again with \
                 rcctl --relay {} pair CODE",
                self.url
            ),
            NetError::Api { status: 404, error }
                if error.kind == rcd_proto::relay::ApiErrorKind::NotFound =>
            {
                match session {
                    Some(name) => self.unknown_session(name),
                    None => anyhow!("{}", one_line(&error.message)),
                }
            }
            NetError::Api { error, .. } => anyhow!("{}", one_line(&error.message)),
            other => anyhow!("{}", one_line(&other.to_string())),
        }
    }

    fn unknown_session(&self, name: &str) -> anyhow::Error {
        anyhow!(
            "no session named {name} on the relay (rcctl --relay {} list)",
            self.url
        )
    }

    /// `GET /environments`: this device's environments and their sessions.
    pub async fn environments(&self) -> Result<Vec<EnvironmentView>> {
        self.relay
            .get("/environments", Some(self.token()?))
            .await
            .map_err(|e| self.error(e, None))
    }

    /// The environment called `spec` (name or id).
    pub fn environment<'a>(
        &self,
        envs: &'a [EnvironmentView],
        spec: &str,
    ) -> Result<&'a EnvironmentView> {
        resolve::environment(envs, spec).map_err(|e| match e {
            Unresolved::Unknown => anyhow!(
                "no environment named {spec} on the relay (rcctl --relay {} list)",
                self.url
            ),
            Unresolved::Ambiguous(c) => anyhow!(
                "several environments are named {spec}: {}; give its id instead",
                c.join(", ")
            ),
        })
    }

    /// The environment and session called `spec` (NAME or ENV/NAME).
    pub async fn target(&self, spec: &str) -> Result<session::Target> {
        let envs = self.environments().await?;
        let (env, s) = resolve::session(&envs, spec).map_err(|e| match e {
            Unresolved::Unknown => self.unknown_session(spec),
            Unresolved::Ambiguous(c) => anyhow!(
                "several sessions are named {spec}: {}; say which one as ENV/NAME",
                c.join(", ")
            ),
        })?;
        Ok(session::Target {
            remote: self.clone(),
            env_id: env.id.clone(),
            shown: spec.to_string(),
            session: s.name.clone(),
        })
    }
}

/// A path segment, percent-encoded beyond the unreserved characters.
pub fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A message on one line.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Runs a verb through the relay.
pub fn run(opts: Options, verb: Verb) -> Result<()> {
    let not_here = |what: &str| {
        Err(anyhow!(
            "{what} is not available through a relay: run it on the machine itself, without \
             --relay (and with RCD_RELAY unset)"
        ))
    };
    match &verb {
        Verb::Worktrees(_) => return not_here("worktrees"),
        Verb::Prune(_) => return not_here("prune"),
        Verb::Set(_) => return not_here("set"),
        Verb::Shutdown => return not_here("shutdown"),
        Verb::Service(_) => return not_here("service"),
        _ => {}
    }
    let remote = Remote::new(opts)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async move {
        match verb {
            Verb::Status(a) => status::run(&remote, a).await,
            Verb::List(a) => list::run(&remote, a).await,
            Verb::New(a) => new::run(&remote, a).await,
            Verb::Stop(a) => stop::run(&remote, a).await,
            Verb::Send(a) => send::run(&remote, a).await,
            Verb::Screen(a) => screen::run(&remote, a).await,
            Verb::Transcript(a) => transcript::run(&remote, a).await,
            Verb::Attach(a) => attach::run(&remote, a).await,
            Verb::Pair(a) => pair::run(&remote, a).await,
            Verb::Worktrees(_)
            | Verb::Prune(_)
            | Verb::Set(_)
            | Verb::Shutdown
            | Verb::Service(_) => {
                unreachable!("refused above")
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcd_proto::relay::ApiError;

    fn remote(token: Option<&str>) -> Remote {
        Remote::new(Options {
            url: "http://127.0.0.1:9/".into(),
            token: token.map(str::to_string),
            ca_cert: None,
        })
        .unwrap()
    }

    #[test]
    fn a_missing_token_says_how_to_get_one() {
        let msg = remote(None).token().unwrap_err().to_string();
        assert_eq!(
            msg,
            "set RCD_TOKEN or --token (pair this device first: rcctl --relay \
             http://127.0.0.1:9 pair CODE)"
        );
        assert!(remote(Some(" ")).token().is_err());
        assert_eq!(
            remote(Some("rcdev_x\n")).token().unwrap().expose(),
            "rcdev_x"
        );
    }

    #[test]
    fn relay_errors_read_well() {
        let r = remote(Some("t"));
        let api = |kind: &str, message: &str| ApiError {
            kind: serde_json::from_value(serde_json::json!(kind)).unwrap(),
            message: message.into(),
        };
        let e = r.error(NetError::Unauthorized(api("unauthorized", "no")), None);
        assert!(
            e.to_string()
                .starts_with("the relay refused the device token (expired or revoked?)"),
            "{e}"
        );
        let e = r.error(
            NetError::Api {
                status: 409,
                error: api("at-capacity", "at capacity (2/2): stop\na session"),
            },
            None,
        );
        assert_eq!(e.to_string(), "at capacity (2/2): stop a session");
        let e = r.error(
            NetError::Api {
                status: 404,
                error: api("not-found", "not found"),
            },
            Some("web"),
        );
        assert_eq!(
            e.to_string(),
            "no session named web on the relay (rcctl --relay http://127.0.0.1:9 list)"
        );
        // The daemon's own unknown-session message is kept.
        let e = r.error(
            NetError::Api {
                status: 404,
                error: api("unknown-session", "no session named web (rcctl list)"),
            },
            Some("web"),
        );
        assert_eq!(e.to_string(), "no session named web (rcctl list)");
    }

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(seg("env-1.a_b~"), "env-1.a_b~");
        assert_eq!(seg("a/b c"), "a%2Fb%20c");
    }
}
