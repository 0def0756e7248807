//! moodring: infers how a person feels from what they do.
//!
//! - [`engine`]: the pure affect engine (state, decay, projection, signals).
//! - [`api`]: the HTTP API (poem-openapi), its errors and authentication.
//! - [`store`]: persistence on SQLite or PostgreSQL, always tenant-scoped.
//! - [`app`]: the running server, its requests served by [`workers`]; [`config`]: the command line.

pub mod api;
pub mod app;
pub mod config;
pub mod domain;
pub mod engine;
pub mod keys;
pub mod store;
pub mod telemetry;
pub mod workers;
