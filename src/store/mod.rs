//! Persistence: the connections, and sea-orm queries always scoped by the authenticated tenant.
//!
//! SQLite gets one writer connection (SQLite has one writer anyway; several pooled writers only
//! trade queueing for "database is locked" errors) and a separate pool of readers in WAL mode.
//! PostgreSQL gets a pool of readers and a smaller one of writers, both opened at start; writes to
//! a session are serialised by a row lock on it ([`connect`]). Event batches are written in
//! groups by [`crate::ingest`], in [`bulk`] transactions; the hottest reads
//! ([`crate::reads`]) run on connections of their own (see [`BatchReader`]). [`driver`] holds
//! what each backend needs below sea-orm.
//!
//! Each query module takes the tenant it reads or writes for: sessions, their events and history,
//! users, feedback, analytics and the slots and rollups behind them, exports, tenants and their
//! keys (secret and publishable), quotas; and the keys that sign session tokens.

pub mod analytics;
pub(crate) mod bulk;
mod connect;
pub(crate) mod driver;
pub mod export;
pub mod feedback;
pub mod history;
mod insert;
pub mod interventions;
pub mod listing;
pub mod outbox;
pub mod publishable_keys;
pub(crate) mod quota;
pub mod retention;
pub(crate) mod rollup;
pub mod sessions;
pub mod signing_keys;
pub mod tenants;
pub mod timeline;
pub mod users;
pub mod webhooks;

pub use connect::StoreOptions;
pub(crate) use insert::insert_chunked;

use crate::domain::Plan;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Value;
use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, EntityTrait, QueryTrait, Select, SqlErr,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait, TryGetableMany,
};
use std::sync::Arc;

/// What went wrong below the API.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the monthly allowance of new sessions is used up")]
    QuotaExceeded { plan: Plan, limit: i64, reset_at: DateTime<Utc> },
    #[error("the session belongs to another user")]
    UserConflict,
    #[error("stored data could not be read back: {0}")]
    Corrupt(String),
    #[error("the ingest committer stopped")]
    Unavailable,
    #[error(transparent)]
    Db(#[from] DbErr),
}

impl StoreError {
    pub(crate) fn is_unique_violation(&self) -> bool {
        matches!(self, Self::Db(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))))
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        Self::Corrupt(e.to_string())
    }
}

#[derive(Clone, Debug)]
pub struct Store {
    writer: DatabaseConnection,
    reader: DatabaseConnection,
    /// Where the hot reads go (see [`crate::reads`]).
    batch_reader: BatchReader,
    ingest_lanes: usize,
    /// On PostgreSQL, connections for ingest's checked writes, outside the writer pool
    /// ([`driver::pg_own`]).
    own_writes: Option<Arc<driver::pg_own::OwnConnections>>,
    /// Woken when a transaction that wrote outbox messages commits ([`outbox`]).
    outbox_written: Arc<tokio::sync::Notify>,
    /// On an SQLite file, the thread that checkpoints its WAL ([`driver::sqlite_checkpoint`]),
    /// until the last clone of this store is dropped.
    _checkpointer: Option<Arc<driver::sqlite_checkpoint::Checkpointer>>,
}

/// The connections the hot reads use: on an SQLite file, rusqlite's, in process
/// ([`driver::sqlite_reader`]); on PostgreSQL a few of their own for the coalesced reads
/// ([`driver::pg_reader`]), where statements keep their generic plans; an in-memory SQLite database's
/// one connection otherwise.
#[derive(Clone, Debug)]
enum BatchReader {
    Sea(DatabaseConnection),
    Postgres(Arc<driver::pg_reader::PgReader>),
    Sqlite(Arc<driver::sqlite_reader::SqliteReader>),
}

impl Store {
    /// Each connection pool's name, connections open, and of those idle (for `GET /metrics`).
    pub fn pool_levels(&self) -> Vec<(&'static str, u32, usize)> {
        let level = |name, pool: &DatabaseConnection| match pool.get_database_backend() {
            DbBackend::Postgres => {
                let pool = pool.get_postgres_connection_pool();
                (name, pool.size(), pool.num_idle())
            }
            _ => {
                let pool = pool.get_sqlite_connection_pool();
                (name, pool.size(), pool.num_idle())
            }
        };
        vec![level("writer", &self.writer), level("reader", &self.reader)]
    }

    /// How many group commits for ingest may run at once ([`StoreOptions::ingest_lanes`]).
    pub fn ingest_lanes(&self) -> usize {
        self.ingest_lanes
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        self.reader.ping().await.is_ok()
    }

    pub fn backend(&self) -> DbBackend {
        self.writer.get_database_backend()
    }

    /// A write transaction. On SQLite it takes the write lock up front (`BEGIN IMMEDIATE`), so a
    /// read-then-write transaction never fails to upgrade its lock.
    async fn begin_write(&self) -> Result<DatabaseTransaction, DbErr> {
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        };
        self.writer.begin_with_options(options).await
    }

    fn reader(&self) -> &DatabaseConnection {
        &self.reader
    }

    /// Whether the hot reads run in this process (rusqlite on an SQLite file) rather than as
    /// round trips to a database server.
    pub(crate) fn reads_in_process(&self) -> bool {
        matches!(self.batch_reader, BatchReader::Sqlite(_))
    }

    /// A statement as [`Self::read_in_process`] runs it.
    fn in_process_statement<E: EntityTrait>(&self, select: Select<E>) -> Statement {
        select.build(DbBackend::Sqlite)
    }

    /// Runs a statement on the in-process reader ([`Self::reads_in_process`]), each row as a tuple
    /// of its columns.
    async fn read_in_process<T: driver::sqlite_reader::FromRow>(
        &self,
        sql: &str,
        values: impl IntoIterator<Item = Value>,
    ) -> Result<Vec<T>, DbErr> {
        let BatchReader::Sqlite(sqlite) = &self.batch_reader else {
            unreachable!("reads run in process only on an SQLite file")
        };
        sqlite.select(sql, values.into_iter().collect()).await
    }

    /// Runs one of the coalesced reads (see [`crate::reads`]), each row as a tuple of its
    /// columns: on PostgreSQL `postgres_sql` with the keys bound as `arrays` (see
    /// [`driver::pg_reader`]); elsewhere
    /// the statement `select` builds for the keys.
    async fn batch_read<E, T>(
        &self,
        select: impl FnOnce() -> Select<E>,
        postgres_sql: &str,
        arrays: &[driver::pg_reader::Array<'_>],
    ) -> Result<Vec<T>, DbErr>
    where
        E: EntityTrait,
        T: TryGetableMany + driver::sqlite_reader::FromRow + driver::pg_reader::FromPgRow,
    {
        match &self.batch_reader {
            BatchReader::Postgres(pg) => pg.select(postgres_sql, arrays).await,
            BatchReader::Sqlite(sqlite) => {
                let statement = select().build(DbBackend::Sqlite);
                sqlite.select(&statement.sql, statement.values.map_or_else(Vec::new, |v| v.0)).await
            }
            BatchReader::Sea(db) => select().into_tuple().all(db).await,
        }
    }
}
