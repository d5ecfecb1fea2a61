//! Every route of the relay API, in one place: the paths under
//! [`rcd_proto::relay::API_PREFIX`], with each variable segment
//! percent-encoded. The typed methods of [`crate::Relay`] build their
//! paths only here; the relay's router (`relay/src/api/mod.rs`) serves the
//! same list.

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

// ---------------------------------------------------------------------------
// Daemon routes (an enrollment token, then the environment credential)

/// `POST`: a daemon registers its environment.
pub const REGISTER: &str = "/environments/register";

/// `DELETE`: a daemon deregisters its environment.
pub fn environment(env: &str) -> String {
    format!("/environments/{}", seg(env))
}

/// `POST`: a fresh environment credential.
pub fn refresh(env: &str) -> String {
    format!("{}/refresh", environment(env))
}

/// `POST`: the environment's state and sessions.
pub fn heartbeat(env: &str) -> String {
    format!("{}/heartbeat", environment(env))
}

/// `POST`: a one-time pairing code for a device.
pub fn pairing(env: &str) -> String {
    format!("{}/pairing", environment(env))
}

/// `GET`: the next work item, held open up to `wait_secs`.
pub fn work(env: &str, wait_secs: u64) -> String {
    format!("{}/work?wait_secs={wait_secs}", environment(env))
}

/// `POST`: the result of work item `id`.
pub fn work_result(env: &str, id: &str) -> String {
    format!("{}/work/{}/result", environment(env), seg(id))
}

/// `POST`: the credential of one session's link.
pub fn session_credential(env: &str, name: &str) -> String {
    format!("{}/credential", session(env, name))
}

/// WebSocket: one session's link, with its session credential.
pub fn session_link(env: &str, name: &str) -> String {
    format!("{}/link", session(env, name))
}

// ---------------------------------------------------------------------------
// Device routes (a device token, except pairing)

/// `POST`: a pairing code for a device token.
pub const PAIR: &str = "/pair";

/// `GET`: the device's environments and their sessions.
pub const ENVIRONMENTS: &str = "/environments";

/// `POST`: start a session in an environment.
pub fn sessions(env: &str) -> String {
    format!("{}/sessions", environment(env))
}

/// One session of an environment.
fn session(env: &str, name: &str) -> String {
    format!("{}/{}", sessions(env), seg(name))
}

/// `DELETE`: stop a session, removing its worktree even if it holds work
/// when `force`.
pub fn stop(env: &str, name: &str, force: bool) -> String {
    format!("{}?force={force}", session(env, name))
}

/// `GET`: what a worktree session changed.
pub fn diff(env: &str, name: &str, uncommitted: bool, stat: bool) -> String {
    format!(
        "{}/diff?uncommitted={uncommitted}&stat={stat}",
        session(env, name)
    )
}

/// `POST`: the answer to the session's permission request.
pub fn answer(env: &str, name: &str) -> String {
    format!("{}/answer", session(env, name))
}

/// `POST`: a one-time ticket for one attach socket.
pub fn attach_ticket(env: &str, name: &str) -> String {
    format!("{}/attach-ticket", session(env, name))
}

/// WebSocket: a device's attach socket of one session.
pub fn attach(env: &str, name: &str) -> String {
    format!("{}/attach", session(env, name))
}

/// `GET`: the owner's device tokens.
pub const DEVICES: &str = "/devices";

/// `DELETE`: revoke a device token.
pub fn device(id: &str) -> String {
    format!("{DEVICES}/{}", seg(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(seg("env-1.a_b~"), "env-1.a_b~");
        assert_eq!(seg("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn the_paths_of_the_router() {
        assert_eq!(environment("e1"), "/environments/e1");
        assert_eq!(refresh("e1"), "/environments/e1/refresh");
        assert_eq!(heartbeat("e1"), "/environments/e1/heartbeat");
        assert_eq!(pairing("e1"), "/environments/e1/pairing");
        assert_eq!(work("e1", 25), "/environments/e1/work?wait_secs=25");
        assert_eq!(work_result("e1", "w9"), "/environments/e1/work/w9/result");
        assert_eq!(
            session_credential("e1", "api"),
            "/environments/e1/sessions/api/credential"
        );
        assert_eq!(
            session_link("e1", "api"),
            "/environments/e1/sessions/api/link"
        );
        assert_eq!(sessions("e1"), "/environments/e1/sessions");
        assert_eq!(
            stop("e1", "api", true),
            "/environments/e1/sessions/api?force=true"
        );
        assert_eq!(
            attach_ticket("e1", "api"),
            "/environments/e1/sessions/api/attach-ticket"
        );
        assert_eq!(
            attach("e 1", "a/b"),
            "/environments/e%201/sessions/a%2Fb/attach"
        );
        assert_eq!(device("d1"), "/devices/d1");
    }
}
