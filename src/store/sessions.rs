//! Sessions: the current mood and state, erasure. Batches are written by [`crate::ingest`].

use super::driver::pg_reader::Array;
use super::quota;
use super::rollup::{self, Change};
use super::{Store, StoreError};
use crate::domain::{QuotaMonth, SessionId, Tenant, TenantId};
use crate::engine::{AffectState, Models, Mood, SignalId, SuggestedAction, project};
use crate::interventions::Context;
use chrono::{DateTime, Utc};
use entity::{event, feedback, outbox, session, session_slot, user_history};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::{Expr, Value};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QuerySelect, QueryTrait};
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

/// A session's current mood as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct CurrentMood {
    pub label: Mood,
    pub confidence: f64,
    /// The signals behind the label, strongest first.
    pub signals: Vec<SignalId>,
    pub action: SuggestedAction,
    pub event_count: i64,
    pub updated_at_ms: i64,
    /// The session model its state runs under.
    pub model_version: String,
}

fn find(tenant: &Tenant, id: &SessionId) -> sea_orm::Select<session::Entity> {
    session::Entity::find()
        .filter(session::Column::TenantId.eq(tenant.id.get()))
        .filter(session::Column::ExternalId.eq(id.as_str()))
}

pub(crate) fn parse_label(s: &str) -> Result<Mood, StoreError> {
    s.parse().map_err(|()| StoreError::Corrupt(format!("unknown mood label {s:?}")))
}

pub(super) fn parse_action(s: &str) -> Result<SuggestedAction, StoreError> {
    s.parse().map_err(|()| StoreError::Corrupt(format!("unknown action {s:?}")))
}

/// The ids of a stored signals column (JSON), strongest first.
pub(super) fn signal_ids(json: &str) -> Result<Vec<SignalId>, StoreError> {
    Ok(serde_json::from_str::<Vec<SignalIdOnly>>(json)?.into_iter().map(|s| s.id).collect())
}

/// The moods of several sessions at their latest events, in one query (see [`crate::reads`]);
/// sessions the tenants do not have are absent.
pub async fn current_moods(
    store: &Store,
    keys: &[(TenantId, SessionId)],
) -> Result<HashMap<(TenantId, SessionId), CurrentMood>, StoreError> {
    static POSTGRES: OnceLock<String> = OnceLock::new();
    let sql = POSTGRES.get_or_init(|| {
        let keys = Expr::cust("(tenant_id, external_id) IN (SELECT * FROM UNNEST($1::int8[], $2::text[]))");
        moods_columns().filter(keys).build(DbBackend::Postgres).sql
    });
    let arrays = [
        Array::Int8(keys.iter().map(|(tenant, _)| tenant.get()).collect()),
        Array::Text(keys.iter().map(|(_, id)| id.as_str()).collect()),
    ];
    let rows = store.batch_read(|| moods_query(keys), sql, &arrays).await?;
    decode_moods(keys, rows)
}

/// One session's mood (see [`crate::reads`]): [`current_moods`] for one key, run in process
/// with its statement text built once — building it cost more than running it.
pub async fn current_mood(store: &Store, tenant: TenantId, id: &SessionId) -> Result<Option<CurrentMood>, StoreError> {
    static SQL: OnceLock<String> = OnceLock::new();
    let sql = SQL.get_or_init(|| store.in_process_statement(moods_query(&[(tenant, id.clone())])).sql);
    let rows: Vec<MoodRow> = store.read_in_process(sql, mood_values(tenant, id)).await?;
    // The key is unique: one row at most.
    rows.into_iter().next().map(|row| Ok(decode_mood(row)?.1)).transpose()
}

/// What [`moods_query`] binds for one key, in its order.
fn mood_values(tenant: TenantId, id: &SessionId) -> [Value; 2] {
    [Value::from(tenant.get()), Value::from(id.as_str())]
}

/// Columns as [`moods_query`] selects them.
type MoodRow = (i64, String, String, f64, String, String, i64, i64, String);

fn moods_query(keys: &[(TenantId, SessionId)]) -> sea_orm::Select<session::Entity> {
    use session::Column as C;
    // Tenants in a fixed order: the same set of keys gives the same statement text, which the
    // driver's prepared-statement cache finds again.
    let mut by_tenant: BTreeMap<TenantId, Vec<&str>> = BTreeMap::new();
    for (tenant, id) in keys {
        by_tenant.entry(*tenant).or_default().push(id.as_str());
    }
    let wanted = by_tenant.iter().fold(Condition::any(), |any, (tenant, ids)| {
        any.add(Condition::all().add(C::TenantId.eq(tenant.get())).add(C::ExternalId.is_in(ids.iter().copied())))
    });
    moods_columns().filter(wanted)
}

/// The columns of a [`MoodRow`]: only the projection's, as the engine state is most of the row.
fn moods_columns() -> sea_orm::Select<session::Entity> {
    use session::Column as C;
    session::Entity::find()
        .select_only()
        .columns([C::TenantId, C::ExternalId, C::Label, C::Confidence, C::Signals, C::Action])
        .columns([C::EventCount, C::UpdatedAtMs, C::ModelVersion])
}

/// A stored [`crate::engine::Signal`] read for its id alone: its values are skipped, not built.
#[derive(serde::Deserialize)]
pub(super) struct SignalIdOnly {
    pub(super) id: SignalId,
}

fn decode_moods(
    keys: &[(TenantId, SessionId)],
    rows: Vec<MoodRow>,
) -> Result<HashMap<(TenantId, SessionId), CurrentMood>, StoreError> {
    let mut moods = HashMap::with_capacity(rows.len());
    for row in rows {
        let ((tenant_id, external_id), mood) = decode_mood(row)?;
        let key = keys
            .iter()
            .find(|(t, id)| t.get() == tenant_id && id.as_str() == external_id)
            .expect("selected by these keys");
        moods.insert(key.clone(), mood);
    }
    Ok(moods)
}

/// A row's key (tenant id, session id) and mood.
fn decode_mood(row: MoodRow) -> Result<((i64, String), CurrentMood), StoreError> {
    let (tenant_id, external_id, label, confidence, signals, action, event_count, updated_at_ms, model_version) = row;
    let mood = CurrentMood {
        label: parse_label(&label)?,
        confidence,
        signals: signal_ids(&signals)?,
        action: parse_action(&action)?,
        event_count,
        updated_at_ms,
        model_version,
    };
    Ok(((tenant_id, external_id), mood))
}

/// A session's engine state as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredState {
    pub state: AffectState,
    pub created_at_ms: i64,
    pub model_version: String,
    /// The suggestion stored for the state.
    pub action: SuggestedAction,
}

pub async fn state(store: &Store, tenant: &Tenant, id: &SessionId) -> Result<Option<StoredState>, StoreError> {
    let Some(row) = find(tenant, id).one(store.reader()).await? else { return Ok(None) };
    Ok(Some(StoredState {
        state: serde_json::from_str(&row.state)?,
        created_at_ms: row.created_at_ms,
        model_version: row.model_version,
        action: parse_action(&row.action)?,
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
    erase_many(&txn, tenant.id, &[(row.id, row.label, row.has_feedback)]).await?;
    txn.commit().await?;
    Ok(true)
}

/// Erases these sessions of `tenant` (row id, label, whether they had feedback) in the caller's
/// transaction: everything stored under them, the rows included, and their place in the mood
/// distribution. Their whole change goes to one rollup row (the first session's shard): ingest
/// updates several shards in one statement, in an order PostgreSQL does not promise, and taking
/// shards one by one here deadlocked with it under load. Shards only spread concurrent writers;
/// the distribution is their sum, whichever row a session leaves from.
pub(super) async fn erase_many(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    sessions: &[(i64, String, bool)],
) -> Result<(), StoreError> {
    let Some(&(first, _, _)) = sessions.first() else { return Ok(()) };
    let mut changes = Vec::with_capacity(sessions.len());
    for (_, label, has_feedback) in sessions {
        let change = Change { leave: Some(parse_label(label)?), enter: None, feedback: -i64::from(*has_feedback) };
        changes.push((tenant, first, change));
    }
    let pks = sessions.iter().map(|(pk, _, _)| *pk);
    event::Entity::delete_many().filter(event::Column::SessionId.is_in(pks.clone())).exec(db).await?;
    feedback::Entity::delete_many().filter(feedback::Column::SessionId.is_in(pks.clone())).exec(db).await?;
    session_slot::Entity::delete_many().filter(session_slot::Column::SessionId.is_in(pks.clone())).exec(db).await?;
    user_history::Entity::delete_many().filter(user_history::Column::SessionId.is_in(pks.clone())).exec(db).await?;
    // With their webhook deliveries and attempts (foreign keys' cascades).
    outbox::Entity::delete_many().filter(outbox::Column::SessionPk.is_in(pks.clone())).exec(db).await?;
    session::Entity::delete_many().filter(session::Column::Id.is_in(pks)).exec(db).await?;
    rollup::apply_many(db, changes).await
}

/// Starts a session with no events yet (a browser's, whose id the server chose): it takes one
/// of the tenant's new sessions for the month and counts as `neutral` until its events arrive;
/// its first batch finds it stored. One transaction: refused whole when the quota is used up.
pub async fn start(
    store: &Store,
    models: &Models,
    tenant: &Tenant,
    id: &SessionId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let state = AffectState::new(&models.session);
    let p = project(&models.session, &state);
    let txn = store.begin_write().await?;
    let pk = session::Entity::insert(session::ActiveModel {
        id: NotSet,
        tenant_id: Set(tenant.id.get()),
        external_id: Set(id.as_str().to_owned()),
        created_at_ms: Set(now.timestamp_millis()),
        updated_at_ms: Set(now.timestamp_millis()),
        event_count: Set(0),
        label: Set(p.label.as_str().to_owned()),
        confidence: Set(p.confidence),
        action: Set(p.action.as_str().to_owned()),
        top_signal: Set(Context::of(p.label, &p.signals).signal_str().to_owned()),
        valence: Set(state.dims[0]),
        arousal: Set(state.dims[1]),
        tension: Set(state.dims[2]),
        affiliation: Set(state.dims[3]),
        signals: Set(serde_json::to_string(&p.signals)?),
        state: Set(state.to_json()),
        model_version: Set(models.session.version.clone()),
        has_feedback: Set(false),
        user_id: Set(None),
    })
    .exec(&txn)
    .await?
    .last_insert_id;
    rollup::apply(&txn, tenant.id, pk, Change { leave: None, enter: Some(p.label), feedback: 0 }).await?;
    // The counter every writer for the tenant shares goes last, as in ingest.
    quota::take(&txn, tenant, QuotaMonth::containing(now), 1).await?;
    txn.commit().await?;
    Ok(())
}

/// Locks and returns the session row inside a write transaction (for feedback).
pub(super) async fn lock(
    txn: &sea_orm::DatabaseTransaction,
    tenant: &Tenant,
    id: &SessionId,
) -> Result<Option<session::Model>, StoreError> {
    Ok(find(tenant, id).lock_exclusive().one(txn).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{DbBackend, QueryTrait};

    /// [`current_mood`] runs the one-key statement's text, built once, with [`mood_values`]: right
    /// only while the text does not depend on the key and the values keep the builder's order.
    #[test]
    fn the_one_key_statement_is_built_once_rightly() {
        let keys = [(TenantId(7), SessionId::parse("a").unwrap()), (TenantId(8), SessionId::parse("b'; --").unwrap())];
        let built = keys.clone().map(|key| moods_query(&[key]).build(DbBackend::Sqlite));
        assert_eq!(built[0].sql, built[1].sql);
        for ((tenant, id), statement) in keys.iter().zip(built) {
            assert_eq!(statement.values.unwrap().0, mood_values(*tenant, id));
        }
    }
}
