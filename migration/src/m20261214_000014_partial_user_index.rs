//! `sessions_user_updated` (a person's sessions, most recently active first) indexes only the
//! sessions linked to a person. Every read through it names one (`user_id = ?`, which implies
//! `IS NOT NULL` on both backends), yet every write of an anonymous session — most of what a
//! tracker sends — moved its entry, `(NULL, updated_at_ms)`, because its time changed: on
//! PostgreSQL, where no session update is HOT, one index insert of every session row a group
//! writes.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261214_000014_partial_user_index"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared(
                "DROP INDEX sessions_user_updated; \
                 CREATE INDEX sessions_user_updated ON sessions (user_id, updated_at_ms) WHERE user_id IS NOT NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared(
                "DROP INDEX sessions_user_updated; \
                 CREATE INDEX sessions_user_updated ON sessions (user_id, updated_at_ms)",
            )
            .await?;
        Ok(())
    }
}
