//! The control socket: a Unix socket in a 0700 directory, mode 0600,
//! serving only the daemon's own user. Each connection is one task; a bad
//! frame closes that connection and nothing else.
//!
//! What a connection may hold is bounded: at most [`MAX_CONNECTIONS`] are
//! served at once; a client frame is at most [`MAX_REQUEST_LEN`] and its
//! buffer grows as its bytes arrive; once its first byte has arrived a
//! frame must be whole within [`FRAME_TIMEOUT`]; and a connection with no
//! request in flight is closed after [`IDLE_TIMEOUT`] of quiet (an attach
//! stream is never idle: it waits on the session).

use crate::link::LinkHandle;
use crate::ops;
use crate::pty::Size;
use crate::session::{SessionGone, Status};
use crate::supervisor::Supervisor;
use anyhow::{Context, Result, bail};
use rcd_proto::frame::tokio_io::{read_frame_max, read_frame_rest, write_frame};
use rcd_proto::{
    AttachInput, AttachOutput, ClientHello, ErrorKind, ErrorReply, FrameError, MAX_REQUEST_LEN,
    Request, Response, ServerHello,
};
use serde::de::DeserializeOwned;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{broadcast, mpsc};

/// How long a connection may stay quiet with no request in flight
/// (before its hello, too).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a frame may take to arrive once its first byte has.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(5);
/// Most control connections served at once (attach streams included).
pub const MAX_CONNECTIONS: usize = 32;
/// Largest hello read from a client that is being refused.
const REFUSAL_HELLO_LEN: usize = 4096;
/// Longest socket path the kernel accepts (sun_path less the NUL).
const MAX_SOCKET_PATH: usize = 107;

/// The bound socket; removes its file when dropped.
#[derive(Debug)]
pub struct Socket {
    pub listener: UnixListener,
    path: PathBuf,
}

impl Drop for Socket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Binds the control socket. Refuses when another daemon answers on it;
/// replaces a stale socket file left by a killed one.
pub async fn bind(path: &Path, own_dir: bool) -> Result<Socket> {
    if path.as_os_str().len() > MAX_SOCKET_PATH {
        bail!(
            "socket path {} is longer than {MAX_SOCKET_PATH} bytes: choose a shorter --socket",
            path.display()
        );
    }
    let dir = path.parent().context("the socket path has no directory")?;
    if !dir.exists() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the socket directory {}", dir.display()))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    } else if own_dir {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).with_context(
            || format!("cannot make the socket directory {} private", dir.display()),
        )?;
    }
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        use std::os::unix::fs::FileTypeExt;
        if !meta.file_type().is_socket() {
            bail!(
                "{} exists and is not a socket: refusing to replace it; choose another --socket",
                path.display()
            );
        }
        match UnixStream::connect(path).await {
            Ok(_) => bail!(
                "another rcd is already running on {}: stop it (rcctl --socket {} shutdown) \
                 or choose another --socket",
                path.display(),
                path.display()
            ),
            Err(e) if e.kind() != std::io::ErrorKind::ConnectionRefused => bail!(
                "cannot tell whether {} is in use ({e}): remove it or choose another --socket",
                path.display()
            ),
            Err(_) => {
                tracing::info!(socket = %path.display(), "replacing a stale socket");
                std::fs::remove_file(path).with_context(|| {
                    format!("cannot remove the stale socket {}", path.display())
                })?;
            }
        }
    }
    let listener =
        UnixListener::bind(path).with_context(|| format!("cannot listen on {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(Socket {
        listener,
        path: path.to_path_buf(),
    })
}

/// Accepts connections until `stop` fires. `shutdown_tx` is how
/// `rcctl shutdown` asks the daemon to stop.
pub async fn serve(
    listener: &UnixListener,
    sup: Arc<Supervisor>,
    link: Option<LinkHandle>,
    allowed_uid: u32,
    shutdown_tx: mpsc::Sender<()>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let sup = sup.clone();
        let link = link.clone();
        let tx = shutdown_tx.clone();
        let slot = slots.clone().try_acquire_owned().ok();
        tokio::spawn(async move {
            let cred = stream.peer_cred().ok();
            let uid = cred.map(|c| c.uid());
            let span = tracing::debug_span!("client", uid);
            let _e = span.enter();
            let refusal = if slot.is_none() {
                tracing::warn!(
                    max = MAX_CONNECTIONS,
                    "refused a client: too many control connections"
                );
                Some(ErrorReply {
                    kind: ErrorKind::Busy,
                    message: format!(
                        "refused: rcd already serves {MAX_CONNECTIONS} control connections; \
                         end some (an attach, or a client that hangs) and try again"
                    ),
                })
            } else if uid != Some(allowed_uid) {
                tracing::warn!(?uid, "refused a client of another user");
                Some(ErrorReply {
                    kind: ErrorKind::BadRequest,
                    message: format!(
                        "refused: this rcd serves only uid {allowed_uid}; run rcctl as that user"
                    ),
                })
            } else {
                // A client inside a sandboxed session must not drive rcd.
                let pid = cred
                    .and_then(|c| c.pid())
                    .and_then(|p| u32::try_from(p).ok());
                let r = sup.sandbox().refuse_client(pid);
                if r.is_some() {
                    tracing::warn!(?pid, "refused a client inside a sandbox");
                }
                r.map(|message| ErrorReply {
                    kind: ErrorKind::BadRequest,
                    message,
                })
            };
            if let Some(reply) = refusal {
                let mut stream = stream;
                // Read its hello first, so the client is listening when the
                // refusal comes (and does not see a broken pipe instead).
                let _ = tokio::time::timeout(
                    Duration::from_secs(2),
                    read_frame_max::<_, ClientHello>(&mut stream, REFUSAL_HELLO_LEN),
                )
                .await;
                let _ = write_frame(&mut stream, &Response::Error(reply)).await;
                let _ = tokio::io::AsyncWriteExt::shutdown(&mut stream).await;
                return;
            }
            drop(_e);
            match connection(stream, sup, link, tx).await {
                Ok(()) | Err(FrameError::Closed) => {}
                Err(e) => tracing::warn!("closed a client connection: {e}"),
            }
            drop(slot);
        });
    }
}

async fn connection(
    mut stream: UnixStream,
    sup: Arc<Supervisor>,
    link: Option<LinkHandle>,
    shutdown: mpsc::Sender<()>,
) -> Result<(), FrameError> {
    let hello: ClientHello = read_request(&mut stream).await?;
    write_frame(&mut stream, &ServerHello::current()).await?;
    if hello.protocol != rcd_proto::PROTOCOL_VERSION {
        tracing::warn!(
            client = hello.protocol,
            ours = rcd_proto::PROTOCOL_VERSION,
            "client speaks another protocol version"
        );
        return Ok(());
    }
    loop {
        let req: Request = read_request(&mut stream).await?;
        tracing::debug!(op = req.op(), "request");
        if let Request::Attach { name, rows, cols } = req {
            return attach(stream, &sup, &name, rows, cols).await;
        }
        let is_shutdown = req == Request::Shutdown;
        let status = link.as_ref().and_then(LinkHandle::status);
        let resp = ops::answer(&sup, status, req).await;
        write_frame(&mut stream, &resp).await?;
        if is_shutdown {
            let _ = shutdown.send(()).await;
        }
    }
}

fn timed_out(what: &str) -> FrameError {
    FrameError::Io(std::io::Error::new(std::io::ErrorKind::TimedOut, what))
}

/// Reads the next frame: waits for its first byte up to `idle` (no limit
/// when `None`), then gives the rest [`FRAME_TIMEOUT`].
async fn bounded_frame<R, T>(r: &mut R, idle: Option<Duration>) -> Result<T, FrameError>
where
    R: tokio::io::AsyncRead + Unpin,
    T: DeserializeOwned,
{
    use tokio::io::AsyncReadExt;
    let mut first = [0u8; 1];
    // `read` is cancel-safe: a timeout here loses no byte.
    let n = match idle {
        Some(idle) => tokio::time::timeout(idle, r.read(&mut first))
            .await
            .map_err(|_| timed_out(&format!("no request for {}s", idle.as_secs())))??,
        None => r.read(&mut first).await?,
    };
    if n == 0 {
        return Err(FrameError::Closed);
    }
    tokio::time::timeout(FRAME_TIMEOUT, read_frame_rest(r, first[0], MAX_REQUEST_LEN))
        .await
        .map_err(|_| {
            timed_out(&format!(
                "a frame did not arrive within {}s of its first byte",
                FRAME_TIMEOUT.as_secs()
            ))
        })?
}

/// The next request (or hello), within [`IDLE_TIMEOUT`] of quiet.
async fn read_request<T: DeserializeOwned>(stream: &mut UnixStream) -> Result<T, FrameError> {
    bounded_frame(stream, Some(IDLE_TIMEOUT)).await
}

/// The client id of local `rcctl attach` in the size's bookkeeping
/// ([`crate::sizing`]), and how viewers are told of it.
const LOCAL: &str = "local";
const LOCAL_LABEL: &str = "rcctl attach";

/// The raw path: a redraw, then the PTY's bytes; input and resizes go the
/// other way until the client detaches or the program exits.
async fn attach(
    mut stream: UnixStream,
    sup: &Arc<Supervisor>,
    name: &str,
    rows: u16,
    cols: u16,
) -> Result<(), FrameError> {
    let session = match sup.get(name) {
        Ok(s) if s.status() == Status::Running => s,
        Ok(_) => {
            let e = ops::gone(name, SessionGone);
            return write_frame(&mut stream, &Response::Error(e)).await;
        }
        Err(e) => return write_frame(&mut stream, &Response::Error(e)).await,
    };
    // The local terminal drives the size like any client: it takes it
    // on attaching and on each input (in the `latest` mode).
    let mut local = (rows > 0 && cols > 0).then(|| Size::clamped(rows, cols));
    session.typed_by(LOCAL, LOCAL_LABEL, local);
    let (redraw, mut output) = session.attach();
    write_frame(&mut stream, &Response::Attached { redraw }).await?;
    tracing::info!(name, "client attached");
    let (mut rd, mut wr) = stream.into_split();
    let (in_tx, mut in_rx) = mpsc::channel::<Result<AttachInput, FrameError>>(64);
    // Reading a frame is not cancel-safe, so it gets a task of its own.
    let reader = tokio::spawn(async move {
        loop {
            // The wait for the first byte has no limit: an attached
            // client may be quiet for as long as it likes.
            let r = bounded_frame::<_, AttachInput>(&mut rd, None).await;
            let end = r.is_err() || matches!(r, Ok(AttachInput::Detach));
            if in_tx.send(r).await.is_err() || end {
                return;
            }
        }
    });
    let result = loop {
        tokio::select! {
            chunk = output.recv() => match chunk {
                Ok(bytes) => {
                    write_frame(&mut wr, &AttachOutput::Data { bytes: bytes.to_vec() }).await?;
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::debug!(name, skipped = n, "attached client fell behind, redrawing");
                    output = output.resubscribe();
                    let bytes = session.redraw();
                    write_frame(&mut wr, &AttachOutput::Redraw { bytes }).await?;
                }
                Err(broadcast::error::RecvError::Closed) => {
                    let code = session.wait().await;
                    write_frame(&mut wr, &AttachOutput::Exited { code: Some(code) }).await?;
                    break Ok(());
                }
            },
            code = session.wait() => {
                // Flush what is already queued, then report the exit.
                while let Ok(bytes) = output.try_recv() {
                    write_frame(&mut wr, &AttachOutput::Data { bytes: bytes.to_vec() }).await?;
                }
                write_frame(&mut wr, &AttachOutput::Exited { code: Some(code) }).await?;
                break Ok(());
            }
            input = in_rx.recv() => match input {
                Some(Ok(AttachInput::Data { bytes })) => {
                    session.typed_by(LOCAL, LOCAL_LABEL, local);
                    if session.send(bytes).await.is_err() {
                        continue;
                    }
                }
                Some(Ok(AttachInput::Resize { rows, cols })) => {
                    let size = Size::clamped(rows, cols);
                    local = Some(size);
                    session.client_moved(LOCAL, LOCAL_LABEL, size);
                }
                Some(Ok(AttachInput::Detach)) => {
                    write_frame(&mut wr, &AttachOutput::Detached).await?;
                    break Ok(());
                }
                Some(Err(FrameError::Closed)) | None => break Ok(()),
                Some(Err(e)) => break Err(e),
            },
        }
    };
    reader.abort();
    tracing::info!(name, "client detached");
    result
}
