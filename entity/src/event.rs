use sea_orm::entity::prelude::*;

/// One stored event and the state right after it: the event log is the mood history.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: i64,
    pub session_id: i64,
    /// The client's idempotency id, unique within the session.
    pub event_id: Option<String>,
    pub ts_ms: i64,
    pub received_at_ms: i64,
    pub kind: String,
    pub x: Option<f64>,
    pub y: Option<f64>,
    pub duration_ms: Option<f64>,
    pub speed: Option<f64>,
    pub direction: Option<String>,
    pub url: Option<String>,
    pub message: Option<String>,
    pub valence: f64,
    pub arousal: f64,
    pub tension: f64,
    pub affiliation: f64,
    pub delta_valence: f64,
    pub delta_arousal: f64,
    pub delta_tension: f64,
    pub delta_affiliation: f64,
    pub label: String,
    pub confidence: f64,
    /// JSON array of the signals at this point.
    pub signals: String,
    pub trigger_reason: String,
    pub model_version: String,
    /// The action suggested for the state after this event, and the probability it had of
    /// being chosen (1 for the table); none for events stored before suggestions were logged.
    pub action: Option<String>,
    pub action_probability: Option<f64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::session::Entity", from = "Column::SessionId", to = "super::session::Column::Id")]
    Session,
}

impl Related<super::session::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Session.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
