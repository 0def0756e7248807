//! Interventions: each tenant's settings and the counts its policy learns from.

use super::rollup::SHARDS;
use super::{Store, StoreError};
use crate::domain::{Tenant, TenantId};
use crate::engine::SuggestedAction;
use crate::interventions::{Context, Settings, SettingsError, SettingsPatch};
use chrono::{DateTime, Utc};
use entity::intervention_count::{self, Column as C};
use entity::{intervention_settings, tenant};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QuerySelect};
use std::collections::BTreeMap;

/// A tenant's settings: the stored ones, or the defaults.
pub async fn settings(store: &Store, tenant: &Tenant) -> Result<Settings, StoreError> {
    let row = intervention_settings::Entity::find_by_id(tenant.id.get()).one(store.reader()).await?;
    row.map_or_else(|| Ok(Settings::default()), decode)
}

/// Applies `patch` to the tenant's settings and returns them, or why a value is refused (then
/// nothing changes). Concurrent updates of one tenant take turns on its row, so each applies
/// to what the previous left.
pub async fn update_settings(
    store: &Store,
    tenant: &Tenant,
    patch: SettingsPatch,
    now: DateTime<Utc>,
) -> Result<Result<Settings, SettingsError>, StoreError> {
    let txn = store.begin_write().await?;
    tenant::Entity::find_by_id(tenant.id.get()).lock_exclusive().one(&txn).await?;
    let stored = intervention_settings::Entity::find_by_id(tenant.id.get()).one(&txn).await?;
    let mut settings = stored.map_or_else(|| Ok(Settings::default()), decode)?;
    if let Err(e) = settings.apply(patch) {
        return Ok(Err(e));
    }
    let min_confidence: BTreeMap<&str, f64> = SuggestedAction::ALL
        .into_iter()
        .filter_map(|a| settings.min_confidence[a.index()].map(|min| (a.as_str(), min)))
        .collect();
    let row = intervention_settings::ActiveModel {
        tenant_id: Set(tenant.id.get()),
        learning: Set(settings.learning),
        exploration: Set(settings.exploration),
        disabled_actions: Set(serde_json::to_string(
            &settings.disabled_actions().map(|a| a.as_str()).collect::<Vec<_>>(),
        )?),
        min_confidence: Set(serde_json::to_string(&min_confidence)?),
        updated_at_ms: Set(now.timestamp_millis()),
    };
    use intervention_settings::Column as S;
    let upsert = OnConflict::column(S::TenantId)
        .update_columns([S::Learning, S::Exploration, S::DisabledActions, S::MinConfidence, S::UpdatedAtMs])
        .to_owned();
    intervention_settings::Entity::insert(row).on_conflict(upsert).exec_without_returning(&txn).await?;
    txn.commit().await?;
    Ok(Ok(settings))
}

fn decode(row: intervention_settings::Model) -> Result<Settings, StoreError> {
    let corrupt =
        |what: &str| StoreError::Corrupt(format!("intervention settings of tenant {}: {what}", row.tenant_id));
    let mut settings = Settings { learning: row.learning, exploration: row.exploration, ..Settings::default() };
    for name in serde_json::from_str::<Vec<String>>(&row.disabled_actions)? {
        let action: SuggestedAction = name.parse().map_err(|()| corrupt(&name))?;
        settings.disabled[action.index()] = true;
    }
    for (name, min) in serde_json::from_str::<BTreeMap<String, f64>>(&row.min_confidence)? {
        let action: SuggestedAction = name.parse().map_err(|()| corrupt(&name))?;
        settings.min_confidence[action.index()] = Some(min);
    }
    Ok(settings)
}

/// What a tenant's suggestions and feedback add up to for one (context, action).
#[derive(Clone, Debug, PartialEq)]
pub struct Counts {
    pub context: Context,
    pub action: SuggestedAction,
    pub suggested: i64,
    pub feedback: i64,
    pub helpful: i64,
    pub unhelpful: i64,
}

#[derive(FromQueryResult)]
struct CountsRow {
    mood: String,
    signal: String,
    action: String,
    suggested: i64,
    feedback: i64,
    helpful: i64,
    unhelpful: i64,
}

/// Every (context, action) the tenant has counts for, summed over the shards, in context order.
pub async fn counts(store: &Store, tenant: &Tenant) -> Result<Vec<Counts>, StoreError> {
    let sum = |c: C| Expr::col(c).sum().cast_as(Alias::new(cast_type(store)));
    let rows = intervention_count::Entity::find()
        .select_only()
        .columns([C::Mood, C::Signal, C::Action])
        .expr_as(sum(C::Suggested), "suggested")
        .expr_as(sum(C::Feedback), "feedback")
        .expr_as(sum(C::Helpful), "helpful")
        .expr_as(sum(C::Unhelpful), "unhelpful")
        .filter(C::TenantId.eq(tenant.id.get()))
        .group_by(C::Mood)
        .group_by(C::Signal)
        .group_by(C::Action)
        .into_model::<CountsRow>()
        .all(store.reader())
        .await?;
    let mut counts = rows
        .into_iter()
        .map(|r| {
            let corrupt =
                || StoreError::Corrupt(format!("intervention counts for {}/{}/{}", r.mood, r.signal, r.action));
            Ok(Counts {
                context: Context::parse(&r.mood, &r.signal).ok_or_else(corrupt)?,
                action: r.action.parse().map_err(|()| corrupt())?,
                suggested: r.suggested,
                feedback: r.feedback,
                helpful: r.helpful,
                unhelpful: r.unhelpful,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    counts.sort_by_key(|c| (c.context, c.action.index()));
    Ok(counts)
}

/// `SUM` of a `BIGINT` is `NUMERIC` on PostgreSQL: cast back to what the row reads.
fn cast_type(store: &Store) -> &'static str {
    match store.backend() {
        sea_orm::DbBackend::Postgres => "BIGINT",
        _ => "INTEGER",
    }
}

/// Increments to one session's [`Counts`] (the session picks the shard).
#[derive(Clone, Debug)]
pub(crate) struct Tally {
    pub tenant: TenantId,
    pub session_pk: i64,
    pub add: Counts,
}

impl Tally {
    /// One new suggestion of `action` in `context`.
    pub(crate) fn suggested(tenant: TenantId, session_pk: i64, context: Context, action: SuggestedAction) -> Self {
        let add = Counts { context, action, suggested: 1, feedback: 0, helpful: 0, unhelpful: 0 };
        Self { tenant, session_pk, add }
    }

    /// One feedback record crediting `action` in `context`, with its reward if rated.
    pub(crate) fn feedback(
        tenant: TenantId,
        session_pk: i64,
        context: Context,
        action: SuggestedAction,
        was_helpful: Option<bool>,
    ) -> Self {
        let (helpful, unhelpful) = (i64::from(was_helpful == Some(true)), i64::from(was_helpful == Some(false)));
        let add = Counts { context, action, suggested: 0, feedback: 1, helpful, unhelpful };
        Self { tenant, session_pk, add }
    }
}

/// Adds tallies to the counts, summed per row first, as one statement. Rows go in key order,
/// as every writer sends them, so two writers wait for each other rather than deadlock.
pub(crate) async fn add(db: &impl ConnectionTrait, tallies: impl IntoIterator<Item = Tally>) -> Result<(), StoreError> {
    let mut rows: BTreeMap<(i64, Context, usize, i64), [i64; 4]> = BTreeMap::new();
    for Tally { tenant, session_pk, add: c } in tallies {
        let key = (tenant.get(), c.context, c.action.index(), session_pk.rem_euclid(SHARDS));
        let sums = rows.entry(key).or_default();
        for (sum, n) in sums.iter_mut().zip([c.suggested, c.feedback, c.helpful, c.unhelpful]) {
            *sum += n;
        }
    }
    if rows.is_empty() {
        return Ok(());
    }
    let rows = rows.into_iter().map(|((tenant, context, action, shard), [suggested, feedback, helpful, unhelpful])| {
        intervention_count::ActiveModel {
            tenant_id: Set(tenant),
            mood: Set(context.mood.as_str().to_owned()),
            signal: Set(context.signal_str().to_owned()),
            action: Set(SuggestedAction::ALL[action].as_str().to_owned()),
            shard: Set(shard as i16),
            suggested: Set(suggested),
            feedback: Set(feedback),
            helpful: Set(helpful),
            unhelpful: Set(unhelpful),
        }
    });
    let mut upsert = OnConflict::columns([C::TenantId, C::Mood, C::Signal, C::Action, C::Shard]);
    for c in [C::Suggested, C::Feedback, C::Helpful, C::Unhelpful] {
        upsert.value(c, Expr::col((intervention_count::Entity, c)).add(Expr::col((Alias::new("excluded"), c))));
    }
    intervention_count::Entity::insert_many(rows).on_conflict(upsert).exec_without_returning(db).await?;
    Ok(())
}
