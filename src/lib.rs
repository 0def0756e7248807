//! moodring: infers how a person feels from what they do.
//!
//! Dependencies run one way: [`server`] → {[`api`], [`web`]}; [`api`] → {[`ingest`], [`reads`], [`auth`],
//! [`policies`], [`webhooks`]} → [`store`] → {[`domain`], [`interventions`], [`push`]} → [`engine`].
//!
//! - [`engine`]: the pure affect engine (state, decay, projection, signals).
//! - [`simulate`]: simulated people and the tracker's events for them, and the model-quality
//!   figures read from them (depends on [`engine`] only).
//! - [`interventions`]: the pure policy that picks the suggested action and learns from feedback.
//! - [`domain`]: values checked at the edge (tenants, plans, ids, events, quota months).
//! - [`store`]: persistence on SQLite or PostgreSQL, always tenant-scoped.
//! - [`ingest`]: event batches stored by group commit; [`reads`]: the hot reads, coalesced.
//! - [`push`]: the messages announcing changes (written by ingest to the outbox) and this
//!   replica's hub, from which its event streams take them (the server's relay publishes and
//!   feeds it); [`webhooks`]: their delivery to customers' servers, signed, retried and kept off
//!   private networks.
//! - [`auth`]: API keys, their cache and the failed-authentication throttle.
//! - [`policies`]: each tenant's intervention policy, built from the store and cached briefly.
//! - [`api`]: the HTTP API (poem-openapi), its wire types, errors and security schemes.
//! - [`web`]: the browser assets embedded in the binary (the tracker and the dashboard).
//! - [`state`]: what the handlers share; [`server`]: the listener and its HTTP workers;
//!   [`config`]: the command line.

pub mod api;
pub mod auth;
pub mod config;
pub mod domain;
pub mod engine;
mod gather;
pub mod ingest;
pub mod interventions;
pub mod policies;
pub mod push;
pub mod reads;
pub mod server;
pub mod simulate;
pub mod state;
pub mod store;
pub mod telemetry;
#[doc(hidden)]
pub mod testing;
pub mod web;
pub mod webhooks;

/// What the benchmark tools in `examples/` reach below the API. Not an interface.
#[doc(hidden)]
pub mod bench {
    pub use crate::ingest::event_row;
    pub use crate::store::driver::pg_writer::copy_rows;
}
