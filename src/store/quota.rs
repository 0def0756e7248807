//! The monthly allowance of new sessions: one counter row per tenant and month, incremented
//! only while under the limit, inside the transaction that creates the session. Exact under
//! concurrency and across replicas on both backends (counting rows is not: phantoms).

use super::StoreError;
use crate::domain::{QuotaMonth, Tenant};
use chrono::{DateTime, Utc};
use entity::quota_usage::{self, Column};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};

/// Takes one new session from the tenant's allowance for the month of `now`: one statement
/// that creates the month's counter at 1 or adds 1 while under the limit (0 rows: used up).
pub(super) async fn take_one(db: &impl ConnectionTrait, tenant: &Tenant, now: DateTime<Utc>) -> Result<(), StoreError> {
    let month = QuotaMonth::containing(now);
    let limit = tenant.plan.monthly_sessions();
    // PostgreSQL needs the table-qualified column in the update expression.
    let used = Expr::col((quota_usage::Entity, Column::Used));
    let take = Query::insert()
        .into_table(quota_usage::Entity)
        .columns([Column::TenantId, Column::Month, Column::Used])
        .values_panic([tenant.id.get().into(), month.key().into(), 1i64.into()])
        .on_conflict(
            OnConflict::columns([Column::TenantId, Column::Month])
                .value(Column::Used, used.clone().add(1))
                .action_and_where(used.lt(limit))
                .to_owned(),
        )
        .to_owned();
    let taken = db.execute(&take).await?;
    if taken.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::QuotaExceeded { plan: tenant.plan, limit, reset_at: month.reset_at() })
    }
}
