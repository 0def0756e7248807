//! PostgreSQL transactions for ingest, on connections of the writer pool held directly rather
//! than through sea-orm's transaction, which hides its connection: new rows then go in with
//! `COPY … FROM STDIN` in binary format instead of a multi-row `INSERT`. PostgreSQL parses,
//! binds and plans no statement of thousands of parameters, and this side builds none: for the
//! same event rows COPY stores more per second, for less CPU on both sides (benches/RESULTS.md).
//! Every other statement runs as sea-orm runs it: prepared, and kept per connection.
//!
//! Writes whose outcome nobody reads can be held back ([`PgTxn::defer`]) and sent together, as
//! one statement, with the next statement that must answer (or the commit): a group's session,
//! slot, user and rollup updates then cost one round trip instead of one each.

use super::pg_own::OwnConnections;
use super::{exec_err, query};
use crate::store::insert::insert_target;
use sea_orm::prelude::async_trait::async_trait;
use sea_orm::sea_query::Value;
use sea_orm::sqlx::postgres::PgQueryResult;
use sea_orm::sqlx::{self, PgPool, Postgres};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbBackend, DbErr, ExecResult, IdenStatic, QueryResult, Statement};
use std::sync::Arc;
use tokio::sync::{Mutex, MutexGuard};

/// Bind parameters PostgreSQL takes in one statement.
const MAX_PARAMETERS: usize = 65_535;

/// Inserts rows into PostgreSQL in a transaction of their own by binary `COPY`, as ingest does
/// (see [`PgTxn::copy`]): the load harness's storage probe measures this way too.
pub async fn copy_rows<A: ActiveModelTrait>(pool: &PgPool, rows: Vec<A>) -> Result<(), DbErr> {
    let txn = PgTxn::begin(pool).await?;
    txn.copy(rows).await?;
    txn.commit().await
}

type Txn = sqlx::Transaction<'static, Postgres>;

/// A transaction on a connection of its own; rolled back if dropped uncommitted.
pub(crate) struct PgTxn {
    txn: Mutex<Txn>,
    /// Writes held back by [`Self::defer`], in the order given.
    deferred: std::sync::Mutex<Vec<Statement>>,
}

impl PgTxn {
    pub(crate) async fn begin(pool: &PgPool) -> Result<Self, DbErr> {
        let txn = pool.begin().await.map_err(exec_err)?;
        Ok(Self { txn: Mutex::new(txn), deferred: Default::default() })
    }

    pub(crate) async fn commit(self) -> Result<(), DbErr> {
        let deferred = self.deferred.into_inner().unwrap_or_else(|e| e.into_inner());
        let mut txn = self.txn.into_inner();
        run_together(&mut txn, deferred).await?;
        txn.commit().await.map_err(exec_err)
    }

    /// Holds a write back until the next statement that answers, or the commit, and then sends
    /// it with the others held back as one statement. Only for writes whose outcome nobody
    /// reads, each to rows no other write held back with it touches: the statements run as the
    /// parts of one `WITH`, on one snapshot, in no defined order. An error surfaces there; the
    /// result given now counts no rows.
    pub(crate) async fn defer(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        let full = {
            let deferred = self.deferred.lock().unwrap_or_else(|e| e.into_inner());
            let held: usize = deferred.iter().map(parameters).sum();
            held + parameters(&stmt) > MAX_PARAMETERS
        };
        if full {
            drop(self.ready().await?);
        }
        self.deferred.lock().unwrap_or_else(|e| e.into_inner()).push(stmt);
        Ok(PgQueryResult::default().into())
    }

    /// The connection, once the writes held back have run.
    async fn ready(&self) -> Result<MutexGuard<'_, Txn>, DbErr> {
        let mut txn = self.txn.lock().await;
        let deferred = std::mem::take(&mut *self.deferred.lock().unwrap_or_else(|e| e.into_inner()));
        run_together(&mut txn, deferred).await?;
        Ok(txn)
    }

    /// Inserts new rows with one `COPY`. Every row must set the same columns.
    pub(crate) async fn copy<A: ActiveModelTrait>(&self, rows: Vec<A>) -> Result<(), DbErr> {
        let Some((sql, data)) = copy_binary(rows)? else { return Ok(()) };
        let mut txn = self.ready().await?;
        let mut copy = txn.copy_in_raw(&sql).await.map_err(exec_err)?;
        copy.send(data).await.map_err(exec_err)?;
        copy.finish().await.map_err(exec_err)?;
        Ok(())
    }
}

/// Runs `statements` as one: `WITH w0 AS (…), w1 AS (…) SELECT 1`, their parameters numbered
/// in turn. PostgreSQL runs every data-modifying part of a `WITH` once, to completion.
async fn run_together(txn: &mut Txn, mut statements: Vec<Statement>) -> Result<(), DbErr> {
    let stmt = match statements.len() {
        0 => return Ok(()),
        1 => statements.pop().expect("one"),
        _ => combine(statements, Statement::from_string(DbBackend::Postgres, "SELECT 1")),
    };
    query(stmt).execute(&mut **txn).await.map_err(exec_err)?;
    Ok(())
}

/// `statements` as the parts `w0`, `w1`, … of a `WITH` whose main query is `main` (which may read
/// them), every statement's parameters numbered in turn.
fn combine(statements: Vec<Statement>, main: Statement) -> Statement {
    use std::fmt::Write;
    let mut sql = String::new();
    let mut values = Vec::new();
    for (i, stmt) in statements.into_iter().enumerate() {
        sql.push_str(if i == 0 { "WITH " } else { ", " });
        let _ = write!(sql, "w{i} AS ({})", shift_placeholders(&stmt.sql, values.len()));
        values.extend(stmt.values.map(|v| v.0).unwrap_or_default());
    }
    let _ = write!(sql, " {}", shift_placeholders(&main.sql, values.len()));
    values.extend(main.values.map(|v| v.0).unwrap_or_default());
    Statement { sql, values: Some(sea_orm::Values(values)), db_backend: DbBackend::Postgres }
}

/// Writes gathered to run as one statement on its own, outside any transaction, that stores
/// nothing unless its checked `UPDATE` changed every row expected (see
/// [`crate::ingest`]'s checked path). Writes are held as given ([`ConnectionTrait::execute_raw`]
/// answers at once, counting no rows); reads are refused: it runs when committed.
pub(crate) struct OneStatement {
    connections: Arc<OwnConnections>,
    writes: std::sync::Mutex<Vec<Statement>>,
    check: std::sync::Mutex<Option<(Statement, usize)>>,
}

impl OneStatement {
    /// Writes to run on one of `connections` (kept outside sqlx's pool: no ping before the one
    /// round trip).
    pub(crate) fn new(connections: Arc<OwnConnections>) -> Self {
        Self { connections, writes: Default::default(), check: Default::default() }
    }

    /// The `UPDATE … RETURNING` the statement stands on: unless it returns `rows` rows, the
    /// statement fails with SQLSTATE 40001 and stores nothing.
    pub(crate) fn check(&self, update: Statement, rows: usize) {
        *self.check.lock().unwrap_or_else(|e| e.into_inner()) = Some((update, rows));
    }

    /// Sends the statement: the checked update first, the writes after it. Fails, having stored
    /// nothing, if the check fails, if there is no check but writes, or if the whole would
    /// carry more parameters than PostgreSQL takes.
    pub(crate) async fn commit(self) -> Result<(), DbErr> {
        let writes = self.writes.into_inner().unwrap_or_else(|e| e.into_inner());
        let Some((update, rows)) = self.check.into_inner().unwrap_or_else(|e| e.into_inner()) else {
            return match writes.is_empty() {
                true => Ok(()),
                false => Err(DbErr::Custom("writes with nothing checked".into())),
            };
        };
        let main = Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT moodring_expect_rows((SELECT count(*) FROM w0), $1)",
            [Value::from(rows as i64)],
        );
        let stmt = combine(std::iter::once(update).chain(writes).collect(), main);
        if parameters(&stmt) > MAX_PARAMETERS {
            return Err(DbErr::Custom(format!("{} parameters for one statement", parameters(&stmt))));
        }
        let mut conn = self.connections.take().await?;
        let done = query(stmt).execute(&mut conn).await;
        self.connections.give_back(conn, &done);
        done.map(drop).map_err(exec_err)
    }
}

#[async_trait]
impl ConnectionTrait for OneStatement {
    fn get_database_backend(&self) -> DbBackend {
        DbBackend::Postgres
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.writes.lock().unwrap_or_else(|e| e.into_inner()).push(stmt);
        Ok(PgQueryResult::default().into())
    }

    async fn execute_unprepared(&self, _: &str) -> Result<ExecResult, DbErr> {
        Err(DbErr::Custom("one statement takes no unprepared SQL".into()))
    }

    async fn query_one_raw(&self, _: Statement) -> Result<Option<QueryResult>, DbErr> {
        Err(DbErr::Custom("one statement reads nothing before it runs".into()))
    }

    async fn query_all_raw(&self, _: Statement) -> Result<Vec<QueryResult>, DbErr> {
        Err(DbErr::Custom("one statement reads nothing before it runs".into()))
    }
}

/// The number of bind parameters a statement carries.
fn parameters(stmt: &Statement) -> usize {
    stmt.values.as_ref().map_or(0, |v| v.0.len())
}

/// `sql` with every `$n` placeholder outside quoted identifiers and string literals moved on by
/// `by`. (A doubled quote inside a quoted run ends it and starts another: still inside.)
fn shift_placeholders(sql: &str, by: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '$') if chars.peek().is_some_and(char::is_ascii_digit) => {
                let mut n = 0usize;
                while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                    n = n * 10 + d as usize;
                    chars.next();
                }
                out.push_str(&(n + by).to_string());
            }
            (None, _) => {}
        }
    }
    out
}

super::connection_after_ready!(PgTxn, sea_orm::DbBackend::Postgres);

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
             label varchar NOT NULL, signals text NOT NULL, trigger_reason text NOT NULL, model_version varchar NOT NULL, \
             action varchar, action_probability float8)",
            doubles.join(", ")
        );
        txn.execute_unprepared(&sql).await.unwrap();
        Some(txn)
    }

    #[test]
    fn placeholders_move_on_outside_quotes_only() {
        let sql = r#"UPDATE "t$1" SET "a" = $1, "b""$2" = 'it''s $2', "c" = $10 WHERE "id" = $2"#;
        let shifted = r#"UPDATE "t$1" SET "a" = $8, "b""$2" = 'it''s $2', "c" = $17 WHERE "id" = $9"#;
        assert_eq!(shift_placeholders(sql, 7), shifted);
        assert_eq!(shift_placeholders(sql, 0), sql);
    }

    #[test]
    fn statements_combine_into_one_with_their_values_in_turn() {
        let stmt = |sql: &str, values: Vec<Value>| Statement {
            sql: sql.into(),
            values: Some(sea_orm::Values(values)),
            db_backend: DbBackend::Postgres,
        };
        let parts = vec![
            stmt(r#"UPDATE "a" SET "n" = $1 WHERE "id" = $2"#, vec![1i64.into(), 2i64.into()]),
            stmt(r#"DELETE FROM "b""#, vec![]),
            stmt(r#"INSERT INTO "c" VALUES ($1)"#, vec!["x".into()]),
        ];
        let combined = combine(parts, stmt("SELECT count(*) + $1 FROM w0", vec![3i64.into()]));
        assert_eq!(
            combined.sql,
            r#"WITH w0 AS (UPDATE "a" SET "n" = $1 WHERE "id" = $2), w1 AS (DELETE FROM "b"), "#.to_owned()
                + r#"w2 AS (INSERT INTO "c" VALUES ($3)) SELECT count(*) + $4 FROM w0"#
        );
        let values = vec![1i64.into(), 2i64.into(), "x".into(), 3i64.into()];
        assert_eq!(combined.values, Some(sea_orm::Values(values)));
    }

    /// A transaction on PostgreSQL with a temporary table `counters (id, n)` holding ids 1..=3 at 0.
    async fn txn_with_counters() -> Option<PgTxn> {
        let url = std::env::var("TEST_DATABASE_URL").ok().filter(|url| url.starts_with("postgres"))?;
        let txn = PgTxn::begin(&PgPool::connect(&url).await.unwrap()).await.unwrap();
        txn.execute_unprepared("CREATE TEMP TABLE counters (id int8 PRIMARY KEY, n int8 NOT NULL)").await.unwrap();
        txn.execute_unprepared("INSERT INTO counters VALUES (1, 0), (2, 0), (3, 0)").await.unwrap();
        Some(txn)
    }

    fn add(id: i64, n: i64) -> Statement {
        Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE counters SET n = n + $1 WHERE id = $2",
            [n.into(), id.into()],
        )
    }

    async fn counters(txn: &PgTxn) -> Vec<(i64, i64)> {
        let sql = "SELECT id, n FROM counters ORDER BY id";
        let rows = txn.query_all_raw(Statement::from_string(DbBackend::Postgres, sql)).await.unwrap();
        rows.iter().map(|r| (r.try_get("", "id").unwrap(), r.try_get("", "n").unwrap())).collect()
    }

    /// Writes held back run, all of them, before the next statement: it sees what they did.
    #[tokio::test]
    async fn deferred_writes_run_before_the_next_statement() {
        let Some(txn) = txn_with_counters().await else { return };
        for (id, n) in [(1, 10), (2, 20), (3, 30)] {
            assert_eq!(txn.defer(add(id, n)).await.unwrap().rows_affected(), 0, "not run yet");
        }
        assert_eq!(counters(&txn).await, [(1, 10), (2, 20), (3, 30)]);
        txn.defer(add(2, 1)).await.unwrap();
        assert_eq!(counters(&txn).await, [(1, 10), (2, 21), (3, 30)], "one held back runs alone");
    }

    /// A write held back that fails fails the statement it goes with.
    #[tokio::test]
    async fn a_failing_deferred_write_fails_the_next_statement() {
        let Some(txn) = txn_with_counters().await else { return };
        txn.defer(add(1, 1)).await.unwrap();
        txn.defer(Statement::from_string(DbBackend::Postgres, "UPDATE counters SET n = n / 0")).await.unwrap();
        let sql = Statement::from_string(DbBackend::Postgres, "SELECT 1");
        assert!(txn.query_all_raw(sql).await.is_err());
    }

    /// Writes held back never make one statement of more parameters than PostgreSQL takes: the
    /// ones held before run first.
    #[tokio::test]
    async fn deferred_writes_stay_within_the_parameter_limit() {
        let Some(txn) = txn_with_counters().await else { return };
        let ids: Vec<Value> = (0..40_000i64).map(|i| (i % 3 + 1).into()).collect();
        let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!("UPDATE counters SET n = n + 1 WHERE id = ANY(ARRAY[{}])", placeholders.join(", "));
        let bump = Statement::from_sql_and_values(DbBackend::Postgres, sql, ids);
        txn.defer(bump.clone()).await.unwrap();
        txn.defer(bump).await.unwrap();
        assert_eq!(counters(&txn).await, [(1, 2), (2, 2), (3, 2)]);
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
            action_probability: Set(x.map(|_| f64::EPSILON)),
            ..crate::store::insert::tests::event(event_id, x, i64::MAX)
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
