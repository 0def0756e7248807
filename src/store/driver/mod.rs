//! What each backend needs below sea-orm: PostgreSQL transactions that `COPY` and combine
//! writes, and checked writes in one statement ([`pg_writer`]), PostgreSQL connections for the
//! coalesced reads ([`pg_reader`]), both on connections kept outside sqlx's pool ([`pg_own`]),
//! in-process SQLite reads ([`sqlite_reader`]), SQLite transactions that send their writes
//! together ([`sqlite_writer`]), and SQLite's WAL checkpoints off the writer's path
//! ([`sqlite_checkpoint`]).

pub(crate) mod pg_own;
pub(crate) mod pg_reader;
pub(crate) mod pg_writer;
pub(crate) mod sqlite_checkpoint;
pub(crate) mod sqlite_reader;
pub(crate) mod sqlite_writer;

use sea_orm::sqlx;
use sea_orm::{DbErr, RuntimeErr, Statement};
use sea_query_sqlx::SqlxValues;
use std::sync::Arc;

/// The statement as sqlx runs it (prepared, and kept per connection), its values moved.
pub(crate) fn query<DB>(stmt: Statement) -> sqlx::query::Query<'static, DB, SqlxValues>
where
    DB: sqlx::Database,
    SqlxValues: sqlx::IntoArguments<DB>,
{
    let values = stmt.values.unwrap_or(sea_orm::Values(Vec::new()));
    sqlx::query_with(sqlx::AssertSqlSafe(stmt.sql), SqlxValues(values))
}

pub(crate) fn exec_err(e: sqlx::Error) -> DbErr {
    DbErr::Exec(RuntimeErr::SqlxError(Arc::new(e)))
}

pub(crate) fn query_err(e: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(Arc::new(e)))
}

/// `ConnectionTrait` for a transaction type whose `ready()` gives its sqlx transaction once the
/// writes it held back have run ([`pg_writer::PgTxn`], [`sqlite_writer::SqliteTxn`]).
macro_rules! connection_after_ready {
    ($txn:ty, $backend:expr) => {
        #[sea_orm::prelude::async_trait::async_trait]
        impl sea_orm::ConnectionTrait for $txn {
            fn get_database_backend(&self) -> sea_orm::DbBackend {
                $backend
            }

            async fn execute_raw(&self, stmt: sea_orm::Statement) -> Result<sea_orm::ExecResult, sea_orm::DbErr> {
                let mut txn = self.ready().await?;
                Ok($crate::store::driver::query(stmt)
                    .execute(&mut **txn)
                    .await
                    .map_err($crate::store::driver::exec_err)?
                    .into())
            }

            async fn execute_unprepared(&self, sql: &str) -> Result<sea_orm::ExecResult, sea_orm::DbErr> {
                let mut txn = self.ready().await?;
                let raw = sea_orm::sqlx::raw_sql(sea_orm::sqlx::AssertSqlSafe(sql.to_owned()));
                Ok(raw.execute(&mut **txn).await.map_err($crate::store::driver::exec_err)?.into())
            }

            async fn query_one_raw(
                &self,
                stmt: sea_orm::Statement,
            ) -> Result<Option<sea_orm::QueryResult>, sea_orm::DbErr> {
                let mut txn = self.ready().await?;
                let row = $crate::store::driver::query(stmt).fetch_optional(&mut **txn).await;
                Ok(row.map_err($crate::store::driver::query_err)?.map(Into::into))
            }

            async fn query_all_raw(
                &self,
                stmt: sea_orm::Statement,
            ) -> Result<Vec<sea_orm::QueryResult>, sea_orm::DbErr> {
                let mut txn = self.ready().await?;
                let rows = $crate::store::driver::query(stmt).fetch_all(&mut **txn).await;
                Ok(rows.map_err($crate::store::driver::query_err)?.into_iter().map(Into::into).collect())
            }
        }
    };
}
pub(crate) use connection_after_ready;
