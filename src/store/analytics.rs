//! Aggregates over a tenant's sessions, read from maintained rollups (never a scan).

use super::driver::pg_reader::Array;
use super::rollup;
use super::{Store, StoreError};
use crate::domain::{Tenant, TenantId};
use crate::engine::Mood;
use entity::mood_rollup::{self, Column};
use sea_orm::sea_query::{Expr, ExprTrait, Value};
use sea_orm::{ColumnTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter, QuerySelect, QueryTrait};
use std::collections::HashMap;
use std::sync::OnceLock;

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

/// Several tenants' counts in one query (see [`crate::reads`]); a tenant without sessions has
/// zeros.
pub async fn mood_counts(store: &Store, tenants: &[TenantId]) -> Result<HashMap<TenantId, MoodCounts>, StoreError> {
    static POSTGRES: OnceLock<String> = OnceLock::new();
    let sql = POSTGRES.get_or_init(|| {
        counts_columns().filter(Expr::cust("tenant_id = ANY($1::int8[])")).build(DbBackend::Postgres).sql
    });
    let arrays = [Array::Int8(tenants.iter().map(|t| t.get()).collect())];
    let rows = store.batch_read(|| counts_query(tenants), sql, &arrays).await?;
    Ok(decode_counts(tenants, rows))
}

/// One tenant's counts (see [`crate::reads`]): [`mood_counts`] for one tenant, run in process
/// with its statement text built once.
pub async fn tenant_mood_counts(store: &Store, tenant: TenantId) -> Result<MoodCounts, StoreError> {
    static SQL: OnceLock<String> = OnceLock::new();
    let sql = SQL.get_or_init(|| store.in_process_statement(counts_query(&[tenant])).sql);
    let rows = store.read_in_process(sql, counts_values(tenant)).await?;
    Ok(decode_counts(&[tenant], rows).remove(&tenant).expect("one entry per tenant asked for"))
}

/// What [`counts_query`] binds for one tenant.
fn counts_values(tenant: TenantId) -> [Value; 1] {
    [Value::from(tenant.get())]
}

/// Columns as [`counts_query`] selects them: the tenant, the sums in `Mood::ALL`
/// (= `Mood::index`) order, feedback.
type Sums = (i64, i64, i64, i64, i64, i64, i64, i64, i64);

fn counts_query(tenants: &[TenantId]) -> sea_orm::Select<mood_rollup::Entity> {
    counts_columns().filter(Column::TenantId.is_in(tenants.iter().map(|t| t.get())))
}

/// [`Sums`] of the rollup rows, by tenant.
fn counts_columns() -> sea_orm::Select<mood_rollup::Entity> {
    let mut query = mood_rollup::Entity::find().select_only().column(Column::TenantId);
    // PostgreSQL sums BIGINT to NUMERIC: cast back.
    for mood in Mood::ALL {
        query = query.column_as(Expr::col(rollup::column(mood)).sum().cast_as("BIGINT"), mood.as_str());
    }
    query.column_as(Expr::col(Column::WithFeedback).sum().cast_as("BIGINT"), "with_feedback").group_by(Column::TenantId)
}

fn decode_counts(tenants: &[TenantId], rows: Vec<Sums>) -> HashMap<TenantId, MoodCounts> {
    let mut counts: HashMap<TenantId, MoodCounts> =
        tenants.iter().map(|t| (*t, MoodCounts { sessions: [0; Mood::COUNT], with_feedback: 0 })).collect();
    for (tenant_id, s0, s1, s2, s3, s4, s5, s6, with_feedback) in rows {
        counts.insert(TenantId(tenant_id), MoodCounts { sessions: [s0, s1, s2, s3, s4, s5, s6], with_feedback });
    }
    counts
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

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{DbBackend, QueryTrait};

    /// [`tenant_mood_counts`] runs the one-tenant statement's text, built once, with
    /// [`counts_values`] (see `sessions::tests`).
    #[test]
    fn the_one_tenant_statement_is_built_once_rightly() {
        let tenants = [TenantId(7), TenantId(8)];
        let built = tenants.map(|t| counts_query(&[t]).build(DbBackend::Sqlite));
        assert_eq!(built[0].sql, built[1].sql);
        for (tenant, statement) in tenants.iter().zip(built) {
            assert_eq!(statement.values.unwrap().0, counts_values(*tenant));
        }
    }
}
