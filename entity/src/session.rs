use sea_orm::entity::prelude::*;

/// A session's current affect: the engine state (JSON) plus its projection in columns, so
/// analytics read columns and never parse state.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: i64,
    /// The client's session id (1–256 characters).
    pub external_id: String,
    pub created_at_ms: i64,
    /// Time of the latest event applied.
    pub updated_at_ms: i64,
    pub event_count: i64,
    pub label: String,
    pub confidence: f64,
    pub action: String,
    /// The strongest of `signals` (`none` without one): with `label`, the context `action`
    /// was chosen in.
    pub top_signal: String,
    pub valence: f64,
    pub arousal: f64,
    pub tension: f64,
    pub affiliation: f64,
    /// JSON array of the signals behind the label.
    pub signals: String,
    /// JSON of the engine's `AffectState`.
    pub state: String,
    pub model_version: String,
    pub has_feedback: bool,
    /// The user the session belongs to, if any.
    pub user_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
