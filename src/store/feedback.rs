//! Feedback on the actions a mood triggered, stored with the mood it answered, and credited to
//! the action in the context it was suggested in (what the intervention policy learns from).

use super::interventions::{self, Tally};
use super::rollup::{self, Change};
use super::sessions::{SignalIdOnly, parse_label};
use super::{Store, StoreError, sessions};
use crate::domain::{SessionId, Tenant};
use crate::engine::SuggestedAction;
use crate::interventions::Context;
use chrono::{DateTime, Utc};
use entity::{event, feedback, session};
use sea_orm::ActiveValue::{NotSet, Set, Unchanged};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// What a client reported about an action.
#[derive(Clone, Debug, PartialEq)]
pub struct NewFeedback {
    pub action_taken: String,
    pub was_helpful: Option<bool>,
    pub notes: Option<String>,
}

/// Records feedback with the session's current label, confidence and signals; `false` if the
/// tenant has no such session. Feedback on one of the five actions is credited to it in the
/// context it was last suggested to this session in (the current one if it never was): the
/// counts grow in this transaction, so no concurrent feedback is lost. Feedback on any other
/// action is stored and teaches nothing.
pub async fn record(
    store: &Store,
    tenant: &Tenant,
    id: &SessionId,
    fb: NewFeedback,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let txn = store.begin_write().await?;
    let Some(row) = sessions::lock(&txn, tenant, id).await? else { return Ok(false) };
    let credit = match fb.action_taken.parse::<SuggestedAction>() {
        Ok(action) => Some((credited_context(&txn, &row, action).await?, action)),
        Err(()) => None,
    };
    let was_helpful = fb.was_helpful;
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
    if let Some((context, action)) = credit {
        interventions::add(&txn, [Tally::feedback(tenant.id, row.id, context, action, was_helpful)]).await?;
    }
    txn.commit().await?;
    Ok(true)
}

/// The context `action` was last suggested to the session in: the current one if it is the
/// current suggestion, else that of its latest event whose state suggested it, else (never
/// suggested: the client chose it) the current one.
async fn credited_context(
    txn: &DatabaseTransaction,
    session: &session::Model,
    action: SuggestedAction,
) -> Result<Context, StoreError> {
    let current = || -> Result<Context, StoreError> {
        Context::parse(&session.label, &session.top_signal)
            .ok_or_else(|| StoreError::Corrupt(format!("session {} context {}", session.id, session.top_signal)))
    };
    if session.action == action.as_str() {
        return current();
    }
    let earlier: Option<(String, String)> = event::Entity::find()
        .select_only()
        .columns([event::Column::Label, event::Column::Signals])
        .filter(event::Column::SessionId.eq(session.id))
        .filter(event::Column::Action.eq(action.as_str()))
        .order_by_desc(event::Column::Id)
        .limit(1)
        .into_tuple()
        .one(txn)
        .await?;
    match earlier {
        Some((label, signals)) => {
            let strongest = serde_json::from_str::<Vec<SignalIdOnly>>(&signals)?.first().map(|s| s.id);
            Ok(Context { mood: parse_label(&label)?, signal: strongest })
        }
        None => current(),
    }
}
