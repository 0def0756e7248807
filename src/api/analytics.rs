use super::Tag;
use super::auth::Auth;
use super::body::JsonReply;
use super::error::{ApiError, Fails, Failures};
use super::params::{InstantParam, TimeZoneParam};
use super::wire::{MoodLabel, Scale, parse_instant, round4};
use crate::engine::{Dims, Mood, label_of};
use crate::reads::Reads;
use crate::state::AppState;
use crate::store::analytics;
use crate::store::timeline::{self, Buckets, BucketsError, Interval, MAX_BUCKETS};
use chrono::SecondsFormat;
use chrono_tz::Tz;
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{Enum, Object, OpenApi};
use serde::Serialize;
use std::sync::Arc;

#[derive(Debug, Object, Serialize)]
pub struct MoodShare {
    pub mood: MoodLabel,
    /// Sessions whose latest event left them at this mood.
    pub count: i64,
    /// Percentage of all sessions, 0–100, rounded to one decimal.
    pub percentage: f64,
}

/// The emotional landscape of your sessions.
#[derive(Debug, Object, Serialize)]
#[oai(example)]
pub struct MoodAnalytics {
    /// Sessions recorded for this key's customer (erased sessions excluded).
    pub total_sessions: i64,
    /// Sessions with at least one feedback record.
    pub feedback_count: i64,
    /// All seven moods, by count descending; equal counts in the order frustrated, confused,
    /// decisive, browsing, disengaged, focused, neutral.
    pub mood_distribution: Vec<MoodShare>,
}

impl Example for MoodAnalytics {
    fn example() -> Self {
        let counts = analytics::MoodCounts { sessions: [198, 144, 0, 640, 70, 510, 280], with_feedback: 310 };
        Self::from(counts)
    }
}

impl From<analytics::MoodCounts> for MoodAnalytics {
    fn from(c: analytics::MoodCounts) -> Self {
        let total = c.total();
        let mut moods = Mood::ALL.to_vec();
        // Stable: equal counts keep the documented order.
        moods.sort_by_key(|m| std::cmp::Reverse(c.sessions[m.index()]));
        let mood_distribution = moods
            .into_iter()
            .map(|m| {
                let count = c.sessions[m.index()];
                let percentage = if total == 0 { 0.0 } else { (count as f64 * 1000.0 / total as f64).round() / 10.0 };
                MoodShare { mood: m.into(), count, percentage }
            })
            .collect();
        Self { total_sessions: total, feedback_count: c.with_feedback, mood_distribution }
    }
}

/// Sonzai's aggregate: the mean affect of recently active sessions.
#[derive(Debug, Object)]
#[oai(example)]
pub struct MoodAggregate {
    /// Mean over the sessions, on the requested scale.
    pub valence: f64,
    pub arousal: f64,
    pub tension: f64,
    pub affiliation: f64,
    /// The mood whose prototype is nearest the mean (`neutral` with no sessions).
    pub label: MoodLabel,
    /// Sessions whose latest event falls in the window.
    pub session_count: i64,
    /// Distinct users among those sessions (sessions not linked to a `user_id` do not count).
    pub user_count: i64,
    /// The window, in days back from now.
    pub days_window: i64,
    pub scale: Scale,
}

impl Example for MoodAggregate {
    fn example() -> Self {
        Self {
            valence: 0.12,
            arousal: 0.05,
            tension: -0.08,
            affiliation: 0.1,
            label: MoodLabel::Neutral,
            session_count: 1842,
            user_count: 977,
            days_window: 5,
            scale: Scale::Unit,
        }
    }
}

pub struct OnAnalytics;
impl Failures for OnAnalytics {
    const STATUSES: &'static [u16] = &[401, 403, 429, 500];
}

/// Bucket width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum IntervalParam {
    Hour,
    Day,
    Week,
}

impl From<IntervalParam> for Interval {
    fn from(i: IntervalParam) -> Self {
        match i {
            IntervalParam::Hour => Interval::Hour,
            IntervalParam::Day => Interval::Day,
            IntervalParam::Week => Interval::Week,
        }
    }
}

/// Sessions at one mood in a bucket.
#[derive(Debug, Object)]
pub struct MoodCount {
    pub mood: MoodLabel,
    pub count: i64,
    /// `count / sessions`, 0–1 to 4 decimals (0 in an empty bucket).
    pub share: f64,
}

/// One bucket of a time series.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TimeBucket {
    /// Bucket start, in the requested zone's offset.
    pub start: String,
    pub end: String,
    /// Sessions with events in the bucket, each counted once.
    pub sessions: i64,
    /// Events in the bucket.
    pub events: i64,
    /// All seven moods (documented order), each session counted under its label at its last
    /// event in the bucket.
    pub moods: Vec<MoodCount>,
    /// Mean dimensions over those sessions at those events, to 4 decimals; absent in an empty
    /// bucket.
    pub valence: Option<f64>,
    pub arousal: Option<f64>,
    pub tension: Option<f64>,
    pub affiliation: Option<f64>,
}

/// Mood over time, zero-filled.
#[derive(Debug, Object)]
pub struct TimeSeries {
    /// The range covered, widened to whole buckets.
    pub from: String,
    pub to: String,
    pub interval: IntervalParam,
    pub tz: String,
    pub scale: Scale,
    pub buckets: Vec<TimeBucket>,
}

pub struct OnQuery;
impl Failures for OnQuery {
    const STATUSES: &'static [u16] = &[400, 401, 403, 429, 500];
}

pub struct AnalyticsApi;

#[OpenApi(prefix_path = "/v1/analytics", tag = "Tag::Analytics")]
impl AnalyticsApi {
    /// Mood distribution
    ///
    /// How many of your sessions are at each mood (by each session's latest event), and how
    /// many have feedback. Read from counts maintained on every write: constant time however
    /// many sessions there are.
    #[oai(path = "/moods", method = "get", operation_id = "getMoodAnalytics")]
    async fn moods(
        &self,
        reads: Data<&Arc<Reads>>,
        auth: Auth,
    ) -> Result<JsonReply<MoodAnalytics>, Fails<OnAnalytics>> {
        Ok(JsonReply(reads.mood_counts(auth.tenant()).await?.into()))
    }

    /// Mood over time
    ///
    /// Zero-filled buckets (hours, days or weeks starting Monday) of local time in an IANA
    /// zone, DST included, over `[from, to)` widened to whole buckets: per-mood session counts
    /// and shares (a session counts under its label at its last event inside the bucket), mean
    /// dimensions and the event count. At most 1,000 buckets. Defaults: the last 30 days by
    /// day, 48 hours by hour, 12 weeks by week, in UTC.
    #[oai(path = "/moods/timeseries", method = "get", operation_id = "getMoodTimeseries")]
    #[allow(clippy::too_many_arguments)]
    async fn timeseries(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Auth,
        /// Start (ISO 8601 or Unix seconds).
        from: Query<Option<InstantParam>>,
        /// End, exclusive (ISO 8601 or Unix seconds); default now.
        to: Query<Option<InstantParam>>,
        /// `hour`, `day` (default) or `week`.
        interval: Query<Option<IntervalParam>>,
        /// IANA zone, e.g. `Europe/Paris` (default `UTC`).
        tz: Query<Option<TimeZoneParam>>,
        /// `unit` (default) or Sonzai's `0-100`.
        scale: Query<Option<Scale>>,
    ) -> Result<Json<TimeSeries>, Fails<OnQuery>> {
        let interval = interval.0.unwrap_or(IntervalParam::Day);
        let zone_name = tz.0.map_or_else(|| "UTC".to_owned(), |zone| zone.value);
        let zone: Tz = zone_name.parse().map_err(|_| ApiError::InvalidParameter {
            param: "tz".into(),
            message: "must be an IANA time zone such as Europe/Paris".into(),
        })?;
        let to = match to.0.as_deref() {
            Some(raw) => parse_instant("to", raw)?,
            None => state.clock.now(),
        };
        let from = match from.0.as_deref() {
            Some(raw) => parse_instant("from", raw)?,
            None => {
                to - match interval {
                    IntervalParam::Hour => chrono::Duration::hours(48),
                    IntervalParam::Day => chrono::Duration::days(30),
                    IntervalParam::Week => chrono::Duration::weeks(12),
                }
            }
        };
        let buckets = Buckets::new(from, to, interval.into(), zone).map_err(|e| ApiError::InvalidParameter {
            param: match e {
                BucketsError::Empty => "from".into(),
                BucketsError::TooManyBuckets => "interval".into(),
            },
            message: match e {
                BucketsError::Empty => "must be before to".into(),
                BucketsError::TooManyBuckets => {
                    format!("the range holds more than {MAX_BUCKETS} buckets: widen the interval or narrow the range")
                }
            },
        })?;
        let stats = timeline::series(&state.store, auth.tenant(), &buckets).await?;
        let scale = scale.0.unwrap_or_default();
        let local =
            |t: &chrono::DateTime<chrono::Utc>| t.with_timezone(&zone).to_rfc3339_opts(SecondsFormat::Millis, true);
        let out = stats
            .iter()
            .zip(buckets.edges.windows(2))
            .map(|(s, edge)| {
                let mean = (s.sessions > 0).then(|| scale.point(s.sums.map(|v| v / s.sessions as f64)).map(round4));
                TimeBucket {
                    start: local(&edge[0]),
                    end: local(&edge[1]),
                    sessions: s.sessions,
                    events: s.events,
                    moods: Mood::ALL
                        .iter()
                        .map(|m| {
                            let count = s.moods[m.index()];
                            let share = if s.sessions == 0 { 0.0 } else { round4(count as f64 / s.sessions as f64) };
                            MoodCount { mood: (*m).into(), count, share }
                        })
                        .collect(),
                    valence: mean.map(|d| d[0]),
                    arousal: mean.map(|d| d[1]),
                    tension: mean.map(|d| d[2]),
                    affiliation: mean.map(|d| d[3]),
                }
            })
            .collect();
        Ok(Json(TimeSeries {
            from: local(&buckets.edges[0]),
            to: local(&buckets.edges[buckets.edges.len() - 1]),
            interval,
            tz: zone_name,
            scale,
            buckets: out,
        }))
    }

    /// Mean mood of recent sessions
    ///
    /// Mean valence, arousal, tension and affiliation over the sessions whose latest event
    /// falls in the last `days` days, and the mood nearest that mean (Sonzai's aggregate).
    #[oai(path = "/moods/aggregate", method = "get", operation_id = "getMoodAggregate")]
    async fn aggregate(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Auth,
        /// Days back from now, 1–365 (default 5).
        #[oai(validator(minimum(value = "1"), maximum(value = "365")))]
        days: Query<Option<i64>>,
        /// `unit` (default) or Sonzai's `0-100`.
        scale: Query<Option<Scale>>,
    ) -> Result<Json<MoodAggregate>, Fails<OnQuery>> {
        let days = days.0.unwrap_or(5);
        if !(1..=365).contains(&days) {
            return Err(ApiError::InvalidParameter {
                param: "days".into(),
                message: "must be between 1 and 365".into(),
            }
            .into());
        }
        let since = state.clock.now().timestamp_millis() - days * 86_400_000;
        let agg = analytics::aggregate(&state.store, auth.tenant(), since).await?;
        let label =
            if agg.sessions == 0 { Mood::Neutral } else { label_of(&state.models.session, &Dims::from(agg.mean)) };
        let scale = scale.0.unwrap_or_default();
        let mean = scale.point(agg.mean);
        Ok(Json(MoodAggregate {
            valence: mean[0],
            arousal: mean[1],
            tension: mean[2],
            affiliation: mean[3],
            label: label.into(),
            session_count: agg.sessions,
            user_count: agg.users,
            days_window: days,
            scale,
        }))
    }
}
