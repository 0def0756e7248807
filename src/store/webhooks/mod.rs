//! Webhook endpoints, always for one tenant: saving, reading, changing and deleting them, and
//! rotating their secrets. Their deliveries and attempts are [`deliveries`]'.

mod deliveries;

pub use deliveries::{
    Attempt, Claimed, DELIVERED, FAILED, LEASE_MS, Outcome, PENDING, Resend, attempts, backlog, claim, record, release,
    resend,
};

use super::{Store, StoreError};
use crate::domain::Tenant;
use crate::engine::Mood;
use crate::push::Kind;
use entity::{webhook, webhook_attempt, webhook_delivery};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    Statement,
};

/// Endpoints a tenant may have.
pub const MAX_PER_TENANT: u64 = 20;

/// What an endpoint wants sent.
#[derive(Clone, Debug, PartialEq)]
pub struct Subscription {
    pub id: i64,
    pub tenant_id: i64,
    pub event_types: Vec<Kind>,
    /// `None`: every mood.
    pub moods: Option<Vec<Mood>>,
}

impl Subscription {
    pub fn wants(&self, kind: Kind, mood: Mood) -> bool {
        self.event_types.contains(&kind) && self.moods.as_ref().is_none_or(|moods| moods.contains(&mood))
    }
}

/// The enabled endpoints of these tenants.
pub(super) async fn enabled_for(db: &impl ConnectionTrait, tenants: &[i64]) -> Result<Vec<Subscription>, StoreError> {
    let rows = webhook::Entity::find()
        .filter(webhook::Column::TenantId.is_in(tenants.iter().copied()))
        .filter(webhook::Column::Enabled.eq(true))
        .all(db)
        .await?;
    rows.iter().map(|w| Ok(Webhook::from_row(w)?.subscription(w.tenant_id))).collect()
}

/// An endpoint as its owner sees it (never its secrets).
#[derive(Clone, Debug, PartialEq)]
pub struct Webhook {
    pub id: i64,
    pub public_id: String,
    pub url: String,
    pub event_types: Vec<Kind>,
    pub moods: Option<Vec<Mood>>,
    pub description: Option<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub failing_since_ms: Option<i64>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

impl Webhook {
    fn from_row(row: &webhook::Model) -> Result<Self, StoreError> {
        let corrupt = || StoreError::Corrupt(format!("webhook {}", row.id));
        let kinds: Vec<String> = serde_json::from_str(&row.event_types)?;
        let event_types = kinds.iter().map(|k| k.parse().map_err(|()| corrupt())).collect::<Result<_, _>>()?;
        let moods = match &row.moods {
            Some(text) => {
                let moods: Vec<String> = serde_json::from_str(text)?;
                Some(moods.iter().map(|m| m.parse().map_err(|()| corrupt())).collect::<Result<_, _>>()?)
            }
            None => None,
        };
        Ok(Self {
            id: row.id,
            public_id: row.public_id.clone(),
            url: row.url.clone(),
            event_types,
            moods,
            description: row.description.clone(),
            enabled: row.enabled,
            disabled_reason: row.disabled_reason.clone(),
            failing_since_ms: row.failing_since_ms,
            created_at_ms: row.created_at_ms,
            updated_at_ms: row.updated_at_ms,
        })
    }

    fn subscription(&self, tenant_id: i64) -> Subscription {
        Subscription { id: self.id, tenant_id, event_types: self.event_types.clone(), moods: self.moods.clone() }
    }
}

fn kinds_json(kinds: &[Kind]) -> String {
    serde_json::to_string(&kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>()).expect("strings serialise")
}

fn moods_json(moods: &Option<Vec<Mood>>) -> Option<String> {
    moods.as_ref().map(|m| serde_json::to_string(&m.iter().map(|m| m.as_str()).collect::<Vec<_>>()).expect("strings"))
}

/// A new endpoint, checked by the caller.
pub struct NewWebhook {
    pub public_id: String,
    pub url: String,
    pub event_types: Vec<Kind>,
    pub moods: Option<Vec<Mood>>,
    pub description: Option<String>,
    /// `whsec_…`
    pub secret: String,
}

/// Saves a new endpoint; `None` if the tenant has [`MAX_PER_TENANT`] already.
pub async fn create(
    store: &Store,
    tenant: &Tenant,
    new: NewWebhook,
    now_ms: i64,
) -> Result<Option<Webhook>, StoreError> {
    let txn = store.begin_write().await?;
    // Serialises a tenant's creations on PostgreSQL, so the limit holds under concurrency.
    lock_tenant(&txn, tenant).await?;
    let count = webhook::Entity::find().filter(webhook::Column::TenantId.eq(tenant.id.get())).count(&txn).await?;
    if count >= MAX_PER_TENANT {
        return Ok(None);
    }
    let row = webhook::ActiveModel {
        id: NotSet,
        public_id: Set(new.public_id),
        tenant_id: Set(tenant.id.get()),
        url: Set(new.url),
        event_types: Set(kinds_json(&new.event_types)),
        moods: Set(moods_json(&new.moods)),
        description: Set(new.description),
        enabled: Set(true),
        disabled_reason: Set(None),
        secret: Set(new.secret),
        previous_secret: Set(None),
        previous_secret_until_ms: Set(None),
        failing_since_ms: Set(None),
        created_at_ms: Set(now_ms),
        updated_at_ms: Set(now_ms),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(Some(Webhook::from_row(&row)?))
}

async fn lock_tenant(txn: &impl ConnectionTrait, tenant: &Tenant) -> Result<(), StoreError> {
    if txn.get_database_backend() == DbBackend::Postgres {
        let sql = "SELECT id FROM tenants WHERE id = $1 FOR UPDATE";
        txn.query_one_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, [tenant.id.get().into()])).await?;
    }
    Ok(())
}

async fn find_row(
    db: &impl ConnectionTrait,
    tenant: &Tenant,
    public_id: &str,
) -> Result<Option<webhook::Model>, StoreError> {
    Ok(webhook::Entity::find()
        .filter(webhook::Column::TenantId.eq(tenant.id.get()))
        .filter(webhook::Column::PublicId.eq(public_id))
        .one(db)
        .await?)
}

/// The tenant's endpoint with this id.
pub async fn get(store: &Store, tenant: &Tenant, public_id: &str) -> Result<Option<Webhook>, StoreError> {
    find_row(store.reader(), tenant, public_id).await?.as_ref().map(Webhook::from_row).transpose()
}

/// The tenant's endpoints, oldest first.
pub async fn list(store: &Store, tenant: &Tenant) -> Result<Vec<Webhook>, StoreError> {
    let rows = webhook::Entity::find()
        .filter(webhook::Column::TenantId.eq(tenant.id.get()))
        .order_by_asc(webhook::Column::Id)
        .all(store.reader())
        .await?;
    rows.iter().map(Webhook::from_row).collect()
}

/// Changes to an endpoint; `None` leaves a field as it is.
#[derive(Default)]
pub struct WebhookUpdate {
    pub url: Option<String>,
    pub event_types: Option<Vec<Kind>>,
    /// `Some(None)`: every mood.
    pub moods: Option<Option<Vec<Mood>>>,
    pub description: Option<Option<String>>,
    pub enabled: Option<bool>,
}

/// Applies `update` to the tenant's endpoint; `None` if it has none with this id. Enabling an
/// endpoint forgets its failures.
pub async fn update(
    store: &Store,
    tenant: &Tenant,
    public_id: &str,
    update: WebhookUpdate,
    now_ms: i64,
) -> Result<Option<Webhook>, StoreError> {
    let Some(row) = find_row(&store.writer, tenant, public_id).await? else { return Ok(None) };
    let mut active: webhook::ActiveModel = row.into();
    if let Some(url) = update.url {
        active.url = Set(url);
    }
    if let Some(kinds) = update.event_types {
        active.event_types = Set(kinds_json(&kinds));
    }
    if let Some(moods) = update.moods {
        active.moods = Set(moods_json(&moods));
    }
    if let Some(description) = update.description {
        active.description = Set(description);
    }
    if let Some(enabled) = update.enabled {
        active.enabled = Set(enabled);
        if enabled {
            active.disabled_reason = Set(None);
            active.failing_since_ms = Set(None);
        }
    }
    active.updated_at_ms = Set(now_ms);
    let row = active.update(&store.writer).await?;
    Ok(Some(Webhook::from_row(&row)?))
}

/// Deletes the tenant's endpoint with its deliveries and attempts; whether it had one.
pub async fn delete(store: &Store, tenant: &Tenant, public_id: &str) -> Result<bool, StoreError> {
    let txn = store.begin_write().await?;
    let Some(row) = find_row(&txn, tenant, public_id).await? else { return Ok(false) };
    webhook_attempt::Entity::delete_many().filter(webhook_attempt::Column::WebhookId.eq(row.id)).exec(&txn).await?;
    webhook_delivery::Entity::delete_many().filter(webhook_delivery::Column::WebhookId.eq(row.id)).exec(&txn).await?;
    webhook::Entity::delete_by_id(row.id).exec(&txn).await?;
    txn.commit().await?;
    Ok(true)
}

/// Makes `secret` the endpoint's signing secret; the one it replaces keeps signing (a second
/// signature) until `previous_until_ms`. `None` if the tenant has no such endpoint.
pub async fn rotate_secret(
    store: &Store,
    tenant: &Tenant,
    public_id: &str,
    secret: String,
    previous_until_ms: i64,
    now_ms: i64,
) -> Result<Option<()>, StoreError> {
    let Some(row) = find_row(&store.writer, tenant, public_id).await? else { return Ok(None) };
    let previous = row.secret.clone();
    let mut active: webhook::ActiveModel = row.into();
    active.secret = Set(secret);
    active.previous_secret = Set(Some(previous));
    active.previous_secret_until_ms = Set(Some(previous_until_ms));
    active.updated_at_ms = Set(now_ms);
    active.update(&store.writer).await?;
    Ok(Some(()))
}
