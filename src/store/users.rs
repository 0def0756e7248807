//! People across sessions: their affect state (the user model), its history, their sessions,
//! and erasure by person.

use super::history::{HistoryEntry, HistoryPage, history_entry, page_of};
use super::{Store, StoreError, sessions};
use crate::domain::{Tenant, TenantId, UserId};
use crate::engine::{AffectState, Mood};
use entity::{session, user, user_history};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// One tenant's user, as a lookup scoped to that tenant found it: queries about a user's rows
/// take this, never a bare row id, so they stay inside the tenant that asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserRef {
    tenant: TenantId,
    pk: i64,
}

fn find(tenant: &Tenant, id: &UserId) -> sea_orm::Select<user::Entity> {
    user::Entity::find()
        .filter(user::Column::TenantId.eq(tenant.id.get()))
        .filter(user::Column::ExternalId.eq(id.as_str()))
}

/// The user with this row id, locked (the owner of a linked session).
pub(super) async fn lock_pk(
    txn: &DatabaseTransaction,
    tenant: &Tenant,
    pk: i64,
) -> Result<Option<user::Model>, StoreError> {
    Ok(user::Entity::find_by_id(pk)
        .filter(user::Column::TenantId.eq(tenant.id.get()))
        .lock_exclusive()
        .one(txn)
        .await?)
}

/// One of a user's sessions.
#[derive(Clone, Debug, PartialEq)]
pub struct UserSession {
    pub session_id: String,
    pub label: Mood,
    pub confidence: f64,
    pub event_count: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// A user's stored state.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredUser {
    pub state: AffectState,
    pub created_at_ms: i64,
    pub model_version: String,
}

pub async fn state(store: &Store, tenant: &Tenant, id: &UserId) -> Result<Option<(UserRef, StoredUser)>, StoreError> {
    let Some(row) = find(tenant, id).one(store.reader()).await? else { return Ok(None) };
    let stored = StoredUser {
        state: serde_json::from_str(&row.state)?,
        created_at_ms: row.created_at_ms,
        model_version: row.model_version,
    };
    Ok(Some((UserRef { tenant: tenant.id, pk: row.id }, stored)))
}

/// The user's sessions, most recently active first.
pub async fn sessions_of(store: &Store, user: UserRef, limit: u64) -> Result<Vec<UserSession>, StoreError> {
    let rows = session::Entity::find()
        .filter(session::Column::TenantId.eq(user.tenant.get()))
        .filter(session::Column::UserId.eq(user.pk))
        .order_by_desc(session::Column::UpdatedAtMs)
        .order_by_desc(session::Column::Id)
        .limit(limit)
        .all(store.reader())
        .await?;
    rows.into_iter()
        .map(|r| {
            Ok(UserSession {
                label: sessions::parse_label(&r.label)?,
                session_id: r.external_id,
                confidence: r.confidence,
                event_count: r.event_count,
                created_at_ms: r.created_at_ms,
                updated_at_ms: r.updated_at_ms,
            })
        })
        .collect()
}

/// The tenant's user with this id, if there is one.
pub async fn find_ref(store: &Store, tenant: &Tenant, id: &UserId) -> Result<Option<UserRef>, StoreError> {
    let pk = find(tenant, id).select_only().column(user::Column::Id).into_tuple().one(store.reader()).await?;
    Ok(pk.map(|pk| UserRef { tenant: tenant.id, pk }))
}

/// A page of the user's history, newest first (as [`super::history::page`] for sessions).
pub async fn history(
    store: &Store,
    tenant: &Tenant,
    id: &UserId,
    limit: u64,
    before: Option<i64>,
) -> Result<Option<HistoryPage>, StoreError> {
    use user_history::Column as H;
    let Some(user) = find_ref(store, tenant, id).await? else { return Ok(None) };
    let mut query =
        user_history::Entity::find().filter(H::TenantId.eq(user.tenant.get())).filter(H::UserId.eq(user.pk));
    if let Some(before) = before {
        query = query.filter(H::Id.lt(before));
    }
    let rows = query.order_by_desc(H::Id).limit(limit + 1).all(store.reader()).await?;
    page_of(rows, limit, |r| history_entry!(r)).map(Some)
}

/// Erases the user and every session linked to them — events, states, histories, feedback,
/// slots and rollup counts — in one transaction. `None` if the tenant has no such user,
/// otherwise how many sessions went with them.
pub async fn erase(store: &Store, tenant: &Tenant, id: &UserId) -> Result<Option<u64>, StoreError> {
    let txn = store.begin_write().await?;
    let Some(user_pk) = find(tenant, id).select_only().column(user::Column::Id).into_tuple::<i64>().one(&txn).await?
    else {
        return Ok(None);
    };
    // Sessions first, then the user: the order ingest takes its locks in.
    let linked = session::Entity::find()
        .filter(session::Column::TenantId.eq(tenant.id.get()))
        .filter(session::Column::UserId.eq(user_pk))
        .order_by_asc(session::Column::Id)
        .lock_exclusive()
        .all(&txn)
        .await?;
    lock_pk(&txn, tenant, user_pk).await?;
    let erased: Vec<(i64, String, bool)> = linked.iter().map(|s| (s.id, s.label.clone(), s.has_feedback)).collect();
    sessions::erase_many(&txn, tenant.id, &erased).await?;
    user_history::Entity::delete_many().filter(user_history::Column::UserId.eq(user_pk)).exec(&txn).await?;
    user::Entity::delete_by_id(user_pk).exec(&txn).await?;
    txn.commit().await?;
    Ok(Some(linked.len() as u64))
}
