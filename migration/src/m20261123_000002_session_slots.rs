//! The time-series rollup: one row per session per 15-minute slot (UTC) in which it had events,
//! holding its state after the last event applied in that slot and a pointer to its next slot.
//! Any local hour, day or week is a union of whole slots (every UTC offset in use is a multiple
//! of 15 minutes), and a slot whose next slot lies in a later bucket is the session's last in
//! its bucket: one pass over a range answers a time series.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000002_session_slots"
    }
}

#[derive(DeriveIden)]
enum SessionSlots {
    Table,
    TenantId,
    SessionId,
    SlotMs,
    NextSlotMs,
    Events,
    Label,
    Valence,
    Arousal,
    Tension,
    Affiliation,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(SessionSlots::Table)
                .col(big_integer(SessionSlots::TenantId))
                .col(big_integer(SessionSlots::SessionId))
                .col(big_integer(SessionSlots::SlotMs))
                .col(big_integer_null(SessionSlots::NextSlotMs))
                .col(big_integer(SessionSlots::Events))
                .col(string(SessionSlots::Label))
                .col(double(SessionSlots::Valence))
                .col(double(SessionSlots::Arousal))
                .col(double(SessionSlots::Tension))
                .col(double(SessionSlots::Affiliation))
                .primary_key(Index::create().col(SessionSlots::SessionId).col(SessionSlots::SlotMs))
                .foreign_key(
                    ForeignKey::create()
                        .from(SessionSlots::Table, SessionSlots::SessionId)
                        .to(Sessions::Table, Sessions::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // Covers the time-series scan of a tenant's range: no table access.
        m.create_index(
            Index::create()
                .name("session_slots_tenant_time")
                .table(SessionSlots::Table)
                .col(SessionSlots::TenantId)
                .col(SessionSlots::SlotMs)
                .col(SessionSlots::NextSlotMs)
                .col(SessionSlots::Events)
                .col(SessionSlots::Label)
                .col(SessionSlots::Valence)
                .col(SessionSlots::Arousal)
                .col(SessionSlots::Tension)
                .col(SessionSlots::Affiliation)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(SessionSlots::Table).to_owned()).await
    }
}
