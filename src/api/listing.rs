//! Browsing a tenant's sessions page by page, and a session's feedback: what the dashboard's
//! session list and session page read.

use super::Tag;
use super::auth::Auth;
use super::error::{ApiError, Fails, Failures};
use super::history::page_params;
use super::params::InstantParam;
use super::wire::{MoodLabel, UiAction, iso8601, parse_instant, round4, session_id};
use crate::interventions::{Context, Reading};
use crate::reads::Reads;
use crate::state::AppState;
use crate::store::listing::{self, ListedFeedback, ListedSession, SessionCursor, SessionFilter};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{Object, OpenApi};
use std::sync::Arc;

/// A session in a list: its current mood, as `GET …/mood` answers, and who it belongs to.
#[derive(Debug, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct SessionSummary {
    pub session_id: String,
    /// The person the session is linked to; absent when it is not linked.
    pub user_id: Option<String>,
    pub mood: MoodLabel,
    /// 0–1, rounded to 4 decimals.
    pub confidence: f64,
    /// Signal identifiers behind the mood, strongest first.
    pub signals: Vec<String>,
    pub suggested_action: UiAction,
    pub event_count: i64,
    /// When the session's first batch was received.
    pub created_at: String,
    /// Time of the session's latest event.
    pub updated_at: String,
    /// Whether any feedback was recorded for the session.
    pub has_feedback: bool,
}

impl Example for SessionSummary {
    fn example() -> Self {
        Self {
            session_id: "user_abc".into(),
            user_id: Some("u_8f3k2a".into()),
            mood: MoodLabel::Frustrated,
            confidence: 0.89,
            signals: vec!["rage_click_detected".into(), "repeated_errors".into()],
            suggested_action: UiAction::ShowLiveChat,
            event_count: 6,
            created_at: "2026-05-04T09:58:40.000Z".into(),
            updated_at: "2026-05-04T10:00:00.000Z".into(),
            has_feedback: false,
        }
    }
}

/// A page of sessions, most recently active first.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct SessionList {
    pub sessions: Vec<SessionSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// One feedback record.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct FeedbackRecord {
    pub action_taken: String,
    /// Absent when the feedback did not say.
    pub was_helpful: Option<bool>,
    pub notes: Option<String>,
    /// The mood the feedback answered: the session's when it was recorded.
    pub mood: MoodLabel,
    pub confidence: f64,
    pub created_at: String,
}

impl From<ListedFeedback> for FeedbackRecord {
    fn from(f: ListedFeedback) -> Self {
        Self {
            action_taken: f.action_taken,
            was_helpful: f.was_helpful,
            notes: f.notes,
            mood: f.mood.into(),
            confidence: round4(f.confidence),
            created_at: iso8601(f.created_at_ms),
        }
    }
}

/// A page of a session's feedback, newest first.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct FeedbackList {
    pub session_id: String,
    pub feedback: Vec<FeedbackRecord>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

pub struct OnList;
impl Failures for OnList {
    const STATUSES: &'static [u16] = &[400, 401, 403, 429, 500];
}

pub struct ListingApi;

#[OpenApi(prefix_path = "/v1/sessions", tag = "Tag::Sessions")]
impl ListingApi {
    /// List sessions
    ///
    /// Your sessions, most recently active first, optionally only those at one mood or active
    /// in `[from, to)`. Page with `cursor` = the previous page's `next_cursor`: a walk never
    /// shows a session twice, and a session that receives events meanwhile moves to the front
    /// of a fresh list (so a walk started before may not reach it).
    #[oai(path = "/", method = "get", operation_id = "listSessions")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        reads: Data<&Arc<Reads>>,
        auth: Auth,
        /// Only sessions currently at this mood.
        mood: Query<Option<MoodLabel>>,
        /// Only sessions whose latest event is at or after this instant (ISO 8601 or Unix seconds).
        from: Query<Option<InstantParam>>,
        /// Only sessions whose latest event is before this instant (ISO 8601 or Unix seconds).
        to: Query<Option<InstantParam>>,
        /// Sessions per page, 1–500 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))]
        limit: Query<Option<i64>>,
        /// A `next_cursor` from an earlier page.
        #[oai(validator(pattern = "^[0-9]{1,18}_[0-9]{1,18}$"))]
        cursor: Query<Option<String>>,
    ) -> Result<Json<SessionList>, Fails<OnList>> {
        let (limit, _) = page_params(limit.0, None)?;
        let instant = |name: &str, raw: Option<&str>| raw.map(|r| parse_instant(name, r)).transpose();
        let filter = SessionFilter {
            mood: mood.0.map(Into::into),
            active_from_ms: instant("from", from.0.as_deref())?.map(|t| t.timestamp_millis()),
            active_to_ms: instant("to", to.0.as_deref())?.map(|t| t.timestamp_millis()),
        };
        if let (Some(from), Some(to)) = (filter.active_from_ms, filter.active_to_ms)
            && from >= to
        {
            return Err(ApiError::InvalidParameter { param: "from".into(), message: "must be before to".into() }.into());
        }
        let after = match cursor.0.as_deref() {
            None => None,
            Some(raw) => Some(SessionCursor::decode(raw).ok_or_else(|| ApiError::InvalidParameter {
                param: "cursor".into(),
                message: "must be a next_cursor from an earlier page".into(),
            })?),
        };
        let tenant = auth.tenant();
        // The maintained counts say in constant time when no session is at the mood; the
        // listing would otherwise read every session to find none.
        if let Some(mood) = filter.mood
            && reads.mood_counts(tenant).await?.sessions[mood.index()] == 0
        {
            return Ok(Json(SessionList { sessions: vec![], next_cursor: None }));
        }
        let (rows, next) = listing::sessions(&state.store, tenant, &filter, after, limit).await?;
        let policy = state.policies.get(&state.store, tenant).await?;
        let summary = |s: ListedSession| {
            let context = Context { mood: s.label, signal: s.signals.first().copied() };
            let (model, reading) =
                (state.models.session_for(&s.model_version), Reading { context, confidence: s.confidence });
            let action = policy.revise(model, tenant.id.get(), &s.session_id, reading, s.action);
            SessionSummary {
                mood: s.label.into(),
                confidence: round4(s.confidence),
                signals: s.signals.iter().map(|id| id.as_str().to_owned()).collect(),
                suggested_action: action.into(),
                event_count: s.event_count,
                created_at: iso8601(s.created_at_ms),
                updated_at: iso8601(s.updated_at_ms),
                has_feedback: s.has_feedback,
                user_id: s.user_id,
                session_id: s.session_id,
            }
        };
        Ok(Json(SessionList {
            sessions: rows.into_iter().map(summary).collect(),
            next_cursor: next.map(|c| c.encode()),
        }))
    }
}

/// `GET /v1/sessions/{id}/feedback`, declared in [`super::sessions::SessionsApi`] beside the
/// `POST` on the same path (poem-openapi documents one path per API type).
pub(super) async fn feedback_page(
    state: &AppState,
    auth: &Auth,
    id: &str,
    limit: Option<i64>,
    before: Option<&str>,
) -> Result<FeedbackList, ApiError> {
    let id = session_id(id)?;
    let (limit, before) = page_params(limit, before)?;
    let (records, next) = listing::feedback(&state.store, auth.tenant(), &id, limit, before)
        .await?
        .ok_or_else(|| ApiError::SessionNotFound(id.to_string()))?;
    Ok(FeedbackList {
        session_id: id.to_string(),
        feedback: records.into_iter().map(Into::into).collect(),
        next_cursor: next.map(|c| c.to_string()),
    })
}
