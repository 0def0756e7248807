//! The HTTP API, end to end against a real database: SQLite by default, PostgreSQL when
//! `TEST_DATABASE_URL` is set. One test binary; each test spawns its own server and database.

mod helpers;

mod affect;
mod analytics;
mod auth;
mod browser;
mod concurrency;
mod crash;
mod dashboard;
mod edge;
mod events;
mod export;
mod hostile;
mod hygiene;
mod interventions;
mod keys;
mod listing;
mod metrics;
mod push_support;
mod quota;
mod replicas;
mod retention;
mod sessions;
mod spec;
mod streams;
mod tenancy;
mod timeseries;
mod users;
mod webhooks;
mod workers;
