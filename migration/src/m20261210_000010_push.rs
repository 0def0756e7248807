//! Push: the transactional outbox of mood changes, and the webhooks they are delivered to.
//!
//! Ingest writes an `outbox` row in the same transaction as the state change it announces, so
//! a message exists exactly when its change was committed. Its `seq` is the position streams
//! and receivers see, in commit order. On SQLite (one writer) a committed row's id is already
//! in commit order, and `seq` is the id. On PostgreSQL ids are drawn before commit, so each row
//! also records its transaction (`xid`, by default) and is given a `seq` afterwards, by the
//! replica holding the one `outbox_head` row, once every transaction that could precede it has
//! ended. Webhook deliveries are created as messages are published (`outbox_head` says how far),
//! one per matching endpoint, and their attempts are kept for the receiver's owner to read.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261210_000010_push"
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
    Id,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    Seq,
    TenantId,
    SessionPk,
    Kind,
    Mood,
    Payload,
    CreatedAtMs,
}

#[derive(DeriveIden)]
enum OutboxHead {
    Table,
    Id,
    LastSeq,
}

#[derive(DeriveIden)]
enum Webhooks {
    Table,
    Id,
    PublicId,
    TenantId,
    Url,
    EventTypes,
    Moods,
    Description,
    Enabled,
    DisabledReason,
    Secret,
    PreviousSecret,
    PreviousSecretUntilMs,
    FailingSinceMs,
    CreatedAtMs,
    UpdatedAtMs,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    TenantId,
    WebhookId,
    OutboxId,
    SessionPk,
    Seq,
    Status,
    Attempts,
    NextAttemptMs,
    ClaimedUntilMs,
    CreatedAtMs,
    FinishedAtMs,
}

#[derive(DeriveIden)]
enum WebhookAttempts {
    Table,
    Id,
    TenantId,
    WebhookId,
    DeliveryId,
    Attempt,
    AtMs,
    DurationMs,
    Succeeded,
    ResponseStatus,
    ResponseBody,
    Error,
}

fn cascade(from: (impl IntoIden, impl IntoIden), to: (impl IntoIden, impl IntoIden)) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(from.0, from.1).to(to.0, to.1).on_delete(ForeignKeyAction::Cascade).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        match m.get_database_backend() {
            DbBackend::Postgres => {
                m.create_table(
                    Table::create()
                        .table(Outbox::Table)
                        .col(big_pk_auto(Outbox::Id))
                        .col(big_integer_null(Outbox::Seq))
                        .col(big_integer(Outbox::TenantId))
                        .col(big_integer(Outbox::SessionPk))
                        .col(string(Outbox::Kind))
                        .col(string(Outbox::Mood))
                        // The message's `data` object, as sent.
                        .col(text(Outbox::Payload))
                        .col(big_integer(Outbox::CreatedAtMs))
                        .foreign_key(&mut cascade((Outbox::Table, Outbox::SessionPk), (Sessions::Table, Sessions::Id)))
                        .to_owned(),
                )
                .await?;
                db.execute_unprepared("ALTER TABLE outbox ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id()")
                    .await?;
                for index in [
                    "CREATE UNIQUE INDEX outbox_seq ON outbox (seq)",
                    "CREATE INDEX outbox_tenant_seq ON outbox (tenant_id, seq)",
                    "CREATE INDEX outbox_session ON outbox (session_pk, seq)",
                    "CREATE INDEX outbox_unsequenced ON outbox (xid, id) WHERE seq IS NULL",
                ] {
                    db.execute_unprepared(index).await?;
                }
            }
            _ => {
                // One writer: a committed row's id is its place already, so `seq` is the id (a
                // virtual column, nothing to write twice), and the indexes need not name it: an
                // SQLite index ends with the row id. No foreign key to check on each insert: an
                // erasure deletes a session's messages itself.
                db.execute_unprepared(
                    "CREATE TABLE outbox ( \
                       id integer NOT NULL PRIMARY KEY AUTOINCREMENT, \
                       tenant_id bigint NOT NULL, \
                       session_pk bigint NOT NULL, \
                       kind varchar NOT NULL, \
                       mood varchar NOT NULL, \
                       payload text NOT NULL, \
                       created_at_ms bigint NOT NULL, \
                       seq bigint GENERATED ALWAYS AS (id) VIRTUAL)",
                )
                .await?;
                db.execute_unprepared("CREATE INDEX outbox_tenant ON outbox (tenant_id)").await?;
                db.execute_unprepared("CREATE INDEX outbox_session ON outbox (session_pk)").await?;
            }
        }
        m.create_table(
            Table::create()
                .table(OutboxHead::Table)
                .col(small_integer(OutboxHead::Id).primary_key())
                .col(big_integer(OutboxHead::LastSeq))
                .to_owned(),
        )
        .await?;
        db.execute_unprepared("INSERT INTO outbox_head (id, last_seq) VALUES (1, 0)").await?;

        m.create_table(
            Table::create()
                .table(Webhooks::Table)
                .col(big_pk_auto(Webhooks::Id))
                .col(string_uniq(Webhooks::PublicId))
                .col(big_integer(Webhooks::TenantId))
                .col(text(Webhooks::Url))
                // JSON arrays: the event types sent, and the moods (`null`: every mood).
                .col(text(Webhooks::EventTypes))
                .col(text_null(Webhooks::Moods))
                .col(text_null(Webhooks::Description))
                .col(boolean(Webhooks::Enabled))
                .col(text_null(Webhooks::DisabledReason))
                .col(string(Webhooks::Secret))
                .col(string_null(Webhooks::PreviousSecret))
                .col(big_integer_null(Webhooks::PreviousSecretUntilMs))
                .col(big_integer_null(Webhooks::FailingSinceMs))
                .col(big_integer(Webhooks::CreatedAtMs))
                .col(big_integer(Webhooks::UpdatedAtMs))
                .foreign_key(&mut cascade((Webhooks::Table, Webhooks::TenantId), (Tenants::Table, Tenants::Id)))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("webhooks_tenant").table(Webhooks::Table).col(Webhooks::TenantId).to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(WebhookDeliveries::Table)
                .col(big_pk_auto(WebhookDeliveries::Id))
                .col(big_integer(WebhookDeliveries::TenantId))
                .col(big_integer(WebhookDeliveries::WebhookId))
                .col(big_integer(WebhookDeliveries::OutboxId))
                .col(big_integer(WebhookDeliveries::SessionPk))
                .col(big_integer(WebhookDeliveries::Seq))
                // pending, delivered or failed (every attempt used, or the endpoint disabled).
                .col(string(WebhookDeliveries::Status))
                .col(integer(WebhookDeliveries::Attempts))
                .col(big_integer(WebhookDeliveries::NextAttemptMs))
                .col(big_integer_null(WebhookDeliveries::ClaimedUntilMs))
                .col(big_integer(WebhookDeliveries::CreatedAtMs))
                .col(big_integer_null(WebhookDeliveries::FinishedAtMs))
                .foreign_key(&mut cascade(
                    (WebhookDeliveries::Table, WebhookDeliveries::WebhookId),
                    (Webhooks::Table, Webhooks::Id),
                ))
                .foreign_key(&mut cascade(
                    (WebhookDeliveries::Table, WebhookDeliveries::OutboxId),
                    (Outbox::Table, Outbox::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("webhook_deliveries_message")
                .table(WebhookDeliveries::Table)
                .col(WebhookDeliveries::OutboxId)
                .col(WebhookDeliveries::WebhookId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("webhook_deliveries_webhook_session")
                .table(WebhookDeliveries::Table)
                .col(WebhookDeliveries::WebhookId)
                .col(WebhookDeliveries::SessionPk)
                .col(WebhookDeliveries::Seq)
                .to_owned(),
        )
        .await?;
        // What the delivery workers look for: pending deliveries by when they are due.
        db.execute_unprepared(
            "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_ms) WHERE status = 'pending'",
        )
        .await?;

        m.create_table(
            Table::create()
                .table(WebhookAttempts::Table)
                .col(big_pk_auto(WebhookAttempts::Id))
                .col(big_integer(WebhookAttempts::TenantId))
                .col(big_integer(WebhookAttempts::WebhookId))
                .col(big_integer(WebhookAttempts::DeliveryId))
                .col(integer(WebhookAttempts::Attempt))
                .col(big_integer(WebhookAttempts::AtMs))
                .col(big_integer(WebhookAttempts::DurationMs))
                .col(boolean(WebhookAttempts::Succeeded))
                .col(integer_null(WebhookAttempts::ResponseStatus))
                .col(text_null(WebhookAttempts::ResponseBody))
                .col(text_null(WebhookAttempts::Error))
                .foreign_key(&mut cascade(
                    (WebhookAttempts::Table, WebhookAttempts::DeliveryId),
                    (WebhookDeliveries::Table, WebhookDeliveries::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("webhook_attempts_webhook")
                .table(WebhookAttempts::Table)
                .col(WebhookAttempts::WebhookId)
                .col(WebhookAttempts::Id)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("webhook_attempts_delivery")
                .table(WebhookAttempts::Table)
                .col(WebhookAttempts::DeliveryId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["webhook_attempts", "webhook_deliveries", "webhooks", "outbox_head", "outbox"] {
            m.drop_table(Table::drop().table(Alias::new(table)).to_owned()).await?;
        }
        Ok(())
    }
}
