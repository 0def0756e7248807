//! The monthly allowance of new sessions: one counter row per tenant and month, incremented
//! only while it stays within the limit, inside the transaction that creates the sessions.
//! Exact under concurrency and across replicas on both backends (counting rows is not: phantoms).

use super::StoreError;
use crate::domain::{QuotaMonth, Tenant};
use entity::quota_usage::{self, Column};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

/// New sessions the tenant may still create in `month`, as this transaction sees it.
pub(crate) async fn remaining(
    db: &impl ConnectionTrait,
    tenant: &Tenant,
    month: QuotaMonth,
) -> Result<i64, StoreError> {
    let used: Option<i64> = quota_usage::Entity::find()
        .select_only()
        .column(Column::Used)
        .filter(Column::TenantId.eq(tenant.id.get()))
        .filter(Column::Month.eq(month.key()))
        .into_tuple()
        .one(db)
        .await?;
    Ok(Ord::max(tenant.plan.monthly_sessions() - used.unwrap_or(0), 0))
}

/// Takes `n` new sessions from the tenant's allowance for `month` in one statement: it creates
/// the month's counter at `n` or adds `n` if the sum stays within the limit; all or nothing.
pub(crate) async fn take(
    db: &impl ConnectionTrait,
    tenant: &Tenant,
    month: QuotaMonth,
    n: i64,
) -> Result<(), StoreError> {
    let limit = tenant.plan.monthly_sessions();
    let refused = StoreError::QuotaExceeded { plan: tenant.plan, limit, reset_at: month.reset_at() };
    if n > limit {
        return Err(refused);
    }
    // PostgreSQL needs the table-qualified column in the update expression.
    let used = Expr::col((quota_usage::Entity, Column::Used));
    let take = Query::insert()
        .into_table(quota_usage::Entity)
        .columns([Column::TenantId, Column::Month, Column::Used])
        .values_panic([tenant.id.get().into(), month.key().into(), n.into()])
        .on_conflict(
            OnConflict::columns([Column::TenantId, Column::Month])
                .value(Column::Used, used.clone().add(n))
                .action_and_where(used.lte(limit - n))
                .to_owned(),
        )
        .to_owned();
    if db.execute(&take).await?.rows_affected() == 1 { Ok(()) } else { Err(refused) }
}
