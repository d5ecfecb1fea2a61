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
//!   `rc-relay serve` runs it with a [`FileStore`], or with a
//!   [`RedisStore`] (`--redis`) shared by several instances.
//! - [`Store`] holds all of its state except live sockets ([`hub`]).
//! - [`cli`] is the `rc-relay` command line.
//! - `web` serves the device UI of `relay/web/`, built into the binary.
//!
//! # Module order
//!
//! The modules form a line; each imports only modules before it:
//!
//! 1. `options`, `secret`, `limit`, `logging`: limits and durations;
//!    secrets, hashes and ids; counting failed attempts; the log filter
//!    that keeps payloads and headers out of logs.
//! 2. `mesh`: how instances sharing a Redis reach each other's sockets
//!    (the notes between them, the registry of who is where, the beat).
//! 3. `store`: the [`Store`] trait and its three implementations; `push`:
//!    Web Push to devices (the VAPID key, payload encryption, the episode
//!    rule, the sends).
//! 4. `hub`: live routing of sockets, here and through `mesh`, and the
//!    [`CloseReason`]s it closes them with.
//! 5. `state`: [`Relay`], the shared handle over options, store, hub and
//!    the stop signal; revocation, the sweeper round, the mesh's loop,
//!    shutdown.
//! 6. `ws`: the session link and attach socket tasks.
//! 7. `web`: the device UI's page and assets, and `/healthz`.
//! 8. `api`: the HTTP routes, their error answer, and the extractors that
//!    authenticate callers (`api/auth.rs`).
//! 9. `acme`, `cert`: the certificate obtained and renewed by ACME
//!    (`serve --acme`), and the one made by `rc-relay cert create`.
//! 10. `listen`, `server`: accepting connections within their bounds; the
//!     router, TLS, the sweeper and mesh tasks, serving.
//! 11. `cli`: the `rc-relay` command line.
//! 12. `config`: the configuration file, read into the command line's
//!     defaults.

pub mod acme;
mod api;
pub mod cert;
pub mod cli;
pub mod config;
mod hub;
mod limit;
mod listen;
pub mod logging;
mod mesh;
pub mod options;
mod push;
mod queue;
pub mod secret;
mod server;
mod state;
pub mod store;
mod web;
mod ws;

pub use api::{ApiErr, body};
pub use hub::CloseReason;
pub use mesh::Bus;
pub use options::{MAX_BODY, RelayOptions};
pub use server::{SHUTDOWN_GRACE, TlsError, tls_config};
pub use state::Relay;
pub use store::{
    EnvEntry, EnvRecord, FileStore, Grant, MemoryStore, PushSubscription, RedisStore, Store,
    StoreError, StoreFuture, StoreResult, TokenKind, TokenRecord, create_token,
};
