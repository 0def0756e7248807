use sea_orm::entity::prelude::*;

/// What the intervention policy learns from, per (context, action): how often it was
/// suggested, and the feedback it got. Sharded by session like the mood rollup; readers sum.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "intervention_counts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: i64,
    /// The context: the mood label and its strongest signal (`none` without one).
    #[sea_orm(primary_key, auto_increment = false)]
    pub mood: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub signal: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub action: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub shard: i16,
    /// Times a session's suggestion became this action in this context.
    pub suggested: i64,
    /// Feedback records crediting it, rated or not.
    pub feedback: i64,
    pub helpful: i64,
    pub unhelpful: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
