//! People across sessions: a tenant's users with their own affect state, the history of that
//! state, and the link from a session to its user.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000003_users"
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    TenantId,
    ExternalId,
    CreatedAtMs,
    UpdatedAtMs,
    EventCount,
    State,
    ModelVersion,
}

#[derive(DeriveIden)]
enum UserHistory {
    Table,
    Id,
    TenantId,
    UserId,
    SessionId,
    TsMs,
    Kind,
    Valence,
    Arousal,
    Tension,
    Affiliation,
    DeltaValence,
    DeltaArousal,
    DeltaTension,
    DeltaAffiliation,
    Label,
    Confidence,
    Signals,
    TriggerReason,
    ModelVersion,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    TenantId,
    UserId,
    UpdatedAtMs,
    Valence,
    Arousal,
    Tension,
    Affiliation,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(big_pk_auto(Users::Id))
                .col(big_integer(Users::TenantId))
                .col(text(Users::ExternalId))
                .col(big_integer(Users::CreatedAtMs))
                .col(big_integer(Users::UpdatedAtMs))
                .col(big_integer(Users::EventCount))
                .col(text(Users::State))
                .col(string(Users::ModelVersion))
                .foreign_key(
                    ForeignKey::create()
                        .from(Users::Table, Users::TenantId)
                        .to(Tenants::Table, Tenants::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("users_tenant_external")
                .table(Users::Table)
                .col(Users::TenantId)
                .col(Users::ExternalId)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(UserHistory::Table)
                .col(big_pk_auto(UserHistory::Id))
                .col(big_integer(UserHistory::TenantId))
                .col(big_integer(UserHistory::UserId))
                .col(big_integer(UserHistory::SessionId))
                .col(big_integer(UserHistory::TsMs))
                .col(string(UserHistory::Kind))
                .col(double(UserHistory::Valence))
                .col(double(UserHistory::Arousal))
                .col(double(UserHistory::Tension))
                .col(double(UserHistory::Affiliation))
                .col(double(UserHistory::DeltaValence))
                .col(double(UserHistory::DeltaArousal))
                .col(double(UserHistory::DeltaTension))
                .col(double(UserHistory::DeltaAffiliation))
                .col(string(UserHistory::Label))
                .col(double(UserHistory::Confidence))
                .col(text(UserHistory::Signals))
                .col(text(UserHistory::TriggerReason))
                .col(string(UserHistory::ModelVersion))
                .foreign_key(
                    ForeignKey::create()
                        .from(UserHistory::Table, UserHistory::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("user_history_user_id")
                .table(UserHistory::Table)
                .col(UserHistory::UserId)
                .col(UserHistory::Id)
                .to_owned(),
        )
        .await?;

        // A session belongs to at most one user; the store keeps the link consistent (SQLite
        // cannot add a foreign key to an existing table).
        m.alter_table(Table::alter().table(Sessions::Table).add_column(big_integer_null(Sessions::UserId)).to_owned())
            .await?;
        m.create_index(
            Index::create()
                .name("sessions_user_updated")
                .table(Sessions::Table)
                .col(Sessions::UserId)
                .col(Sessions::UpdatedAtMs)
                .to_owned(),
        )
        .await?;
        // The aggregate counts distinct users too: cover the user column.
        m.drop_index(Index::drop().name("sessions_tenant_updated").table(Sessions::Table).to_owned()).await?;
        m.create_index(
            Index::create()
                .name("sessions_tenant_updated")
                .table(Sessions::Table)
                .col(Sessions::TenantId)
                .col(Sessions::UpdatedAtMs)
                .col(Sessions::Valence)
                .col(Sessions::Arousal)
                .col(Sessions::Tension)
                .col(Sessions::Affiliation)
                .col(Sessions::UserId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("sessions_user_updated").table(Sessions::Table).to_owned()).await?;
        m.alter_table(Table::alter().table(Sessions::Table).drop_column(Sessions::UserId).to_owned()).await?;
        m.drop_table(Table::drop().table(UserHistory::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(Users::Table).to_owned()).await
    }
}
