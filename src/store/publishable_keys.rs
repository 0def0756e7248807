//! Publishable keys. Finding one by its key is, like an API key's lookup, not scoped by a
//! tenant: it is how a browser request proves which tenant it starts a session for. Nothing is
//! cached, so a revocation holds at once on every replica.

use super::{Store, StoreError, tenants};
use crate::auth::{Origin, PublishableKey};
use crate::domain::{Tenant, TenantId};
use chrono::{DateTime, Utc};
use entity::{publishable_key, tenant};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

/// A live publishable key as its tenant sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredPublishableKey {
    pub key: String,
    pub allowed_origins: Vec<String>,
    pub created_at_ms: i64,
}

pub async fn create(
    store: &Store,
    tenant: &Tenant,
    key: &PublishableKey,
    origins: &[Origin],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let origins: Vec<&str> = origins.iter().map(Origin::as_str).collect();
    publishable_key::Entity::insert(publishable_key::ActiveModel {
        id: NotSet,
        tenant_id: Set(tenant.id.get()),
        key: Set(key.as_str().to_owned()),
        allowed_origins: Set(serde_json::to_string(&origins)?),
        created_at_ms: Set(now.timestamp_millis()),
        revoked_at_ms: Set(None),
    })
    .exec(&store.writer)
    .await?;
    Ok(())
}

/// The tenant's live publishable keys, newest first.
pub async fn list(store: &Store, tenant: &Tenant) -> Result<Vec<StoredPublishableKey>, StoreError> {
    let rows = publishable_key::Entity::find()
        .filter(publishable_key::Column::TenantId.eq(tenant.id.get()))
        .filter(publishable_key::Column::RevokedAtMs.is_null())
        .order_by_desc(publishable_key::Column::Id)
        .all(store.reader())
        .await?;
    rows.into_iter()
        .map(|r| {
            Ok(StoredPublishableKey {
                allowed_origins: serde_json::from_str(&r.allowed_origins)?,
                key: r.key,
                created_at_ms: r.created_at_ms,
            })
        })
        .collect()
}

/// Revokes one of the tenant's keys; `false` if it has no such live key.
pub async fn revoke(store: &Store, tenant: &Tenant, key: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let revoked = publishable_key::Entity::update_many()
        .col_expr(publishable_key::Column::RevokedAtMs, Expr::value(now.timestamp_millis()))
        .filter(publishable_key::Column::TenantId.eq(tenant.id.get()))
        .filter(publishable_key::Column::Key.eq(key))
        .filter(publishable_key::Column::RevokedAtMs.is_null())
        .exec(&store.writer)
        .await?;
    Ok(revoked.rows_affected > 0)
}

/// A live publishable key found by its key: its tenant (with the plan, for the quota) and the
/// origins it may be used from.
#[derive(Clone, Debug)]
pub struct FoundKey {
    pub tenant: Tenant,
    pub allowed_origins: Vec<String>,
}

pub async fn find(store: &Store, key: &PublishableKey) -> Result<Option<FoundKey>, StoreError> {
    let Some((row, Some(owner))) = publishable_key::Entity::find()
        .filter(publishable_key::Column::Key.eq(key.as_str()))
        .filter(publishable_key::Column::RevokedAtMs.is_null())
        .find_also_related(tenant::Entity)
        .one(store.reader())
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(FoundKey {
        tenant: Tenant { id: TenantId(owner.id), plan: tenants::parse_plan(&owner.plan)? },
        allowed_origins: serde_json::from_str(&row.allowed_origins)?,
    }))
}
