//! Schema migrations of moodring. Released migrations are frozen: change the schema with a new
//! file, one migration per file (sea-orm names a migration after its file). Migrations never
//! import the `entity` crate, so they keep describing the schema as it was.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_initial;
mod m20261123_000002_session_slots;
mod m20261123_000003_users;
mod m20261202_000004_lz4_state;
mod m20261202_000005_id_collation;
mod m20261206_000006_browser_credentials;
mod m20261207_000007_interventions;
mod m20261208_000008_retention;
mod m20261209_000009_slot_rollup;
mod m20261210_000010_push;
mod m20261211_000011_outbox_order;
mod m20261212_000012_delivery_claims;
mod m20261213_000013_expect_rows;
mod m20261214_000014_partial_user_index;
mod m20261215_000015_partial_event_id_index;

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_initial::Migration),
            Box::new(m20261123_000002_session_slots::Migration),
            Box::new(m20261123_000003_users::Migration),
            Box::new(m20261202_000004_lz4_state::Migration),
            Box::new(m20261202_000005_id_collation::Migration),
            Box::new(m20261206_000006_browser_credentials::Migration),
            Box::new(m20261207_000007_interventions::Migration),
            Box::new(m20261208_000008_retention::Migration),
            Box::new(m20261209_000009_slot_rollup::Migration),
            Box::new(m20261210_000010_push::Migration),
            Box::new(m20261211_000011_outbox_order::Migration),
            Box::new(m20261212_000012_delivery_claims::Migration),
            Box::new(m20261213_000013_expect_rows::Migration),
            Box::new(m20261214_000014_partial_user_index::Migration),
            Box::new(m20261215_000015_partial_event_id_index::Migration),
        ]
    }
}

/// Runs pending migrations. On PostgreSQL an advisory lock serialises replicas that start at
/// once on a fresh database (without it all but one crash on duplicate `CREATE TABLE`).
pub async fn migrate(db: &sea_orm_migration::sea_orm::DatabaseConnection) -> Result<(), DbErr> {
    use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
    if db.get_database_backend() != DbBackend::Postgres {
        return Migrator::up(db, None).await;
    }
    // A transaction-scoped lock on one pooled connection: released at commit, even if we crash.
    let txn = db.begin().await?;
    txn.execute_raw(Statement::from_string(DbBackend::Postgres, "SELECT pg_advisory_xact_lock(7243051338)")).await?;
    Migrator::up(&txn, None).await?;
    txn.commit().await
}
