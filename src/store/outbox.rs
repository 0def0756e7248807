//! The transactional outbox: messages announcing committed changes ([`crate::push`]), written by
//! ingest in the transaction that makes the change, then put in commit order and fanned out to
//! webhook deliveries by [`publish`], and read in that order by streams.
//!
//! **Commit order.** `seq` grows in the order messages become visible, so a reader that has
//! seen `seq` n has seen every message before it. On SQLite (one writer) a committed message's
//! row id is already in commit order, and `seq` is the id. On PostgreSQL ids are drawn before
//! commit, so a message's `seq` is given after its transaction committed, by the one publisher
//! holding the `outbox_head` row at a time: the committed messages not placed yet, in the order
//! they were written (`ordinal`, drawn from a sequence as each row is inserted).
//!
//! **A session's order.** Ingest inserts a group's messages after it holds the locks of its
//! sessions (their rows, or the unique index for a new one), which it keeps until it commits.
//! A later change of a session is therefore written after the earlier one committed: it has a
//! greater ordinal, and a publisher that sees it sees the earlier one too. (Transaction ids
//! would not do: a group takes its `xid` at its first lock, possibly before it waits for
//! another group to release the session.)

use super::{Store, StoreError, insert_chunked};
use crate::domain::{SessionId, Tenant, TenantId};
use crate::engine::Mood;
use crate::push::{Change, Kind, Message};
use entity::{outbox, webhook_delivery};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::Value;
use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Statement};
use std::collections::HashMap;

/// How long messages are kept: streams resume and webhooks retry (about 28 hours) within it.
pub const KEEP_MS: i64 = 3 * 24 * 3600 * 1000;
/// Messages one publishing step puts in order at most.
const PUBLISH_BATCH: usize = 1000;

/// The outbox row announcing `change`, received at `received_at_ms`.
pub(crate) fn row(
    tenant_id: i64,
    session_pk: i64,
    kind: Kind,
    change: &Change,
    received_at_ms: i64,
) -> Result<outbox::ActiveModel, StoreError> {
    Ok(outbox::ActiveModel {
        id: NotSet,
        seq: NotSet,
        tenant_id: Set(tenant_id),
        session_pk: Set(session_pk),
        kind: Set(kind.as_str().to_owned()),
        mood: Set(change.mood.clone()),
        payload: Set(serde_json::to_string(change)?),
        created_at_ms: Set(received_at_ms),
    })
}

/// Writes messages in the caller's transaction (which then tells [`Store::outbox_written`] once
/// it committed).
pub(crate) async fn append(db: &impl ConnectionTrait, rows: Vec<outbox::ActiveModel>) -> Result<(), StoreError> {
    insert_chunked(db, rows, None).await?;
    Ok(())
}

impl Store {
    /// Woken after a transaction that wrote messages committed, in this process.
    pub fn outbox_written(&self) -> &tokio::sync::Notify {
        &self.outbox_written
    }

    /// Says that messages were committed (see [`Self::outbox_written`]).
    pub(crate) fn announce_outbox(&self) {
        self.outbox_written.notify_one();
    }
}

/// What one publishing step did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Published {
    /// Messages published: placed (PostgreSQL; SQLite's are placed when committed) and their
    /// deliveries created.
    pub published: usize,
    /// Webhook deliveries created for them.
    pub deliveries: usize,
}

/// Whether any committed message waits to be published: on PostgreSQL, for its place (a
/// partial index); on SQLite, for its deliveries (placed after `outbox_head`).
pub async fn unpublished(store: &Store) -> Result<bool, StoreError> {
    let sql = match store.backend() {
        DbBackend::Postgres => "SELECT 1 FROM outbox WHERE seq IS NULL LIMIT 1",
        _ => "SELECT 1 FROM outbox WHERE id > (SELECT last_seq FROM outbox_head WHERE id = 1) LIMIT 1",
    };
    Ok(store.reader().query_one_raw(Statement::from_string(store.backend(), sql)).await?.is_some())
}

/// Publishes the committed messages: on PostgreSQL gives them their `seq`, in the order they
/// were written; on either backend creates a delivery for each endpoint that wants
/// them and moves `outbox_head` past them, in one transaction. `None` if another replica is
/// publishing now (it will have taken these messages too).
pub async fn publish(store: &Store, now_ms: i64) -> Result<Option<Published>, StoreError> {
    let backend = store.backend();
    let txn = store.begin_write().await?;
    let head = match backend {
        DbBackend::Postgres => "SELECT last_seq FROM outbox_head WHERE id = 1 FOR UPDATE SKIP LOCKED",
        _ => "SELECT last_seq FROM outbox_head WHERE id = 1",
    };
    let Some(head) = txn.query_one_raw(Statement::from_string(backend, head)).await? else {
        return Ok(None);
    };
    let last: i64 = head.try_get_by_index(0)?;
    let publish = match backend {
        // One statement: the committed messages numbered in the order they were written, from
        // `last + 1` (rows from before `ordinal` existed first).
        DbBackend::Postgres => {
            "UPDATE outbox SET seq = $1 + placed.n FROM ( \
               SELECT id, row_number() OVER (ORDER BY ordinal NULLS FIRST, id) AS n FROM outbox \
               WHERE seq IS NULL ORDER BY ordinal NULLS FIRST, id LIMIT $2) placed \
             WHERE outbox.id = placed.id \
             RETURNING outbox.id, outbox.tenant_id, outbox.session_pk, outbox.kind, outbox.mood, outbox.seq"
        }
        // Placed when committed: those after the head.
        _ => "SELECT id, tenant_id, session_pk, kind, mood, seq FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
    };
    let values = [Value::from(last), Value::from(PUBLISH_BATCH as i64)];
    let rows = txn.query_all_raw(Statement::from_sql_and_values(backend, publish, values)).await?;
    if rows.is_empty() {
        return Ok(Some(Published::default()));
    }
    let mut messages: Vec<Placed> = rows.iter().map(Placed::from_row).collect::<Result<_, _>>()?;
    messages.sort_unstable_by_key(|m| m.seq);
    let deliveries = fan_out(&txn, &messages, now_ms).await?;
    let new_last = messages.last().map_or(last, |m| m.seq);
    txn.execute_raw(Statement::from_sql_and_values(
        backend,
        format!("UPDATE outbox_head SET last_seq = {} WHERE id = 1", placeholder(backend, 1)),
        [Value::from(new_last)],
    ))
    .await?;
    txn.commit().await?;
    Ok(Some(Published { published: messages.len(), deliveries }))
}

/// A message just given its place.
struct Placed {
    id: i64,
    tenant_id: i64,
    session_pk: i64,
    kind: Option<Kind>,
    mood: String,
    seq: i64,
}

impl Placed {
    fn from_row(row: &QueryResult) -> Result<Self, StoreError> {
        let kind: String = row.try_get_by_index(3)?;
        Ok(Self {
            id: row.try_get_by_index(0)?,
            tenant_id: row.try_get_by_index(1)?,
            session_pk: row.try_get_by_index(2)?,
            kind: kind.parse().ok(),
            mood: row.try_get_by_index(4)?,
            seq: row.try_get_by_index(5)?,
        })
    }
}

/// Creates the deliveries of `messages` to their tenants' enabled endpoints that want them.
async fn fan_out(txn: &impl ConnectionTrait, messages: &[Placed], now_ms: i64) -> Result<usize, StoreError> {
    let mut tenants: Vec<i64> = messages.iter().map(|m| m.tenant_id).collect();
    tenants.sort_unstable();
    tenants.dedup();
    let endpoints = super::webhooks::enabled_for(txn, &tenants).await?;
    if endpoints.is_empty() {
        return Ok(0);
    }
    let mut by_tenant: HashMap<i64, Vec<&super::webhooks::Subscription>> = HashMap::new();
    for e in &endpoints {
        by_tenant.entry(e.tenant_id).or_default().push(e);
    }
    let mut rows = Vec::new();
    for m in messages {
        let (Some(kind), Ok(mood)) = (m.kind, m.mood.parse::<Mood>()) else { continue };
        for e in by_tenant.get(&m.tenant_id).into_iter().flatten().filter(|e| e.wants(kind, mood)) {
            rows.push(webhook_delivery::ActiveModel {
                id: NotSet,
                tenant_id: Set(m.tenant_id),
                webhook_id: Set(e.id),
                outbox_id: Set(m.id),
                session_pk: Set(m.session_pk),
                seq: Set(m.seq),
                status: Set(super::webhooks::PENDING.to_owned()),
                attempts: Set(0),
                next_attempt_ms: Set(now_ms),
                claimed_until_ms: Set(None),
                created_at_ms: Set(now_ms),
                finished_at_ms: Set(None),
            });
        }
    }
    let created = rows.len();
    insert_chunked(txn, rows, None).await?;
    Ok(created)
}

/// The newest message's place (0 before the first).
pub async fn head(store: &Store) -> Result<i64, StoreError> {
    let sql = "SELECT last_seq FROM outbox_head WHERE id = 1";
    let row = store.reader().query_one_raw(Statement::from_string(store.backend(), sql)).await?;
    Ok(match row {
        Some(row) => row.try_get_by_index(0)?,
        None => 0,
    })
}

/// A message's columns (`o`: the outbox, `s`: its session), as [`message_at`] reads them.
pub(super) const MESSAGE_COLUMNS: &str =
    "o.seq, o.kind, o.tenant_id, s.external_id, o.mood, o.created_at_ms, o.payload";

/// Every tenant's messages placed after `seq`, in order, at most `limit`.
pub async fn after(store: &Store, seq: i64, limit: u64) -> Result<Vec<Message>, StoreError> {
    let backend = store.backend();
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM outbox o JOIN sessions s ON s.id = o.session_pk \
         WHERE o.{pos} > {} ORDER BY o.{pos} LIMIT {}",
        placeholder(backend, 1),
        placeholder(backend, 2),
        pos = position(backend),
    );
    let values = [Value::from(seq), Value::from(limit as i64)];
    let rows = store.reader().query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    rows.iter().map(message).collect()
}

/// The tenant's messages placed after `seq` (of one session if given), in order, at most
/// `limit`: what a stream resumed after `seq` missed, as far as the outbox still keeps it.
pub async fn replay(
    store: &Store,
    tenant: &Tenant,
    session: Option<&SessionId>,
    seq: i64,
    limit: u64,
) -> Result<Vec<Message>, StoreError> {
    let backend = store.backend();
    let mut values = vec![Value::from(tenant.id.get()), Value::from(seq)];
    let mut sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM outbox o JOIN sessions s ON s.id = o.session_pk \
         WHERE o.tenant_id = {} AND o.{pos} > {}",
        placeholder(backend, 1),
        placeholder(backend, 2),
        pos = position(backend),
    );
    if let Some(session) = session {
        values.push(Value::from(session.as_str()));
        sql += &format!(" AND s.tenant_id = o.tenant_id AND s.external_id = {}", placeholder(backend, values.len()));
    }
    values.push(Value::from(limit as i64));
    sql += &format!(" ORDER BY o.{} LIMIT {}", position(backend), placeholder(backend, values.len()));
    let rows = store.reader().query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    rows.iter().map(message).collect()
}

/// The place of the tenant's first message received at `since_ms` or later (`i64::MAX` if
/// none): every placed message before it is older. Walks the tenant's messages in order from
/// the oldest, so it costs the messages older than that.
pub(super) async fn first_since(store: &Store, tenant: TenantId, since_ms: i64) -> Result<i64, StoreError> {
    let backend = store.backend();
    let sql = format!(
        "SELECT seq FROM outbox WHERE tenant_id = {} AND seq IS NOT NULL AND created_at_ms >= {} ORDER BY {pos} LIMIT 1",
        placeholder(backend, 1),
        placeholder(backend, 2),
        pos = position(backend),
    );
    let values = [Value::from(tenant.get()), Value::from(since_ms)];
    let row = store.reader().query_one_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    Ok(match row {
        Some(row) => row.try_get_by_index(0)?,
        None => i64::MAX,
    })
}

/// The column that orders messages in the statements, as the indexes have it: `seq` on
/// PostgreSQL, the row id on SQLite (where `seq` is the id, and every index ends with it).
pub(super) fn position(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "seq",
        _ => "id",
    }
}

/// The `n`th bound parameter (from 1) as the backend writes it.
pub(super) fn placeholder(backend: DbBackend, n: usize) -> String {
    match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    }
}

/// The message in a row's columns from `first` on, as [`MESSAGE_COLUMNS`] lists them.
pub(super) fn message_at(row: &QueryResult, first: usize) -> Result<Message, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("outbox {what}"));
    let kind: String = row.try_get_by_index(first + 1)?;
    let mood: String = row.try_get_by_index(first + 4)?;
    Ok(Message {
        seq: row.try_get_by_index(first)?,
        kind: kind.parse().map_err(|()| corrupt("kind"))?,
        tenant_id: row.try_get_by_index(first + 2)?,
        session_id: row.try_get_by_index(first + 3)?,
        mood: mood.parse().map_err(|()| corrupt("mood"))?,
        created_at_ms: row.try_get_by_index(first + 5)?,
        data: row.try_get_by_index(first + 6)?,
    })
}

fn message(row: &QueryResult) -> Result<Message, StoreError> {
    message_at(row, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{EventKind, Models};
    use crate::ingest::tests::{T0, event, job, store, tenant};
    use crate::ingest::{SessionStates, write_one};
    use sea_orm::{Database, TransactionTrait};

    /// Two replicas write to one session at once; the one whose transaction began first (it
    /// locked another session of its group first) waits for the session and writes its change
    /// second. The changes are placed in the order they were written.
    #[tokio::test]
    async fn a_session_s_changes_are_placed_in_the_order_written_not_the_order_their_transactions_began() {
        let (store, url, _db) = store().await;
        if store.backend() != DbBackend::Postgres {
            return; // one writer: transactions cannot interleave
        }
        let t = tenant(&store, "T").await;
        let batch = job(&t, "s", None, vec![event(EventKind::Click, T0, None)]);
        write_one(&store, &Models::default(), &batch, &mut SessionStates::default()).await.unwrap();
        assert_eq!(publish(&store, 0).await.unwrap().unwrap().published, 1, "session.started");

        let db = Database::connect(&url).await.unwrap();
        let insert = |payload: &str| {
            format!(
                "INSERT INTO outbox (tenant_id, session_pk, kind, mood, payload, created_at_ms) \
                 SELECT tenant_id, id, 'mood.changed', 'frustrated', '{payload}', 0 FROM sessions"
            )
        };
        let began_first = db.begin().await.unwrap();
        began_first.execute_unprepared("SELECT pg_current_xact_id()").await.unwrap();
        let began_second = db.begin().await.unwrap();
        began_second.execute_unprepared(&insert("written first")).await.unwrap();
        began_second.commit().await.unwrap();
        began_first.execute_unprepared(&insert("written second")).await.unwrap();
        began_first.commit().await.unwrap();

        assert_eq!(publish(&store, 0).await.unwrap().unwrap().published, 2);
        let placed = db
            .query_all_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT payload FROM outbox WHERE kind = 'mood.changed' ORDER BY seq",
            ))
            .await
            .unwrap();
        let payloads: Vec<String> = placed.iter().map(|row| row.try_get_by_index(0).unwrap()).collect();
        assert_eq!(payloads, ["written first", "written second"]);
    }
}
