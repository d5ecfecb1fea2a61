//! The local backend: the daemon's control socket (docs/PROTOCOL.md,
//! "Control socket"), one blocking connection for the whole process.

mod attach;
mod client;

use anyhow::{Result, anyhow};
use client::Client;
pub use client::unexpected;
use rcd_proto::{
    Request, Response, ScreenText, SessionInfo, StatusInfo, StopReport, TranscriptPage,
};
use std::path::{Path, PathBuf};

/// The daemon on this machine.
#[derive(Debug)]
pub struct Local {
    /// `--socket`/`RCD_SOCKET`, if given.
    flag: Option<PathBuf>,
    socket: Option<PathBuf>,
    conn: Option<Client>,
}

/// An error for people: the daemon's own message, or the whole chain.
pub fn message(e: &anyhow::Error) -> String {
    match client::daemon_error(e) {
        Some(reply) => reply.message.clone(),
        None => format!("{e:#}"),
    }
}

impl Local {
    /// The socket `flag`, or the default one; nothing is opened yet.
    pub fn new(flag: Option<PathBuf>) -> Self {
        Self {
            flag,
            socket: None,
            conn: None,
        }
    }

    /// The control socket: `--socket`/`RCD_SOCKET`, else the default.
    pub fn socket(&mut self) -> Result<&Path> {
        if self.socket.is_none() {
            let path = self
                .flag
                .clone()
                .or_else(rcd_proto::paths::default_socket)
                .ok_or_else(|| {
                    anyhow!("cannot find the control socket: set RCD_SOCKET or pass --socket PATH")
                })?;
            self.socket = Some(path);
        }
        Ok(self.socket.as_deref().expect("resolved above"))
    }

    fn connection(&mut self) -> Result<&mut Client> {
        if self.conn.is_none() {
            let socket = self.socket()?.to_path_buf();
            self.conn = Some(Client::connect(&socket)?);
        }
        Ok(self.conn.as_mut().expect("connected above"))
    }

    /// Sends one request on the connection and reads its answer; a
    /// daemon error is an `Err` carrying its [`rcd_proto::ErrorReply`].
    pub fn call(&mut self, req: &Request) -> Result<Response> {
        self.connection()?.call(req)
    }

    pub fn status(&mut self) -> Result<StatusInfo> {
        let Response::Status(s) = self.call(&Request::Status)? else {
            return Err(unexpected(Response::Ok));
        };
        Ok(s)
    }

    pub fn list(&mut self) -> Result<Vec<SessionInfo>> {
        match self.call(&Request::List)? {
            Response::Sessions { sessions } => Ok(sessions),
            other => Err(unexpected(other)),
        }
    }

    pub fn create(&mut self, req: super::NewSession) -> Result<SessionInfo> {
        self.socket()?;
        if req.env.is_some() {
            anyhow::bail!(
                "--env chooses an environment on a relay: use it with --relay URL (or RCD_RELAY)"
            );
        }
        let s = match self.call(&Request::New {
            name: req.name,
            spawn: req.spawn,
            sandbox: req.sandbox,
            program: req.program.clone(),
            command: req.command.clone(),
        })? {
            Response::Session(s) => s,
            other => return Err(unexpected(other)),
        };
        if req.sandbox == Some(true) && !s.sandboxed {
            // A daemon too old to know the field would have started it
            // unconfined: never leave that running as if it were confined.
            let _ = self.call(&Request::Stop {
                name: s.name.clone(),
                force: false,
            });
            anyhow::bail!(
                "rcd started {} without a sandbox (it is older than this rcctl and has none), \
                 so it was stopped again: upgrade rcd",
                s.name
            );
        }
        let asked_program = req.program.is_some() && s.program != req.program;
        let asked_command = req.command.as_ref().is_some_and(|c| &s.command != c);
        if asked_program || asked_command {
            // A daemon too old to know programs ran its one command.
            let _ = self.call(&Request::Stop {
                name: s.name.clone(),
                force: false,
            });
            anyhow::bail!(
                "rcd started {} with its own command, not the one asked for (it is older than \
                 this rcctl and has no programs), so it was stopped again: upgrade rcd",
                s.name
            );
        }
        Ok(s)
    }

    pub fn stop(&mut self, name: &str, force: bool) -> Result<StopReport> {
        match self.call(&Request::Stop {
            name: name.to_string(),
            force,
        })? {
            Response::Stopped(r) => Ok(r),
            other => Err(unexpected(other)),
        }
    }

    pub fn diff(
        &mut self,
        name: &str,
        uncommitted: bool,
        stat: bool,
    ) -> Result<rcd_proto::diff::Diff> {
        match self.call(&Request::Diff {
            name: name.to_string(),
            uncommitted,
            stat,
        })? {
            Response::Diff(d) => Ok(d),
            other => Err(unexpected(other)),
        }
    }

    pub fn answer(&mut self, name: &str, req: rcd_proto::relay::AnswerRequest) -> Result<()> {
        match self.call(&Request::Answer {
            name: name.to_string(),
            id: req.id,
            decision: req.decision,
            message: req.message,
        })? {
            Response::Ok => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    pub fn send(&mut self, name: &str, text: String, enter: bool) -> Result<()> {
        match self.call(&Request::Send {
            name: name.to_string(),
            text,
            enter,
        })? {
            Response::Ok => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    pub fn screen(&mut self, name: &str) -> Result<ScreenText> {
        match self.call(&Request::Screen {
            name: name.to_string(),
        })? {
            Response::Screen(s) => Ok(s),
            other => Err(unexpected(other)),
        }
    }

    pub fn transcript(&mut self, name: &str, from: u64, max_lines: u32) -> Result<TranscriptPage> {
        match self.call(&Request::Transcript {
            name: name.to_string(),
            from,
            max_lines,
        })? {
            Response::Transcript(p) => Ok(p),
            other => Err(unexpected(other)),
        }
    }

    /// The raw attach: see `attach.rs`.
    pub fn attach(&mut self, name: &str) -> Result<String> {
        self.connection()?;
        let conn = self.conn.take().expect("connected above");
        attach::run(conn, name)
    }
}
