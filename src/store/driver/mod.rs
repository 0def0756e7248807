//! What each backend needs below sea-orm: PostgreSQL transactions that `COPY` and combine
//! writes ([`pg_writer`]), PostgreSQL connections for the coalesced reads ([`pg_reader`]), and
//! in-process SQLite reads ([`sqlite_reader`]).

pub(crate) mod pg_reader;
pub(crate) mod pg_writer;
pub(crate) mod sqlite_reader;
