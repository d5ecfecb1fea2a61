use crate::client::{Client, unexpected};
use rcd_proto::{Request, Response};
use std::io::Write;
use std::path::Path;

/// Lines asked for per request.
const PAGE: u32 = 2000;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The session.
    name: String,
    /// First line to print (lines are numbered from 1).
    #[arg(long, value_name = "LINE", default_value_t = 1,
          value_parser = clap::value_parser!(u64).range(1..))]
    from: u64,
    /// Prefix each line with its number.
    #[arg(long, short = 'n')]
    numbers: bool,
}

pub fn run(socket: &Path, args: Args) -> anyhow::Result<()> {
    let mut c = Client::connect(socket)?;
    let mut next = args.from;
    let mut out = std::io::stdout().lock();
    loop {
        let page = match c.call(&Request::Transcript {
            name: args.name.clone(),
            from: next,
            max_lines: PAGE,
        })? {
            Response::Transcript(p) => p,
            other => return Err(unexpected(other)),
        };
        if page.lines.is_empty() {
            break;
        }
        for (i, line) in page.lines.iter().enumerate() {
            if args.numbers {
                writeln!(out, "{:>6}  {line}", page.from + i as u64)?;
            } else {
                writeln!(out, "{line}")?;
            }
        }
        next = page.from + page.lines.len() as u64;
        if next > page.total {
            break;
        }
    }
    Ok(())
}
