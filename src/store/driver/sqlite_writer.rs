//! Ingest's SQLite transaction: its writes held back and sent to sqlx's worker thread together.
//!
//! sqlx runs each SQLite statement on the worker thread of its connection: a statement is a hop
//! there and back, and on busy cores each hop waits for a core, several times a group
//! (benches/RESULTS.md, session 28). The writes a group makes read nothing back, so they
//! wait here until the next read or the commit and then go as one multi-statement text, which
//! the worker runs statement after statement, binding each one's `?` parameters in turn.

use super::{exec_err, query};
use sea_orm::sqlx::{self, Sqlite, SqlitePool};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, ExecResult, Statement};
use tokio::sync::{Mutex, MutexGuard};

type Txn = sqlx::Transaction<'static, Sqlite>;

/// A write transaction (`BEGIN IMMEDIATE`: it holds the write lock from the start) on the
/// writer's connection; rolled back if dropped uncommitted.
pub(crate) struct SqliteTxn {
    txn: Mutex<Txn>,
    /// Writes held back by [`Self::defer`], in the order given.
    deferred: std::sync::Mutex<Vec<Statement>>,
}

impl SqliteTxn {
    pub(crate) async fn begin(pool: &SqlitePool) -> Result<Self, DbErr> {
        let txn = pool.begin_with("BEGIN IMMEDIATE").await.map_err(exec_err)?;
        Ok(Self { txn: Mutex::new(txn), deferred: Default::default() })
    }

    pub(crate) async fn commit(self) -> Result<(), DbErr> {
        let deferred = self.deferred.into_inner().unwrap_or_else(|e| e.into_inner());
        let mut txn = self.txn.into_inner();
        run_in_turn(&mut txn, deferred).await?;
        txn.commit().await.map_err(exec_err)
    }

    /// Holds a write back until the next statement that answers, or the commit, and then sends
    /// it with the others held back, in the order given. Only for writes whose outcome nobody
    /// reads: an error surfaces there, and the result given now counts no rows. A statement
    /// with numbered parameters (`?NNN`, `$NNN`: bound by number, not in turn) runs at once.
    pub(crate) async fn defer(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        if numbered_parameters(&stmt.sql) {
            return self.execute_raw(stmt).await;
        }
        self.deferred.lock().unwrap_or_else(|e| e.into_inner()).push(stmt);
        Ok(sqlx::sqlite::SqliteQueryResult::default().into())
    }

    /// The connection, once the writes held back have run.
    async fn ready(&self) -> Result<MutexGuard<'_, Txn>, DbErr> {
        let mut txn = self.txn.lock().await;
        let deferred = std::mem::take(&mut *self.deferred.lock().unwrap_or_else(|e| e.into_inner()));
        run_in_turn(&mut txn, deferred).await?;
        Ok(txn)
    }
}

/// Runs `statements` as one text, `a; b; …`, with their parameters in turn. The text is kept
/// prepared like any other: groups repeat a few shapes, and preparing it afresh each time cost
/// more than the hops it saves (benches/RESULTS.md, session 28).
async fn run_in_turn(txn: &mut Txn, mut statements: Vec<Statement>) -> Result<(), DbErr> {
    let stmt = match statements.len() {
        0 => return Ok(()),
        1 => statements.pop().expect("one"),
        _ => {
            let mut sql = String::new();
            let mut values = Vec::new();
            for stmt in statements {
                sql.push_str(&stmt.sql);
                sql.push_str(";\n");
                values.extend(stmt.values.map(|v| v.0).unwrap_or_default());
            }
            Statement { sql, values: Some(sea_orm::Values(values)), db_backend: DbBackend::Sqlite }
        }
    };
    query(stmt).execute(&mut **txn).await.map_err(exec_err)?;
    Ok(())
}

/// Whether `sql` has a parameter bound by its number (`?NNN`, `$NNN`, `:name`, `@name`) outside
/// quoted identifiers and string literals.
fn numbered_parameters(sql: &str) -> bool {
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"' | '`') => quote = Some(c),
            (None, '?' | '$' | ':' | '@') if chars.peek().is_some_and(|n| n.is_ascii_alphanumeric()) => return true,
            (None, _) => {}
        }
    }
    false
}

super::connection_after_ready!(SqliteTxn, sea_orm::DbBackend::Sqlite);

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::sea_query::Value;

    fn statement(sql: &str, values: Vec<Value>) -> Statement {
        Statement::from_sql_and_values(DbBackend::Sqlite, sql, values)
    }

    async fn read(txn: &SqliteTxn) -> Vec<(i64, String)> {
        let rows = txn.query_all_raw(statement("SELECT id, v FROM t ORDER BY id", vec![])).await.unwrap();
        rows.iter().map(|r| (r.try_get("", "id").unwrap(), r.try_get("", "v").unwrap())).collect()
    }

    /// Writes held back run in the order given, before the next read; one that fails makes the
    /// commit fail, and nothing of the transaction is stored.
    #[tokio::test]
    async fn held_back_writes_run_in_order_and_a_failing_one_fails_the_commit() {
        let options = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1);
        let pool = options.connect("sqlite::memory:").await.unwrap();
        sqlx::raw_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)").execute(&pool).await.unwrap();

        let txn = SqliteTxn::begin(&pool).await.unwrap();
        let insert = statement("INSERT INTO t VALUES (?, ?), (?, ?)", vec![1.into(), "a".into(), 2.into(), "b".into()]);
        txn.defer(insert).await.unwrap();
        txn.defer(statement("UPDATE t SET v = v || ? WHERE id = ?", vec!["!".into(), 2.into()])).await.unwrap();
        assert_eq!(txn.deferred.lock().unwrap().len(), 2, "held back");
        // Bound by number: runs at once, after the writes held back before it.
        txn.defer(statement("UPDATE t SET v = v || ?2 WHERE id = ?1", vec![2.into(), "?".into()])).await.unwrap();
        assert!(txn.deferred.lock().unwrap().is_empty());
        assert_eq!(read(&txn).await, [(1, "a".to_owned()), (2, "b!?".to_owned())]);
        txn.commit().await.unwrap();

        let txn = SqliteTxn::begin(&pool).await.unwrap();
        txn.defer(statement("INSERT INTO t VALUES (?, ?)", vec![3.into(), "c".into()])).await.unwrap();
        txn.defer(statement("INSERT INTO t VALUES (?, ?)", vec![1.into(), "again".into()])).await.unwrap();
        let err = txn.commit().await.unwrap_err();
        assert!(err.to_string().contains("UNIQUE"), "{err}");
        let txn = SqliteTxn::begin(&pool).await.unwrap();
        assert_eq!(read(&txn).await, [(1, "a".to_owned()), (2, "b!?".to_owned())], "row 3 rolled back with the rest");
    }

    #[test]
    fn parameters_bound_by_number_are_found_outside_quotes() {
        assert!(!numbered_parameters("INSERT INTO \"t\" (\"a\", \"b\") VALUES (?, ?), (?, ?)"));
        assert!(!numbered_parameters("SELECT '?1', \"$2\", `:a` FROM t WHERE a = ?"));
        assert!(!numbered_parameters("UPDATE t SET a = a + ? WHERE b = 'it''s ?3'"));
        for sql in ["SELECT ?1", "SELECT $1", "SELECT :a", "SELECT @a", "SELECT 'x' || ?12"] {
            assert!(numbered_parameters(sql), "{sql}");
        }
    }
}
