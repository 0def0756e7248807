//! Local-time buckets of a time series: hours, days or weeks of an IANA zone, and the SQL that
//! puts a UTC instant in its bucket.

use chrono::{DateTime, Datelike, Duration, NaiveDateTime, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

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
    pub(super) indices: Vec<i64>,
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
    pub(super) fn bucket_sql(&self, col: &str) -> String {
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
