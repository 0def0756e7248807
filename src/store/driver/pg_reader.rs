//! PostgreSQL connections for the coalesced reads (see [`crate::reads`]), kept by the reads
//! themselves rather than by sqlx's pool.
//!
//! The pool pings a connection when it hands it out and again when it takes it back: two more
//! round trips around a read that is one ([`super::pg_own`]). A connection that fails is
//! dropped instead of kept, and a read that fails on a connection kept from before is tried once
//! more on a new one (a server restart breaks every idle connection).
//!
//! A read binds its keys as arrays (`… IN (SELECT * FROM UNNEST($1, $2))`): one statement text
//! for any number of keys, prepared once per connection and planned once, where an `IN (…)`
//! list of values is a statement of its own for every length.

use super::pg_own::{OwnConnections, error};
use sea_orm::DbErr;
use sea_orm::sqlx::postgres::{PgArguments, PgConnectOptions, PgRow};
use sea_orm::sqlx::{self, Arguments, ConnectOptions, FromRow, PgConnection};
use std::str::FromStr;
use std::sync::Arc;

/// A row of a query's result as a tuple of its columns.
pub(crate) trait FromPgRow: for<'r> FromRow<'r, PgRow> + Send + Unpin + 'static {}
impl<T> FromPgRow for T where T: for<'r> FromRow<'r, PgRow> + Send + Unpin + 'static {}

/// A parameter of a read: one column of its keys.
pub(crate) enum Array<'a> {
    Int8(Vec<i64>),
    Text(Vec<&'a str>),
}

pub(crate) struct PgReader {
    connections: OwnConnections,
}

impl std::fmt::Debug for PgReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgReader").field("connections", &self.connections).finish()
    }
}

impl PgReader {
    /// Opens `connections` connections now: one opened on demand is a TLS handshake and a login
    /// that the requests waiting for it would add to their latency. With none, each opens on
    /// demand (the server's workers use [`Self::another`]).
    pub(crate) async fn connect(url: &str, connections: u32) -> Result<Arc<Self>, DbErr> {
        Self::open(PgConnectOptions::from_str(url).map_err(error)?.disable_statement_logging(), connections).await
    }

    /// A reader like this one with `connections` connections of its own, opened now: their I/O
    /// is served by the calling thread's runtime.
    pub(crate) async fn another(&self, connections: u32) -> Result<Arc<Self>, DbErr> {
        Self::open(self.connections.options().clone(), connections).await
    }

    async fn open(options: PgConnectOptions, connections: u32) -> Result<Arc<Self>, DbErr> {
        Ok(Arc::new(Self { connections: OwnConnections::open(options, connections).await? }))
    }

    /// Runs a query with these parameters and decodes each row as `T`; once more on a new
    /// connection if it failed on a kept one (a server restart breaks every idle connection).
    pub(crate) async fn select<T: FromPgRow>(&self, sql: &str, arrays: &[Array<'_>]) -> Result<Vec<T>, DbErr> {
        if let Some(conn) = self.connections.kept()
            && let Ok(rows) = self.select_on(conn, sql, arrays).await
        {
            return Ok(rows);
        }
        let conn = self.connections.connect().await?;
        self.select_on(conn, sql, arrays).await
    }

    /// Runs the query on `conn`, which is kept again if it succeeded.
    async fn select_on<T: FromPgRow>(
        &self,
        mut conn: PgConnection,
        sql: &str,
        arrays: &[Array<'_>],
    ) -> Result<Vec<T>, DbErr> {
        let mut args = PgArguments::default();
        for array in arrays {
            match array {
                Array::Int8(values) => args.add(values),
                Array::Text(values) => args.add(values),
            }
            .map_err(|e| DbErr::Custom(format!("binding a read's keys: {e}")))?;
        }
        let rows = sqlx::query_as_with(sqlx::AssertSqlSafe(sql), args).fetch_all(&mut conn).await;
        self.connections.give_back(conn, &rows);
        rows.map_err(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::sqlx::Connection;

    /// PostgreSQL from `TEST_DATABASE_URL`; these tests pass trivially on the SQLite run.
    fn postgres() -> Option<String> {
        std::env::var("TEST_DATABASE_URL").ok().filter(|url| url.starts_with("postgres"))
    }

    #[tokio::test]
    async fn binds_keys_as_arrays() {
        let Some(url) = postgres() else { return };
        let reader = PgReader::connect(&url, 1).await.unwrap();
        let keys = [Array::Int8(vec![-7, 3]), Array::Text(vec!["b é", "it's"])];
        let rows: Vec<(i64, String)> =
            reader.select("SELECT * FROM UNNEST($1::int8[], $2::text[])", &keys).await.unwrap();
        assert_eq!(rows, [(-7, "b é".to_owned()), (3, "it's".to_owned())]);
    }

    /// A kept connection that the server closed (a restart, an administrator) costs the read
    /// nothing: it runs again on a new connection.
    #[tokio::test]
    async fn a_read_outlives_its_connection() {
        let Some(url) = postgres() else { return };
        let reader = PgReader::connect(&url, 1).await.unwrap();
        let whose = "SELECT pg_backend_pid()";
        let [(pid,)] = reader.select::<(i32,)>(whose, &[]).await.unwrap()[..] else { panic!("one row") };
        let mut admin = PgConnection::connect(&url).await.unwrap();
        // Waits (up to 5 s) until the backend is gone.
        let (killed,): (bool,) =
            sqlx::query_as("SELECT pg_terminate_backend($1, 5000)").bind(pid).fetch_one(&mut admin).await.unwrap();
        assert!(killed);
        let [(again,)] = reader.select::<(i32,)>(whose, &[]).await.unwrap()[..] else { panic!("one row") };
        assert_ne!(again, pid);
        assert_eq!(reader.connections.idle(), 1, "the new connection is kept");
    }
}
