//! Opening the store: its pools on either backend, the readers of the hot reads, and migrations.

use super::driver::{pg_own, pg_reader, sqlite_checkpoint, sqlite_reader};
use super::{BatchReader, Store};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend, DbErr, RuntimeErr};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

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
    /// on PostgreSQL one per core, where concurrent group commits overlap one's round trips with
    /// another's work while each group stays large (measured best: benches/RESULTS.md, session
    /// 22), within half the pool.
    pub fn ingest_lanes(&self) -> usize {
        if self.url.starts_with("sqlite:") {
            return 1;
        }
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        cores.min(self.max_connections as usize / 2).max(1)
    }
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
            // for the other writes (feedback, erasure, keys, and push: the outbox's publisher
            // and the webhook deliveries, a transaction now and then each).
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
            // Ingest's checked writes, one statement each: on connections of their own, which the
            // lanes open on first use (their I/O then runs on the lanes' runtime).
            let options = (*writer.get_postgres_connection_pool().connect_options()).clone();
            let own_writes = Some(Arc::new(pg_own::OwnConnections::new(options)));
            return Ok(Self {
                writer,
                reader,
                batch_reader,
                ingest_lanes,
                own_writes,
                outbox_written: Default::default(),
                _checkpointer: None,
            });
        }
        let synchronous =
            if options.sqlite_synchronous_full { SqliteSynchronous::Full } else { SqliteSynchronous::Normal };
        let sqlite = |connections: u32| {
            let mut opts = ConnectOptions::new(options.url.clone());
            // No ping before each use: the connection is to a file in this process, and the ping
            // only a hop to its worker thread and back before every transaction.
            opts.max_connections(connections).min_connections(1).sqlx_logging(false).test_before_acquire(false);
            opts.map_sqlx_sqlite_opts(move |o| {
                o.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(synchronous)
                    .busy_timeout(SQLITE_BUSY_TIMEOUT)
                    .foreign_keys(true)
                    // Statement journals in memory: a group's upsert of its sessions (a page
                    // each) outgrew the 64 KiB kept in memory, and each one made, wrote and
                    // deleted a temporary file.
                    .pragma("temp_store", "memory")
                    // Checkpoints run on a thread of their own (`sqlite_checkpoint`); a commit
                    // checkpoints only if that thread falls far behind.
                    .pragma("wal_autocheckpoint", sqlite_checkpoint::BACKSTOP_PAGES.to_string())
            });
            opts
        };
        let writer = connect_sqlite(sqlite(1)).await?;
        // An in-memory database exists once per connection: readers must share the writer.
        if options.url.contains(":memory:") || options.url.contains("mode=memory") {
            let batch_reader = BatchReader::Sea(writer.clone());
            return Ok(Self {
                reader: writer.clone(),
                writer,
                batch_reader,
                ingest_lanes: 1,
                own_writes: None,
                outbox_written: Default::default(),
                _checkpointer: None,
            });
        }
        let reader = connect_sqlite(sqlite(options.max_connections.max(1))).await?;
        let file = SqliteConnectOptions::from_str(&options.url)
            .map_err(|e| DbErr::Conn(RuntimeErr::Internal(e.to_string())))?;
        let batch_reader = BatchReader::Sqlite(Arc::new(sqlite_reader::SqliteReader::new(file.get_filename())));
        let checkpointer = sqlite_checkpoint::Checkpointer::spawn(file.get_filename())
            .map_err(|e| DbErr::Conn(RuntimeErr::Internal(e.to_string())))?;
        Ok(Self {
            writer,
            reader,
            batch_reader,
            ingest_lanes: 1,
            own_writes: None,
            outbox_written: Default::default(),
            _checkpointer: Some(Arc::new(checkpointer)),
        })
    }

    /// This store with `connections` of its own for the coalesced reads ([`crate::reads`]),
    /// opened now, so that their I/O is served by the calling thread's runtime.
    pub(crate) async fn with_own_reads(&self, connections: u32) -> Result<Self, DbErr> {
        let mut store = self.clone();
        if let BatchReader::Postgres(reader) = &self.batch_reader {
            store.batch_reader = BatchReader::Postgres(reader.another(connections).await?);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ingest_lanes_are_one_on_sqlite_and_one_per_core_within_half_the_pool_on_postgres() {
        let lanes = |url: &str, max_connections| {
            StoreOptions { url: url.into(), max_connections, sqlite_synchronous_full: false }.ingest_lanes()
        };
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        assert_eq!(lanes("sqlite://m.db?mode=rwc", 16), 1);
        assert_eq!(lanes("sqlite::memory:", 16), 1);
        assert_eq!(lanes("postgres://u@h/db", 1_000), cores);
        assert_eq!(lanes("postgres://u@h/db", 4), cores.min(2));
        assert_eq!(lanes("postgres://u@h/db", 1), 1);
    }
}
