//! Every operation a client can ask of rcd, answered in one place for
//! every path: the control socket sends a [`Request`], the relay's work
//! items are the same requests ([`rcd_proto::relay::Work`] converts into
//! one), and a device's session stream reads the same transcript pages
//! and types through the same session methods. Limits live with the data
//! they bound (a transcript page: `term::MAX_PAGE_LINES` and
//! `term::MAX_PAGE_BYTES`), so no path has its own.

use crate::session::SessionGone;
use crate::supervisor::{NewSession, Supervisor};
use rcd_proto::{ErrorKind, ErrorReply, LinkStatus, Request, Response, Setting, StatusInfo};
use std::sync::Arc;

/// `rcctl status`: the supervisor's state and the relay link's (`None`
/// without a link).
pub fn status(sup: &Supervisor, link: Option<LinkStatus>) -> StatusInfo {
    StatusInfo {
        link,
        ..sup.status()
    }
}

/// Answers one request. [`Request::Attach`] turns a control connection
/// into a stream and is served by `control` itself; [`Request::Shutdown`]
/// is acknowledged here and acted on by the caller. `link` is the relay
/// link's state, for [`Request::Status`].
pub async fn answer(sup: &Arc<Supervisor>, link: Option<LinkStatus>, req: Request) -> Response {
    match req {
        Request::Status => Response::Status(status(sup, link)),
        Request::List => Response::Sessions {
            sessions: sup.list(),
        },
        Request::New {
            name,
            spawn,
            sandbox,
            program,
            command,
        } => reply(
            sup.create(NewSession {
                name,
                spawn,
                sandbox,
                program,
                command,
            })
            .await,
            Response::Session,
        ),
        Request::Stop { name, force } => reply(sup.stop(&name, force).await, Response::Stopped),
        Request::Send { name, text, enter } => {
            let mut bytes = text.into_bytes();
            if enter {
                bytes.push(b'\r');
            }
            let r = match sup.get(&name) {
                Ok(s) => s.send(bytes).await.map_err(|e| gone(&name, e)),
                Err(e) => Err(e),
            };
            reply(r, |()| Response::Ok)
        }
        Request::Screen { name } => reply(sup.get(&name), |s| Response::Screen(s.screen_text())),
        Request::Transcript {
            name,
            from,
            max_lines,
        } => reply(sup.transcript(&name, from, max_lines), Response::Transcript),
        Request::Worktrees => reply(sup.kept_worktrees().await, |worktrees| {
            Response::Worktrees { worktrees }
        }),
        Request::Prune => reply(sup.prune().await, Response::Pruned),
        Request::Set(Setting::Spawn(mode)) => reply(sup.set_spawn(mode), |()| Response::Ok),
        Request::Set(Setting::Capacity(n)) => reply(sup.set_capacity(n), |()| Response::Ok),
        Request::Shutdown => Response::Ok,
        Request::Diff {
            name,
            uncommitted,
            stat,
        } => reply(diff(sup, &name, uncommitted, stat).await, Response::Diff),
        Request::Answer {
            name,
            id,
            decision,
            message,
        } => {
            let r = sup.get(&name).and_then(|s| {
                if s.answer(id.as_deref(), decision, message) {
                    Ok(())
                } else {
                    Err(nothing_to_answer(&name, id.as_deref()))
                }
            });
            reply(r, |()| Response::Ok)
        }
        Request::Attach { .. } => Response::Error(ErrorReply {
            kind: ErrorKind::BadRequest,
            message: "attach is handled on its own".into(),
        }),
    }
}

fn reply<T>(r: Result<T, ErrorReply>, f: impl FnOnce(T) -> Response) -> Response {
    match r {
        Ok(v) => f(v),
        Err(e) => Response::Error(e),
    }
}

/// What a worktree session changed.
async fn diff(
    sup: &Supervisor,
    name: &str,
    uncommitted: bool,
    stat: bool,
) -> Result<rcd_proto::diff::Diff, ErrorReply> {
    let session = sup.get(name)?;
    let Some(wt) = session.worktree.clone() else {
        return Err(ErrorReply {
            kind: ErrorKind::BadRequest,
            message: format!(
                "session {name} runs in the shared directory, not in a worktree of its own: \
                 there is no base to compare with (sessions of --spawn worktree have one)"
            ),
        });
    };
    tokio::task::spawn_blocking(move || crate::worktree::diff(&wt, uncommitted, stat))
        .await
        .map_err(|e| ErrorReply {
            kind: ErrorKind::Internal,
            message: format!("the diff failed: {e}"),
        })?
        .map_err(|e| ErrorReply {
            kind: ErrorKind::Internal,
            message: e.to_string(),
        })
}

/// The refusal of an answer that nobody waits for.
fn nothing_to_answer(name: &str, id: Option<&str>) -> ErrorReply {
    ErrorReply {
        kind: ErrorKind::NothingToAnswer,
        message: match id {
            Some(id) => format!(
                "request {id} of session {name} waits no more: it was answered (the first answer \
                 wins) or withdrawn"
            ),
            None => format!("no permission request waits in session {name}"),
        },
    }
}

/// The refusal for input to a session whose program has ended.
pub fn gone(name: &str, _: SessionGone) -> ErrorReply {
    ErrorReply {
        kind: ErrorKind::UnknownSession,
        message: format!(
            "session {name} has exited: its screen and transcript can still be read; \
             `rcctl stop {name}` removes it"
        ),
    }
}
