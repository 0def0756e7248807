//! PostgreSQL places outbox messages in the order they were written, not the order their
//! transactions began. Ordering by transaction id (`xid`) put a session's changes out of order
//! when two replicas wrote to the session at once: a group takes its `xid` at its first lock,
//! so a group that locked another session first, then waited for this one, has the older `xid`
//! but wrote the later change. Each row now draws `ordinal` from a sequence as it is inserted,
//! which ingest does after it holds its sessions' locks: a later change of a session always has
//! a greater ordinal. `xid` stays for replicas of the previous release during a rolling
//! deploy. SQLite (one writer) already places messages by row id: nothing to do there.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261211_000011_outbox_order"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        // Rows written before have no ordinal and are placed first (`NULLS FIRST`).
        m.get_connection()
            .execute_unprepared(
                "CREATE SEQUENCE outbox_ordinal; \
                 ALTER TABLE outbox ADD COLUMN ordinal bigint DEFAULT nextval('outbox_ordinal'); \
                 ALTER SEQUENCE outbox_ordinal OWNED BY outbox.ordinal; \
                 DROP INDEX outbox_unsequenced; \
                 CREATE INDEX outbox_unplaced ON outbox (ordinal NULLS FIRST, id) WHERE seq IS NULL",
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
                "ALTER TABLE outbox DROP COLUMN ordinal; \
                 CREATE INDEX outbox_unsequenced ON outbox (xid, id) WHERE seq IS NULL",
            )
            .await?;
        Ok(())
    }
}
