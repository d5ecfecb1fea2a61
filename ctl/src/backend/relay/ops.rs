//! The relay's answers to `new`, `stop`, `pair` and `devices`: each one HTTP call,
//! made by [`rcd_net::Relay`]'s typed methods.

use super::remote::Remote;
use crate::backend::{Created, NewSession};
use anyhow::{Result, anyhow};
use rcd_net::NetError;
use rcd_proto::StopReport;
use rcd_proto::relay::{ApiErrorKind, CreateSession, DeviceToken, PairRequest, TokenInfo};

/// Starts a session in the environment `req.env`, or in the only one.
pub async fn create(remote: &Remote, req: NewSession) -> Result<Created> {
    let envs = remote.environments().await?;
    let env = match (&req.env, envs.as_slice()) {
        (Some(spec), _) => remote.environment(&envs, spec)?,
        (None, [only]) => only,
        (None, []) => {
            return Err(anyhow!(
                "no environments on the relay: start rcd on a machine with --relay {}",
                remote.url
            ));
        }
        (None, many) => {
            let names: Vec<&str> = many.iter().map(|e| e.name.as_str()).collect();
            return Err(anyhow!(
                "say where with --env ENV: this relay has {} environments ({})",
                many.len(),
                names.join(", ")
            ));
        }
    };
    if let Some(command) = &req.command {
        // The relay and the daemon refuse it too: a device names a program.
        return Err(anyhow!(
            "`-- {}` runs a command line, which only the machine itself may do (rcctl new -- \
             CMD there, without --relay); through a relay name one of {}'s programs: {}",
            command.join(" "),
            env.name,
            program_choice(env)
        ));
    }
    let body = CreateSession {
        name: req.name,
        spawn: req.spawn,
        sandbox: req.sandbox,
        program: req.program.clone(),
        command: None,
    };
    let session = remote
        .relay
        .create_session(remote.token()?, &env.id, &body)
        .await
        .map_err(|e| match e {
            NetError::Api {
                status: 404, error, ..
            } if error.kind == ApiErrorKind::NotFound => {
                anyhow!(
                    "no environment named {} on the relay (rcctl --relay {} list)",
                    req.env.as_deref().unwrap_or(&env.name),
                    remote.url
                )
            }
            other => remote.error(other, None),
        })?;
    if let Some(want) = req.sandbox
        && session.sandboxed != want
    {
        // An older rcd ignored the choice: say so rather than pretend.
        return Err(anyhow!(
            "session {} started {}, not as asked: the rcd on {} does not know --sandbox; \
             stop it (rcctl --relay {} stop {}) and update that rcd",
            session.name,
            if session.sandboxed {
                "sandboxed"
            } else {
                "without a sandbox"
            },
            env.name,
            remote.url,
            session.name
        ));
    }
    if req.program.is_some() && session.program != req.program {
        // An older rcd (or relay) ran its one command instead.
        return Err(anyhow!(
            "session {} started without the program {}: the rcd on {} (or the relay) is older \
             and has no programs; stop it (rcctl --relay {} stop {}) and update it",
            session.name,
            req.program.as_deref().unwrap_or_default(),
            env.name,
            remote.url,
            session.name
        ));
    }
    Ok(Created {
        session,
        env: Some(env.clone()),
    })
}

/// `--program claude`, `--program shell`, … for an environment's programs.
fn program_choice(env: &rcd_proto::relay::EnvironmentView) -> String {
    if env.programs.is_empty() {
        return "none are listed (its rcd is older and runs its one --command)".into();
    }
    env.programs
        .iter()
        .map(|p| format!("--program {p}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Stops session `spec` (NAME or ENV/NAME).
pub async fn stop(remote: &Remote, spec: &str, force: bool) -> Result<StopReport> {
    let target = remote.target(spec).await?;
    remote
        .relay
        .stop_session(&target.token, &target.env_id, &target.session, force)
        .await
        .map_err(|e| remote.error(e, Some(spec)))
}

/// What a worktree session changed.
pub async fn diff(
    remote: &Remote,
    spec: &str,
    uncommitted: bool,
    stat: bool,
) -> Result<rcd_proto::diff::Diff> {
    let target = remote.target(spec).await?;
    remote
        .relay
        .diff(
            &target.token,
            &target.env_id,
            &target.session,
            uncommitted,
            stat,
        )
        .await
        .map_err(|e| remote.error(e, Some(spec)))
}

/// Answers a session's permission request.
pub async fn answer(
    remote: &Remote,
    spec: &str,
    req: &rcd_proto::relay::AnswerRequest,
) -> Result<()> {
    let target = remote.target(spec).await?;
    remote
        .relay
        .answer(&target.token, &target.env_id, &target.session, req)
        .await
        .map_err(|e| remote.error(e, Some(spec)))
}

/// Exchanges a one-time pairing code for a device token.
pub async fn pair(remote: &Remote, req: &PairRequest) -> Result<DeviceToken> {
    remote.relay.pair(req).await.map_err(|e| match e {
        NetError::Unauthorized(_) => anyhow!(
            "the relay refused the pairing code (used, expired or mistyped): a code works \
             once and for 10 minutes; get a new one from rcd"
        ),
        other => remote.error(other, None),
    })
}

/// The device tokens of this device's owner (the enrollment token it was
/// paired through).
pub async fn devices(remote: &Remote) -> Result<Vec<TokenInfo>> {
    remote
        .relay
        .devices(remote.token()?)
        .await
        .map_err(|e| remote.error(e, None))
}

/// Revokes the device token `id` of the same owner.
pub async fn revoke_device(remote: &Remote, id: &str) -> Result<()> {
    remote
        .relay
        .revoke_device(remote.token()?, id)
        .await
        .map_err(|e| match e {
            NetError::Api { status: 404, .. } => anyhow!(
                "no device {id} on the relay among this account's (rcctl --relay {} devices)",
                remote.url
            ),
            other => remote.error(other, None),
        })
}
