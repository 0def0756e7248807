use sea_orm::entity::prelude::*;

/// A key that signs session tokens (HMAC-SHA256); the newest generation signs, all verify.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "signing_keys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub generation: i64,
    #[sea_orm(unique)]
    pub kid: String,
    /// base64 of the 32-byte secret.
    pub secret: String,
    pub created_at_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
