use super::Tag;
use super::auth::Auth;
use super::error::{Fails, Failures};
use super::wire::MoodLabel;
use crate::app::AppState;
use crate::engine::Mood;
use crate::store::analytics;
use poem::web::Data;
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

pub struct OnAnalytics;
impl Failures for OnAnalytics {
    const STATUSES: &'static [u16] = &[401, 500];
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
}
