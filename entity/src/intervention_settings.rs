use sea_orm::entity::prelude::*;

/// A tenant's intervention settings; no row means the defaults.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "intervention_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: i64,
    pub learning: bool,
    pub exploration: f64,
    /// JSON array of action names never suggested.
    pub disabled_actions: String,
    /// JSON object: action name → minimum confidence, for the actions the tenant set.
    pub min_confidence: String,
    pub updated_at_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
