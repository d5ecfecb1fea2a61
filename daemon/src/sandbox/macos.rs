//! The macOS sandbox: a generated `sandbox-exec` profile. The profile
//! text ([`macos_profile`]) is built and unit-tested on every platform.

#[cfg(target_os = "macos")]
use std::path::{Path, PathBuf};

#[cfg(target_os = "macos")]
use super::decide::{Plan, Refusal};
use super::policy::Network;
#[cfg(target_os = "macos")]
use super::policy::Policy;

/// The system sandbox's front end, by absolute path: never one found
/// on PATH.
#[cfg(target_os = "macos")]
pub(super) const SANDBOX_EXEC: &str = "/usr/bin/sandbox-exec";

#[cfg(target_os = "macos")]
pub(super) fn decide(policy: &Policy) -> Result<Plan, Refusal> {
    if !Path::new(SANDBOX_EXEC).exists() {
        return Err(Refusal::NoSandboxExec(SANDBOX_EXEC));
    }
    Ok(Plan {
        network: policy.network.clone(),
        netns: None,
        mntns: None,
        scope_signals: false,
    })
}

/// A generated profile and its parameters.
#[cfg(target_os = "macos")]
#[derive(Debug)]
pub(super) struct Profile {
    text: String,
    params: Vec<(String, String)>,
}

#[cfg(target_os = "macos")]
impl Profile {
    pub(super) fn new(network: &Network, writable: &[PathBuf], socket: &Path) -> Self {
        // The sandbox matches real paths: /tmp is /private/tmp.
        let real = |p: &Path| {
            p.canonicalize()
                .unwrap_or_else(|_| p.to_path_buf())
                .display()
                .to_string()
        };
        let writable: Vec<String> = writable.iter().map(|p| real(p)).collect();
        let socket = match (socket.parent(), socket.file_name()) {
            (Some(dir), Some(name)) => Path::new(&real(dir)).join(name).display().to_string(),
            _ => socket.display().to_string(),
        };
        let (text, params) = macos_profile(network, &writable, &socket);
        Self { text, params }
    }

    pub(super) fn wrap(&self, argv: &[String]) -> Vec<String> {
        let mut out = vec![SANDBOX_EXEC.to_string(), "-p".into(), self.text.clone()];
        for (k, v) in &self.params {
            out.push(format!("-D{k}={v}"));
        }
        out.push("--".into());
        out.extend(argv.iter().cloned());
        out
    }
}

/// The `sandbox-exec` profile (SBPL) of a session and its parameters.
/// Paths travel as parameters (`-DKEY=VALUE`), never inside the profile
/// text, so no path needs quoting. Later rules win in SBPL, so each deny
/// comes before the allows that carve out of it.
pub fn macos_profile(
    network: &Network,
    writable: &[String],
    socket: &str,
) -> (String, Vec<(String, String)>) {
    let mut params = Vec::new();
    let mut p = String::from("(version 1)\n(allow default)\n");
    p.push_str("(deny file-write*)\n(allow file-write*\n");
    for (i, w) in writable.iter().enumerate() {
        let key = format!("WRITABLE_{i}");
        p.push_str(&format!("  (subpath (param \"{key}\"))\n"));
        params.push((key, w.clone()));
    }
    p.push_str(
        "  (literal \"/dev/null\") (literal \"/dev/zero\") (literal \"/dev/tty\")\n  \
         (literal \"/dev/ptmx\") (literal \"/dev/dtracehelper\")\n  \
         (regex #\"^/dev/ttys[0-9]+$\"))\n",
    );
    match network {
        Network::Allow => {}
        Network::Off => p.push_str(
            "(deny network-outbound (remote ip \"*:*\"))\n\
             (deny network-inbound (local ip \"*:*\"))\n\
             (deny network-bind (local ip \"*:*\"))\n",
        ),
        Network::Ports(ports) => {
            p.push_str("(deny network-outbound (remote tcp \"*:*\"))\n");
            for port in ports {
                p.push_str(&format!(
                    "(allow network-outbound (remote tcp \"*:{port}\"))\n"
                ));
            }
        }
    }
    // rcd's control socket would let the session start unconfined ones.
    p.push_str("(deny network-outbound (literal (param \"RCD_SOCKET\")))\n");
    params.push(("RCD_SOCKET".into(), socket.to_string()));
    (p, params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_macos_profile_denies_writes_and_the_socket_and_carries_paths_as_parameters() {
        let (p, params) = macos_profile(
            &Network::Ports(vec![443]),
            &["/w \"q\"".into(), "/private/tmp/t".into()],
            "/s/rcd.sock",
        );
        assert!(p.starts_with("(version 1)\n(allow default)\n(deny file-write*)"));
        assert!(p.contains("(subpath (param \"WRITABLE_0\"))"));
        assert!(p.contains("(subpath (param \"WRITABLE_1\"))"));
        assert!(!p.contains("\"q\""), "paths are parameters, not text");
        let deny = p.find("(deny network-outbound (remote tcp").unwrap();
        let allow = p
            .find("(allow network-outbound (remote tcp \"*:443\"))")
            .unwrap();
        assert!(
            deny < allow,
            "the allow comes after the deny it carves out of"
        );
        assert!(p.contains("(deny network-outbound (literal (param \"RCD_SOCKET\")))"));
        assert_eq!(
            params,
            [
                ("WRITABLE_0".to_string(), "/w \"q\"".to_string()),
                ("WRITABLE_1".into(), "/private/tmp/t".into()),
                ("RCD_SOCKET".into(), "/s/rcd.sock".into()),
            ]
        );
        let balanced =
            p.chars().filter(|&c| c == '(').count() == p.chars().filter(|&c| c == ')').count();
        assert!(balanced, "{p}");
        let (off, _) = macos_profile(&Network::Off, &[], "/s");
        assert!(off.contains("(deny network-outbound (remote ip \"*:*\"))"));
        let (allow, _) = macos_profile(&Network::Allow, &[], "/s");
        assert!(!allow.contains("remote ip"));
    }
}
