use crate::client::{Client, unexpected};
use rcd_proto::{Request, Response, ScreenText};
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The session. Through a relay: NAME, or ENV/NAME when two
    /// environments have a session of that name.
    pub(crate) name: String,
    /// Print rows, cursor and title as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

pub fn run(socket: &Path, args: Args) -> anyhow::Result<()> {
    let mut c = Client::connect(socket)?;
    let screen = match c.call(&Request::Screen { name: args.name })? {
        Response::Screen(s) => s,
        other => return Err(unexpected(other)),
    };
    print(&screen, args.json)
}

/// Prints a screen like `rcctl screen` (also for the remote verb).
pub fn print(screen: &ScreenText, json: bool) -> anyhow::Result<()> {
    if json {
        return super::print_json(screen);
    }
    // Trailing empty rows carry nothing; keep the ones above the cursor.
    let keep = screen
        .rows
        .iter()
        .rposition(|r| !r.is_empty())
        .map_or(0, |i| i + 1);
    for row in &screen.rows[..keep] {
        println!("{row}");
    }
    Ok(())
}
