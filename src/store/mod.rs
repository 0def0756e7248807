//! Persistence: sea-orm queries, always scoped by the authenticated tenant.
//!
//! SQLite gets one writer connection (SQLite has one writer anyway; several pooled writers only
//! trade queueing for "database is locked" errors) and a separate pool of readers in WAL mode.
//! PostgreSQL gets a pool of readers and a smaller one of writers, both opened at start; writes to
//! a session are serialised by a row lock on it. Event batches are written in groups by the
//! [`committer`] (see [`ingest`]), on PostgreSQL in transactions of [`pg_writer`]; the hottest
//! reads ([`reads`]) run on connections of their own (see [`BatchReader`]).

pub mod analytics;
pub mod batcher;
pub mod committer;
pub mod export;
pub mod feedback;
mod gather;
pub mod history;
pub mod ingest;
mod pg_reader;
mod pg_writer;
pub use pg_writer::copy_rows;
mod quota;
pub mod reads;
mod rollup;
pub mod sessions;
mod sqlite_reader;
pub mod states;
pub mod tenants;
pub mod timeline;
pub mod users;

use crate::domain::Plan;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{OnConflict, Value};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ActiveModelTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, EntityTrait, Iterable, QueryTrait, RuntimeErr, Select, SqlErr, SqliteTransactionMode, Statement,
    TransactionOptions, TransactionTrait, TryGetableMany,
};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

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
    fn is_unique_violation(&self) -> bool {
        matches!(self, Self::Db(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))))
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        Self::Corrupt(e.to_string())
    }
}

/// How the store connects.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    pub url: String,
    /// PostgreSQL pool size; SQLite readers.
    pub max_connections: u32,
    /// SQLite `synchronous=FULL` instead of `NORMAL`: survives power loss, costs an fsync per commit.
    pub sqlite_synchronous_full: bool,
}

impl StoreOptions {
    /// How many group commits for ingest may run at once: one on SQLite, which has one writer;
    /// on PostgreSQL two per core, where concurrent group commits overlap one's round trips with
    /// another's work (measured best: benches/RESULTS.md), within half the pool.
    pub fn ingest_lanes(&self) -> usize {
        if self.url.starts_with("sqlite:") {
            return 1;
        }
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        (2 * cores).min(self.max_connections as usize / 2).max(1)
    }
}

#[derive(Clone, Debug)]
pub struct Store {
    writer: DatabaseConnection,
    reader: DatabaseConnection,
    /// Where the hot reads go (see [`reads`]).
    batch_reader: BatchReader,
    ingest_lanes: usize,
}

/// The connections the hot reads use: on an SQLite file, rusqlite's, in process
/// ([`sqlite_reader`]); on PostgreSQL a few of their own for the coalesced reads
/// ([`pg_reader`]), where statements keep their generic plans; an in-memory SQLite database's
/// one connection otherwise.
#[derive(Clone, Debug)]
enum BatchReader {
    Sea(DatabaseConnection),
    Postgres(Arc<pg_reader::PgReader>),
    Sqlite(Arc<sqlite_reader::SqliteReader>),
}

impl Store {
    pub async fn connect(options: &StoreOptions) -> Result<Self, DbErr> {
        if !options.url.starts_with("sqlite:") {
            let ingest_lanes = options.ingest_lanes();
            // Every connection is opened at start: one opened on demand is a TLS handshake and
            // a login (~50 ms) that the requests waiting for it would add to their latency.
            let pool = |connections: u32| {
                let mut opts = ConnectOptions::new(options.url.clone());
                opts.max_connections(connections).min_connections(connections).sqlx_logging(false);
                opts
            };
            // Writes find rows by unique keys, which any plan uses, and PostgreSQL may keep a
            // generic plan per prepared statement after five runs: planning each multi-row
            // INSERT afresh cost 15–30 % of ingest throughput. Writers: the lanes, and two more
            // for the other writes (feedback, erasure, keys).
            let writer = Database::connect(pool(ingest_lanes as u32 + 2)).await?;
            // Reads filter and aggregate, where a generic plan made while the tables were tiny
            // (a sequential scan) would be kept as they grow: plan every read with its values.
            let mut reads = pool(options.max_connections);
            reads.map_sqlx_postgres_opts(|o| o.options([("plan_cache_mode", "force_custom_plan")]));
            let reader = Database::connect(reads).await?;
            // The coalesced reads look rows up by unique keys, as writes do: planning each one
            // afresh cost PostgreSQL ~60 µs per query, about as much as running it. The server's
            // workers open connections of their own ([`Self::with_own_reads`]); these open on
            // demand.
            let batch_reader = BatchReader::Postgres(pg_reader::PgReader::connect(&options.url, 0).await?);
            return Ok(Self { writer, reader, batch_reader, ingest_lanes });
        }
        let synchronous =
            if options.sqlite_synchronous_full { SqliteSynchronous::Full } else { SqliteSynchronous::Normal };
        let sqlite = |connections: u32| {
            let mut opts = ConnectOptions::new(options.url.clone());
            opts.max_connections(connections).min_connections(1).sqlx_logging(false).map_sqlx_sqlite_opts(move |o| {
                o.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(synchronous)
                    .busy_timeout(SQLITE_BUSY_TIMEOUT)
                    .foreign_keys(true)
            });
            opts
        };
        let writer = connect_sqlite(sqlite(1)).await?;
        // An in-memory database exists once per connection: readers must share the writer.
        if options.url.contains(":memory:") || options.url.contains("mode=memory") {
            let batch_reader = BatchReader::Sea(writer.clone());
            return Ok(Self { reader: writer.clone(), writer, batch_reader, ingest_lanes: 1 });
        }
        let reader = connect_sqlite(sqlite(options.max_connections.max(1))).await?;
        let file = SqliteConnectOptions::from_str(&options.url)
            .map_err(|e| DbErr::Conn(RuntimeErr::Internal(e.to_string())))?;
        let batch_reader = BatchReader::Sqlite(Arc::new(sqlite_reader::SqliteReader::new(file.get_filename())));
        Ok(Self { writer, reader, batch_reader, ingest_lanes: 1 })
    }

    /// This store with connections of its own for the coalesced reads ([`reads`]), opened now,
    /// so that their I/O is served by the calling thread's runtime: each HTTP worker
    /// ([`crate::app`]) reads through its own, on the thread whose requests wait for the reads.
    pub async fn with_own_reads(&self) -> Result<Self, DbErr> {
        let mut store = self.clone();
        if let BatchReader::Postgres(reader) = &self.batch_reader {
            store.batch_reader = BatchReader::Postgres(reader.another(reads::CONNECTIONS).await?);
        }
        Ok(store)
    }

    /// Applies pending migrations; safe when several processes start at once on one database
    /// (an advisory lock on PostgreSQL, the write lock of an IMMEDIATE transaction on SQLite,
    /// whose DDL is transactional).
    pub async fn migrate(&self) -> Result<(), DbErr> {
        if self.backend() == DbBackend::Postgres {
            return migration::migrate(&self.writer).await;
        }
        let txn = self.begin_write().await?;
        <migration::Migrator as migration::MigratorTrait>::up(&txn, None).await?;
        txn.commit().await
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
    fn reads_in_process(&self) -> bool {
        matches!(self.batch_reader, BatchReader::Sqlite(_))
    }

    /// A statement as [`Self::read_in_process`] runs it.
    fn in_process_statement<E: EntityTrait>(&self, select: Select<E>) -> Statement {
        select.build(DbBackend::Sqlite)
    }

    /// Runs a statement on the in-process reader ([`Self::reads_in_process`]), each row as a tuple
    /// of its columns.
    async fn read_in_process<T: sqlite_reader::FromRow>(
        &self,
        sql: &str,
        values: impl IntoIterator<Item = Value>,
    ) -> Result<Vec<T>, DbErr> {
        let BatchReader::Sqlite(sqlite) = &self.batch_reader else {
            unreachable!("reads run in process only on an SQLite file")
        };
        sqlite.select(sql, values.into_iter().collect()).await
    }

    /// Runs one of the coalesced reads (see [`reads`]), each row as a tuple of its columns: on
    /// PostgreSQL `postgres_sql` with the keys bound as `arrays` (see [`pg_reader`]); elsewhere
    /// the statement `select` builds for the keys.
    async fn batch_read<E, T>(
        &self,
        select: impl FnOnce() -> Select<E>,
        postgres_sql: &str,
        arrays: &[pg_reader::Array<'_>],
    ) -> Result<Vec<T>, DbErr>
    where
        E: EntityTrait,
        T: TryGetableMany + sqlite_reader::FromRow + pg_reader::FromPgRow,
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

/// How long an SQLite connection waits for a lock another holds.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens an SQLite pool, again while the file is locked, for up to [`SQLITE_BUSY_TIMEOUT`]:
/// processes that open a new database at once race to switch it to WAL, and SQLite refuses the
/// losers' `PRAGMA journal_mode` at once (`SQLITE_BUSY`: waiting could deadlock), busy timeout
/// or not. A retry finds the file in WAL mode already, which is what the pragma asks for.
async fn connect_sqlite(options: ConnectOptions) -> Result<DatabaseConnection, DbErr> {
    let deadline = std::time::Instant::now() + SQLITE_BUSY_TIMEOUT;
    loop {
        match Database::connect(options.clone()).await {
            Err(e) if is_sqlite_busy(&e) && std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            connected => return connected,
        }
    }
}

/// Whether an error is SQLite's `SQLITE_BUSY` (code 5, in any of its extended forms).
fn is_sqlite_busy(e: &DbErr) -> bool {
    let (DbErr::Conn(RuntimeErr::SqlxError(e)) | DbErr::Exec(RuntimeErr::SqlxError(e))) = e else { return false };
    let Some(db) = e.as_database_error() else { return false };
    db.code().and_then(|c| c.parse::<i32>().ok()).is_some_and(|c| c & 0xff == 5)
}

/// Inserts rows as multi-row statements, each under SQLite's limit of 32,766 bound parameters
/// (PostgreSQL allows 65,535): one statement per chunk, not per row; `on_conflict` applies to each.
/// Every row must set the same columns.
async fn insert_chunked<A>(
    db: &impl ConnectionTrait,
    rows: Vec<A>,
    on_conflict: Option<&OnConflict>,
) -> Result<(), DbErr>
where
    A: ActiveModelTrait + Send,
{
    let per_statement = 32_766 / <A::Entity as EntityTrait>::Column::iter().count().max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(per_statement).collect();
        match on_conflict {
            Some(c) => {
                A::Entity::insert_many(chunk).on_conflict(c.clone()).exec_without_returning(db).await?;
            }
            None => {
                db.execute_raw(plain_insert(db.get_database_backend(), chunk)).await?;
            }
        };
    }
    Ok(())
}

/// The multi-row `INSERT` sea-orm builds for `rows`, written directly: sea-orm makes each value
/// an expression, then writes and drops that tree, which for a group's events (~4,000 values)
/// cost more CPU than PostgreSQL spent storing them. `tests::plain_inserts_are_sea_orms` checks
/// that the text and values are sea-orm's.
fn plain_insert<A: ActiveModelTrait>(backend: DbBackend, rows: Vec<A>) -> Statement {
    use std::fmt::Write;
    let (target, columns) = rows.first().map(insert_target).unwrap_or_default();
    let mut sql = format!("INSERT INTO {target} VALUES ");
    let mut values = Vec::with_capacity(rows.len() * columns.len());
    for (i, mut row) in rows.into_iter().enumerate() {
        sql.push_str(if i == 0 { "(" } else { ", (" });
        for (j, column) in columns.iter().enumerate() {
            values.push(row.take(*column).into_value().expect("every row sets the same columns"));
            let _ = match backend {
                DbBackend::Postgres => write!(sql, "{}${}", if j == 0 { "" } else { ", " }, values.len()),
                _ => write!(sql, "{}?", if j == 0 { "" } else { ", " }),
            };
        }
        sql.push(')');
    }
    Statement::from_sql_and_values(backend, sql, values)
}

/// Where rows like `first` go, as an `INSERT` or a `COPY` names it — `"table" ("column", …)`,
/// the columns `first` sets — and those columns, in that order.
fn insert_target<A: ActiveModelTrait>(first: &A) -> (String, Vec<<A::Entity as EntityTrait>::Column>) {
    use sea_orm::{EntityName, IdenStatic};
    let columns: Vec<_> = <A::Entity as EntityTrait>::Column::iter().filter(|c| first.get(*c).is_set()).collect();
    let names: Vec<String> = columns.iter().map(|c| format!("\"{}\"", c.as_str())).collect();
    (format!("\"{}\" ({})", A::Entity::default().table_name(), names.join(", ")), columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use entity::event;
    use sea_orm::ActiveValue::Set;

    /// An event row that sets every column but the id (text with quotes, NULLs, a negative
    /// float), for the tests of the statements that insert rows.
    pub(super) fn event(id: Option<&str>, x: Option<f64>, tenant_id: i64) -> event::ActiveModel {
        event::ActiveModel {
            tenant_id: Set(tenant_id),
            session_id: Set(9),
            event_id: Set(id.map(str::to_owned)),
            ts_ms: Set(1_700_000_000_000),
            received_at_ms: Set(1_700_000_000_500),
            kind: Set("click".into()),
            x: Set(x),
            y: Set(Some(-2.5)),
            duration_ms: Set(None),
            speed: Set(None),
            direction: Set(Some("down".into())),
            url: Set(None),
            message: Set(Some("it's \"broken\"".into())),
            valence: Set(0.1),
            arousal: Set(0.2),
            tension: Set(0.3),
            affiliation: Set(0.4),
            delta_valence: Set(-0.1),
            delta_arousal: Set(0.0),
            delta_tension: Set(0.05),
            delta_affiliation: Set(0.0),
            label: Set("browsing".into()),
            confidence: Set(0.5),
            signals: Set("[]".into()),
            trigger_reason: Set("click".into()),
            model_version: Set("v1".into()),
            ..Default::default()
        }
    }

    #[test]
    fn ingest_lanes_are_one_on_sqlite_and_two_per_core_within_half_the_pool_on_postgres() {
        let lanes = |url: &str, max_connections| {
            StoreOptions { url: url.into(), max_connections, sqlite_synchronous_full: false }.ingest_lanes()
        };
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        assert_eq!(lanes("sqlite://m.db?mode=rwc", 16), 1);
        assert_eq!(lanes("sqlite::memory:", 16), 1);
        assert_eq!(lanes("postgres://u@h/db", 1_000), 2 * cores);
        assert_eq!(lanes("postgres://u@h/db", 4), (2 * cores).min(2));
        assert_eq!(lanes("postgres://u@h/db", 1), 1);
    }

    #[test]
    fn plain_inserts_are_sea_orms() {
        let rows = vec![event(Some("e1"), Some(3.0), 1), event(None, None, 2), event(Some("é"), Some(-0.0), 3)];
        for backend in [DbBackend::Sqlite, DbBackend::Postgres] {
            let ours = plain_insert(backend, rows.clone());
            let theirs = backend.build(&event::Entity::insert_many(rows.clone()).into_query());
            assert_eq!((ours.sql, ours.values), (theirs.sql, theirs.values), "{backend:?}");
        }
    }
}
