//! The maintained per-tenant mood counts behind `GET /v1/analytics/moods`.

use super::StoreError;
use crate::domain::TenantId;
use crate::engine::Mood;
use entity::mood_rollup::{self, Column};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use std::collections::BTreeMap;

/// Rows per tenant: concurrent writers to one tenant spread over this many rows.
pub(super) const SHARDS: i64 = 8;

pub(super) fn column(mood: Mood) -> Column {
    match mood {
        Mood::Frustrated => Column::Frustrated,
        Mood::Confused => Column::Confused,
        Mood::Decisive => Column::Decisive,
        Mood::Browsing => Column::Browsing,
        Mood::Disengaged => Column::Disengaged,
        Mood::Focused => Column::Focused,
        Mood::Neutral => Column::Neutral,
    }
}

/// Creates a new tenant's rows.
pub(super) async fn create(db: &impl ConnectionTrait, tenant: TenantId) -> Result<(), StoreError> {
    let rows = (0..SHARDS).map(|shard| mood_rollup::ActiveModel {
        tenant_id: Set(tenant.get()),
        shard: Set(shard as i16),
        frustrated: Set(0),
        confused: Set(0),
        decisive: Set(0),
        browsing: Set(0),
        disengaged: Set(0),
        focused: Set(0),
        neutral: Set(0),
        with_feedback: Set(0),
    });
    mood_rollup::Entity::insert_many(rows).exec(db).await?;
    Ok(())
}

/// A change to one session's contribution.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Change {
    pub leave: Option<Mood>,
    pub enter: Option<Mood>,
    pub feedback: i64,
}

pub(super) async fn apply(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    session_pk: i64,
    change: Change,
) -> Result<(), StoreError> {
    apply_many(db, [(tenant, session_pk, change)]).await
}

/// Applies many sessions' changes: summed per tenant and shard, one statement for each that moves.
pub(crate) async fn apply_many(
    db: &impl ConnectionTrait,
    changes: impl IntoIterator<Item = (TenantId, i64, Change)>,
) -> Result<(), StoreError> {
    // Per (tenant, shard): the count delta of each mood, then of sessions with feedback.
    let mut deltas: BTreeMap<(i64, i16), [i64; Mood::COUNT + 1]> = BTreeMap::new();
    for (tenant, session_pk, change) in changes {
        let delta = deltas.entry((tenant.get(), session_pk.rem_euclid(SHARDS) as i16)).or_default();
        if change.leave != change.enter {
            if let Some(m) = change.leave {
                delta[m.index()] -= 1;
            }
            if let Some(m) = change.enter {
                delta[m.index()] += 1;
            }
        }
        delta[Mood::COUNT] += change.feedback;
    }
    for ((tenant, shard), delta) in deltas {
        let moved: Vec<(Column, i64)> = Mood::ALL
            .iter()
            .map(|m| (column(*m), delta[m.index()]))
            .chain([(Column::WithFeedback, delta[Mood::COUNT])])
            .filter(|(_, d)| *d != 0)
            .collect();
        if moved.is_empty() {
            continue;
        }
        let mut update =
            mood_rollup::Entity::update_many().filter(Column::TenantId.eq(tenant)).filter(Column::Shard.eq(shard));
        for (c, d) in moved {
            update = update.col_expr(c, Expr::col(c).add(d));
        }
        update.exec(db).await?;
    }
    Ok(())
}
