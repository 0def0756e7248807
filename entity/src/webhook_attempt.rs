use sea_orm::entity::prelude::*;

/// One attempt to deliver a message to an endpoint.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_attempts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: i64,
    pub webhook_id: i64,
    pub delivery_id: i64,
    /// 1 for the first attempt.
    pub attempt: i32,
    pub at_ms: i64,
    pub duration_ms: i64,
    pub succeeded: bool,
    pub response_status: Option<i32>,
    /// The start of the receiver's answer, truncated.
    pub response_body: Option<String>,
    /// Why no answer came (refused address, timeout, connection error).
    pub error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
