//! The sandbox as a daemon applies it: whether this machine can
//! enforce the policy, preparing a new session's confinement, and
//! keeping clients inside a sandbox off the control socket.

use super::{self as sandbox, Confinement, Kernel, Plan, Policy};
use rcd_proto::{ErrorKind, ErrorReply};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The sandbox policy of a daemon and the kernel it runs on.
#[derive(Debug)]
pub struct Gate {
    policy: Policy,
    /// What the kernel offers (a seam for tests).
    kernel: Arc<dyn Kernel>,
    state_dir: PathBuf,
    socket: PathBuf,
    /// Set once a sandboxed session may exist (this run or an orphan):
    /// from then on control clients inside a sandbox are refused.
    used: AtomicBool,
}

impl Gate {
    /// The gate of a daemon with this policy, state directory (where the
    /// sessions' temporary directories are) and control socket.
    pub fn new(policy: Policy, state_dir: &Path, socket: &Path, kernel: Arc<dyn Kernel>) -> Self {
        Self {
            used: AtomicBool::new(policy.enabled),
            policy,
            kernel,
            state_dir: state_dir.to_path_buf(),
            socket: socket.to_path_buf(),
        }
    }

    /// Whether sessions are sandboxed unless a request says otherwise.
    pub fn by_default(&self) -> bool {
        self.policy.enabled
    }

    /// Notes that sandboxed sessions may exist from now on.
    pub fn mark_used(&self) {
        self.used.store(true, Ordering::SeqCst);
    }

    /// Whether this machine can enforce the policy; the error names what
    /// is missing. The first check of a network namespace forks a probe,
    /// so it runs on the blocking pool.
    pub async fn plan(&self) -> Result<Plan, ErrorReply> {
        let policy = self.policy.clone();
        let kernel = self.kernel.clone();
        tokio::task::spawn_blocking(move || sandbox::decide(&policy, kernel.as_ref()))
            .await
            .map_err(|e| err(ErrorKind::Internal, e.to_string()))?
            .map_err(|refusal| err(ErrorKind::BadRequest, refusal.to_string()))
    }

    /// The confinement of a new session: its private temporary directory
    /// and its ruleset. `env` loses the addresses of the user's agents
    /// and buses (a sandboxed program is not pointed at ways out) and gets
    /// the private `TMPDIR`.
    pub async fn prepare(
        &self,
        plan: Plan,
        tmp: &Path,
        dir: &Path,
        worktree: bool,
        hooks: &Path,
        env: &mut Vec<(String, String)>,
    ) -> Result<Confinement, ErrorReply> {
        let tmp = tmp.to_path_buf();
        let policy = self.policy.clone();
        let socket = self.socket.clone();
        let (d, t, h) = (dir.to_path_buf(), tmp.clone(), hooks.to_path_buf());
        let confinement = tokio::task::spawn_blocking(move || {
            let place = sandbox::Place {
                dir: &d,
                worktree,
                tmp: &t,
                hooks: &h,
                socket: &socket,
            };
            sandbox::prepare(&plan, &policy, &place)
        })
        .await
        .map_err(|e| err(ErrorKind::Internal, format!("preparing the sandbox: {e}")))?
        .map_err(|e| err(ErrorKind::BadRequest, e.to_string()))?;
        tracing::debug!(tmp = %tmp.display(), writable = ?confinement.writable(), network = %self.policy.network, "sandbox prepared");
        env.retain(|(k, _)| k != "TMPDIR" && !sandbox::HIDDEN_ENV.contains(&k.as_str()));
        env.push(("TMPDIR".into(), tmp.display().to_string()));
        Ok(confinement)
    }

    /// Whether a session an earlier rcd left runs sandboxed: its
    /// temporary directory is still there.
    pub fn orphan_is_sandboxed(&self, name: &str, id: &str) -> bool {
        sandbox::tmp_path(&self.state_dir, name, id).exists()
    }

    /// Where the private temporary directory of a session is.
    pub fn tmp_path(&self, name: &str, id: &str) -> PathBuf {
        sandbox::tmp_path(&self.state_dir, name, id)
    }

    /// Why a control-socket client must be refused, if it must: a process
    /// inside a sandbox could otherwise start, or type into, unconfined
    /// sessions. Checked only once sandboxed sessions may exist.
    pub fn refuse_client(&self, pid: Option<u32>) -> Option<String> {
        if !self.used.load(Ordering::SeqCst) {
            return None;
        }
        sandbox::client_is_sandboxed(pid).then(|| {
            "refused: rcctl cannot be used from inside a sandboxed session (it could start or \
             drive unconfined sessions); run it from your own terminal"
                .to_string()
        })
    }
}

fn err(kind: ErrorKind, message: impl Into<String>) -> ErrorReply {
    ErrorReply {
        kind,
        message: message.into(),
    }
}
