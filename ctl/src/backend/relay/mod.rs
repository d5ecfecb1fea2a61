//! The relay backend: `rcctl --relay URL --token TOKEN VERB` goes through
//! rc-relay's device API (docs/PROTOCOL.md, "Relay") instead of the local
//! control socket. `list`, `status`, `new`, `stop` and `pair` are HTTP
//! calls (`ops.rs`); `send`, `screen`, `transcript` and `attach` open the
//! session's attach socket (`live.rs`, `attach.rs`). A tokio runtime runs
//! only here, made with the first question.

mod attach;
mod live;
mod ops;
mod remote;
mod render;
pub(crate) mod resolve;

pub use remote::{Options, Remote, TokenFrom};

use super::{Created, Listing, NewSession, Status};
use anyhow::{Result, anyhow};
use live::Live;
use rcd_proto::relay::{DeviceToken, PairRequest, TokenInfo};
use rcd_proto::{ScreenText, StopReport, TranscriptPage};
use tokio::runtime::Runtime;

/// A message on one line.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The relay, once set up.
#[derive(Debug)]
struct Ready {
    remote: Remote,
    runtime: Runtime,
    /// The attach socket `transcript` reads its pages on.
    pages: Option<Live>,
}

/// The relay at `--relay URL`, with this device's token.
#[derive(Debug)]
pub struct RelayBackend {
    opts: Options,
    ready: Option<Box<Ready>>,
}

impl RelayBackend {
    /// Nothing is set up before the first question.
    pub fn new(opts: Options) -> Self {
        Self { opts, ready: None }
    }

    fn ready(&mut self) -> Result<&mut Ready> {
        if self.ready.is_none() {
            let remote = Remote::new(self.opts.clone())?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| anyhow!("cannot start the async runtime: {e}"))?;
            self.ready = Some(Box::new(Ready {
                remote,
                runtime,
                pages: None,
            }));
        }
        Ok(self.ready.as_mut().expect("set up above"))
    }

    /// The relay's URL, as messages show it.
    pub fn url(&mut self) -> Result<String> {
        Ok(self.ready()?.remote.url.clone())
    }

    pub fn status(&mut self) -> Result<Status> {
        let r = self.ready()?;
        let environments = r.runtime.block_on(r.remote.environments())?;
        Ok(Status::Relay {
            url: r.remote.url.clone(),
            environments,
        })
    }

    pub fn list(&mut self) -> Result<Listing> {
        let r = self.ready()?;
        let environments = r.runtime.block_on(r.remote.environments())?;
        Ok(Listing::Relay {
            url: r.remote.url.clone(),
            environments,
        })
    }

    pub fn create(&mut self, req: NewSession) -> Result<Created> {
        let r = self.ready()?;
        r.runtime.block_on(ops::create(&r.remote, req))
    }

    pub fn stop(&mut self, spec: &str, force: bool) -> Result<StopReport> {
        let r = self.ready()?;
        r.runtime.block_on(ops::stop(&r.remote, spec, force))
    }

    pub fn diff(
        &mut self,
        spec: &str,
        uncommitted: bool,
        stat: bool,
    ) -> Result<rcd_proto::diff::Diff> {
        let r = self.ready()?;
        r.runtime
            .block_on(ops::diff(&r.remote, spec, uncommitted, stat))
    }

    pub fn answer(&mut self, spec: &str, req: &rcd_proto::relay::AnswerRequest) -> Result<()> {
        let r = self.ready()?;
        r.runtime.block_on(ops::answer(&r.remote, spec, req))
    }

    pub fn pair(&mut self, req: &PairRequest) -> Result<DeviceToken> {
        let r = self.ready()?;
        r.runtime.block_on(ops::pair(&r.remote, req))
    }

    pub fn devices(&mut self) -> Result<Vec<TokenInfo>> {
        let r = self.ready()?;
        r.runtime.block_on(ops::devices(&r.remote))
    }

    pub fn revoke_device(&mut self, id: &str) -> Result<()> {
        let r = self.ready()?;
        r.runtime.block_on(ops::revoke_device(&r.remote, id))
    }

    /// Revokes device `id` with the relay's own error, for `logout`, which
    /// treats a token the relay no longer knows as logged out already.
    pub fn revoke_device_raw(&mut self, id: &str) -> Result<Result<(), rcd_net::NetError>> {
        let r = self.ready()?;
        let token = r.remote.token()?.clone();
        Ok(r.runtime.block_on(r.remote.relay.revoke_device(&token, id)))
    }

    /// The relay error as rcctl's message.
    pub fn message(&mut self, e: rcd_net::NetError) -> String {
        match self.ready() {
            Ok(r) => one_line(&format!("{:#}", r.remote.error(e, None))),
            Err(_) => one_line(&e.to_string()),
        }
    }

    /// The id of the device token in use, when it is the stored one.
    pub fn this_device(&self) -> Option<&str> {
        self.opts.device.as_deref()
    }

    pub fn send(&mut self, spec: &str, text: String, enter: bool) -> Result<()> {
        let r = self.ready()?;
        r.runtime.block_on(live::send(&r.remote, spec, text, enter))
    }

    pub fn screen(&mut self, spec: &str) -> Result<ScreenText> {
        let r = self.ready()?;
        r.runtime.block_on(live::screen(&r.remote, spec))
    }

    /// A transcript page, on the attach socket opened for the first page
    /// of `spec` and kept for the next ones.
    pub fn transcript(&mut self, spec: &str, from: u64, max_lines: u32) -> Result<TranscriptPage> {
        let Ready {
            remote,
            runtime,
            pages,
        } = self.ready()?;
        runtime.block_on(async {
            let live = match pages {
                Some(live) if live.shown == spec => live,
                _ => {
                    if let Some(old) = pages.take() {
                        old.close().await;
                    }
                    pages.insert(Live::open(remote, spec).await?)
                }
            };
            live.transcript(from, max_lines).await
        })
    }

    pub fn attach(&mut self, spec: &str, resize: bool) -> Result<String> {
        let r = self.ready()?;
        r.runtime.block_on(attach::run(&r.remote, spec, resize))
    }

    /// Closes the transcript's socket, if one is open.
    pub fn close(self) {
        if let Some(ready) = self.ready
            && let Ready {
                runtime,
                pages: Some(live),
                ..
            } = *ready
        {
            runtime.block_on(live.close());
        }
    }
}
