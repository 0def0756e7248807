//! Every event of a tenant in a time range, with the state after it, page by page.

use super::{Store, StoreError};
use crate::domain::Tenant;
use entity::event::{self, Column as E};
use entity::session;
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, FromQueryResult, JoinType, QueryFilter, QueryOrder, QuerySelect, RelationTrait,
};

/// One exported event.
#[derive(Clone, Debug, PartialEq, FromQueryResult)]
pub struct ExportRow {
    pub id: i64,
    /// The client's session id.
    pub session_id: String,
    pub event_id: Option<String>,
    pub ts_ms: i64,
    pub received_at_ms: i64,
    pub kind: String,
    pub x: Option<f64>,
    pub y: Option<f64>,
    pub duration_ms: Option<f64>,
    pub speed: Option<f64>,
    pub direction: Option<String>,
    pub url: Option<String>,
    pub message: Option<String>,
    pub valence: f64,
    pub arousal: f64,
    pub tension: f64,
    pub affiliation: f64,
    pub delta_valence: f64,
    pub delta_arousal: f64,
    pub delta_tension: f64,
    pub delta_affiliation: f64,
    pub label: String,
    pub confidence: f64,
    pub trigger_reason: String,
    pub model_version: String,
    pub action: Option<String>,
    pub action_probability: Option<f64>,
}

/// Where a page ends: the next one starts after this (time, id).
pub type ExportCursor = (i64, i64);

/// Up to `limit` events with `from_ms <= ts < to_ms`, in (time, id) order, after `after`.
pub async fn page(
    store: &Store,
    tenant: &Tenant,
    from_ms: i64,
    to_ms: i64,
    after: Option<ExportCursor>,
    limit: u64,
) -> Result<Vec<ExportRow>, StoreError> {
    let mut query = event::Entity::find()
        .select_only()
        .columns([
            E::Id,
            E::EventId,
            E::TsMs,
            E::ReceivedAtMs,
            E::Kind,
            E::X,
            E::Y,
            E::DurationMs,
            E::Speed,
            E::Direction,
            E::Url,
            E::Message,
            E::Valence,
            E::Arousal,
            E::Tension,
            E::Affiliation,
            E::DeltaValence,
            E::DeltaArousal,
            E::DeltaTension,
            E::DeltaAffiliation,
            E::Label,
            E::Confidence,
            E::TriggerReason,
            E::ModelVersion,
            E::Action,
            E::ActionProbability,
        ])
        .column_as(session::Column::ExternalId, "session_id")
        .join(JoinType::InnerJoin, event::Relation::Session.def())
        .filter(E::TenantId.eq(tenant.id.get()))
        .filter(E::TsMs.gte(from_ms))
        .filter(E::TsMs.lt(to_ms));
    if let Some((ts, id)) = after {
        query = query
            .filter(Condition::any().add(E::TsMs.gt(ts)).add(Condition::all().add(E::TsMs.eq(ts)).add(E::Id.gt(id))));
    }
    Ok(query
        .order_by_asc(E::TsMs)
        .order_by_asc(E::Id)
        .limit(limit)
        .into_model::<ExportRow>()
        .all(store.reader())
        .await?)
}
