//! `rcctl send`: types text into a session, then Enter; done once the
//! daemon has it.

use crate::backend::Backend;

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

pub fn run(backend: &mut Backend, args: Args) -> anyhow::Result<()> {
    backend.send(&args.name, args.text, !args.no_enter)
}
