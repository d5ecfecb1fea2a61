//! `rcctl transcript`: the lines that scrolled off a session's screen,
//! page by page ([`crate::backend::TRANSCRIPT_PAGE`] lines each).

use crate::backend::Backend;
use rcd_proto::TranscriptPage;
use std::io::Write;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The session. Through a relay: NAME, or ENV/NAME when two
    /// environments have a session of that name.
    pub(crate) name: String,
    /// First line to print (lines are numbered from 1).
    #[arg(long, value_name = "LINE", default_value_t = 1,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) from: u64,
    /// Prefix each line with its number.
    #[arg(long, short = 'n')]
    pub(crate) numbers: bool,
}

pub fn run(backend: &mut Backend, args: Args) -> anyhow::Result<()> {
    let mut next = args.from;
    let mut out = std::io::stdout().lock();
    loop {
        let page = backend.transcript(&args.name, next)?;
        match print_page(&mut out, &page, args.numbers)? {
            // A page that does not move on would be asked for forever.
            Some(n) if n > next => next = n,
            _ => return Ok(()),
        }
    }
}

/// Prints one page; returns the next line to ask for, or `None` at the
/// end.
pub fn print_page(
    out: &mut impl Write,
    page: &TranscriptPage,
    numbers: bool,
) -> std::io::Result<Option<u64>> {
    if page.lines.is_empty() {
        return Ok(None);
    }
    for (i, line) in page.lines.iter().enumerate() {
        if numbers {
            writeln!(out, "{:>6}  {line}", page.from + i as u64)?;
        } else {
            writeln!(out, "{line}")?;
        }
    }
    let next = page.from + page.lines.len() as u64;
    Ok((next <= page.total).then_some(next))
}
