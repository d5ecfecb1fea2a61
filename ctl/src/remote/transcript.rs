//! `rcctl --relay URL transcript NAME`: transcript pages over the session
//! socket.

use super::Remote;
use super::screen::wait_event;
use super::session::{Event, SessionClient, new_client_id};
use crate::cmd;
use rcd_proto::TranscriptPage;
use std::time::Duration;

/// Lines asked for per page: a page must fit in one WebSocket message
/// (1 MiB) with room for long lines.
const PAGE: u32 = 250;
/// How long to wait for one page.
const TIMEOUT: Duration = Duration::from_secs(30);

pub async fn run(remote: &Remote, args: cmd::transcript::Args) -> anyhow::Result<()> {
    let target = remote.target(&args.name).await?;
    let mut client = SessionClient::connect(target, new_client_id()).await?;
    let result = pages(&mut client, &args).await;
    client.close().await;
    result
}

async fn pages(client: &mut SessionClient, args: &cmd::transcript::Args) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let mut next = args.from;
    loop {
        client.transcript(next, PAGE);
        let page = page(client, &args.name).await?;
        match cmd::transcript::print_page(&mut out, &page, args.numbers)? {
            Some(n) if n > next => next = n,
            _ => return Ok(()),
        }
    }
}

async fn page(client: &mut SessionClient, name: &str) -> anyhow::Result<TranscriptPage> {
    wait_event(client, name, "transcript", TIMEOUT, |ev| match ev {
        Event::Transcript(page) => Some(page),
        _ => None,
    })
    .await
}
