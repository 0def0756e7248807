//! Webhook deliveries and the attempts made, for their tenant to read; and the delivery
//! workers' side: claiming due deliveries and recording how each attempt went.
//!
//! A delivery is claimed for a lease ([`LEASE_MS`], longer than any attempt may take) by
//! setting `claimed_until_ms`: on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so replicas never
//! take the same delivery; a worker that dies mid-attempt leaves its claim to expire and the
//! delivery to be taken again (at least once), and one that will not attempt a delivery it
//! claimed gives it back ([`release`]). A delivery is not claimed while an earlier one of the
//! same session to the same endpoint is being attempted (the partial index
//! `webhook_deliveries_in_flight` keeps that check as small as the attempts under way), so a
//! session's messages go out in order while they succeed.

use super::find_row;
use crate::domain::Tenant;
use crate::push::Message;
use crate::store::{Store, StoreError};
use entity::{webhook, webhook_attempt, webhook_delivery};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::{Expr, Value};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryResult, Statement,
    TransactionTrait,
};
use std::collections::{BTreeMap, BTreeSet};

pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const FAILED: &str = "failed";

/// How long a claimed delivery is a worker's: more than an attempt's timeout.
pub const LEASE_MS: i64 = 60_000;

/// What a resend did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resend {
    Queued,
    NoSuchWebhook,
    /// The outbox no longer keeps the message (or never had it).
    NoSuchMessage,
}

/// Makes the message `seq` due now for the endpoint, whether or not it was sent before (a new
/// delivery if it was not).
pub async fn resend(
    store: &Store,
    tenant: &Tenant,
    public_id: &str,
    seq: i64,
    now_ms: i64,
) -> Result<Resend, StoreError> {
    let txn = store.begin_write().await?;
    let Some(endpoint) = find_row(&txn, tenant, public_id).await? else { return Ok(Resend::NoSuchWebhook) };
    use entity::outbox::Column as C;
    let position = if store.backend() == DbBackend::Postgres { C::Seq } else { C::Id };
    let Some(message) = entity::outbox::Entity::find()
        .filter(C::TenantId.eq(tenant.id.get()))
        .filter(position.eq(seq))
        .one(&txn)
        .await?
    else {
        return Ok(Resend::NoSuchMessage);
    };
    let existing = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::WebhookId.eq(endpoint.id))
        .filter(webhook_delivery::Column::OutboxId.eq(message.id))
        .one(&txn)
        .await?;
    match existing {
        Some(delivery) => {
            let mut active: webhook_delivery::ActiveModel = delivery.into();
            active.status = Set(PENDING.to_owned());
            active.next_attempt_ms = Set(now_ms);
            active.finished_at_ms = Set(None);
            active.update(&txn).await?;
        }
        None => {
            webhook_delivery::ActiveModel {
                id: NotSet,
                tenant_id: Set(tenant.id.get()),
                webhook_id: Set(endpoint.id),
                outbox_id: Set(message.id),
                session_pk: Set(message.session_pk),
                seq: Set(seq),
                status: Set(PENDING.to_owned()),
                attempts: Set(0),
                next_attempt_ms: Set(now_ms),
                claimed_until_ms: Set(None),
                created_at_ms: Set(now_ms),
                finished_at_ms: Set(None),
            }
            .insert(&txn)
            .await?;
        }
    }
    txn.commit().await?;
    Ok(Resend::Queued)
}

/// An attempt as its endpoint's owner reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct Attempt {
    pub id: i64,
    /// The message's id (its `seq`).
    pub message_id: i64,
    pub attempt: i32,
    pub at_ms: i64,
    pub duration_ms: i64,
    pub succeeded: bool,
    pub response_status: Option<i32>,
    pub response_body: Option<String>,
    pub error: Option<String>,
    /// Where the message's delivery stands now.
    pub delivery_status: String,
    pub next_attempt_ms: Option<i64>,
}

/// The endpoint's attempts, newest first, older than attempt `before` if given; `None` if the
/// tenant has no such endpoint.
pub async fn attempts(
    store: &Store,
    tenant: &Tenant,
    public_id: &str,
    before: Option<i64>,
    limit: u64,
) -> Result<Option<Vec<Attempt>>, StoreError> {
    let Some(endpoint) = find_row(store.reader(), tenant, public_id).await? else { return Ok(None) };
    let backend = store.backend();
    let p = |n| crate::store::outbox::placeholder(backend, n);
    let mut values: Vec<Value> = vec![endpoint.id.into()];
    let mut sql = format!(
        "SELECT a.id, d.seq, a.attempt, a.at_ms, a.duration_ms, a.succeeded, a.response_status, a.response_body, \
           a.error, d.status, d.next_attempt_ms \
         FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE a.webhook_id = {}",
        p(1)
    );
    if let Some(before) = before {
        values.push(before.into());
        sql += &format!(" AND a.id < {}", p(values.len()));
    }
    values.push((limit as i64).into());
    sql += &format!(" ORDER BY a.id DESC LIMIT {}", p(values.len()));
    let rows = store.reader().query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    let attempt = |row: &QueryResult| -> Result<Attempt, StoreError> {
        let status: String = row.try_get_by_index(9)?;
        let next: i64 = row.try_get_by_index(10)?;
        Ok(Attempt {
            id: row.try_get_by_index(0)?,
            message_id: row.try_get_by_index(1)?,
            attempt: row.try_get_by_index(2)?,
            at_ms: row.try_get_by_index(3)?,
            duration_ms: row.try_get_by_index(4)?,
            succeeded: row.try_get_by_index(5)?,
            response_status: row.try_get_by_index(6)?,
            response_body: row.try_get_by_index(7)?,
            error: row.try_get_by_index(8)?,
            next_attempt_ms: (status == PENDING).then_some(next),
            delivery_status: status,
        })
    };
    Ok(Some(rows.iter().map(attempt).collect::<Result<_, _>>()?))
}

/// A delivery a worker claimed: where to send what, and with which secrets.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub delivery_id: i64,
    pub webhook_id: i64,
    pub tenant_id: i64,
    pub session_pk: i64,
    /// This attempt's number, from 1.
    pub attempt: i32,
    pub url: String,
    /// The signing secrets, current first.
    pub secrets: Vec<String>,
    pub message: Message,
}

/// Claims up to `limit` due deliveries of enabled endpoints, except those of the endpoints
/// `skip`, for [`LEASE_MS`], oldest due first, in `seq` order.
pub async fn claim(store: &Store, now_ms: i64, limit: u64, skip: &[i64]) -> Result<Vec<Claimed>, StoreError> {
    let backend = store.backend();
    let p = |n| crate::store::outbox::placeholder(backend, n);
    let lock = if backend == DbBackend::Postgres { "FOR UPDATE OF d SKIP LOCKED" } else { "" };
    let skip = if skip.is_empty() { String::new() } else { format!("AND d.webhook_id NOT IN ({}) ", id_list(skip)) };
    // `now` is bound once per use: SQLite's `?` cannot be repeated.
    let update = format!(
        "UPDATE webhook_deliveries SET claimed_until_ms = {lease}, attempts = attempts + 1 WHERE id IN ( \
           SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
           WHERE d.status = 'pending' AND d.next_attempt_ms <= {now1} AND w.enabled {skip}\
             AND (d.claimed_until_ms IS NULL OR d.claimed_until_ms <= {now2}) \
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.webhook_id = d.webhook_id \
               AND e.session_pk = d.session_pk AND e.seq < d.seq AND e.status = 'pending' \
               AND e.claimed_until_ms IS NOT NULL AND e.claimed_until_ms > {now3}) \
           ORDER BY d.next_attempt_ms, d.seq LIMIT {limit} {lock}) \
         RETURNING id, webhook_id, tenant_id, session_pk, attempts, outbox_id, seq",
        lease = p(1),
        now1 = p(2),
        now2 = p(3),
        now3 = p(4),
        limit = p(5),
    );
    let values: [Value; 5] =
        [(now_ms + LEASE_MS).into(), now_ms.into(), now_ms.into(), now_ms.into(), (limit as i64).into()];
    // What is sent, for the claimed rows `c`.
    let read = |claimed: &str| {
        format!(
            "SELECT c.id, c.webhook_id, c.tenant_id, c.session_pk, c.attempts, w.url, w.secret, w.previous_secret, \
               w.previous_secret_until_ms, {} \
             FROM {claimed} JOIN webhooks w ON w.id = c.webhook_id \
               JOIN outbox o ON o.id = c.outbox_id JOIN sessions s ON s.id = o.session_pk \
             ORDER BY c.seq",
            crate::store::outbox::MESSAGE_COLUMNS,
        )
    };
    let rows = if backend == DbBackend::Postgres {
        // One statement, one round trip, its own transaction.
        let sql = format!("WITH c AS ({update}) {}", read("c"));
        store.writer.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?
    } else {
        // SQLite has no UPDATE in WITH: the claim, then what it claimed, on the one writer.
        let txn = store.writer.begin().await?;
        let ids: Vec<i64> = txn
            .query_all_raw(Statement::from_sql_and_values(backend, update, values))
            .await?
            .iter()
            .map(|row| row.try_get_by_index(0))
            .collect::<Result<_, _>>()?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let claimed = format!("(SELECT * FROM webhook_deliveries WHERE id IN ({})) c", id_list(&ids));
        let rows = txn.query_all_raw(Statement::from_string(backend, read(&claimed))).await?;
        txn.commit().await?;
        rows
    };
    rows.iter().map(|row| claimed(row, now_ms)).collect()
}

/// Gives claimed deliveries that were not attempted back, as if never claimed (their claim was
/// made at `claimed_at_ms`): due again at once, their attempt numbers unused.
pub async fn release(store: &Store, deliveries: &[i64], claimed_at_ms: i64) -> Result<(), StoreError> {
    if deliveries.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "UPDATE webhook_deliveries SET claimed_until_ms = NULL, attempts = attempts - 1 \
         WHERE id IN ({}) AND claimed_until_ms = {} AND status = 'pending'",
        id_list(deliveries),
        crate::store::outbox::placeholder(store.backend(), 1)
    );
    let values = [Value::from(claimed_at_ms + LEASE_MS)];
    store.writer.execute_raw(Statement::from_sql_and_values(store.backend(), sql, values)).await?;
    Ok(())
}

/// Ids written into SQL, `1, 2, 3` (numbers: nothing to escape, and no bound parameter per id).
fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
}

fn claimed(row: &QueryResult, now_ms: i64) -> Result<Claimed, StoreError> {
    let mut secrets = vec![row.try_get_by_index::<String>(6)?];
    let previous: Option<String> = row.try_get_by_index(7)?;
    let until: Option<i64> = row.try_get_by_index(8)?;
    if let (Some(previous), Some(until)) = (previous, until)
        && now_ms < until
    {
        secrets.push(previous);
    }
    Ok(Claimed {
        delivery_id: row.try_get_by_index(0)?,
        webhook_id: row.try_get_by_index(1)?,
        tenant_id: row.try_get_by_index(2)?,
        session_pk: row.try_get_by_index(3)?,
        attempt: row.try_get_by_index(4)?,
        url: row.try_get_by_index(5)?,
        secrets,
        message: crate::store::outbox::message_at(row, 9)?,
    })
}

/// How an attempt went.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub at_ms: i64,
    pub duration_ms: i64,
    pub succeeded: bool,
    pub response_status: Option<i32>,
    pub response_body: Option<String>,
    pub error: Option<String>,
    /// For a failure: when to try again; `None`: never (every attempt used).
    pub retry_at_ms: Option<i64>,
}

/// Records attempts on claimed deliveries, in one transaction, and settles each: delivered,
/// due again at `retry_at_ms`, or failed. A success clears its endpoint's failures; a failure
/// marks since when it fails, and disables it once that is `disable_after_ms` ago. The
/// attempts (in the order they ended) take a few statements whatever their number: one insert,
/// one update of the deliveries, and one or two per endpoint (on SQLite every statement holds
/// the one writer ingest needs).
pub async fn record(store: &Store, attempts: &[(&Claimed, &Outcome)], disable_after_ms: i64) -> Result<(), StoreError> {
    if attempts.is_empty() {
        return Ok(());
    }
    let backend = store.backend();
    let txn = store.writer.begin().await?;
    let rows = attempts.iter().map(|(claimed, outcome)| webhook_attempt::ActiveModel {
        id: NotSet,
        tenant_id: Set(claimed.tenant_id),
        webhook_id: Set(claimed.webhook_id),
        delivery_id: Set(claimed.delivery_id),
        attempt: Set(claimed.attempt),
        at_ms: Set(outcome.at_ms),
        duration_ms: Set(outcome.duration_ms),
        succeeded: Set(outcome.succeeded),
        response_status: Set(outcome.response_status),
        response_body: Set(outcome.response_body.clone()),
        error: Set(outcome.error.clone()),
    });
    crate::store::insert_chunked(&txn, rows.collect(), None).await?;

    // The deliveries settled, in one `UPDATE … FROM (VALUES …)`.
    for chunk in attempts.chunks(1000) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 4);
        let mut tuples = Vec::with_capacity(chunk.len());
        for (claimed, outcome) in chunk {
            let finished = outcome.at_ms + outcome.duration_ms;
            let (status, next, finished_at) = match (outcome.succeeded, outcome.retry_at_ms) {
                (true, _) => (DELIVERED, finished, Some(finished)),
                (false, Some(retry)) => (PENDING, retry, None),
                (false, None) => (FAILED, finished, Some(finished)),
            };
            let n = values.len();
            let p = |k: usize| crate::store::outbox::placeholder(backend, n + k);
            tuples.push(format!("({}, {}, {}, {})", p(1), p(2), p(3), p(4)));
            values.extend([claimed.delivery_id.into(), status.into(), next.into(), finished_at.into()]);
        }
        let sql = format!(
            "UPDATE webhook_deliveries SET status = v.column2, next_attempt_ms = v.column3, \
               finished_at_ms = v.column4, claimed_until_ms = NULL \
             FROM (VALUES {}) AS v WHERE webhook_deliveries.id = v.column1",
            tuples.join(", ")
        );
        txn.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    }

    for (webhook_id, failing) in endpoint_failures(attempts) {
        let endpoint = || webhook::Entity::update_many().filter(webhook::Column::Id.eq(webhook_id));
        let Some(failing) = failing else {
            endpoint()
                .col_expr(webhook::Column::FailingSinceMs, Expr::value(Option::<i64>::None))
                .filter(webhook::Column::FailingSinceMs.is_not_null())
                .exec(&txn)
                .await?;
            continue;
        };
        let since = endpoint().col_expr(webhook::Column::FailingSinceMs, Expr::value(failing.since_ms));
        // After a success in the batch the endpoint fails since the first failure after it.
        let since = if failing.after_success { since } else { since.filter(webhook::Column::FailingSinceMs.is_null()) };
        since.exec(&txn).await?;
        let reason = format!("every delivery attempt failed for {} days", disable_after_ms / 86_400_000);
        endpoint()
            .col_expr(webhook::Column::Enabled, Expr::value(false))
            .col_expr(webhook::Column::DisabledReason, Expr::value(reason))
            .filter(webhook::Column::Enabled.eq(true))
            .filter(webhook::Column::FailingSinceMs.lte(failing.last_ms - disable_after_ms))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// How an endpoint's attempts in a batch end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Failing {
    /// The first failure after the batch's last success (or of the batch, if none succeeded).
    since_ms: i64,
    /// Whether a success came before it in the batch (then the endpoint's earlier failures no
    /// longer count).
    after_success: bool,
    /// The last failure.
    last_ms: i64,
}

/// Per endpoint, in the order the attempts ended: `None` if the last attempt succeeded, else
/// how it fails.
fn endpoint_failures(attempts: &[(&Claimed, &Outcome)]) -> BTreeMap<i64, Option<Failing>> {
    let mut endpoints: BTreeMap<i64, Option<Failing>> = BTreeMap::new();
    let mut succeeded: BTreeSet<i64> = BTreeSet::new();
    for (claimed, outcome) in attempts {
        let state = endpoints.entry(claimed.webhook_id).or_default();
        if outcome.succeeded {
            *state = None;
            succeeded.insert(claimed.webhook_id);
        } else {
            let at = outcome.at_ms;
            *state = Some(match *state {
                Some(f) => Failing { last_ms: at, ..f },
                None => Failing { since_ms: at, after_success: succeeded.contains(&claimed.webhook_id), last_ms: at },
            });
        }
    }
    endpoints
}

/// Deliveries due now or waiting for a retry, of enabled endpoints (the backlog gauge).
pub async fn backlog(store: &Store) -> Result<i64, StoreError> {
    let sql = "SELECT COUNT(*) FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
               WHERE d.status = 'pending' AND w.enabled";
    let row = store.reader().query_one_raw(Statement::from_string(store.backend(), sql)).await?;
    Ok(match row {
        Some(row) => row.try_get_by_index(0)?,
        None => 0,
    })
}

#[cfg(test)]
mod tests {
    use super::super::{NewWebhook, Webhook, WebhookUpdate, create, get, update};
    use super::*;
    use crate::engine::{EventKind, Models};
    use crate::ingest::tests::{T0, event, job, store, tenant};
    use crate::ingest::{SessionStates, write_one};
    use crate::push::Kind;
    use crate::store::outbox;

    const DAY_MS: i64 = 86_400_000;

    fn failed(at_ms: i64, retry_at_ms: Option<i64>) -> Outcome {
        Outcome {
            at_ms,
            duration_ms: 15_000,
            succeeded: false,
            response_status: None,
            response_body: None,
            error: Some("no answer within 15 s".into()),
            retry_at_ms,
        }
    }

    /// A store with one endpoint and one published message for it (a session's start): its
    /// tenant and the time it was published.
    async fn one_delivery() -> (Store, Tenant, i64, crate::testing::FreshDatabase) {
        let (store, _url, db) = store().await;
        let t = tenant(&store, "T").await;
        let new = NewWebhook {
            public_id: "wh_test".into(),
            url: "https://example.com/hook".into(),
            event_types: Kind::ALL.to_vec(),
            moods: None,
            description: None,
            secret: crate::webhooks::signature::Secret::generate().reveal(),
        };
        create(&store, &t, new, 0).await.unwrap().unwrap();
        let batch = job(&t, "s", None, vec![event(EventKind::Click, T0, None)]);
        write_one(&store, &Models::default(), &batch, &mut SessionStates::default()).await.unwrap();
        let t0 = T0 * 1000;
        let published = outbox::publish(&store, t0).await.unwrap().expect("no other publisher");
        assert_eq!((published.published, published.deliveries), (1, 1));
        (store, t, t0, db)
    }

    #[tokio::test]
    async fn a_delivery_whose_sender_died_is_claimed_again_when_its_lease_ends() {
        let (store, _t, t0, _db) = one_delivery().await;
        let claimed = claim(&store, t0, 10, &[]).await.unwrap();
        assert_eq!((claimed.len(), claimed[0].attempt), (1, 1));
        // The claiming replica is killed: it never records an outcome.
        assert!(claim(&store, t0 + LEASE_MS - 1, 10, &[]).await.unwrap().is_empty(), "still leased");
        let again = claim(&store, t0 + LEASE_MS, 10, &[]).await.unwrap();
        assert_eq!((again.len(), again[0].attempt, again[0].message.seq), (1, 2, claimed[0].message.seq));
        assert_eq!(backlog(&store).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn a_delivery_given_back_unattempted_keeps_its_attempt_number_and_skipped_endpoints_wait() {
        let (store, _t, t0, _db) = one_delivery().await;
        let claimed = claim(&store, t0, 10, &[]).await.unwrap();
        assert_eq!((claimed.len(), claimed[0].attempt), (1, 1));
        release(&store, &[claimed[0].delivery_id], t0 + 1).await.unwrap();
        assert!(claim(&store, t0 + 2, 10, &[]).await.unwrap().is_empty(), "another claim's lease: kept");
        release(&store, &[claimed[0].delivery_id], t0).await.unwrap();
        assert!(claim(&store, t0 + 2, 10, &[claimed[0].webhook_id]).await.unwrap().is_empty(), "skipped");
        let again = claim(&store, t0 + 2, 10, &[claimed[0].webhook_id + 1]).await.unwrap();
        assert_eq!((again.len(), again[0].attempt, again[0].delivery_id), (1, 1, claimed[0].delivery_id));
    }

    #[tokio::test]
    async fn an_endpoint_failing_for_days_is_disabled_and_a_success_clears_its_failures() {
        let (store, t, t0, _db) = one_delivery().await;
        let disable_after = 5 * DAY_MS;

        let claimed = claim(&store, t0, 10, &[]).await.unwrap();
        assert_eq!((claimed.len(), claimed[0].attempt, claimed[0].message.seq), (1, 1, 1));
        assert!(claim(&store, t0, 10, &[]).await.unwrap().is_empty(), "claimed: nobody else takes it");
        record(&store, &[(&claimed[0], &failed(t0, Some(t0 + 5_000)))], disable_after).await.unwrap();
        let hook = get(&store, &t, "wh_test").await.unwrap().unwrap();
        assert_eq!((hook.enabled, hook.failing_since_ms), (true, Some(t0)));
        assert!(claim(&store, t0 + 4_999, 10, &[]).await.unwrap().is_empty(), "not due yet");

        // Still failing five days later: disabled, and nothing is claimed for it any more.
        let later = t0 + disable_after;
        let claimed = claim(&store, later, 10, &[]).await.unwrap();
        assert_eq!(claimed[0].attempt, 2);
        record(&store, &[(&claimed[0], &failed(later, Some(later + 300_000)))], disable_after).await.unwrap();
        let hook = get(&store, &t, "wh_test").await.unwrap().unwrap();
        assert!(!hook.enabled);
        assert_eq!(hook.disabled_reason.as_deref(), Some("every delivery attempt failed for 5 days"));
        assert!(claim(&store, later + DAY_MS, 10, &[]).await.unwrap().is_empty());
        assert_eq!(backlog(&store).await.unwrap(), 0, "the backlog counts enabled endpoints");

        // Enabled again: its failures forgotten, the waiting delivery goes out; a success.
        let update = WebhookUpdate { enabled: Some(true), ..WebhookUpdate::default() };
        let hook = update_hook(&store, &t, update, later).await;
        assert_eq!((hook.enabled, hook.disabled_reason, hook.failing_since_ms), (true, None, None));
        assert_eq!(backlog(&store).await.unwrap(), 1);
        let claimed = claim(&store, later + DAY_MS, 10, &[]).await.unwrap();
        let success = Outcome { succeeded: true, response_status: Some(204), error: None, ..failed(later, None) };
        record(&store, &[(&claimed[0], &success)], disable_after).await.unwrap();
        let page = attempts(&store, &t, "wh_test", None, 10).await.unwrap().unwrap();
        let summary: Vec<(i32, bool, &str)> =
            page.iter().map(|a| (a.attempt, a.succeeded, a.delivery_status.as_str())).collect();
        assert_eq!(summary, [(3, true, DELIVERED), (2, false, DELIVERED), (1, false, DELIVERED)]);
        assert_eq!(backlog(&store).await.unwrap(), 0);
    }

    #[test]
    fn a_batch_ends_each_endpoint_as_its_last_attempts_do() {
        let message = crate::push::Message {
            seq: 1,
            kind: Kind::SessionStarted,
            tenant_id: 1,
            session_id: "s".into(),
            mood: crate::engine::Mood::Neutral,
            created_at_ms: 0,
            data: "{}".into(),
        };
        let claimed = |webhook_id| Claimed {
            delivery_id: 1,
            webhook_id,
            tenant_id: 1,
            session_pk: 1,
            attempt: 1,
            url: String::new(),
            secrets: Vec::new(),
            message: message.clone(),
        };
        let ok = |at_ms| Outcome { succeeded: true, error: None, ..failed(at_ms, None) };
        let (a, b, c) = (claimed(1), claimed(2), claimed(3));
        let (f10, f20, s30, f40, f50) =
            (failed(10, None), failed(20, None), ok(30), failed(40, None), failed(50, None));
        let batch = [
            (&a, &f10),
            (&b, &s30),
            (&a, &f20),
            (&c, &f10),
            (&c, &s30),
            (&c, &f40),
            (&c, &f50),
            (&b, &f10),
            (&b, &s30),
        ];
        let ends: Vec<(i64, Option<Failing>)> = endpoint_failures(&batch).into_iter().collect();
        assert_eq!(
            ends,
            [
                (1, Some(Failing { since_ms: 10, after_success: false, last_ms: 20 })),
                (2, None),
                (3, Some(Failing { since_ms: 40, after_success: true, last_ms: 50 })),
            ]
        );
    }

    async fn update_hook(store: &Store, t: &Tenant, u: WebhookUpdate, now_ms: i64) -> Webhook {
        update(store, t, "wh_test", u, now_ms).await.unwrap().unwrap()
    }
}
