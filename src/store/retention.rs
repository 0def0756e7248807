//! Retention: each tenant keeps its events and history for its retention (90 days unless it
//! set another, [`MIN_DAYS`]–[`MAX_DAYS`]); a sweep ([`sweep`]) removes what is older.
//!
//! - **A session whose latest event is older** than the retention is erased whole, as
//!   `DELETE /v1/sessions/{id}` erases it (events, state, slots, feedback, user history), and
//!   leaves the mood distribution in the same transaction: the distribution counts the sessions
//!   still kept. A batch for it later starts a new session.
//! - **A kept session** loses its events, time-series slots and user history from before the
//!   retention; its state (the engine's, which has forgotten them already), its `event_count`
//!   and its feedback stay.
//! - Users stay, with their current state; their history is trimmed as their sessions' is.
//! - Outbox messages (what streams replay and webhooks deliver) are kept 3 days, or less if the
//!   retention is shorter; an erased session's go with it.
//!
//! Everything goes in small batches, each its own short statement or transaction: sessions a
//! request holds at the moment are skipped (`SKIP LOCKED` on PostgreSQL) and taken at the next
//! sweep, so the sweep never makes ingest or reads wait for more than one batch. After each
//! batch the sweep rests as long as the batch took, leaving the database at least half of the
//! time a backlog (the first sweep of an old store, a retention shortened) takes.

use super::timeline::SLOT_MS;
use super::{Store, StoreError, outbox, sessions};
use crate::domain::TenantId;
use entity::{event, session, session_slot, tenant, user_history};
use sea_orm::sea_query::{DeleteStatement, Expr, ExprTrait, LockBehavior, LockType, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait};
use std::time::Instant;

pub const DEFAULT_DAYS: i32 = 90;
pub const MIN_DAYS: i32 = 1;
/// Ten years.
pub const MAX_DAYS: i32 = 3650;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// Sessions erased per transaction.
const SESSIONS_PER_BATCH: u64 = 100;
/// Rows one `DELETE` removes at most.
const ROWS_PER_BATCH: u64 = 1000;

/// The tenant's retention in days.
pub async fn days(store: &Store, tenant: TenantId) -> Result<i32, StoreError> {
    let days = tenant::Entity::find_by_id(tenant.get())
        .select_only()
        .column(tenant::Column::RetentionDays)
        .into_tuple()
        .one(store.reader())
        .await?;
    Ok(days.unwrap_or(DEFAULT_DAYS))
}

/// Sets the tenant's retention; the caller checked the bounds.
pub async fn set_days(store: &Store, tenant: TenantId, days: i32) -> Result<(), StoreError> {
    tenant::Entity::update_many()
        .col_expr(tenant::Column::RetentionDays, Expr::value(days))
        .filter(tenant::Column::Id.eq(tenant.get()))
        .exec(&store.writer)
        .await?;
    Ok(())
}

/// What a sweep removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub sessions: u64,
    pub events: u64,
    pub slots: u64,
    pub user_history: u64,
    /// Outbox messages, kept [`outbox::KEEP_MS`] at most.
    pub messages: u64,
}

/// Removes, for every tenant, what is older than its retention at `now_ms`.
pub async fn sweep(store: &Store, now_ms: i64) -> Result<Swept, StoreError> {
    let tenants: Vec<(i64, i32)> = tenant::Entity::find()
        .select_only()
        .columns([tenant::Column::Id, tenant::Column::RetentionDays])
        .order_by_asc(tenant::Column::Id)
        .into_tuple()
        .all(store.reader())
        .await?;
    let mut swept = Swept::default();
    for (tenant, days) in tenants {
        let cutoff_ms = now_ms - i64::from(days) * DAY_MS;
        let tenant = TenantId(tenant);
        loop {
            let started = Instant::now();
            let erased = erase_expired_sessions(store, tenant, cutoff_ms).await?;
            rest(started).await;
            swept.sessions += erased;
            if erased < SESSIONS_PER_BATCH {
                break;
            }
        }
        swept.events += trim(store, || {
            older(event::Entity, event::Column::Id, event::Column::TenantId, event::Column::TsMs, tenant, cutoff_ms)
        })
        .await?;
        // Slots wholly before the cutoff: a session's latest slot may start before it.
        let slot_cutoff = cutoff_ms.div_euclid(SLOT_MS) * SLOT_MS;
        swept.slots += trim(store, || {
            Query::delete()
                .from_table(session_slot::Entity)
                .and_where(
                    Expr::tuple([Expr::col(session_slot::Column::SessionId), Expr::col(session_slot::Column::SlotMs)])
                        .in_subquery(
                            session_slot::Entity::find()
                                .select_only()
                                .columns([session_slot::Column::SessionId, session_slot::Column::SlotMs])
                                .filter(session_slot::Column::TenantId.eq(tenant.get()))
                                .filter(session_slot::Column::SlotMs.lt(slot_cutoff))
                                .limit(ROWS_PER_BATCH)
                                .into_query(),
                        ),
                )
                .to_owned()
        })
        .await?;
        swept.user_history += trim(store, || {
            use user_history::Column as C;
            older(user_history::Entity, C::Id, C::TenantId, C::TsMs, tenant, cutoff_ms)
        })
        .await?;
        // Messages are placed in the order received: those before the first one kept go.
        let since_ms = Ord::max(cutoff_ms, now_ms - outbox::KEEP_MS);
        let kept_from = outbox::first_since(store, tenant, since_ms).await?;
        swept.messages += trim(store, || {
            use entity::outbox::Column as C;
            let position = if store.backend() == DbBackend::Postgres { C::Seq } else { C::Id };
            let batch = entity::outbox::Entity::find()
                .select_only()
                .column(C::Id)
                .filter(C::TenantId.eq(tenant.get()))
                .filter(position.lt(kept_from))
                .order_by_asc(position)
                .limit(ROWS_PER_BATCH)
                .into_query();
            Query::delete().from_table(entity::outbox::Entity).and_where(Expr::col(C::Id).in_subquery(batch)).to_owned()
        })
        .await?;
    }
    Ok(swept)
}

/// Deletes a batch of `entity`'s rows of `tenant` whose `time` is before `cutoff_ms`, by `id`.
fn older<E: EntityTrait>(
    entity: E,
    id: E::Column,
    tenant_id: E::Column,
    time: E::Column,
    tenant: TenantId,
    cutoff_ms: i64,
) -> DeleteStatement {
    let batch = E::find()
        .select_only()
        .column(id)
        .filter(tenant_id.eq(tenant.get()))
        .filter(time.lt(cutoff_ms))
        .limit(ROWS_PER_BATCH)
        .into_query();
    Query::delete().from_table(entity).and_where(Expr::col(id).in_subquery(batch)).to_owned()
}

/// Waits as long as has passed since `started`.
async fn rest(started: Instant) {
    tokio::time::sleep(started.elapsed()).await;
}

/// Runs the `DELETE` `batch` builds until it removes fewer than a batch; the rows removed.
async fn trim(store: &Store, batch: impl Fn() -> DeleteStatement) -> Result<u64, StoreError> {
    let mut removed = 0;
    loop {
        let started = Instant::now();
        let n = store.writer.execute(&batch()).await?.rows_affected();
        rest(started).await;
        removed += n;
        if n < ROWS_PER_BATCH {
            return Ok(removed);
        }
    }
}

/// Erases up to a batch of the tenant's sessions whose latest event is before `cutoff_ms`, in
/// one transaction, skipping those another transaction holds; how many.
async fn erase_expired_sessions(store: &Store, tenant: TenantId, cutoff_ms: i64) -> Result<u64, StoreError> {
    let txn = store.begin_write().await?;
    let expired: Vec<(i64, String, bool)> = session::Entity::find()
        .select_only()
        .columns([session::Column::Id, session::Column::Label, session::Column::HasFeedback])
        .filter(session::Column::TenantId.eq(tenant.get()))
        .filter(session::Column::UpdatedAtMs.lt(cutoff_ms))
        .order_by_asc(session::Column::Id)
        .limit(SESSIONS_PER_BATCH)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .into_tuple()
        .all(&txn)
        .await?;
    if expired.is_empty() {
        return Ok(0);
    }
    sessions::erase_many(&txn, tenant, &expired).await?;
    txn.commit().await?;
    Ok(expired.len() as u64)
}
