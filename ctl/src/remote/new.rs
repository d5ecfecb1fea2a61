//! `rcctl --relay URL new [--env ENV]`: starts a session in an environment.

use super::{Remote, WORK_TIMEOUT, seg};
use crate::cmd;
use anyhow::anyhow;
use rcd_net::NetError;
use rcd_proto::SessionInfo;
use rcd_proto::relay::CreateSession;

pub async fn run(remote: &Remote, args: cmd::new::Args) -> anyhow::Result<()> {
    let envs = remote.environments().await?;
    let env = match (&args.env, envs.as_slice()) {
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
    let sandbox = args.sandbox_choice();
    let body = CreateSession {
        name: args.name,
        spawn: args.spawn,
        sandbox,
    };
    let session: SessionInfo = remote
        .relay
        .call(
            reqwest::Method::POST,
            &format!("/environments/{}/sessions", seg(&env.id)),
            Some(remote.token()?),
            Some(&body),
            WORK_TIMEOUT,
        )
        .await
        .map_err(|e| match e {
            NetError::Api { status: 404, error }
                if error.kind == rcd_proto::relay::ApiErrorKind::NotFound =>
            {
                anyhow!(
                    "no environment named {} on the relay (rcctl --relay {} list)",
                    args.env.as_deref().unwrap_or(&env.name),
                    remote.url
                )
            }
            other => remote.error(other, None),
        })?
        .ok_or_else(|| anyhow!("the relay answered nothing to a session creation"))?;
    if let Some(want) = sandbox
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
    if args.json {
        return cmd::print_json(&super::list::session_json(env, &session));
    }
    println!("{}", session.name);
    Ok(())
}
