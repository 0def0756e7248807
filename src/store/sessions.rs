//! Sessions: ingesting event batches, reading the current mood, erasure.

use super::rollup::{self, Change};
use super::{Store, StoreError, insert_chunked, quota, retry_on_conflict, timeline, users};
use crate::domain::{NewEvent, SessionId, Tenant, UserId};
use crate::engine::{
    AffectState, HistoryRecord, Model, Models, Mood, ScrollDirection, Signal, SuggestedAction, apply_batch, project,
};
use chrono::{DateTime, Utc};
use entity::{event, session};
use sea_orm::ActiveValue::{NotSet, Set, Unchanged};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use std::collections::HashSet;

/// What a batch did.
#[derive(Clone, Debug, PartialEq)]
pub struct Ingested {
    pub events_stored: usize,
    /// Events whose `event_id` the session already had (or that repeated one in the batch).
    pub duplicates: usize,
    pub total_events: i64,
    pub mood: Mood,
}

/// A session's current mood as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct CurrentMood {
    pub label: Mood,
    pub confidence: f64,
    pub signals: Vec<Signal>,
    pub action: SuggestedAction,
    pub event_count: i64,
    pub updated_at_ms: i64,
}

/// Stores a validated batch and the state it leads to, atomically: all of it or nothing.
/// The first batch of a session takes one new session from the tenant's monthly allowance.
/// A batch for one session, optionally naming the person it belongs to.
#[derive(Clone, Copy, Debug)]
pub struct Batch<'a> {
    pub session: &'a SessionId,
    pub user: Option<&'a UserId>,
    pub events: &'a [NewEvent],
}

/// Stores a validated batch and the states it leads to, atomically: all of it or nothing.
/// The first batch of a session takes one new session from the tenant's monthly allowance.
/// A session linked to a user (now or before) also moves that user's state.
pub async fn ingest(
    store: &Store,
    models: &Models,
    tenant: &Tenant,
    batch: Batch<'_>,
    now: DateTime<Utc>,
) -> Result<Ingested, StoreError> {
    retry_on_conflict(|| ingest_once(store, models, tenant, batch, now)).await
}

async fn ingest_once(
    store: &Store,
    models: &Models,
    tenant: &Tenant,
    Batch { session: id, user, events: batch }: Batch<'_>,
    now: DateTime<Utc>,
) -> Result<Ingested, StoreError> {
    let model = &models.session;
    let txn = store.begin_write().await?;
    let existing = find(tenant, id).lock_exclusive().one(&txn).await?;
    let owner = match existing.as_ref().and_then(|row| row.user_id) {
        Some(pk) => users::lock_pk(&txn, tenant, pk).await?,
        None => None,
    };
    if let (Some(owner), Some(requested)) = (&owner, user)
        && owner.external_id != requested.as_str()
    {
        return Err(StoreError::UserConflict);
    }
    let mut seen = match &existing {
        Some(row) => known_event_ids(&txn, row.id, batch).await?,
        None => HashSet::new(),
    };
    let mut fresh: Vec<&NewEvent> =
        batch.iter().filter(|e| e.event_id.as_ref().is_none_or(|eid| seen.insert(eid.clone()))).collect();
    let duplicates = batch.len() - fresh.len();
    if fresh.is_empty() {
        let row = existing.expect("a batch has at least one event, so an all-duplicate batch has a session");
        return Ok(Ingested {
            events_stored: 0,
            duplicates,
            total_events: row.event_count,
            mood: parse_label(&row.label)?,
        });
    }
    let owner = match (owner, user) {
        (Some(owner), _) => Some(owner),
        (None, Some(requested)) => Some(users::lock_or_create(&txn, &models.user, tenant, requested, now).await?),
        (None, None) => None,
    };
    // Stable sort: apply_batch keeps this order, so records line up with `fresh`.
    fresh.sort_by_key(|e| e.event.ts_ms);
    let mut state: AffectState = match &existing {
        Some(row) => serde_json::from_str(&row.state)?,
        None => AffectState::new(model),
    };
    let previous_latest_ms = state.last_interaction_at_ms;
    let engine_events: Vec<_> = fresh.iter().map(|e| e.event.clone()).collect();
    let records = apply_batch(model, &mut state, &engine_events);
    let projection = project(model, &state);
    let now_ms = now.timestamp_millis();

    let mut row = session::ActiveModel {
        id: NotSet,
        tenant_id: Set(tenant.id.get()),
        external_id: Set(id.as_str().to_owned()),
        created_at_ms: Set(now_ms),
        updated_at_ms: Set(state.last_interaction_at_ms.unwrap_or(now_ms)),
        event_count: Set(state.event_count as i64),
        label: Set(projection.label.as_str().to_owned()),
        confidence: Set(projection.confidence),
        action: Set(projection.action.as_str().to_owned()),
        valence: Set(state.dims[0]),
        arousal: Set(state.dims[1]),
        tension: Set(state.dims[2]),
        affiliation: Set(state.dims[3]),
        signals: Set(serde_json::to_string(&projection.signals)?),
        state: Set(serde_json::to_string(&state)?),
        model_version: Set(model.version.clone()),
        has_feedback: Set(false),
        user_id: Set(owner.as_ref().map(|u| u.id)),
    };
    let (session_pk, previous) = match &existing {
        Some(old) => {
            row.id = Unchanged(old.id);
            row.created_at_ms = Unchanged(old.created_at_ms);
            row.has_feedback = Unchanged(old.has_feedback);
            session::Entity::update(row).exec(&txn).await?;
            (old.id, Some(parse_label(&old.label)?))
        }
        None => (session::Entity::insert(row).exec(&txn).await?.last_insert_id, None),
    };
    insert_events(&txn, tenant, session_pk, &fresh, &records, model, now_ms).await?;
    timeline::record(&txn, tenant, session_pk, previous_latest_ms, &records).await?;
    // Last, so the tenant's one counter row is locked for as short a time as possible; a
    // refusal rolls everything above back.
    if existing.is_none() {
        quota::take_one(&txn, tenant, now).await?;
    }
    let change = Change { leave: previous, enter: Some(projection.label), feedback: 0 };
    rollup::apply(&txn, tenant.id, session_pk, change).await?;
    if let Some(owner) = owner {
        users::apply(&txn, &models.user, owner, session_pk, &engine_events).await?;
    }
    txn.commit().await?;
    Ok(Ingested {
        events_stored: fresh.len(),
        duplicates,
        total_events: state.event_count as i64,
        mood: projection.label,
    })
}

fn find(tenant: &Tenant, id: &SessionId) -> sea_orm::Select<session::Entity> {
    session::Entity::find()
        .filter(session::Column::TenantId.eq(tenant.id.get()))
        .filter(session::Column::ExternalId.eq(id.as_str()))
}

/// Which of the batch's event ids the session already stored.
async fn known_event_ids(
    db: &impl ConnectionTrait,
    session_pk: i64,
    batch: &[NewEvent],
) -> Result<HashSet<String>, StoreError> {
    let ids: Vec<&str> = batch.iter().filter_map(|e| e.event_id.as_deref()).collect();
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let known: Vec<Option<String>> = event::Entity::find()
        .select_only()
        .column(event::Column::EventId)
        .filter(event::Column::SessionId.eq(session_pk))
        .filter(event::Column::EventId.is_in(ids))
        .into_tuple()
        .all(db)
        .await?;
    Ok(known.into_iter().flatten().collect())
}

async fn insert_events(
    db: &impl ConnectionTrait,
    tenant: &Tenant,
    session_pk: i64,
    events: &[&NewEvent],
    records: &[HistoryRecord],
    model: &Model,
    now_ms: i64,
) -> Result<(), StoreError> {
    let mut rows = Vec::with_capacity(events.len());
    for (e, r) in events.iter().zip(records) {
        rows.push(event::ActiveModel {
            id: NotSet,
            tenant_id: Set(tenant.id.get()),
            session_id: Set(session_pk),
            event_id: Set(e.event_id.clone()),
            ts_ms: Set(e.event.ts_ms),
            received_at_ms: Set(now_ms),
            kind: Set(e.event.kind.as_str().to_owned()),
            x: Set(e.event.x),
            y: Set(e.event.y),
            duration_ms: Set(e.event.duration_ms),
            speed: Set(e.event.speed),
            direction: Set(e.event.direction.map(|d| match d {
                ScrollDirection::Up => "up".to_owned(),
                ScrollDirection::Down => "down".to_owned(),
            })),
            url: Set(e.url.clone()),
            message: Set(e.message.clone()),
            valence: Set(r.dims[0]),
            arousal: Set(r.dims[1]),
            tension: Set(r.dims[2]),
            affiliation: Set(r.dims[3]),
            delta_valence: Set(r.delta[0]),
            delta_arousal: Set(r.delta[1]),
            delta_tension: Set(r.delta[2]),
            delta_affiliation: Set(r.delta[3]),
            label: Set(r.label.as_str().to_owned()),
            confidence: Set(r.confidence),
            signals: Set(serde_json::to_string(&r.signals)?),
            trigger_reason: Set(r.trigger_reason.clone()),
            model_version: Set(model.version.clone()),
        });
    }
    Ok(insert_chunked(db, rows).await?)
}

pub(super) fn parse_label(s: &str) -> Result<Mood, StoreError> {
    s.parse().map_err(|()| StoreError::Corrupt(format!("unknown mood label {s:?}")))
}

/// The session's mood at its latest event, or `None` if the tenant has no such session.
pub async fn current_mood(store: &Store, tenant: &Tenant, id: &SessionId) -> Result<Option<CurrentMood>, StoreError> {
    use session::Column as C;
    // Only the projection's columns: the engine state is most of the row and not needed here.
    let row: Option<(String, f64, String, String, i64, i64)> = find(tenant, id)
        .select_only()
        .columns([C::Label, C::Confidence, C::Signals, C::Action, C::EventCount, C::UpdatedAtMs])
        .into_tuple()
        .one(store.reader())
        .await?;
    let Some((label, confidence, signals, action, event_count, updated_at_ms)) = row else { return Ok(None) };
    Ok(Some(CurrentMood {
        label: parse_label(&label)?,
        confidence,
        signals: serde_json::from_str(&signals)?,
        action: action.parse().map_err(|()| StoreError::Corrupt(format!("unknown action {action:?}")))?,
        event_count,
        updated_at_ms,
    }))
}

/// A session's engine state as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredState {
    pub state: AffectState,
    pub created_at_ms: i64,
    pub model_version: String,
}

pub async fn state(store: &Store, tenant: &Tenant, id: &SessionId) -> Result<Option<StoredState>, StoreError> {
    let Some(row) = find(tenant, id).one(store.reader()).await? else { return Ok(None) };
    Ok(Some(StoredState {
        state: serde_json::from_str(&row.state)?,
        created_at_ms: row.created_at_ms,
        model_version: row.model_version,
    }))
}

/// The session's row id, for queries over its events.
pub(super) async fn pk(store: &Store, tenant: &Tenant, id: &SessionId) -> Result<Option<i64>, StoreError> {
    Ok(find(tenant, id).select_only().column(session::Column::Id).into_tuple().one(store.reader()).await?)
}

/// Erases the session's events, state and feedback in one transaction; `false` if there was
/// no such session for this tenant.
pub async fn erase(store: &Store, tenant: &Tenant, id: &SessionId) -> Result<bool, StoreError> {
    let txn = store.begin_write().await?;
    let Some(row) = find(tenant, id).lock_exclusive().one(&txn).await? else { return Ok(false) };
    users::erase_session_rows(&txn, row.id).await?;
    let change = Change { leave: Some(parse_label(&row.label)?), enter: None, feedback: -i64::from(row.has_feedback) };
    rollup::apply(&txn, tenant.id, row.id, change).await?;
    txn.commit().await?;
    Ok(true)
}

/// Locks and returns the session row inside a write transaction (for feedback).
pub(super) async fn lock(
    txn: &sea_orm::DatabaseTransaction,
    tenant: &Tenant,
    id: &SessionId,
) -> Result<Option<session::Model>, StoreError> {
    Ok(find(tenant, id).lock_exclusive().one(txn).await?)
}
