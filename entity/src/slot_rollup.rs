use sea_orm::entity::prelude::*;

/// The session slots of a tenant summed per 15-minute slot and gap to each session's next slot
/// (in slots, 768 for none within 8 days): what the time series reads instead of the slots. The
/// dimensions are sums in billionths. Compacted from [`super::slot_delta`].
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "slot_rollup")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub slot_ms: i64,
    #[sea_orm(primary_key, auto_increment = false)]
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
