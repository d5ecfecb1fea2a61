//! Which environment and session a name on the command line means.
//!
//! A session is `NAME`, or `ENV/NAME` when several environments have a
//! session of that name; `ENV` is an environment's name or id. Session
//! names never contain `/`, so the last `/` separates the two.

use rcd_proto::SessionInfo;
use rcd_proto::relay::EnvironmentView;

/// Why a name does not designate exactly one thing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    /// Nothing has that name.
    Unknown,
    /// Several things have it; how to name each of them.
    Ambiguous(Vec<String>),
}

/// Environments that `spec` names: the one with that id, else every one
/// with that name.
fn envs_named<'a>(envs: &'a [EnvironmentView], spec: &str) -> Vec<&'a EnvironmentView> {
    if let Some(e) = envs.iter().find(|e| e.id == spec) {
        return vec![e];
    }
    envs.iter().filter(|e| e.name == spec).collect()
}

/// The environment called `spec` (a name or an id).
pub fn environment<'a>(
    envs: &'a [EnvironmentView],
    spec: &str,
) -> Result<&'a EnvironmentView, Unresolved> {
    match envs_named(envs, spec).as_slice() {
        [] => Err(Unresolved::Unknown),
        [one] => Ok(one),
        many => Err(Unresolved::Ambiguous(
            many.iter()
                .map(|e| format!("{} (id {}, on {})", e.name, e.id, e.machine))
                .collect(),
        )),
    }
}

/// The session called `spec` (`NAME` or `ENV/NAME`).
pub fn session<'a>(
    envs: &'a [EnvironmentView],
    spec: &str,
) -> Result<(&'a EnvironmentView, &'a SessionInfo), Unresolved> {
    let (scope, name) = match spec.rsplit_once('/') {
        Some((env, name)) => (Some(envs_named(envs, env)), name),
        None => (None, spec),
    };
    let candidates: Vec<(&EnvironmentView, &SessionInfo)> = envs
        .iter()
        .filter(|e| {
            scope
                .as_ref()
                .is_none_or(|s| s.iter().any(|x| std::ptr::eq(*x, *e)))
        })
        .flat_map(|e| e.sessions.iter().map(move |s| (e, s)))
        .filter(|(_, s)| s.name == name)
        .collect();
    match candidates.as_slice() {
        [] => Err(Unresolved::Unknown),
        [one] => Ok(*one),
        many => Err(Unresolved::Ambiguous(
            many.iter()
                .map(|(e, s)| {
                    // The environment's name, unless another candidate's
                    // environment has the same one: then its id.
                    let shared = many
                        .iter()
                        .filter(|(o, _)| o.name == e.name && o.id != e.id)
                        .count()
                        > 0;
                    let env = if shared { &e.id } else { &e.name };
                    format!("{env}/{}", s.name)
                })
                .collect(),
        )),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rcd_proto::{SessionState, SpawnMode};

    pub fn session_info(name: &str) -> SessionInfo {
        SessionInfo {
            id: format!("id-{name}"),
            name: name.into(),
            state: SessionState::Running,
            dir: "/work".into(),
            spawn: SpawnMode::SameDir,
            branch: None,
            pid: Some(7),
            created_at: "2026-01-01T00:00:00Z".into(),
            command: vec!["bash".into()],
            program: None,
            exit_code: None,
            worktree: None,
            sandboxed: false,
            attention: None,
            change: None,
            last_activity: None,
        }
    }

    pub fn env(id: &str, name: &str, machine: &str, sessions: &[&str]) -> EnvironmentView {
        EnvironmentView {
            id: id.into(),
            name: name.into(),
            machine: machine.into(),
            dir: "/work".into(),
            spawn: SpawnMode::SameDir,
            capacity: 4,
            used: sessions.len() as u32,
            version: "0.1.0".into(),
            online: true,
            last_seen_secs: 1,
            sessions: sessions.iter().map(|s| session_info(s)).collect(),
            programs: vec!["shell".into()],
            default_program: Some("shell".into()),
        }
    }

    fn envs() -> Vec<EnvironmentView> {
        vec![
            env("e1", "laptop", "mac", &["api", "web"]),
            env("e2", "server", "box", &["api", "db"]),
            env("e3", "server", "box2", &["db", "solo"]),
            env("e4", "empty", "box3", &[]),
        ]
    }

    fn found(r: Result<(&EnvironmentView, &SessionInfo), Unresolved>) -> (String, String) {
        let (e, s) = r.unwrap();
        (e.id.clone(), s.name.clone())
    }

    #[test]
    fn a_unique_name_needs_no_environment() {
        let envs = envs();
        assert_eq!(found(session(&envs, "web")), ("e1".into(), "web".into()));
        assert_eq!(found(session(&envs, "solo")), ("e3".into(), "solo".into()));
    }

    #[test]
    fn a_shared_name_is_ambiguous_and_lists_the_candidates() {
        let envs = envs();
        assert_eq!(
            session(&envs, "api"),
            Err(Unresolved::Ambiguous(vec![
                "laptop/api".into(),
                "server/api".into()
            ]))
        );
        // Two environments named "server" both have "db": ids tell them apart.
        assert_eq!(
            session(&envs, "db"),
            Err(Unresolved::Ambiguous(vec!["e2/db".into(), "e3/db".into()]))
        );
        assert_eq!(
            session(&envs, "server/db"),
            Err(Unresolved::Ambiguous(vec!["e2/db".into(), "e3/db".into()]))
        );
    }

    #[test]
    fn env_slash_name_picks_one_by_name_or_id() {
        let envs = envs();
        assert_eq!(
            found(session(&envs, "laptop/api")),
            ("e1".into(), "api".into())
        );
        assert_eq!(
            found(session(&envs, "server/api")),
            ("e2".into(), "api".into())
        );
        assert_eq!(found(session(&envs, "e3/db")), ("e3".into(), "db".into()));
    }

    #[test]
    fn unknown_names() {
        let envs = envs();
        assert_eq!(session(&envs, "nope"), Err(Unresolved::Unknown));
        assert_eq!(session(&envs, "laptop/db"), Err(Unresolved::Unknown));
        assert_eq!(session(&envs, "mars/api"), Err(Unresolved::Unknown));
        assert_eq!(session(&envs, "/api"), Err(Unresolved::Unknown));
        assert_eq!(session(&[], "api"), Err(Unresolved::Unknown));
    }

    #[test]
    fn environments_by_name_or_id() {
        let envs = envs();
        assert_eq!(environment(&envs, "laptop").unwrap().id, "e1");
        assert_eq!(environment(&envs, "e3").unwrap().id, "e3");
        assert_eq!(environment(&envs, "empty").unwrap().id, "e4");
        assert_eq!(environment(&envs, "mars"), Err(Unresolved::Unknown));
        match environment(&envs, "server") {
            Err(Unresolved::Ambiguous(c)) => {
                assert_eq!(c.len(), 2);
                assert!(c[0].contains("id e2") && c[1].contains("id e3"), "{c:?}");
            }
            other => panic!("{other:?}"),
        }
    }
}
