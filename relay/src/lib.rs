//! rc-relay: the rendezvous service between rcd daemons and remote
//! devices. Daemons dial out to it, register an environment, long-poll for
//! work and open one WebSocket per session; devices pair, list
//! environments, create and stop sessions and attach to them. The relay
//! routes session frames without reading them. The contract is
//! docs/PROTOCOL.md, section "Relay".
//!
//! - [`Relay`] is the server as a value: `Relay::new(options, store)`, then
//!   [`Relay::serve`] or [`Relay::serve_tls`] with a listener and a
//!   shutdown future. `rcd` embeds it on loopback with a [`MemoryStore`];
//!   `rc-relay serve` runs it with a [`FileStore`].
//! - [`Store`] holds all of its state except live sockets ([`hub`]).
//! - [`cli`] is the `rc-relay` command line.
//! - `web` serves the device UI of `relay/web/`, built into the binary.

mod api;
pub mod cli;
mod hub;
pub mod options;
pub mod secret;
mod server;
pub mod store;
mod web;
mod ws;

pub use options::{MAX_BODY, RelayOptions};
pub use server::{Relay, SHUTDOWN_GRACE, TlsError, tls_config};
pub use store::{
    EnvEntry, EnvRecord, FileStore, Grant, MemoryStore, Store, StoreError, StoreFuture,
    StoreResult, TokenKind, TokenRecord, create_token,
};
pub use ws::CloseReason;
