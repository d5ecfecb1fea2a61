//! `rcctl list`: the sessions; through a relay, those of every
//! environment, with ENV, MACHINE and ONLINE.

use crate::backend::{Backend, Listing};
use rcd_proto::SessionInfo;
use rcd_proto::relay::EnvironmentView;

pub fn run(backend: &mut Backend, args: super::Json) -> anyhow::Result<()> {
    match backend.list()? {
        Listing::Daemon(sessions) => daemon(&sessions, args.json),
        Listing::Relay { url, environments } => relay(&url, &environments, args.json),
    }
}

fn daemon(sessions: &[SessionInfo], json: bool) -> anyhow::Result<()> {
    if json {
        return super::print_json(&sessions);
    }
    if sessions.is_empty() {
        println!("no sessions (start one with `rcctl new`)");
        return Ok(());
    }
    let rows: Vec<_> = sessions.iter().map(super::session_row).collect();
    super::print_table(
        [
            "NAME", "PROGRAM", "STATE", "NEEDS", "SPAWN", "SANDBOX", "BRANCH", "PID", "DIR",
        ],
        &rows,
    );
    Ok(())
}

fn relay(url: &str, envs: &[EnvironmentView], json: bool) -> anyhow::Result<()> {
    if json {
        let all: Vec<serde_json::Value> = envs
            .iter()
            .flat_map(|e| e.sessions.iter().map(move |s| session_json(e, s)))
            .collect();
        return super::print_json(&all);
    }
    if envs.is_empty() {
        println!(
            "no environments on the relay: start rcd on a machine with --relay {url} and an \
             enrollment token (--token-file FILE)"
        );
        return Ok(());
    }
    super::print_table(
        [
            "ENV", "MACHINE", "ONLINE", "NAME", "PROGRAM", "STATE", "NEEDS", "SPAWN", "SANDBOX",
            "BRANCH", "DIR",
        ],
        &rows(envs),
    );
    Ok(())
}

/// A session as `list --json` prints it through a relay: the local fields
/// plus `env`, `env_id`, `machine` and `online`.
pub fn session_json(env: &EnvironmentView, s: &SessionInfo) -> serde_json::Value {
    let mut v = serde_json::to_value(s).unwrap_or_default();
    if let Some(map) = v.as_object_mut() {
        map.insert("env".into(), env.name.clone().into());
        map.insert("env_id".into(), env.id.clone().into());
        map.insert("machine".into(), env.machine.clone().into());
        map.insert("online".into(), env.online.into());
    }
    v
}

/// Table rows: one per session, and one for an environment without any.
fn rows(envs: &[EnvironmentView]) -> Vec<[String; 11]> {
    let mut rows = Vec::new();
    for e in envs {
        let online = if e.online { "yes" } else { "no" }.to_string();
        if e.sessions.is_empty() {
            rows.push([
                e.name.clone(),
                e.machine.clone(),
                online.clone(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                e.spawn.to_string(),
                "-".into(),
                "-".into(),
                e.dir.clone(),
            ]);
        }
        for s in &e.sessions {
            let [
                name,
                program,
                state,
                needs,
                spawn,
                sandbox,
                branch,
                _pid,
                dir,
            ] = super::session_row(s);
            rows.push([
                e.name.clone(),
                e.machine.clone(),
                online.clone(),
                name,
                program,
                state,
                needs,
                spawn,
                sandbox,
                branch,
                dir,
            ]);
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::relay::resolve::tests::env;

    #[test]
    fn json_has_the_local_fields_and_the_environment() {
        let e = env("e1", "laptop", "mac", &["api"]);
        let v = session_json(&e, &e.sessions[0]);
        let local = serde_json::to_value(&e.sessions[0]).unwrap();
        for (k, val) in local.as_object().unwrap() {
            assert_eq!(&v[k], val, "{k}");
        }
        assert_eq!(v["env"], "laptop");
        assert_eq!(v["env_id"], "e1");
        assert_eq!(v["machine"], "mac");
        assert_eq!(v["online"], true);
    }

    #[test]
    fn an_environment_without_sessions_still_has_a_line() {
        let mut off = env("e2", "server", "box", &[]);
        off.online = false;
        let r = rows(&[env("e1", "laptop", "mac", &["api", "web"]), off]);
        assert_eq!(r.len(), 3);
        assert_eq!(
            r[0][..6],
            ["laptop", "mac", "yes", "api", "(bash)", "running"]
        );
        assert_eq!(r[2][..6], ["server", "box", "no", "-", "-", "-"]);
    }
}
