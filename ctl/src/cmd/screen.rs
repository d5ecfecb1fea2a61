use crate::client::{Client, unexpected};
use rcd_proto::{Request, Response};
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The session.
    name: String,
    /// Print rows, cursor and title as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(socket: &Path, args: Args) -> anyhow::Result<()> {
    let mut c = Client::connect(socket)?;
    let screen = match c.call(&Request::Screen { name: args.name })? {
        Response::Screen(s) => s,
        other => return Err(unexpected(other)),
    };
    if args.json {
        return super::print_json(&screen);
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
