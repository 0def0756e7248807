//! Tenants and their API keys. Key lookup is the one query not scoped by a tenant: it is how a
//! request proves which tenant it is.

use super::{Store, StoreError, rollup};
use crate::domain::{Plan, TenantId};
use chrono::{DateTime, Utc};
use entity::{api_key, tenant};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};

pub struct NewTenant<'a> {
    pub name: &'a str,
    pub email: Option<&'a str>,
    pub plan: Plan,
    /// The key's public lookup id and the argon2id hash of the whole key.
    pub key_lookup: &'a str,
    pub key_hash: &'a str,
}

/// Creates a tenant, its first key and its rollup rows in one transaction.
pub async fn create(store: &Store, new: NewTenant<'_>, now: DateTime<Utc>) -> Result<TenantId, StoreError> {
    let now_ms = now.timestamp_millis();
    let txn = store.writer.begin().await?;
    let id = tenant::Entity::insert(tenant::ActiveModel {
        id: NotSet,
        name: Set(new.name.to_owned()),
        email: Set(new.email.map(str::to_owned)),
        plan: Set(new.plan.as_str().to_owned()),
        created_at_ms: Set(now_ms),
        retention_days: NotSet,
    })
    .exec(&txn)
    .await?
    .last_insert_id;
    api_key::Entity::insert(api_key::ActiveModel {
        id: NotSet,
        tenant_id: Set(id),
        lookup: Set(new.key_lookup.to_owned()),
        secret_hash: Set(new.key_hash.to_owned()),
        created_at_ms: Set(now_ms),
        revoked_at_ms: Set(None),
    })
    .exec(&txn)
    .await?;
    rollup::create(&txn, TenantId(id)).await?;
    txn.commit().await?;
    Ok(TenantId(id))
}

/// Adds a key to an existing tenant (rotation: issue the new key, move clients, revoke the old).
pub async fn add_key(
    store: &Store,
    tenant: TenantId,
    key_lookup: &str,
    key_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    api_key::Entity::insert(api_key::ActiveModel {
        id: NotSet,
        tenant_id: Set(tenant.get()),
        lookup: Set(key_lookup.to_owned()),
        secret_hash: Set(key_hash.to_owned()),
        created_at_ms: Set(now.timestamp_millis()),
        revoked_at_ms: Set(None),
    })
    .exec(&store.writer)
    .await?;
    Ok(())
}

/// Revokes one of the tenant's keys; later lookups no longer find it.
pub async fn revoke_key(store: &Store, tenant: TenantId, key_id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
    api_key::Entity::update_many()
        .col_expr(api_key::Column::RevokedAtMs, sea_orm::sea_query::Expr::value(now.timestamp_millis()))
        .filter(api_key::Column::Id.eq(key_id))
        .filter(api_key::Column::TenantId.eq(tenant.get()))
        .filter(api_key::Column::RevokedAtMs.is_null())
        .exec(&store.writer)
        .await?;
    Ok(())
}

/// A live key found by its lookup id.
#[derive(Clone, Debug)]
pub struct StoredKey {
    pub key_id: i64,
    pub tenant: TenantId,
    pub plan: Plan,
    pub hash: String,
}

/// The unrevoked key with this lookup id, with its tenant's plan.
pub async fn find_key(store: &Store, lookup: &str) -> Result<Option<StoredKey>, StoreError> {
    let Some((key, Some(owner))) = api_key::Entity::find()
        .filter(api_key::Column::Lookup.eq(lookup))
        .filter(api_key::Column::RevokedAtMs.is_null())
        .find_also_related(tenant::Entity)
        .one(store.reader())
        .await?
    else {
        return Ok(None);
    };
    let plan = parse_plan(&owner.plan)?;
    Ok(Some(StoredKey { key_id: key.id, tenant: TenantId(owner.id), plan, hash: key.secret_hash }))
}

/// The tenant's plan, if the tenant exists.
pub async fn plan_of(store: &Store, id: TenantId) -> Result<Option<Plan>, StoreError> {
    let Some(row) = tenant::Entity::find_by_id(id.get()).one(store.reader()).await? else { return Ok(None) };
    parse_plan(&row.plan).map(Some)
}

/// A tenant row's plan.
pub(super) fn parse_plan(stored: &str) -> Result<Plan, StoreError> {
    stored.parse().map_err(|()| StoreError::Corrupt(format!("unknown plan {stored:?}")))
}
