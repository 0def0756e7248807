use sea_orm::entity::prelude::*;

/// A user's state right after one event of one of their sessions.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "user_history")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: i64,
    pub user_id: i64,
    pub session_id: i64,
    pub ts_ms: i64,
    pub kind: String,
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
    pub signals: String,
    pub trigger_reason: String,
    pub model_version: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
