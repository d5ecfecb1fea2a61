//! The `+added −removed` of every worktree session, kept fresh for the
//! lists (`SessionInfo::change`): counted again a moment after the
//! session printed something (agents print as they work), and once a
//! minute for changes made from outside it. Nothing runs while no
//! session has a worktree.

use crate::supervisor::Supervisor;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// How often the sessions are looked at.
const EVERY: Duration = Duration::from_secs(3);
/// A change made without output is seen within this.
const AT_LEAST: Duration = Duration::from_secs(60);

pub fn start(sup: &Arc<Supervisor>) {
    let sup = sup.clone();
    tokio::spawn(async move {
        let mut changes = sup.subscribe();
        // By session id: the output time counted, and when.
        let mut counted: HashMap<String, (SystemTime, Instant)> = HashMap::new();
        loop {
            let sessions: Vec<_> = sup
                .sessions()
                .into_iter()
                .filter(|s| s.worktree.is_some())
                .collect();
            counted.retain(|id, _| sessions.iter().any(|s| &s.id.0 == id));
            if sessions.is_empty() {
                if changes.changed().await.is_err() {
                    return;
                }
                continue;
            }
            for s in sessions {
                let output = s.last_output();
                let fresh = counted
                    .get(&s.id.0)
                    .is_some_and(|(o, at)| *o >= output && at.elapsed() < AT_LEAST);
                if fresh {
                    continue;
                }
                counted.insert(s.id.0.clone(), (output, Instant::now()));
                let Some(wt) = s.worktree.clone() else {
                    continue;
                };
                match tokio::task::spawn_blocking(move || crate::worktree::change_stat(&wt)).await {
                    Ok(Ok(stat)) => s.set_change(stat),
                    Ok(Err(e)) => {
                        tracing::debug!(name = %s.name, "cannot count the worktree's change: {e}")
                    }
                    Err(_) => {}
                }
            }
            tokio::time::sleep(EVERY).await;
        }
    });
}
