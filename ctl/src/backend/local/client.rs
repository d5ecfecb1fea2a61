//! A blocking connection to the daemon's control socket.

use anyhow::{Result, anyhow, bail};
use rcd_proto::frame::{read_frame, write_frame};
use rcd_proto::{ClientHello, ErrorKind, ErrorReply, FrameError, Request, Response, ServerHello};
use std::io;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// An open, greeted connection.
#[derive(Debug)]
pub struct Client {
    pub stream: UnixStream,
    pub socket: PathBuf,
    pub daemon_version: String,
}

/// How long a client keeps trying while every connection slot of rcd is
/// taken (a burst of scripts, say) before it gives up.
const BUSY_PATIENCE: Duration = Duration::from_secs(15);

impl Client {
    /// Connects and exchanges hellos; every failure says how to fix it.
    /// While rcd refuses as busy the attempt is repeated, with jittered,
    /// growing pauses, for up to [`BUSY_PATIENCE`].
    pub fn connect(socket: &Path) -> Result<Self> {
        let give_up = Instant::now() + BUSY_PATIENCE;
        let mut pause = Duration::from_millis(5);
        loop {
            match Self::connect_once(socket) {
                Err(Refused::Busy(_)) if Instant::now() < give_up => {
                    let jittered = pause.mul_f64(rand::random_range(0.5..1.5));
                    std::thread::sleep(jittered.min(give_up - Instant::now()));
                    pause = (pause * 2).min(Duration::from_millis(250));
                }
                Err(Refused::Busy(message)) => bail!("{message}"),
                Err(Refused::Other(e)) => return Err(e),
                Ok(c) => return Ok(c),
            }
        }
    }

    fn connect_once(socket: &Path) -> std::result::Result<Self, Refused> {
        let shown = socket.display();
        let stream = UnixStream::connect(socket).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => anyhow!(
                "no rcd on {shown}: start one with `rcd`, or point --socket/RCD_SOCKET at \
                 a running one"
            ),
            io::ErrorKind::ConnectionRefused => {
                anyhow!("no rcd is listening on {shown} (a stale socket): start one with `rcd`")
            }
            io::ErrorKind::PermissionDenied => anyhow!(
                "cannot connect to {shown}: permission denied; the daemon serves only its own \
                 user"
            ),
            _ => anyhow!("cannot connect to {shown}: {e}"),
        })?;
        let mut client = Client {
            stream,
            socket: socket.to_path_buf(),
            daemon_version: String::new(),
        };
        // A refused client may find the daemon already closed its side;
        // the refusal is still there to read.
        let sent = write_frame(&mut client.stream, &ClientHello::current());
        let first: serde_json::Value = match read_frame(&mut client.stream) {
            Ok(v) => v,
            Err(e) => return Err(client.transport(sent.err().unwrap_or(e)).into()),
        };
        if let Ok(Response::Error(e)) = serde_json::from_value::<Response>(first.clone()) {
            return Err(match e.kind {
                ErrorKind::Busy => Refused::Busy(e.message),
                _ => Refused::Other(anyhow!("{}", e.message)),
            });
        }
        let hello: ServerHello = serde_json::from_value(first).map_err(|_| {
            anyhow!(
                "{shown} did not answer like rcd; is it an rcd control socket of the same \
                 version?"
            )
        })?;
        if hello.protocol != rcd_proto::PROTOCOL_VERSION {
            return Err(anyhow!(
                "version mismatch: rcctl {} speaks control protocol {}, but rcd {} on {shown} \
                 speaks {}; use the rcctl that came with that rcd, or restart rcd with this \
                 version (rcctl shutdown, then rcd)",
                rcd_proto::PACKAGE_VERSION,
                rcd_proto::PROTOCOL_VERSION,
                hello.version,
                hello.protocol
            )
            .into());
        }
        client.daemon_version = hello.version;
        Ok(client)
    }

    fn transport(&self, e: FrameError) -> anyhow::Error {
        match e {
            FrameError::Closed | FrameError::Truncated => anyhow!(
                "rcd on {} closed the connection; is it shutting down? (rcctl status)",
                self.socket.display()
            ),
            other => anyhow!("talking to rcd on {}: {other}", self.socket.display()),
        }
    }

    /// Sends one request and reads its response; a daemon error becomes an
    /// `Err` carrying the [`ErrorReply`].
    pub fn call(&mut self, req: &Request) -> Result<Response> {
        write_frame(&mut self.stream, req).map_err(|e| self.transport(e))?;
        let resp: Response = read_frame(&mut self.stream).map_err(|e| self.transport(e))?;
        match resp {
            Response::Error(e) => Err(anyhow::Error::new(e)),
            other => Ok(other),
        }
    }
}

/// Why a connection attempt failed: busy is worth another try.
enum Refused {
    Busy(String),
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Refused {
    fn from(e: anyhow::Error) -> Self {
        Refused::Other(e)
    }
}

/// An answer that does not fit the question.
pub fn unexpected(resp: Response) -> anyhow::Error {
    anyhow!("unexpected answer from rcd ({resp:?}); are rcctl and rcd the same version?")
}

/// The daemon's error, if that is what `e` is.
pub fn daemon_error(e: &anyhow::Error) -> Option<&ErrorReply> {
    e.downcast_ref::<ErrorReply>()
}
