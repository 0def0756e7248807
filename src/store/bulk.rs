//! The write transaction ingest stores its groups in: on PostgreSQL one whose new rows go in
//! with `COPY` and whose updates go out together (see [`super::driver::pg_writer`]), on SQLite
//! one whose writes go to sqlx's worker thread together ([`super::driver::sqlite_writer`]).

use super::driver::pg_writer::{OneStatement, PgTxn};
use super::driver::sqlite_writer::SqliteTxn;
use super::{Store, insert_chunked};
use sea_orm::prelude::async_trait::async_trait;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbBackend, DbErr, ExecResult, QueryResult, Statement};

/// A transaction for appending many rows; rolled back if dropped uncommitted.
pub(crate) enum BulkTxn {
    Sqlite(SqliteTxn),
    Postgres(PgTxn),
    /// Not a transaction: writes gathered into one checked statement ([`OneStatement`]).
    Checked(OneStatement),
}

/// `$body` with `$txn` bound to whichever transaction `$self` holds.
macro_rules! on_either {
    ($self:expr, $txn:ident => $body:expr) => {
        match $self {
            BulkTxn::Sqlite($txn) => $body,
            BulkTxn::Postgres($txn) => $body,
            BulkTxn::Checked($txn) => $body,
        }
    };
}

impl BulkTxn {
    pub(crate) async fn begin(store: &Store) -> Result<Self, DbErr> {
        Ok(match store.backend() {
            DbBackend::Postgres => Self::Postgres(PgTxn::begin(store.writer.get_postgres_connection_pool()).await?),
            _ => Self::Sqlite(SqliteTxn::begin(store.writer.get_sqlite_connection_pool()).await?),
        })
    }

    /// Writes gathered into one statement that stores nothing unless the update given to
    /// [`OneStatement::check`] changes the rows it expects; `None` where there are none (SQLite).
    pub(crate) fn checked(store: &Store) -> Option<Self> {
        store.own_writes.clone().map(|connections| Self::Checked(OneStatement::new(connections)))
    }

    /// The one checked statement the writes go as, if they do ([`Self::checked`]).
    pub(crate) fn as_checked(&self) -> Option<&OneStatement> {
        match self {
            Self::Checked(txn) => Some(txn),
            _ => None,
        }
    }

    pub(crate) async fn commit(self) -> Result<(), DbErr> {
        on_either!(self, txn => txn.commit().await)
    }

    /// The transaction for writes that read nothing back (not even how many rows they changed)
    /// and touch rows no other such write of the group touches: they are held back and sent
    /// together with the next statement or the commit ([`PgTxn::defer`], [`SqliteTxn::defer`]).
    /// Reads through it run at once, after them.
    pub(crate) fn updates(&self) -> Updates<'_> {
        Updates(self)
    }

    /// Inserts new rows (none may conflict): with `COPY` on PostgreSQL, as [`insert_chunked`]
    /// held back with the updates on SQLite. Every row must set the same columns.
    pub(crate) async fn append<A: ActiveModelTrait + Send>(&self, rows: Vec<A>) -> Result<(), DbErr> {
        match self {
            Self::Sqlite(_) => insert_chunked(&self.updates(), rows, None).await,
            Self::Postgres(txn) => txn.copy(rows).await,
            Self::Checked(txn) => insert_chunked(txn, rows, None).await,
        }
    }
}

#[async_trait]
impl ConnectionTrait for BulkTxn {
    fn get_database_backend(&self) -> DbBackend {
        on_either!(self, txn => txn.get_database_backend())
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        on_either!(self, txn => txn.execute_raw(stmt).await)
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        on_either!(self, txn => txn.execute_unprepared(sql).await)
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        on_either!(self, txn => txn.query_one_raw(stmt).await)
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        on_either!(self, txn => txn.query_all_raw(stmt).await)
    }
}

/// See [`BulkTxn::updates`]: writes are held back; everything else runs as the transaction
/// runs it.
pub(crate) struct Updates<'t>(&'t BulkTxn);

#[async_trait]
impl ConnectionTrait for Updates<'_> {
    fn get_database_backend(&self) -> DbBackend {
        self.0.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        match self.0 {
            BulkTxn::Postgres(txn) => txn.defer(stmt).await,
            BulkTxn::Sqlite(txn) => txn.defer(stmt).await,
            BulkTxn::Checked(txn) => txn.execute_raw(stmt).await,
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.0.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.0.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.0.query_all_raw(stmt).await
    }
}
