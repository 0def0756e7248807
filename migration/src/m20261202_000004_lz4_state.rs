//! PostgreSQL compresses the engine state (~6 KB of JSON per session and per user, rewritten by
//! every batch) with lz4 instead of pglz where the server has lz4 (PostgreSQL 14+ built with
//! it): pglz was the largest single cost of PostgreSQL's CPU under ingest (benches/RESULTS.md).
//! Values are recompressed as they are rewritten; a server without lz4 keeps pglz. SQLite does
//! not compress: nothing to do there.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000004_lz4_state"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        m.get_connection()
            .execute_unprepared(
                "DO $$ BEGIN \
                   ALTER TABLE sessions ALTER COLUMN state SET COMPRESSION lz4; \
                   ALTER TABLE users ALTER COLUMN state SET COMPRESSION lz4; \
                 EXCEPTION WHEN feature_not_supported THEN NULL; \
                 END $$",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        m.get_connection()
            .execute_unprepared(
                "ALTER TABLE sessions ALTER COLUMN state SET COMPRESSION pglz; \
                 ALTER TABLE users ALTER COLUMN state SET COMPRESSION pglz",
            )
            .await?;
        Ok(())
    }
}
