//! A function for statements that must change an exact number of rows or nothing: ingest's
//! checked write (src/ingest/checked.rs) updates the sessions it assumed unchanged and calls it
//! with how many it updated, so that one moved on by another writer fails the whole statement
//! (SQLSTATE 40001, serialization_failure: retry the locked way) instead of leaving part of it.
//! PostgreSQL only: SQLite writes the locked way.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261213_000013_expect_rows"
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
                "CREATE OR REPLACE FUNCTION moodring_expect_rows(got bigint, expected bigint) RETURNS bigint \
                 LANGUAGE plpgsql VOLATILE AS $$ \
                 BEGIN \
                   IF got IS DISTINCT FROM expected THEN \
                     RAISE EXCEPTION 'expected % rows changed, % were', expected, got \
                       USING ERRCODE = 'serialization_failure'; \
                   END IF; \
                   RETURN got; \
                 END $$",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        m.get_connection().execute_unprepared("DROP FUNCTION IF EXISTS moodring_expect_rows(bigint, bigint)").await?;
        Ok(())
    }
}
