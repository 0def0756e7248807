//! Mood over time: the per-session 15-minute slots maintained on every write, their rollup
//! (the slots summed per tenant, slot and gap to each session's next slot, kept by database
//! triggers; on PostgreSQL as deltas [`compact`]ed in the background; see the migration
//! `slot_rollup`), and the time-series query that reads the rollup in local-time buckets.

mod buckets;
pub mod compact;

pub use buckets::{Buckets, BucketsError, Interval, MAX_BUCKETS};
pub use compact::compact;

use super::{Store, StoreError, insert_chunked};
use crate::domain::Tenant;
use crate::engine::{HistoryRecord, Mood};
use entity::session_slot::{self, Column};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Alias, Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement};
use std::collections::BTreeMap;

pub const SLOT_MS: i64 = 15 * 60 * 1000;

fn slot_of(ts_ms: i64) -> i64 {
    ts_ms.div_euclid(SLOT_MS) * SLOT_MS
}

/// One session's newly applied events, for its slots.
pub(crate) struct SlotUpdate<'a> {
    pub tenant_id: i64,
    pub session_pk: i64,
    /// The session's latest event time before these events.
    pub previous_latest_ms: Option<i64>,
    /// In the order they were applied.
    pub records: &'a [HistoryRecord],
}

/// Records sessions' new events in their slots: one multi-row upsert for all sessions that only
/// move forward (the usual case) and at most one pointer update each; sessions with events
/// landing before their latest slot get their own upsert and are relinked.
pub(crate) async fn record(db: &impl ConnectionTrait, updates: &[SlotUpdate<'_>]) -> Result<(), StoreError> {
    let (mut forward_rows, mut backward_rows) = (Vec::new(), Vec::new());
    let (mut pointers, mut relinks) = (Vec::new(), Vec::new());
    for u in updates {
        // Per slot: events, and the record applied last (the slot's state).
        let mut slots: BTreeMap<i64, (i64, &HistoryRecord)> = BTreeMap::new();
        for r in u.records {
            let entry = slots.entry(slot_of(r.ts_ms)).or_insert((0, r));
            *entry = (entry.0 + 1, r);
        }
        let Some(&first) = slots.keys().next() else { continue };
        let previous_slot = u.previous_latest_ms.map(slot_of);
        let forward = previous_slot.is_none_or(|p| first >= p);
        let keys: Vec<i64> = slots.keys().copied().collect();
        let rows = slots.iter().enumerate().map(|(i, (slot, (events, r)))| session_slot::ActiveModel {
            tenant_id: Set(u.tenant_id),
            session_id: Set(u.session_pk),
            slot_ms: Set(*slot),
            next_slot_ms: Set(if forward { keys.get(i + 1).copied() } else { None }),
            events: Set(*events),
            label: Set(r.label.as_str().to_owned()),
            valence: Set(r.dims[0]),
            arousal: Set(r.dims[1]),
            tension: Set(r.dims[2]),
            affiliation: Set(r.dims[3]),
        });
        if forward {
            forward_rows.extend(rows)
        } else {
            backward_rows.extend(rows)
        }
        match previous_slot {
            Some(p) if forward && first > p => pointers.push((u.session_pk, p, first)),
            Some(_) if !forward => relinks.push(u.session_pk),
            _ => {}
        }
    }
    use sea_orm::sea_query::ExprTrait;
    let excluded = |c: Column| Expr::col((Alias::new("excluded"), c));
    let mut on_conflict = OnConflict::columns([Column::SessionId, Column::SlotMs]);
    on_conflict
        .value(Column::Events, Expr::col((session_slot::Entity, Column::Events)).add(excluded(Column::Events)))
        .update_columns([Column::Label, Column::Valence, Column::Arousal, Column::Tension, Column::Affiliation]);
    insert_chunked(db, backward_rows, Some(&on_conflict)).await?;
    insert_chunked(db, forward_rows, Some(on_conflict.update_column(Column::NextSlotMs))).await?;
    for (session_pk, previous, first) in pointers {
        session_slot::Entity::update_many()
            .col_expr(Column::NextSlotMs, Expr::value(first))
            .filter(Column::SessionId.eq(session_pk))
            .filter(Column::SlotMs.eq(previous))
            .exec(db)
            .await?;
    }
    for session_pk in relinks {
        relink(db, session_pk).await?;
    }
    Ok(())
}

/// Points every slot of the session at the next one.
async fn relink(db: &impl ConnectionTrait, session_pk: i64) -> Result<(), StoreError> {
    let slots: Vec<(i64, Option<i64>)> = session_slot::Entity::find()
        .select_only()
        .columns([Column::SlotMs, Column::NextSlotMs])
        .filter(Column::SessionId.eq(session_pk))
        .order_by_asc(Column::SlotMs)
        .into_tuple()
        .all(db)
        .await?;
    for (i, (slot, next)) in slots.iter().enumerate() {
        let want = slots.get(i + 1).map(|s| s.0);
        if *next != want {
            session_slot::Entity::update_many()
                .col_expr(Column::NextSlotMs, Expr::value(want))
                .filter(Column::SessionId.eq(session_pk))
                .filter(Column::SlotMs.eq(*slot))
                .exec(db)
                .await?;
        }
    }
    Ok(())
}

/// One bucket's numbers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BucketStats {
    /// Sessions with events in the bucket, each counted once.
    pub sessions: i64,
    pub events: i64,
    /// Sessions by their label at their last event in the bucket, by [`Mood::index`].
    pub moods: [i64; Mood::COUNT],
    /// Sums over those sessions of (valence, arousal, tension, affiliation) at that event, each
    /// value to a billionth.
    pub sums: [f64; 4],
}

const DIMS: [&str; 4] = ["valence", "arousal", "tension", "affiliation"];

/// A gap of this many slots or more, or none, puts a slot last in any bucket (8 days: longer
/// than a week with a DST change). As the rollup stores it.
const GAP_CAP: i64 = 768;

/// The rollup's summed columns, as `series` adds them up.
const MEASURES: &str = "sessions, events, frustrated, confused, decisive, browsing, disengaged, focused, neutral, \
                        valence_e9, arousal_e9, tension_e9, affiliation_e9";

/// Stats for every bucket (zero where nothing happened), in order: one pass over the rollup
/// rows of the range (and PostgreSQL's deltas not yet compacted), however many sessions.
pub async fn series(store: &Store, tenant: &Tenant, buckets: &Buckets) -> Result<Vec<BucketStats>, StoreError> {
    let backend = store.backend();
    let p = |i: usize| match backend {
        DbBackend::Postgres => format!("${i}"),
        _ => "?".to_owned(),
    };
    let (from, to) = (buckets.edges[0].timestamp_millis(), buckets.edges[buckets.edges.len() - 1].timestamp_millis());
    let b = buckets.bucket_sql("slot_ms");
    let next = format!("(slot_ms + gap_slots * {SLOT_MS})");
    let b_next = buckets.bucket_sql(&next);
    // A row's sessions count in its bucket when their next slot is in a later one.
    let last = format!("(gap_slots >= {GAP_CAP} OR {next} >= {to} OR {b_next} > {b})");
    let moods: String = Mood::ALL
        .iter()
        .map(|m| format!(", CAST(SUM(CASE WHEN last THEN {m} ELSE 0 END) AS BIGINT) AS m_{m}"))
        .collect();
    let dims: String =
        DIMS.iter().map(|d| format!(", CAST(SUM(CASE WHEN last THEN {d}_e9 ELSE 0 END) AS BIGINT) AS s_{d}")).collect();
    let range = |table: &str, first: usize| {
        format!(
            "SELECT slot_ms, gap_slots, {MEASURES} FROM {table} \
             WHERE tenant_id = {} AND slot_ms >= {} AND slot_ms < {}",
            p(first),
            p(first + 1),
            p(first + 2)
        )
    };
    let sql = format!(
        "SELECT b, CAST(SUM(events) AS BIGINT) AS events, \
                CAST(SUM(CASE WHEN last THEN sessions ELSE 0 END) AS BIGINT) AS sessions{moods}{dims} \
         FROM (SELECT {b} AS b, {last} AS last, {MEASURES} \
               FROM ({} UNION ALL {}) summed) slots \
         GROUP BY b",
        range("slot_rollup", 1),
        range("slot_deltas", 4)
    );
    let bounds = [tenant.id.get(), from, to];
    let values: Vec<sea_orm::Value> = bounds.iter().chain(&bounds).map(|v| (*v).into()).collect();
    let rows = store.reader().query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    let position: BTreeMap<i64, usize> = buckets.indices.iter().enumerate().map(|(pos, i)| (*i, pos)).collect();
    let mut out = vec![BucketStats::default(); buckets.buckets()];
    for row in rows {
        let index: i64 = row.try_get("", "b")?;
        let Some(&pos) = position.get(&index) else { continue };
        let stats = &mut out[pos];
        stats.sessions = row.try_get("", "sessions")?;
        stats.events = row.try_get("", "events")?;
        for m in Mood::ALL {
            stats.moods[m.index()] = row.try_get("", &format!("m_{m}"))?;
        }
        for (i, d) in DIMS.iter().enumerate() {
            stats.sums[i] = row.try_get::<i64>("", &format!("s_{d}"))? as f64 / 1e9;
        }
    }
    Ok(out)
}
