//! Mood over time: the per-session 15-minute slots maintained on every write, and the
//! time-series query that reads them in local-time buckets.

use super::{Store, StoreError, insert_chunked};
use crate::domain::Tenant;
use crate::engine::{HistoryRecord, Mood};
use chrono::{DateTime, Datelike, Duration, NaiveDateTime, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
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

/// Bucket width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interval {
    Hour,
    Day,
    Week,
}

impl Interval {
    fn local_ms(self) -> i64 {
        match self {
            Self::Hour => 3_600_000,
            Self::Day => 86_400_000,
            Self::Week => 7 * 86_400_000,
        }
    }

    /// The start, in local time, of the bucket containing `t`.
    fn floor(self, t: NaiveDateTime) -> NaiveDateTime {
        let hour = t.date().and_hms_opt(t.hour(), 0, 0).expect("a whole hour exists");
        let day = t.date().and_hms_opt(0, 0, 0).expect("midnight exists");
        match self {
            Self::Hour => hour,
            Self::Day => day,
            Self::Week => day - Duration::days(i64::from(t.weekday().num_days_from_monday())),
        }
    }
}

/// Why a range cannot be cut into buckets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BucketsError {
    Empty,
    TooManyBuckets,
}

/// The buckets of a time series: local-time hours, days or weeks (weeks start on Monday) of
/// one IANA zone, following its DST changes. A local hour skipped by DST has no bucket; the
/// hour repeated when DST ends is one two-hour bucket.
#[derive(Clone, Debug)]
pub struct Buckets {
    pub interval: Interval,
    pub tz: Tz,
    /// UTC start of each bucket, and the end of the last.
    pub edges: Vec<DateTime<Utc>>,
    /// Local-time index (from `origin`) of each bucket.
    indices: Vec<i64>,
    origin_local_ms: i64,
    /// Where the zone's offset changes inside the range: (UTC instant, offset after it).
    offsets: Vec<(i64, i64)>,
}

pub const MAX_BUCKETS: usize = 1000;

/// The first instant whose local time is at or after `local` (DST gaps skip forward).
fn resolve(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    (0..12)
        .find_map(|q| tz.from_local_datetime(&(local + Duration::minutes(15 * q))).earliest())
        .expect("no DST gap lasts three hours")
        .with_timezone(&Utc)
}

fn offset_ms(tz: Tz, t_ms: i64) -> i64 {
    let t = DateTime::from_timestamp_millis(t_ms).expect("in range").naive_utc();
    i64::from(tz.offset_from_utc_datetime(&t).fix().local_minus_utc()) * 1000
}

impl Buckets {
    /// Buckets covering `[from, to)`, widened to whole buckets.
    pub fn new(from: DateTime<Utc>, to: DateTime<Utc>, interval: Interval, tz: Tz) -> Result<Self, BucketsError> {
        if from >= to {
            return Err(BucketsError::Empty);
        }
        let origin = interval.floor(from.with_timezone(&tz).naive_local());
        let step = |i: i64| match interval {
            Interval::Hour => origin + Duration::hours(i),
            Interval::Day => origin + Duration::days(i),
            Interval::Week => origin + Duration::weeks(i),
        };
        let mut edges = vec![resolve(tz, origin)];
        let mut indices = Vec::new();
        let mut i = 0;
        while *edges.last().expect("one edge") < to {
            i += 1;
            let end = resolve(tz, step(i));
            if end > *edges.last().expect("one edge") {
                indices.push(i - 1);
                edges.push(end);
            }
            if indices.len() > MAX_BUCKETS {
                return Err(BucketsError::TooManyBuckets);
            }
        }
        let (start_ms, end_ms) = (edges[0].timestamp_millis(), edges[edges.len() - 1].timestamp_millis());
        let mut offsets = vec![(start_ms, offset_ms(tz, start_ms))];
        let mut t = start_ms;
        while t < end_ms {
            let next = (t + 3_600_000).min(end_ms);
            if offset_ms(tz, next) != offsets.last().expect("one offset").1 {
                // Narrow the change down to the millisecond.
                let (mut lo, mut hi) = (t, next);
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2;
                    if offset_ms(tz, mid) == offsets.last().expect("one offset").1 { lo = mid } else { hi = mid }
                }
                offsets.push((hi, offset_ms(tz, hi)));
            }
            t = next;
        }
        let origin_local_ms = origin.and_utc().timestamp_millis();
        Ok(Self { interval, tz, edges, indices, origin_local_ms, offsets })
    }

    pub fn buckets(&self) -> usize {
        self.indices.len()
    }

    /// SQL for the local-time bucket index of the UTC milliseconds in `col`.
    fn bucket_sql(&self, col: &str) -> String {
        let offset = match self.offsets.as_slice() {
            [(_, only)] => only.to_string(),
            [(_, first), rest @ ..] => {
                let mut case = String::from("CASE");
                let mut current = *first;
                for (at, after) in rest {
                    case.push_str(&format!(" WHEN {col} < {at} THEN {current}"));
                    current = *after;
                }
                format!("{case} ELSE {current} END")
            }
            [] => "0".into(),
        };
        format!("(({col} + {offset} - {}) / {})", self.origin_local_ms, self.interval.local_ms())
    }
}

/// One bucket's numbers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BucketStats {
    /// Sessions with events in the bucket, each counted once.
    pub sessions: i64,
    pub events: i64,
    /// Sessions by their label at their last event in the bucket, by [`Mood::index`].
    pub moods: [i64; Mood::COUNT],
    /// Sums over those sessions of (valence, arousal, tension, affiliation) at that event.
    pub sums: [f64; 4],
}

/// Stats for every bucket (zero where nothing happened), in order.
pub async fn series(store: &Store, tenant: &Tenant, buckets: &Buckets) -> Result<Vec<BucketStats>, StoreError> {
    let backend = store.backend();
    let (p1, p2, p3) = match backend {
        DbBackend::Postgres => ("$1", "$2", "$3"),
        _ => ("?", "?", "?"),
    };
    let (from, to) = (buckets.edges[0].timestamp_millis(), buckets.edges[buckets.edges.len() - 1].timestamp_millis());
    let b = buckets.bucket_sql("slot_ms");
    let b_next = buckets.bucket_sql("next_slot_ms");
    let moods: String = Mood::ALL
        .iter()
        .map(|m| format!(", CAST(SUM(CASE WHEN last = 1 AND label = '{m}' THEN 1 ELSE 0 END) AS BIGINT) AS m_{m}"))
        .collect();
    let dims: String = ["valence", "arousal", "tension", "affiliation"]
        .iter()
        .map(|d| format!(", SUM(CASE WHEN last = 1 THEN {d} ELSE 0.0 END) AS s_{d}"))
        .collect();
    let sql = format!(
        "SELECT b, CAST(SUM(events) AS BIGINT) AS events, CAST(SUM(last) AS BIGINT) AS sessions{moods}{dims} \
         FROM (SELECT {b} AS b, events, label, valence, arousal, tension, affiliation, \
                 CASE WHEN next_slot_ms IS NULL OR next_slot_ms >= {to} OR {b_next} > {b} THEN 1 ELSE 0 END AS last \
               FROM session_slots WHERE tenant_id = {p1} AND slot_ms >= {p2} AND slot_ms < {p3}) slots \
         GROUP BY b"
    );
    let values: Vec<sea_orm::Value> = vec![tenant.id.get().into(), from.into(), to.into()];
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
        for (i, d) in ["valence", "arousal", "tension", "affiliation"].iter().enumerate() {
            stats.sums[i] = row.try_get("", &format!("s_{d}"))?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{Asia::Kolkata, Europe::Paris, UTC};

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn day_buckets_follow_dst() {
        // Paris springs forward on 2026-03-29: that day has 23 hours.
        let buckets =
            Buckets::new(utc("2026-03-28T12:00:00Z"), utc("2026-03-30T12:00:00Z"), Interval::Day, Paris).unwrap();
        let edges: Vec<String> = buckets.edges.iter().map(|e| e.to_rfc3339()).collect();
        assert_eq!(
            edges,
            [
                "2026-03-27T23:00:00+00:00",
                "2026-03-28T23:00:00+00:00",
                "2026-03-29T22:00:00+00:00",
                "2026-03-30T22:00:00+00:00"
            ]
        );
        assert_eq!(
            buckets.offsets,
            vec![
                (utc("2026-03-27T23:00:00Z").timestamp_millis(), 3_600_000),
                (utc("2026-03-29T01:00:00Z").timestamp_millis(), 7_200_000)
            ]
        );
    }

    #[test]
    fn hours_skip_the_dst_gap_and_merge_the_repeat() {
        let spring =
            Buckets::new(utc("2026-03-29T00:00:00Z"), utc("2026-03-29T03:00:00Z"), Interval::Hour, Paris).unwrap();
        // Local 01:00, then 03:00 (02:00 does not exist), 04:00, 05:00.
        assert_eq!(spring.buckets(), 3);
        assert_eq!(spring.edges[1], utc("2026-03-29T01:00:00Z"));
        let autumn =
            Buckets::new(utc("2026-10-25T00:00:00Z"), utc("2026-10-25T02:00:00Z"), Interval::Hour, Paris).unwrap();
        // Local 02:00 happens twice: one bucket of two hours.
        assert_eq!(autumn.edges, vec![utc("2026-10-25T00:00:00Z"), utc("2026-10-25T02:00:00Z")]);
    }

    #[test]
    fn half_hour_zones_and_weeks_align_locally() {
        let buckets =
            Buckets::new(utc("2026-11-23T10:00:00Z"), utc("2026-11-23T11:00:00Z"), Interval::Hour, Kolkata).unwrap();
        assert_eq!(buckets.edges[0], utc("2026-11-23T09:30:00Z"));
        let weeks =
            Buckets::new(utc("2026-11-25T10:00:00Z"), utc("2026-12-01T00:00:00Z"), Interval::Week, UTC).unwrap();
        assert_eq!(
            weeks.edges,
            vec![utc("2026-11-23T00:00:00Z"), utc("2026-11-30T00:00:00Z"), utc("2026-12-07T00:00:00Z")]
        );
    }

    #[test]
    fn ranges_are_bounded() {
        let from = utc("2026-01-01T00:00:00Z");
        assert!(Buckets::new(from, from + Duration::hours(1000), Interval::Hour, UTC).is_ok());
        assert!(matches!(
            Buckets::new(from, from + Duration::hours(1001), Interval::Hour, UTC),
            Err(BucketsError::TooManyBuckets)
        ));
        assert_eq!(Buckets::new(from, from, Interval::Day, UTC).unwrap_err(), BucketsError::Empty);
    }
}
