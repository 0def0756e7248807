//! Compaction of the time series' rollup on PostgreSQL: moves the deltas the `session_slots`
//! triggers append into `slot_rollup`, summed per (tenant, slot, gap). Readers add both tables,
//! so a delta counts exactly once before, during and after its move: deleting it and adding it
//! to the rollup is one transaction. Replicas compact at once without meeting: each takes the
//! deltas the others have not locked (`SKIP LOCKED`). On SQLite the triggers update the rollup
//! in place and there is never anything to move.

use crate::store::{Store, StoreError};
use entity::{slot_delta, slot_rollup};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, LockBehavior, LockType, OnConflict, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};
use std::collections::BTreeMap;

/// Deltas moved per transaction.
pub const BATCH: u64 = 10_000;

/// The summed columns, in the order [`Sums`] holds them.
const MEASURES: [slot_rollup::Column; 13] = {
    use slot_rollup::Column as R;
    [
        R::Sessions,
        R::Events,
        R::Frustrated,
        R::Confused,
        R::Decisive,
        R::Browsing,
        R::Disengaged,
        R::Focused,
        R::Neutral,
        R::ValenceE9,
        R::ArousalE9,
        R::TensionE9,
        R::AffiliationE9,
    ]
};

type Key = (i64, i64, i64);
type Sums = [i64; 13];

fn sums_of(d: &slot_delta::Model) -> Sums {
    [
        d.sessions,
        d.events,
        d.frustrated,
        d.confused,
        d.decisive,
        d.browsing,
        d.disengaged,
        d.focused,
        d.neutral,
        d.valence_e9,
        d.arousal_e9,
        d.tension_e9,
        d.affiliation_e9,
    ]
}

fn row_of((tenant_id, slot_ms, gap_slots): Key, s: Sums) -> slot_rollup::ActiveModel {
    slot_rollup::ActiveModel {
        tenant_id: Set(tenant_id),
        slot_ms: Set(slot_ms),
        gap_slots: Set(gap_slots),
        sessions: Set(s[0]),
        events: Set(s[1]),
        frustrated: Set(s[2]),
        confused: Set(s[3]),
        decisive: Set(s[4]),
        browsing: Set(s[5]),
        disengaged: Set(s[6]),
        focused: Set(s[7]),
        neutral: Set(s[8]),
        valence_e9: Set(s[9]),
        arousal_e9: Set(s[10]),
        tension_e9: Set(s[11]),
        affiliation_e9: Set(s[12]),
    }
}

/// Moves up to [`BATCH`] of the oldest deltas into the rollup, and removes rollup rows left at
/// zero (every slot they summed is gone); how many deltas it moved.
pub async fn compact(store: &Store) -> Result<u64, StoreError> {
    use slot_delta::Column as D;
    let txn = store.begin_write().await?;
    let oldest = slot_delta::Entity::find()
        .select_only()
        .column(D::Id)
        .order_by_asc(D::Id)
        .limit(BATCH)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .into_query();
    let mut take = Query::delete();
    take.from_table(slot_delta::Entity).and_where(Expr::col(D::Id).in_subquery(oldest)).returning_all();
    let taken = txn.query_all(&take).await?;
    let mut summed: BTreeMap<Key, Sums> = BTreeMap::new();
    for row in &taken {
        let d = slot_delta::Model::from_query_result(row, "")?;
        let into = summed.entry((d.tenant_id, d.slot_ms, d.gap_slots)).or_default();
        for (total, v) in into.iter_mut().zip(sums_of(&d)) {
            *total += v;
        }
    }
    let summed: Vec<(Key, Sums)> = summed.into_iter().filter(|(_, s)| s.iter().any(|v| *v != 0)).collect();
    let mut emptied = Vec::new();
    // In key order, as every compaction writes them: two wait for each other, never deadlock.
    for chunk in summed.chunks(1000) {
        use slot_rollup::Column as R;
        let mut on_conflict = OnConflict::columns([R::TenantId, R::SlotMs, R::GapSlots]);
        for column in MEASURES {
            on_conflict.value(
                column,
                Expr::col((slot_rollup::Entity, column)).add(Expr::col((Alias::new("excluded"), column))),
            );
        }
        let mut upsert = slot_rollup::Entity::insert_many(chunk.iter().map(|(k, s)| row_of(*k, *s)))
            .on_conflict(on_conflict)
            .into_query();
        upsert.returning_all();
        for row in txn.query_all(&upsert).await? {
            let r = slot_rollup::Model::from_query_result(&row, "")?;
            if r.sessions == 0 && r.events == 0 {
                emptied.push((r.tenant_id, r.slot_ms, r.gap_slots));
            }
        }
    }
    for (tenant_id, slot_ms, gap_slots) in emptied {
        use slot_rollup::Column as R;
        let mut delete = slot_rollup::Entity::delete_many()
            .filter(R::TenantId.eq(tenant_id))
            .filter(R::SlotMs.eq(slot_ms))
            .filter(R::GapSlots.eq(gap_slots));
        for column in MEASURES {
            delete = delete.filter(column.eq(0));
        }
        delete.exec(&txn).await?;
    }
    txn.commit().await?;
    Ok(taken.len() as u64)
}
