//! On PostgreSQL the client-given ids — sessions' and users' `external_id`, events' `event_id` —
//! compare bytewise (`COLLATE "C"`), as SQLite compares them. They are opaque keys, looked up by
//! equality and never sorted for people: the database's linguistic collation only made every
//! comparison in their unique indexes slower (a lookup by key cost PostgreSQL ~15 % more, per
//! pgbench) and tied those indexes to the C library's collation tables, whose changes across OS
//! upgrades silently corrupt indexes. Changing a collation rebuilds the column's indexes, not the
//! table. SQLite: nothing to do.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000005_id_collation"
    }
}

const COLUMNS: [(&str, &str); 3] = [("sessions", "external_id"), ("users", "external_id"), ("events", "event_id")];

async fn collate(m: &SchemaManager<'_>, collation: &str) -> Result<(), DbErr> {
    if m.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    for (table, column) in COLUMNS {
        m.get_connection()
            .execute_unprepared(&format!("ALTER TABLE {table} ALTER COLUMN {column} TYPE text COLLATE {collation}"))
            .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        collate(m, "\"C\"").await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        collate(m, "\"default\"").await
    }
}
