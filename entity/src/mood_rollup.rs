use sea_orm::entity::prelude::*;

/// Sessions per current label, maintained on every write so analytics never scan. A tenant has
/// several shards (a session's shard is its id modulo the shard count) so that concurrent
/// writers of one tenant do not all wait on one row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "mood_rollup")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub shard: i16,
    pub frustrated: i64,
    pub confused: i64,
    pub decisive: i64,
    pub browsing: i64,
    pub disengaged: i64,
    pub focused: i64,
    pub neutral: i64,
    /// Sessions with at least one feedback record.
    pub with_feedback: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
