//! Aggregates over a tenant's sessions, read from maintained rollups (never a scan).

use super::rollup;
use super::{Store, StoreError};
use crate::domain::Tenant;
use crate::engine::Mood;
use entity::mood_rollup::{self, Column};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

/// Sessions per current label, and sessions with feedback.
#[derive(Clone, Debug, PartialEq)]
pub struct MoodCounts {
    /// Indexed by [`Mood::index`].
    pub sessions: [i64; Mood::COUNT],
    pub with_feedback: i64,
}

impl MoodCounts {
    pub fn total(&self) -> i64 {
        self.sessions.iter().sum()
    }
}

pub async fn mood_counts(store: &Store, tenant: &Tenant) -> Result<MoodCounts, StoreError> {
    let mut query = mood_rollup::Entity::find().select_only();
    for mood in Mood::ALL {
        query = query.column_as(Expr::col(rollup::column(mood)).sum().cast_as("BIGINT"), mood.as_str());
    }
    let sums: Option<(Option<i64>, Option<i64>, Option<i64>, Option<i64>, Option<i64>, Option<i64>, Option<i64>, Option<i64>)> =
        query
            .column_as(Expr::col(Column::WithFeedback).sum().cast_as("BIGINT"), "with_feedback")
            .filter(Column::TenantId.eq(tenant.id.get()))
            .into_tuple()
            .one(store.reader())
            .await?;
    let (a, b, c, d, e, f, g, fb) = sums.unwrap_or_default();
    let z = |v: Option<i64>| v.unwrap_or(0);
    Ok(MoodCounts { sessions: [z(a), z(b), z(c), z(d), z(e), z(f), z(g)], with_feedback: z(fb) })
}
