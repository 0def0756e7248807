//! Credentials for web pages: publishable keys (public, bound to the origins that may use
//! them) and the keys that sign session tokens, shared by every replica through the database.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000006_browser_credentials"
    }
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum PublishableKeys {
    Table,
    Id,
    TenantId,
    Key,
    AllowedOrigins,
    CreatedAtMs,
    RevokedAtMs,
}

#[derive(DeriveIden)]
enum SigningKeys {
    Table,
    Id,
    Generation,
    Kid,
    Secret,
    CreatedAtMs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(PublishableKeys::Table)
                .col(big_pk_auto(PublishableKeys::Id))
                .col(big_integer(PublishableKeys::TenantId))
                .col(string_uniq(PublishableKeys::Key))
                // A JSON array of origins (`scheme://host[:port]`).
                .col(text(PublishableKeys::AllowedOrigins))
                .col(big_integer(PublishableKeys::CreatedAtMs))
                .col(big_integer_null(PublishableKeys::RevokedAtMs))
                .foreign_key(
                    ForeignKey::create()
                        .from(PublishableKeys::Table, PublishableKeys::TenantId)
                        .to(Tenants::Table, Tenants::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("publishable_keys_tenant")
                .table(PublishableKeys::Table)
                .col(PublishableKeys::TenantId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(SigningKeys::Table)
                .col(big_pk_auto(SigningKeys::Id))
                // 1, 2, …: replicas that create the first key at once agree on one.
                .col(big_integer_uniq(SigningKeys::Generation))
                .col(string_uniq(SigningKeys::Kid))
                // base64 of 32 random bytes (HMAC-SHA256).
                .col(text(SigningKeys::Secret))
                .col(big_integer(SigningKeys::CreatedAtMs))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(SigningKeys::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(PublishableKeys::Table).to_owned()).await
    }
}
