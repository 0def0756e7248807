//! SQLite reads without sqlx's worker thread, for the hot reads (see [`crate::reads`]).
//!
//! sqlx runs every SQLite statement on a worker thread of its connection and sends each row back
//! through a channel; one batched mood read cost ~250 µs of CPU that way, most of a `GET mood`.
//! Here the calling thread runs the whole statement on a rusqlite connection (each statement
//! text prepared once per connection) and has all its rows at once. The statements are
//! sea-query statements, as on the sqlx path (see [`crate::store::Store`]).

use sea_orm::sea_query::Value;
use sea_orm::{DbErr, RuntimeErr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a read that found the database busy waits for it, in a blocking task.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Statement texts kept prepared per connection: an `IN (…)` list of each length is its own text.
const PREPARED: usize = 256;

/// A row of a query's result as a tuple of its columns (rusqlite decodes tuples of up to 16).
pub(crate) trait FromRow:
    for<'r> TryFrom<&'r rusqlite::Row<'r>, Error = rusqlite::Error> + Send + 'static
{
}
impl<T> FromRow for T where T: for<'r> TryFrom<&'r rusqlite::Row<'r>, Error = rusqlite::Error> + Send + 'static {}

/// Read-only rusqlite connections to one database file, opened as needed and kept.
#[derive(Debug)]
pub(crate) struct SqliteReader {
    path: PathBuf,
    idle: Mutex<Vec<rusqlite::Connection>>,
}

impl SqliteReader {
    pub(crate) fn new(path: &Path) -> Self {
        Self { path: path.to_owned(), idle: Mutex::default() }
    }

    /// Runs a query with these values on a connection of the pool and decodes each row as `T`,
    /// on the calling thread: a point read of pages in memory takes microseconds, less than
    /// handing it to another thread and back. Such a read never waits: if the database is busy
    /// (a writer recovering the WAL after a crash, say) or no connection is open yet, the query
    /// runs in a blocking task instead, which waits for it. The text is borrowed and the values
    /// moved: a read that does not wait copies neither.
    pub(crate) async fn select<T: FromRow>(self: &Arc<Self>, sql: &str, values: Vec<Value>) -> Result<Vec<T>, DbErr> {
        let params = values.into_iter().map(param).collect::<rusqlite::Result<Vec<_>>>().map_err(error)?;
        let taken = self.idle.lock().expect("not poisoned").pop();
        if let Some(conn) = taken {
            let rows = select(&conn, sql, &params);
            self.idle.lock().expect("not poisoned").push(conn);
            match rows {
                Err(e) if is_busy(&e) => {}
                rows => return rows.map_err(error),
            }
        }
        self.select_waiting(sql.to_owned(), params).await
    }

    /// [`Self::select`] in a blocking task, waiting up to [`BUSY_TIMEOUT`] for the database.
    async fn select_waiting<T: FromRow>(
        self: &Arc<Self>,
        sql: String,
        params: Vec<rusqlite::types::Value>,
    ) -> Result<Vec<T>, DbErr> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let taken = this.idle.lock().expect("not poisoned").pop();
            let conn = match taken {
                Some(conn) => conn,
                None => open(&this.path).map_err(error)?,
            };
            let rows = conn.busy_timeout(BUSY_TIMEOUT).and_then(|()| select(&conn, &sql, &params));
            // Back in the pool, reads fail at once when busy (they run on async threads).
            if conn.busy_timeout(Duration::ZERO).is_ok() {
                this.idle.lock().expect("not poisoned").push(conn);
            }
            rows.map_err(error)
        })
        .await
        .map_err(error)?
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked))
}

fn open(path: &Path) -> rusqlite::Result<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    // Read-write so that it joins the WAL's shared-memory index like any other connection;
    // `query_only` keeps it from writing.
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::ZERO)?;
    conn.pragma_update(None, "query_only", true)?;
    conn.set_prepared_statement_cache_capacity(PREPARED);
    Ok(conn)
}

fn select<T: FromRow>(
    conn: &rusqlite::Connection,
    sql: &str,
    params: &[rusqlite::types::Value],
) -> rusqlite::Result<Vec<T>> {
    let mut prepared = conn.prepare_cached(sql)?;
    let mut rows = prepared.query(rusqlite::params_from_iter(params))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(T::try_from(row)?);
    }
    Ok(out)
}

/// A bound value as SQLite stores it (the types sqlx-sqlite binds them as).
fn param(value: Value) -> rusqlite::Result<rusqlite::types::Value> {
    use rusqlite::types::Value as Sql;
    let int = |v: Option<i64>| v.map_or(Sql::Null, Sql::Integer);
    Ok(match value {
        Value::Bool(v) => int(v.map(i64::from)),
        Value::TinyInt(v) => int(v.map(i64::from)),
        Value::SmallInt(v) => int(v.map(i64::from)),
        Value::Int(v) => int(v.map(i64::from)),
        Value::BigInt(v) => int(v),
        Value::TinyUnsigned(v) => int(v.map(i64::from)),
        Value::SmallUnsigned(v) => int(v.map(i64::from)),
        Value::Unsigned(v) => int(v.map(i64::from)),
        Value::Float(v) => v.map_or(Sql::Null, |x| Sql::Real(x.into())),
        Value::Double(v) => v.map_or(Sql::Null, Sql::Real),
        Value::String(v) => v.map_or(Sql::Null, Sql::Text),
        Value::Bytes(v) => v.map_or(Sql::Null, Sql::Blob),
        other => return Err(rusqlite::Error::ToSqlConversionFailure(format!("unsupported: {other:?}").into())),
    })
}

fn error(e: impl std::fmt::Display) -> DbErr {
    DbErr::Query(RuntimeErr::Internal(format!("sqlite read: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query};
    use sea_orm::{ConnectionTrait, Database};

    /// The same statement read through sqlx (what every other read uses) and through the
    /// rusqlite reader gives the same rows, with parameters of every type the queries bind.
    #[tokio::test]
    async fn reads_what_sqlx_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let db = Database::connect(format!("sqlite://{}?mode=rwc", path.display())).await.unwrap();
        db.execute_unprepared(
            "PRAGMA journal_mode=WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, tenant INTEGER NOT NULL, \
             name TEXT NOT NULL, score REAL NOT NULL, flag INTEGER NOT NULL); \
             INSERT INTO t VALUES (1, 7, 'a', 0.25, 1), (2, 7, 'b é', -1.5, 0), (3, 8, 'a', 3.0, 1), (4, 7, 'c', 2.0, 1);",
        )
        .await
        .unwrap();
        let (t, c) = (Alias::new("t"), |name: &str| Expr::col(Alias::new(name)));
        let query = Query::select()
            .columns(["id", "tenant", "name", "score", "flag"].map(Alias::new))
            .from(t)
            .and_where(c("tenant").eq(7i64))
            .and_where(c("name").is_in(["a", "b é", "missing"]))
            .and_where(c("flag").eq(true).or(c("score").lt(0.0f64)))
            .and_where(c("id").gt(0i32))
            .order_by(Alias::new("id"), Order::Asc)
            .to_owned();
        type Row = (i64, i64, String, f64, bool);
        let statement = sea_orm::DbBackend::Sqlite.build(&query);
        let by_sqlx: Vec<Row> = db
            .query_all_raw(statement.clone())
            .await
            .unwrap()
            .iter()
            .map(|r| <Row as sea_orm::TryGetableMany>::try_get_many_by_index(r).unwrap())
            .collect();
        let reader = Arc::new(SqliteReader::new(&path));
        let values = statement.values.clone().unwrap().0;
        let by_rusqlite: Vec<Row> = reader.select(&statement.sql, values.clone()).await.unwrap();
        assert_eq!(by_rusqlite, vec![(1, 7, "a".into(), 0.25, true), (2, 7, "b é".into(), -1.5, false)]);
        assert_eq!(by_rusqlite, by_sqlx);
        // Connections are kept: a second read reuses the first one's.
        assert_eq!(reader.select::<Row>(&statement.sql, values).await.unwrap(), by_sqlx);
        assert_eq!(reader.idle.lock().unwrap().len(), 1);
    }

    /// A read that finds the database locked does not fail and does not hold its thread: it
    /// waits in a blocking task, and answers once the lock is gone.
    #[tokio::test(flavor = "current_thread")]
    async fn a_read_that_finds_the_database_locked_waits_elsewhere() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        // A rollback journal: there, unlike in WAL mode, a writer's exclusive lock shuts readers out.
        let locker = rusqlite::Connection::open(&path).unwrap();
        locker.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1);").unwrap();
        let reader = Arc::new(SqliteReader::new(&path));
        let query = "SELECT id FROM t";
        assert_eq!(reader.select::<(i64,)>(query, vec![]).await.unwrap(), [(1,)]);
        locker.execute_batch("BEGIN EXCLUSIVE; INSERT INTO t VALUES (2);").unwrap();
        let read = tokio::spawn({
            let reader = reader.clone();
            async move { reader.select::<(i64,)>(query, vec![]).await }
        });
        // On this one-thread runtime, the task reaches its blocking wait only if it did not
        // busy-wait on the runtime's thread.
        while reader.idle.lock().unwrap().len() == 1 && !read.is_finished() {
            tokio::task::yield_now().await;
        }
        locker.execute_batch("COMMIT").unwrap();
        assert_eq!(read.await.unwrap().unwrap(), [(1,), (2,)]);
        assert_eq!(reader.idle.lock().unwrap().len(), 1, "the connection is back in the pool");
    }

    #[tokio::test]
    async fn refuses_to_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let db = Database::connect(format!("sqlite://{}?mode=rwc", path.display())).await.unwrap();
        db.execute_unprepared("CREATE TABLE t (id INTEGER PRIMARY KEY)").await.unwrap();
        let insert = "INSERT INTO t VALUES (1) RETURNING id";
        let err = Arc::new(SqliteReader::new(&path)).select::<(i64,)>(insert, vec![]).await.unwrap_err();
        assert!(err.to_string().contains("readonly"), "{err}");
    }
}
