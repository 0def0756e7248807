//! The monthly allowance of new sessions: one counter row per tenant and month, incremented
//! only while under the limit, inside the transaction that creates the session. Exact under
//! concurrency and across replicas on both backends (counting rows is not: phantoms).

use super::StoreError;
use crate::domain::{QuotaMonth, Tenant};
use chrono::{DateTime, Utc};
use entity::quota_usage::{self, Column};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

/// Takes one new session from the tenant's allowance for the month of `now`.
pub(super) async fn take_one(db: &impl ConnectionTrait, tenant: &Tenant, now: DateTime<Utc>) -> Result<(), StoreError> {
    let month = QuotaMonth::containing(now);
    let limit = tenant.plan.monthly_sessions();
    let create = Query::insert()
        .into_table(quota_usage::Entity)
        .columns([Column::TenantId, Column::Month, Column::Used])
        .values_panic([tenant.id.get().into(), month.key().into(), 0i64.into()])
        .on_conflict(OnConflict::columns([Column::TenantId, Column::Month]).do_nothing().to_owned())
        .to_owned();
    db.execute(&create).await?;
    let taken = quota_usage::Entity::update_many()
        .col_expr(Column::Used, Expr::col(Column::Used).add(1))
        .filter(Column::TenantId.eq(tenant.id.get()))
        .filter(Column::Month.eq(month.key()))
        .filter(Column::Used.lt(limit))
        .exec(db)
        .await?;
    if taken.rows_affected == 1 {
        Ok(())
    } else {
        Err(StoreError::QuotaExceeded { plan: tenant.plan, limit, reset_at: month.reset_at() })
    }
}
