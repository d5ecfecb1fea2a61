use crate::client::{Client, unexpected};
use rcd_proto::{Request, Response};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long to wait for the daemon to finish stopping its sessions.
const WAIT: Duration = Duration::from_secs(60);

pub fn run(socket: &Path) -> anyhow::Result<()> {
    let mut c = Client::connect(socket)?;
    match c.call(&Request::Shutdown)? {
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
