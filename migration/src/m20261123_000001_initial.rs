//! Tenants and their keys, sessions with their current affect, the event log (which is also the
//! mood history), feedback, monthly quota counters and the maintained mood rollup.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000001_initial"
    }
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    Name,
    Email,
    Plan,
    CreatedAtMs,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    TenantId,
    Lookup,
    SecretHash,
    CreatedAtMs,
    RevokedAtMs,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    TenantId,
    ExternalId,
    CreatedAtMs,
    UpdatedAtMs,
    EventCount,
    Label,
    Confidence,
    Action,
    Valence,
    Arousal,
    Tension,
    Affiliation,
    Signals,
    State,
    ModelVersion,
    HasFeedback,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    TenantId,
    SessionId,
    EventId,
    TsMs,
    ReceivedAtMs,
    Kind,
    X,
    Y,
    DurationMs,
    Speed,
    Direction,
    Url,
    Message,
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
enum Feedback {
    Table,
    Id,
    TenantId,
    SessionId,
    ActionTaken,
    WasHelpful,
    Notes,
    Mood,
    Confidence,
    Signals,
    CreatedAtMs,
}

#[derive(DeriveIden)]
enum QuotaUsage {
    Table,
    TenantId,
    Month,
    Used,
}

#[derive(DeriveIden)]
enum MoodRollup {
    Table,
    TenantId,
    Shard,
    Frustrated,
    Confused,
    Decisive,
    Browsing,
    Disengaged,
    Focused,
    Neutral,
    WithFeedback,
}

fn fk(from: (impl IntoIden, impl IntoIden), to: (impl IntoIden, impl IntoIden)) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(from.0, from.1).to(to.0, to.1).on_delete(ForeignKeyAction::Cascade).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Tenants::Table)
                .col(big_pk_auto(Tenants::Id))
                .col(text(Tenants::Name))
                .col(text_null(Tenants::Email))
                .col(string(Tenants::Plan))
                .col(big_integer(Tenants::CreatedAtMs))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ApiKeys::Table)
                .col(big_pk_auto(ApiKeys::Id))
                .col(big_integer(ApiKeys::TenantId))
                .col(string_uniq(ApiKeys::Lookup))
                .col(text(ApiKeys::SecretHash))
                .col(big_integer(ApiKeys::CreatedAtMs))
                .col(big_integer_null(ApiKeys::RevokedAtMs))
                .foreign_key(&mut fk((ApiKeys::Table, ApiKeys::TenantId), (Tenants::Table, Tenants::Id)))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Sessions::Table)
                .col(big_pk_auto(Sessions::Id))
                .col(big_integer(Sessions::TenantId))
                .col(text(Sessions::ExternalId))
                .col(big_integer(Sessions::CreatedAtMs))
                .col(big_integer(Sessions::UpdatedAtMs))
                .col(big_integer(Sessions::EventCount))
                .col(string(Sessions::Label))
                .col(double(Sessions::Confidence))
                .col(string(Sessions::Action))
                .col(double(Sessions::Valence))
                .col(double(Sessions::Arousal))
                .col(double(Sessions::Tension))
                .col(double(Sessions::Affiliation))
                .col(text(Sessions::Signals))
                .col(text(Sessions::State))
                .col(string(Sessions::ModelVersion))
                .col(boolean(Sessions::HasFeedback).default(false))
                .foreign_key(&mut fk((Sessions::Table, Sessions::TenantId), (Tenants::Table, Tenants::Id)))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("sessions_tenant_external")
                .table(Sessions::Table)
                .col(Sessions::TenantId)
                .col(Sessions::ExternalId)
                .unique()
                .to_owned(),
        )
        .await?;
        // Covers the aggregate over a tenant's recently active sessions (no table access).
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
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Events::Table)
                .col(big_pk_auto(Events::Id))
                .col(big_integer(Events::TenantId))
                .col(big_integer(Events::SessionId))
                .col(text_null(Events::EventId))
                .col(big_integer(Events::TsMs))
                .col(big_integer(Events::ReceivedAtMs))
                .col(string(Events::Kind))
                .col(double_null(Events::X))
                .col(double_null(Events::Y))
                .col(double_null(Events::DurationMs))
                .col(double_null(Events::Speed))
                .col(string_null(Events::Direction))
                .col(text_null(Events::Url))
                .col(text_null(Events::Message))
                .col(double(Events::Valence))
                .col(double(Events::Arousal))
                .col(double(Events::Tension))
                .col(double(Events::Affiliation))
                .col(double(Events::DeltaValence))
                .col(double(Events::DeltaArousal))
                .col(double(Events::DeltaTension))
                .col(double(Events::DeltaAffiliation))
                .col(string(Events::Label))
                .col(double(Events::Confidence))
                .col(text(Events::Signals))
                .col(text(Events::TriggerReason))
                .col(string(Events::ModelVersion))
                .foreign_key(&mut fk((Events::Table, Events::SessionId), (Sessions::Table, Sessions::Id)))
                .to_owned(),
        )
        .await?;
        // History reads walk a session's events by id; the unique index makes client event ids
        // idempotent per session (NULLs never conflict).
        m.create_index(
            Index::create()
                .name("events_session_id")
                .table(Events::Table)
                .col(Events::SessionId)
                .col(Events::Id)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("events_session_event_id")
                .table(Events::Table)
                .col(Events::SessionId)
                .col(Events::EventId)
                .unique()
                .to_owned(),
        )
        .await?;
        // Exports and time ranges walk a tenant's events by (time, id).
        m.create_index(
            Index::create()
                .name("events_tenant_ts")
                .table(Events::Table)
                .col(Events::TenantId)
                .col(Events::TsMs)
                .col(Events::Id)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Feedback::Table)
                .col(big_pk_auto(Feedback::Id))
                .col(big_integer(Feedback::TenantId))
                .col(big_integer(Feedback::SessionId))
                .col(text(Feedback::ActionTaken))
                .col(boolean_null(Feedback::WasHelpful))
                .col(text_null(Feedback::Notes))
                .col(string(Feedback::Mood))
                .col(double(Feedback::Confidence))
                .col(text(Feedback::Signals))
                .col(big_integer(Feedback::CreatedAtMs))
                .foreign_key(&mut fk((Feedback::Table, Feedback::SessionId), (Sessions::Table, Sessions::Id)))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("feedback_session").table(Feedback::Table).col(Feedback::SessionId).to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(QuotaUsage::Table)
                .col(big_integer(QuotaUsage::TenantId))
                .col(string(QuotaUsage::Month))
                .col(big_integer(QuotaUsage::Used))
                .primary_key(Index::create().col(QuotaUsage::TenantId).col(QuotaUsage::Month))
                .foreign_key(&mut fk((QuotaUsage::Table, QuotaUsage::TenantId), (Tenants::Table, Tenants::Id)))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(MoodRollup::Table)
                .col(big_integer(MoodRollup::TenantId))
                .col(small_integer(MoodRollup::Shard))
                .col(big_integer(MoodRollup::Frustrated).default(0))
                .col(big_integer(MoodRollup::Confused).default(0))
                .col(big_integer(MoodRollup::Decisive).default(0))
                .col(big_integer(MoodRollup::Browsing).default(0))
                .col(big_integer(MoodRollup::Disengaged).default(0))
                .col(big_integer(MoodRollup::Focused).default(0))
                .col(big_integer(MoodRollup::Neutral).default(0))
                .col(big_integer(MoodRollup::WithFeedback).default(0))
                .primary_key(Index::create().col(MoodRollup::TenantId).col(MoodRollup::Shard))
                .foreign_key(&mut fk((MoodRollup::Table, MoodRollup::TenantId), (Tenants::Table, Tenants::Id)))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            MoodRollup::Table.into_iden(),
            QuotaUsage::Table.into_iden(),
            Feedback::Table.into_iden(),
            Events::Table.into_iden(),
            Sessions::Table.into_iden(),
            ApiKeys::Table.into_iden(),
            Tenants::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
