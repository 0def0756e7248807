use sea_orm::entity::prelude::*;

/// A message announcing a committed change (`mood.changed`, `session.started`), written in the
/// transaction that made the change. `seq` is its position in commit order, given once every
/// transaction that could precede it has ended (`None` until then). On PostgreSQL the table
/// also has `xid`, the writing transaction, filled by default and read only in SQL.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub seq: Option<i64>,
    pub tenant_id: i64,
    pub session_pk: i64,
    pub kind: String,
    pub mood: String,
    /// The message's `data`, as JSON.
    pub payload: String,
    pub created_at_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
