//! PostgreSQL transactions for ingest, on connections of the writer pool held directly rather
//! than through sea-orm's transaction, which hides its connection: new rows then go in with
//! `COPY … FROM STDIN` in binary format instead of a multi-row `INSERT`. PostgreSQL parses,
//! binds and plans no statement of thousands of parameters, and this side builds none: for the
//! same event rows, COPY stored 1.5–1.7 times as many per second, PostgreSQL spending ~15 % less
//! CPU per row and the client a fifth (benches/RESULTS.md, session 9). Every other statement
//! runs as sea-orm runs it: prepared, and kept per connection.

use super::insert_target;
use sea_orm::prelude::async_trait::async_trait;
use sea_orm::sea_query::Value;
use sea_orm::sqlx::{self, PgPool, Postgres};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbBackend, DbErr, ExecResult, IdenStatic, QueryResult, RuntimeErr, Statement,
};
use sea_query_sqlx::SqlxValues;
use std::sync::Arc;
use tokio::sync::Mutex;

/// Inserts rows into PostgreSQL in a transaction of their own by binary `COPY`, as ingest does
/// (see [`PgTxn::copy`]): the load harness's storage probe measures this way too.
pub async fn copy_rows<A: ActiveModelTrait>(pool: &PgPool, rows: Vec<A>) -> Result<(), DbErr> {
    let txn = PgTxn::begin(pool).await?;
    txn.copy(rows).await?;
    txn.commit().await
}

/// A transaction on a connection of its own; rolled back if dropped uncommitted.
pub(super) struct PgTxn(Mutex<sqlx::Transaction<'static, Postgres>>);

impl PgTxn {
    pub(super) async fn begin(pool: &PgPool) -> Result<Self, DbErr> {
        Ok(Self(Mutex::new(pool.begin().await.map_err(exec_err)?)))
    }

    pub(super) async fn commit(self) -> Result<(), DbErr> {
        self.0.into_inner().commit().await.map_err(exec_err)
    }

    /// Inserts new rows with one `COPY`. Every row must set the same columns.
    pub(super) async fn copy<A: ActiveModelTrait>(&self, rows: Vec<A>) -> Result<(), DbErr> {
        let Some((sql, data)) = copy_binary(rows)? else { return Ok(()) };
        let mut txn = self.0.lock().await;
        let mut copy = txn.copy_in_raw(&sql).await.map_err(exec_err)?;
        copy.send(data).await.map_err(exec_err)?;
        copy.finish().await.map_err(exec_err)?;
        Ok(())
    }
}

#[async_trait]
impl ConnectionTrait for PgTxn {
    fn get_database_backend(&self) -> DbBackend {
        DbBackend::Postgres
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        let mut txn = self.0.lock().await;
        Ok(query(stmt).execute(&mut **txn).await.map_err(exec_err)?.into())
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        let mut txn = self.0.lock().await;
        Ok(sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut **txn).await.map_err(exec_err)?.into())
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        let mut txn = self.0.lock().await;
        Ok(query(stmt).fetch_optional(&mut **txn).await.map_err(query_err)?.map(Into::into))
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let mut txn = self.0.lock().await;
        Ok(query(stmt).fetch_all(&mut **txn).await.map_err(query_err)?.into_iter().map(Into::into).collect())
    }
}

/// The statement as sqlx runs it (prepared, and kept per connection), its values moved.
fn query(stmt: Statement) -> sqlx::query::Query<'static, Postgres, SqlxValues> {
    let values = stmt.values.unwrap_or(sea_orm::Values(Vec::new()));
    sqlx::query_with(sqlx::AssertSqlSafe(stmt.sql), SqlxValues(values))
}

fn exec_err(e: sqlx::Error) -> DbErr {
    DbErr::Exec(RuntimeErr::SqlxError(Arc::new(e)))
}

fn query_err(e: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(Arc::new(e)))
}

/// The `COPY` statement for `rows` and its data in PostgreSQL's binary format (a header, then
/// per row its field count and each field's length and bytes, then a trailer); `None` if there
/// are no rows. Every row must set the same columns, of the types the ingest tables hold
/// (`bigint`, `double precision`, text).
fn copy_binary<A: ActiveModelTrait>(rows: Vec<A>) -> Result<Option<(String, Vec<u8>)>, DbErr> {
    let Some((target, columns)) = rows.first().map(insert_target) else { return Ok(None) };
    let sql = format!("COPY {target} FROM STDIN (FORMAT binary)");
    let fields = i16::try_from(columns.len()).map_err(|_| DbErr::Custom("too many columns to COPY".into()))?;
    let mut data = Vec::with_capacity(19 + rows.len() * columns.len() * 12 + 2);
    data.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
    data.extend_from_slice(&0i32.to_be_bytes()); // flags
    data.extend_from_slice(&0i32.to_be_bytes()); // header extension length
    for mut row in rows {
        data.extend_from_slice(&fields.to_be_bytes());
        for column in &columns {
            let value = row
                .take(*column)
                .into_value()
                .ok_or_else(|| DbErr::Custom(format!("a row to COPY leaves {} unset", column.as_str())))?;
            put_field(&mut data, value)?;
        }
    }
    data.extend_from_slice(&(-1i16).to_be_bytes());
    Ok(Some((sql, data)))
}

/// One field: its length (-1 for NULL) and its bytes in the type's binary send format. Fields
/// are far below 2 GiB: request bodies are capped much lower.
fn put_field(data: &mut Vec<u8>, value: Value) -> Result<(), DbErr> {
    fn put(data: &mut Vec<u8>, bytes: &[u8]) {
        data.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
        data.extend_from_slice(bytes);
    }
    match value {
        Value::BigInt(Some(v)) => put(data, &v.to_be_bytes()),
        Value::Double(Some(v)) => put(data, &v.to_bits().to_be_bytes()),
        Value::String(Some(v)) => put(data, v.as_bytes()),
        Value::BigInt(None) | Value::Double(None) | Value::String(None) => {
            data.extend_from_slice(&(-1i32).to_be_bytes())
        }
        other => return Err(DbErr::Custom(format!("COPY writes no {other:?}"))),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use entity::event;
    use sea_orm::ActiveValue::{NotSet, Set};
    use sea_orm::{EntityTrait, IntoActiveModel, QueryOrder};

    /// A transaction on PostgreSQL from `TEST_DATABASE_URL` (`None` on the SQLite run, where
    /// these tests pass trivially) that sees an empty events table: the columns as the migrations
    /// make them, in a temporary table of the same name, which comes first on the search path.
    async fn txn_with_events_table() -> Option<PgTxn> {
        let url = std::env::var("TEST_DATABASE_URL").ok().filter(|url| url.starts_with("postgres"))?;
        let txn = PgTxn::begin(&PgPool::connect(&url).await.unwrap()).await.unwrap();
        let doubles = "valence, arousal, tension, affiliation, delta_valence, delta_arousal, delta_tension, \
                       delta_affiliation, confidence";
        let doubles: Vec<String> = doubles.split(", ").map(|c| format!("{c} float8 NOT NULL")).collect();
        let sql = format!(
            "CREATE TEMP TABLE events (id bigserial PRIMARY KEY, tenant_id int8 NOT NULL, session_id int8 NOT NULL, \
             event_id text, ts_ms int8 NOT NULL, received_at_ms int8 NOT NULL, kind varchar NOT NULL, x float8, \
             y float8, duration_ms float8, speed float8, direction varchar, url text, message text, {}, \
             label varchar NOT NULL, signals text NOT NULL, trigger_reason text NOT NULL, model_version varchar NOT NULL)",
            doubles.join(", ")
        );
        txn.execute_unprepared(&sql).await.unwrap();
        Some(txn)
    }

    /// The store's event row with extreme numbers, and `message` and `valence` as given.
    fn row(event_id: Option<&str>, x: Option<f64>, message: Option<&str>, valence: f64) -> event::ActiveModel {
        event::ActiveModel {
            session_id: Set(-7),
            received_at_ms: Set(i64::MIN),
            speed: Set(Some(f64::MAX)),
            message: Set(message.map(str::to_owned)),
            valence: Set(valence),
            tension: Set(-0.0),
            affiliation: Set(f64::MIN_POSITIVE),
            delta_tension: Set(1e-300),
            signals: Set("[{\"id\":\"rage\"}]".into()),
            trigger_reason: Set(String::new()),
            ..super::super::tests::event(event_id, x, i64::MAX)
        }
    }

    /// Rows copied in read back exactly as given: NULLs, extreme numbers, empty and non-ASCII
    /// text, quotes and tabs and newlines (which the text format would have to escape).
    #[tokio::test]
    async fn copied_rows_read_back_as_given() {
        let Some(txn) = txn_with_events_table().await else { return };
        let rows = vec![
            row(Some("e1"), Some(3.0), Some("it's \"broken\"\t\\N\n"), 0.1),
            row(None, None, None, -1.0),
            row(Some("é 🙂"), Some(-0.0), Some(""), 1.0 / 3.0),
        ];
        txn.copy(rows.clone()).await.unwrap();
        txn.copy(Vec::<event::ActiveModel>::new()).await.unwrap();
        let stored = event::Entity::find().order_by_asc(event::Column::Id).all(&txn).await.unwrap();
        let stored: Vec<event::ActiveModel> = stored
            .into_iter()
            .map(|m| event::ActiveModel { id: NotSet, ..m.into_active_model().reset_all() })
            .collect();
        assert_eq!(stored, rows);
    }

    /// A row that breaks a constraint fails the COPY with the database's error, which the
    /// store tells apart as it does an `INSERT`'s (a group then retries batch by batch).
    #[tokio::test]
    async fn a_conflicting_row_fails_the_copy_as_an_insert_would() {
        let Some(txn) = txn_with_events_table().await else { return };
        txn.execute_unprepared("CREATE UNIQUE INDEX ON events (session_id, event_id)").await.unwrap();
        let e = txn.copy(vec![row(Some("e1"), None, None, 0.0), row(Some("e1"), None, None, 0.0)]).await.unwrap_err();
        assert!(matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))), "{e}");
    }
}
