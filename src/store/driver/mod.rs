//! What each backend needs below sea-orm: PostgreSQL transactions that `COPY` and combine
//! writes, and checked writes in one statement ([`pg_writer`]), PostgreSQL connections for the
//! coalesced reads ([`pg_reader`]), both on connections kept outside sqlx's pool ([`pg_own`]),
//! in-process SQLite reads ([`sqlite_reader`]), and SQLite transactions that send their writes
//! together ([`sqlite_writer`]).

pub(crate) mod pg_own;
pub(crate) mod pg_reader;
pub(crate) mod pg_writer;
pub(crate) mod sqlite_reader;
pub(crate) mod sqlite_writer;
