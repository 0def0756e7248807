//! Indexes that keep a delivery worker's claim cheap whatever plan the database picks. On
//! PostgreSQL a claim prepared while the deliveries table was nearly empty kept a plan that,
//! for every due delivery, read every pending one to find an earlier one of its session in
//! flight: with 20,000 pending, one claim took seconds and deliveries stopped keeping up
//! (benches/RESULTS.md, session 25). Now the deliveries in flight have an index of their own,
//! as small as the number of attempts under way, and the due index has the claim's whole order.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261212_000012_delivery_claims"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for sql in [
            "DROP INDEX webhook_deliveries_due",
            "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_ms, seq) WHERE status = 'pending'",
            "CREATE INDEX webhook_deliveries_in_flight ON webhook_deliveries (webhook_id, session_pk, seq) \
             WHERE status = 'pending' AND claimed_until_ms IS NOT NULL",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for sql in [
            "DROP INDEX webhook_deliveries_in_flight",
            "DROP INDEX webhook_deliveries_due",
            "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_ms) WHERE status = 'pending'",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
