use sea_orm::entity::prelude::*;

/// One change to [`super::slot_rollup`], appended by triggers on `session_slots` in the
/// writer's transaction and moved into the rollup by compaction; readers add the ones not yet
/// moved.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "slot_deltas")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: i64,
    pub slot_ms: i64,
    pub gap_slots: i64,
    pub sessions: i64,
    pub events: i64,
    pub frustrated: i64,
    pub confused: i64,
    pub decisive: i64,
    pub browsing: i64,
    pub disengaged: i64,
    pub focused: i64,
    pub neutral: i64,
    pub valence_e9: i64,
    pub arousal_e9: i64,
    pub tension_e9: i64,
    pub affiliation_e9: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
