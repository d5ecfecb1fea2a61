//! `rcctl shutdown`: stops every session and the daemon, as SIGTERM does
//! (on the machine itself only), and waits until it is gone.

use crate::backend::Backend;
use crate::backend::local::unexpected;
use rcd_proto::{Request, Response};
use std::time::{Duration, Instant};

/// How long to wait for the daemon to finish stopping its sessions.
const WAIT: Duration = Duration::from_secs(60);

pub fn run(backend: &mut Backend) -> anyhow::Result<()> {
    let local = backend.local("shutdown")?;
    let socket = local.socket()?.to_path_buf();
    match local.call(&Request::Shutdown)? {
        Response::Ok => {}
        other => return Err(unexpected(other)),
    }
    // The daemon removes its socket last; wait for that so that scripts
    // can start a new one right after.
    let start = Instant::now();
    while socket.exists() && start.elapsed() < WAIT {
        std::thread::sleep(Duration::from_millis(50));
    }
    if socket.exists() {
        anyhow::bail!("rcd was asked to stop but is still running after {WAIT:?}");
    }
    println!("rcd stopped");
    Ok(())
}
