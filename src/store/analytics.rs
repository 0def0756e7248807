//! Aggregates over a tenant's sessions, read from maintained rollups (never a scan).

use super::rollup;
use super::{Store, StoreError};
use crate::domain::{Tenant, TenantId};
use crate::engine::Mood;
use entity::mood_rollup::{self, Column};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, QuerySelect};
use std::collections::HashMap;

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

/// Several tenants' counts in one query (see [`super::reads`]); a tenant without sessions has
/// zeros.
pub async fn mood_counts(store: &Store, tenants: &[TenantId]) -> Result<HashMap<TenantId, MoodCounts>, StoreError> {
    let mut query = mood_rollup::Entity::find().select_only().column(Column::TenantId);
    // PostgreSQL sums BIGINT to NUMERIC: cast back.
    for mood in Mood::ALL {
        query = query.column_as(Expr::col(rollup::column(mood)).sum().cast_as("BIGINT"), mood.as_str());
    }
    let query = query
        .column_as(Expr::col(Column::WithFeedback).sum().cast_as("BIGINT"), "with_feedback")
        .filter(Column::TenantId.is_in(tenants.iter().map(|t| t.get())))
        .group_by(Column::TenantId);
    // Columns as selected: the tenant, the sums in Mood::ALL (= Mood::index) order, feedback.
    type Sums = (i64, i64, i64, i64, i64, i64, i64, i64, i64);
    let rows: Vec<Sums> = store.batch_read(query).await?;
    let mut counts: HashMap<TenantId, MoodCounts> =
        tenants.iter().map(|t| (*t, MoodCounts { sessions: [0; Mood::COUNT], with_feedback: 0 })).collect();
    for (tenant_id, s0, s1, s2, s3, s4, s5, s6, with_feedback) in rows {
        counts.insert(TenantId(tenant_id), MoodCounts { sessions: [s0, s1, s2, s3, s4, s5, s6], with_feedback });
    }
    Ok(counts)
}

/// Mean dimensions over the sessions whose latest event is at or after `since_ms`.
#[derive(Clone, Debug, PartialEq)]
pub struct Aggregate {
    pub sessions: i64,
    /// Distinct users among those sessions (sessions not linked to a user are not counted).
    pub users: i64,
    /// (valence, arousal, tension, affiliation); zeros when there are no sessions.
    pub mean: [f64; 4],
}

#[derive(FromQueryResult)]
struct Means {
    sessions: i64,
    users: i64,
    valence: Option<f64>,
    arousal: Option<f64>,
    tension: Option<f64>,
    affiliation: Option<f64>,
}

pub async fn aggregate(store: &Store, tenant: &Tenant, since_ms: i64) -> Result<Aggregate, StoreError> {
    use entity::session::{self, Column as S};
    let means = session::Entity::find()
        .select_only()
        // COUNT(*), not COUNT(id): every column the query reads is in the covering index.
        .column_as(Expr::cust("COUNT(*)"), "sessions")
        .column_as(Expr::col(S::UserId).count_distinct(), "users")
        .column_as(Expr::col(S::Valence).avg(), "valence")
        .column_as(Expr::col(S::Arousal).avg(), "arousal")
        .column_as(Expr::col(S::Tension).avg(), "tension")
        .column_as(Expr::col(S::Affiliation).avg(), "affiliation")
        .filter(S::TenantId.eq(tenant.id.get()))
        .filter(S::UpdatedAtMs.gte(since_ms))
        .into_model::<Means>()
        .one(store.reader())
        .await?;
    Ok(match means {
        Some(m) => Aggregate {
            sessions: m.sessions,
            users: m.users,
            mean: [m.valence, m.arousal, m.tension, m.affiliation].map(|v| v.unwrap_or(0.0)),
        },
        None => Aggregate { sessions: 0, users: 0, mean: [0.0; 4] },
    })
}
