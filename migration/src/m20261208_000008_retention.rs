//! Retention: how many days of each tenant's events and history are kept (90 unless the tenant
//! says otherwise), and the index that finds a tenant's oldest user history.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261208_000008_retention"
    }
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    RetentionDays,
}

#[derive(DeriveIden)]
enum UserHistory {
    Table,
    TenantId,
    TsMs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Tenants::Table)
                .add_column(ColumnDef::new(Tenants::RetentionDays).integer().not_null().default(90))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("user_history_tenant_ts")
                .table(UserHistory::Table)
                .col(UserHistory::TenantId)
                .col(UserHistory::TsMs)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("user_history_tenant_ts").table(UserHistory::Table).to_owned()).await?;
        m.alter_table(Table::alter().table(Tenants::Table).drop_column(Tenants::RetentionDays).to_owned()).await
    }
}
