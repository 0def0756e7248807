use sea_orm::entity::prelude::*;

/// The outcome of an action, with the mood and signals it answered (for the learning loop).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "feedback")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: i64,
    pub session_id: i64,
    pub action_taken: String,
    pub was_helpful: Option<bool>,
    pub notes: Option<String>,
    pub mood: String,
    pub confidence: f64,
    pub signals: String,
    pub created_at_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
