use sea_orm::entity::prelude::*;

/// A customer's webhook endpoint.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `wh_…`, the id the API shows.
    #[sea_orm(unique)]
    pub public_id: String,
    pub tenant_id: i64,
    pub url: String,
    /// A JSON array of event types.
    pub event_types: String,
    /// A JSON array of moods; `None`: every mood.
    pub moods: Option<String>,
    pub description: Option<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    /// The signing secret, `whsec_…`.
    pub secret: String,
    /// The secret before the last rotation, still signing until `previous_secret_until_ms`.
    pub previous_secret: Option<String>,
    pub previous_secret_until_ms: Option<i64>,
    /// Since when every attempt has failed; `None` after a success.
    pub failing_since_ms: Option<i64>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
