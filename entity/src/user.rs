use sea_orm::entity::prelude::*;

/// A person across sessions (the tenant's own user id) and their affect state.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: i64,
    /// The client's user id (1–256 characters).
    pub external_id: String,
    pub created_at_ms: i64,
    /// Time of the latest event applied.
    pub updated_at_ms: i64,
    pub event_count: i64,
    /// JSON of the engine's `AffectState` under the user model.
    pub state: String,
    pub model_version: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
