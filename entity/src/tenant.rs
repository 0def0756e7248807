use sea_orm::entity::prelude::*;

/// A customer. Everything else is scoped by its id.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "tenants")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    /// `starter`, `growth` or `pro`.
    pub plan: String,
    pub created_at_ms: i64,
    /// Days of events and history kept (`GET`/`PUT /v1/settings/retention`).
    pub retention_days: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
