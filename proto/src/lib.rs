//! Wire types shared by `rcd`, `rcctl` and `rc-relay`.
//!
//! This crate depends on little (serde, thiserror, base64 and optionally
//! tokio for async framing) so that the control client never links the
//! daemon's heavy dependencies.
//!
//! - [`frame`]: length-prefixed JSON frames with a maximum size that is
//!   checked before anything is allocated.
//! - [`control`]: the messages of the control socket, one enum per
//!   direction.
//! - [`name`]: session names, validated before they reach a path or a ref.
//! - [`hook`]: the files through which a coding agent's hooks reach rcd.
//! - [`token`]: the kinds of relay secret, by their prefix.

pub mod cli;
pub mod control;
pub mod diff;
pub mod frame;
pub mod hook;
pub mod liveness;
pub mod name;
pub mod paths;
pub mod relay;
pub mod stream;
pub mod token;

/// Version of the control protocol. Bumped on any incompatible change of
/// the messages in [`control`]; both sides compare it in the hello.
pub const PROTOCOL_VERSION: u32 = 1;

/// Version of the crate (and of the binaries built with it).
pub const PACKAGE_VERSION: &str = env!("CARGO_PKG_VERSION");

pub use control::{
    AttachInput, AttachOutput, ClientHello, ErrorKind, ErrorReply, KeptWorktree, LinkState,
    LinkStatus, PruneReport, Request, Response, ScreenText, ServerHello, SessionInfo, SessionState,
    Setting, SpawnMode, StatusInfo, StopReport, TranscriptPage, WorktreeAction, WorktreeOutcome,
};
pub use frame::{FrameError, MAX_FRAME_LEN, MAX_REQUEST_LEN};
pub use name::{NameError, SessionName};
