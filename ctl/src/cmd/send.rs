use crate::client::{Client, unexpected};
use rcd_proto::{Request, Response};
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The session. Through a relay: NAME, or ENV/NAME when two
    /// environments have a session of that name.
    pub(crate) name: String,
    /// What to type.
    pub(crate) text: String,
    /// Do not press Enter after the text.
    #[arg(long)]
    pub(crate) no_enter: bool,
}

pub fn run(socket: &Path, args: Args) -> anyhow::Result<()> {
    let mut c = Client::connect(socket)?;
    match c.call(&Request::Send {
        name: args.name,
        text: args.text,
        enter: !args.no_enter,
    })? {
        Response::Ok => Ok(()),
        other => Err(unexpected(other)),
    }
}
