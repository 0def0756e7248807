use super::Tag;
use super::auth::Auth;
use super::error::{ApiError, Fails, Failures};
use super::wire::{MoodLabel, Scale};
use crate::app::AppState;
use crate::engine::{Dims, Mood, label_of};
use crate::store::analytics;
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{Object, OpenApi};
use std::sync::Arc;

#[derive(Debug, Object)]
pub struct MoodShare {
    pub mood: MoodLabel,
    /// Sessions whose latest event left them at this mood.
    pub count: i64,
    /// Percentage of all sessions, 0–100, rounded to one decimal.
    pub percentage: f64,
}

/// The emotional landscape of your sessions.
#[derive(Debug, Object)]
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
    /// Sonzai's name for the count: equal to `session_count`.
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
            user_count: 1842,
            days_window: 5,
            scale: Scale::Unit,
        }
    }
}

pub struct OnAnalytics;
impl Failures for OnAnalytics {
    const STATUSES: &'static [u16] = &[401, 500];
}

pub struct OnQuery;
impl Failures for OnQuery {
    const STATUSES: &'static [u16] = &[400, 401, 500];
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
    async fn moods(&self, state: Data<&Arc<AppState>>, auth: Auth) -> Result<Json<MoodAnalytics>, Fails<OnAnalytics>> {
        Ok(Json(analytics::mood_counts(&state.store, auth.tenant()).await?.into()))
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
        let label = if agg.sessions == 0 { Mood::Neutral } else { label_of(&state.model, &Dims::from(agg.mean)) };
        let scale = scale.0.unwrap_or_default();
        let mean = scale.point(agg.mean);
        Ok(Json(MoodAggregate {
            valence: mean[0],
            arousal: mean[1],
            tension: mean[2],
            affiliation: mean[3],
            label: label.into(),
            session_count: agg.sessions,
            user_count: agg.sessions,
            days_window: days,
            scale,
        }))
    }
}
