//! A relay and this device's token: the device routes as rcctl uses them,
//! with the relay's errors turned into messages for people, and the names
//! on the command line resolved to environments and sessions.

use super::one_line;
use super::resolve::{self, Unresolved};
use crate::device::Target;
use anyhow::{Result, anyhow};
use rcd_net::{NetError, Relay};
use rcd_proto::relay::{EnvironmentView, Secret};
use rcd_proto::token::SecretKind;
use std::path::PathBuf;

/// The global flags of remote mode.
#[derive(Debug, Clone)]
pub struct Options {
    pub url: String,
    pub token: Option<String>,
    /// Where `token` came from, for messages.
    pub token_from: TokenFrom,
    /// The id of the token at the relay, when known (it was stored).
    pub device: Option<String>,
    pub ca_cert: Option<PathBuf>,
}

/// Where the device token came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenFrom {
    /// `--token`.
    Flag,
    /// `RCD_TOKEN`.
    Env,
    /// The credentials file (`rcctl pair` stored it).
    Stored(PathBuf),
}

impl TokenFrom {
    fn name(&self) -> String {
        match self {
            TokenFrom::Flag => "--token".into(),
            TokenFrom::Env => "RCD_TOKEN".into(),
            TokenFrom::Stored(path) => format!("the token stored in {}", path.display()),
        }
    }
}

/// A relay and this device's token.
#[derive(Debug, Clone)]
pub struct Remote {
    pub relay: Relay,
    /// The URL as given, for messages.
    pub url: String,
    pub(crate) token: Option<Secret>,
    token_from: TokenFrom,
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
            token_from: opts.token_from,
        })
    }

    /// The device token, or how to get one. A token that is, by its
    /// prefix, of another kind is refused here, before it is sent.
    pub fn token(&self) -> Result<&Secret> {
        let token = self.token.as_ref().ok_or_else(|| {
            anyhow!(
                "no device token for {}: pair this device first (rcctl --relay {} pair CODE), \
                 or set RCD_TOKEN or --token",
                self.url,
                self.url
            )
        })?;
        match SecretKind::of(token.expose()) {
            Some(SecretKind::Device) | None => Ok(token),
            Some(kind) => Err(anyhow!(
                "{} is {}, {}; rcctl needs a device token ({}…): pair this device with \
                 rcctl --relay {} pair CODE (rcd shows the code){}",
                self.token_from.name(),
                kind.describe(),
                match kind {
                    SecretKind::Enrollment => "which is for rcd (rcd --relay URL with RCD_TOKEN)",
                    _ => "which rcd and the relay use between themselves",
                },
                SecretKind::Device.prefix(),
                self.url,
                match self.token_from {
                    TokenFrom::Env => ", then unset RCD_TOKEN in this shell",
                    _ => "",
                }
            )),
        }
    }

    /// A relay error as a message for people. `session` is the name the
    /// user gave, for "not found" answers about it.
    pub fn error(&self, e: NetError, session: Option<&str>) -> anyhow::Error {
        match e {
            NetError::Unauthorized(_) => {
                match self.token.as_ref().map(|t| SecretKind::of(t.expose())) {
                    Some(None) => anyhow!(
                        "the relay refused {}: it is not a device token (those begin with {}); \
                     pair this device with rcctl --relay {} pair CODE",
                        self.token_from.name(),
                        SecretKind::Device.prefix(),
                        self.url
                    ),
                    _ => anyhow!(
                        "the relay refused {} (revoked, or from another relay?): pair again with \
                     rcctl --relay {} pair CODE",
                        self.token_from.name(),
                        self.url
                    ),
                }
            }
            NetError::Api {
                status: 404, error, ..
            } if error.kind == rcd_proto::relay::ApiErrorKind::NotFound => match session {
                Some(name) => self.unknown_session(name),
                None => anyhow!("{}", one_line(&error.message)),
            },
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

    /// This device's environments and their sessions.
    pub async fn environments(&self) -> Result<Vec<EnvironmentView>> {
        self.relay
            .environments(self.token()?)
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

    /// The environment and session called `spec` (NAME or ENV/NAME), as
    /// the attach socket to open.
    pub async fn target(&self, spec: &str) -> Result<Target> {
        let envs = self.environments().await?;
        let (env, s) = resolve::session(&envs, spec).map_err(|e| match e {
            Unresolved::Unknown => self.unknown_session(spec),
            Unresolved::Ambiguous(c) => anyhow!(
                "several sessions are named {spec}: {}; say which one as ENV/NAME",
                c.join(", ")
            ),
        })?;
        Ok(Target {
            relay: self.relay.clone(),
            token: self.token()?.clone(),
            env_id: env.id.clone(),
            session: s.name.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcd_proto::relay::ApiError;

    fn remote(token: Option<&str>) -> Remote {
        Remote::new(Options {
            url: "http://127.0.0.1:9/".into(),
            token: token.map(str::to_string),
            token_from: TokenFrom::Env,
            device: None,
            ca_cert: None,
        })
        .unwrap()
    }

    #[test]
    fn a_missing_token_says_how_to_get_one() {
        let msg = remote(None).token().unwrap_err().to_string();
        assert_eq!(
            msg,
            "no device token for http://127.0.0.1:9: pair this device first (rcctl --relay \
             http://127.0.0.1:9 pair CODE), or set RCD_TOKEN or --token"
        );
        assert!(remote(Some(" ")).token().is_err());
        let msg = remote(Some("rce_x")).token().unwrap_err().to_string();
        assert!(
            msg.starts_with(
                "RCD_TOKEN is an enrollment token (rce_…), which is for rcd (rcd --relay URL \
                 with RCD_TOKEN); rcctl needs a device token (rcdev_…)"
            ),
            "{msg}"
        );
        assert!(msg.ends_with("then unset RCD_TOKEN in this shell"), "{msg}");
        assert_eq!(
            remote(Some("rcdev_x\n")).token().unwrap().expose(),
            "rcdev_x"
        );
    }

    #[test]
    fn relay_errors_read_well() {
        let r = remote(Some("rcdev_t"));
        let api = |kind: &str, message: &str| ApiError {
            kind: serde_json::from_value(serde_json::json!(kind)).unwrap(),
            message: message.into(),
        };
        let e = r.error(NetError::Unauthorized(api("unauthorized", "no")), None);
        assert!(
            e.to_string()
                .starts_with("the relay refused RCD_TOKEN (revoked, or from another relay?)"),
            "{e}"
        );
        let e = remote(Some("t")).error(NetError::Unauthorized(api("unauthorized", "no")), None);
        assert!(
            e.to_string().starts_with(
                "the relay refused RCD_TOKEN: it is not a device token (those begin with rcdev_)"
            ),
            "{e}"
        );
        let e = r.error(
            NetError::Api {
                status: 409,
                error: api("at-capacity", "at capacity (2/2): stop\na session"),
                retry_after: None,
            },
            None,
        );
        assert_eq!(e.to_string(), "at capacity (2/2): stop a session");
        let e = r.error(
            NetError::Api {
                status: 404,
                error: api("not-found", "not found"),
                retry_after: None,
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
                retry_after: None,
            },
            Some("web"),
        );
        assert_eq!(e.to_string(), "no session named web (rcctl list)");
    }
}
