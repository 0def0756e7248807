//! Feedback on the actions a mood triggered, stored with the mood it answered.

use super::rollup::{self, Change};
use super::{Store, StoreError, sessions};
use crate::domain::{SessionId, Tenant};
use chrono::{DateTime, Utc};
use entity::{feedback, session};
use sea_orm::ActiveValue::{NotSet, Set, Unchanged};
use sea_orm::EntityTrait;

/// What a client reported about an action.
#[derive(Clone, Debug, PartialEq)]
pub struct NewFeedback {
    pub action_taken: String,
    pub was_helpful: Option<bool>,
    pub notes: Option<String>,
}

/// Records feedback with the session's current label, confidence and signals; `false` if the
/// tenant has no such session.
pub async fn record(
    store: &Store,
    tenant: &Tenant,
    id: &SessionId,
    fb: NewFeedback,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let txn = store.begin_write().await?;
    let Some(row) = sessions::lock(&txn, tenant, id).await? else { return Ok(false) };
    feedback::Entity::insert(feedback::ActiveModel {
        id: NotSet,
        tenant_id: Set(tenant.id.get()),
        session_id: Set(row.id),
        action_taken: Set(fb.action_taken),
        was_helpful: Set(fb.was_helpful),
        notes: Set(fb.notes),
        mood: Set(row.label.clone()),
        confidence: Set(row.confidence),
        signals: Set(row.signals.clone()),
        created_at_ms: Set(now.timestamp_millis()),
    })
    .exec(&txn)
    .await?;
    if !row.has_feedback {
        let flag = session::ActiveModel { id: Unchanged(row.id), has_feedback: Set(true), ..Default::default() };
        session::Entity::update(flag).exec(&txn).await?;
        rollup::apply(&txn, tenant.id, row.id, Change { feedback: 1, ..Change::default() }).await?;
    }
    txn.commit().await?;
    Ok(true)
}
