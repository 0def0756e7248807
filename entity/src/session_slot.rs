use sea_orm::entity::prelude::*;

/// A session's state after its last event applied in one 15-minute slot (UTC), the slot's
/// event count, and the session's next slot with events (`None` for its latest).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "session_slots")]
pub struct Model {
    pub tenant_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub session_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub slot_ms: i64,
    pub next_slot_ms: Option<i64>,
    pub events: i64,
    pub label: String,
    pub valence: f64,
    pub arousal: f64,
    pub tension: f64,
    pub affiliation: f64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
