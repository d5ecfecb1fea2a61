//! `rcctl attach`: this terminal on a session until Ctrl-] (or end of
//! input); the session keeps running. Locally the raw bytes, through a
//! relay the synchronised screen (`backend/local/attach.rs`,
//! `backend/relay/attach.rs`).

use crate::backend::Backend;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The session. Through a relay: NAME, or ENV/NAME when two
    /// environments have a session of that name.
    pub(crate) name: String,
    /// Through a relay only: resize the session to this terminal, and
    /// follow its size changes. Without it the session keeps its size and
    /// this terminal shows the part that fits. (Local attach always
    /// resizes.)
    #[arg(long)]
    pub(crate) resize: bool,
}

pub fn run(backend: &mut Backend, args: Args) -> anyhow::Result<()> {
    let end = backend.attach(&args.name, args.resize)?;
    println!("[rcctl: {end}]");
    Ok(())
}
