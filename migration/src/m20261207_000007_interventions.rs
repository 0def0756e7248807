//! Interventions that learn: each tenant's settings, the counts per (context, action) the
//! policy learns from, and the suggestion each event's state got, with its probability.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000007_interventions"
    }
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    TopSignal,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Action,
    ActionProbability,
}

#[derive(DeriveIden)]
enum InterventionSettings {
    Table,
    TenantId,
    Learning,
    Exploration,
    DisabledActions,
    MinConfidence,
    UpdatedAtMs,
}

#[derive(DeriveIden)]
enum InterventionCounts {
    Table,
    TenantId,
    Mood,
    Signal,
    Action,
    Shard,
    Suggested,
    Feedback,
    Helpful,
    Unhelpful,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(InterventionSettings::Table)
                .col(big_integer(InterventionSettings::TenantId).primary_key())
                .col(boolean(InterventionSettings::Learning))
                .col(double(InterventionSettings::Exploration))
                // A JSON array of action names.
                .col(text(InterventionSettings::DisabledActions))
                // A JSON object: action name → minimum confidence, for those the tenant set.
                .col(text(InterventionSettings::MinConfidence))
                .col(big_integer(InterventionSettings::UpdatedAtMs))
                .foreign_key(
                    ForeignKey::create()
                        .from(InterventionSettings::Table, InterventionSettings::TenantId)
                        .to(Tenants::Table, Tenants::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // Sharded by session like the mood rollup, so concurrent writers of one tenant spread
        // over several rows; readers sum the shards.
        m.create_table(
            Table::create()
                .table(InterventionCounts::Table)
                .col(big_integer(InterventionCounts::TenantId))
                .col(string(InterventionCounts::Mood))
                .col(string(InterventionCounts::Signal))
                .col(string(InterventionCounts::Action))
                .col(small_integer(InterventionCounts::Shard))
                .col(big_integer(InterventionCounts::Suggested).default(0))
                .col(big_integer(InterventionCounts::Feedback).default(0))
                .col(big_integer(InterventionCounts::Helpful).default(0))
                .col(big_integer(InterventionCounts::Unhelpful).default(0))
                .primary_key(
                    Index::create()
                        .col(InterventionCounts::TenantId)
                        .col(InterventionCounts::Mood)
                        .col(InterventionCounts::Signal)
                        .col(InterventionCounts::Action)
                        .col(InterventionCounts::Shard),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(InterventionCounts::Table, InterventionCounts::TenantId)
                        .to(Tenants::Table, Tenants::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // One column per statement: SQLite alters one at a time. Constant defaults and nullable
        // columns change only the catalogue, not the rows, on both backends.
        m.alter_table(
            Table::alter().table(Sessions::Table).add_column(string(Sessions::TopSignal).default("none")).to_owned(),
        )
        .await?;
        m.alter_table(Table::alter().table(Events::Table).add_column(string_null(Events::Action)).to_owned()).await?;
        m.alter_table(Table::alter().table(Events::Table).add_column(double_null(Events::ActionProbability)).to_owned())
            .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(Events::Table).drop_column(Events::ActionProbability).to_owned()).await?;
        m.alter_table(Table::alter().table(Events::Table).drop_column(Events::Action).to_owned()).await?;
        m.alter_table(Table::alter().table(Sessions::Table).drop_column(Sessions::TopSignal).to_owned()).await?;
        m.drop_table(Table::drop().table(InterventionCounts::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(InterventionSettings::Table).to_owned()).await
    }
}
