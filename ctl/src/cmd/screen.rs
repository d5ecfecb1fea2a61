//! `rcctl screen`: a session's current screen as plain text.

use crate::backend::Backend;
use rcd_proto::ScreenText;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The session. Through a relay: NAME, or ENV/NAME when two
    /// environments have a session of that name.
    pub(crate) name: String,
    /// Print rows, cursor and title as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

pub fn run(backend: &mut Backend, args: Args) -> anyhow::Result<()> {
    let screen = backend.screen(&args.name)?;
    print(&screen, args.json)
}

/// Prints a screen: its rows, or all of it as JSON.
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
