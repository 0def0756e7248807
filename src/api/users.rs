//! Per-person affect for agent and chatbot builders: how someone is doing now, across their
//! sessions, in one cheap call before every reply.

use super::Tag;
use super::auth::Auth;
use super::body::JsonReply;
use super::error::{ApiError, Fails, Failures};
use super::history::{HistoryResponse, page_params};
use super::params::{ClientIdParam, InstantParam};
use super::wire::{MoodLabel, Scale, SignalDetail, UiAction, iso8601, parse_instant, round4, user_id};
use crate::engine::{project_at, summarize};
use crate::state::AppState;
use crate::store::users::{self, UserSession};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{Object, OpenApi};
use serde::Serialize;
use std::sync::Arc;

/// One of the user's sessions.
#[derive(Debug, Object, Serialize)]
pub struct UserSessionOut {
    pub session_id: String,
    /// The session's mood at its latest event.
    pub mood: MoodLabel,
    pub confidence: f64,
    pub event_count: i64,
    pub created_at: String,
    /// Time of the session's latest event.
    pub updated_at: String,
}

impl From<&UserSession> for UserSessionOut {
    fn from(s: &UserSession) -> Self {
        Self {
            session_id: s.session_id.clone(),
            mood: s.label.into(),
            confidence: round4(s.confidence),
            event_count: s.event_count,
            created_at: iso8601(s.created_at_ms),
            updated_at: iso8601(s.updated_at_ms),
        }
    }
}

/// How a person is doing now, across their sessions.
#[derive(Debug, Object, Serialize)]
#[oai(example)]
pub struct UserMood {
    pub user_id: String,
    pub label: MoodLabel,
    /// 0–1, rounded to 4 decimals; fades as time passes without events.
    pub confidence: f64,
    /// Signals behind the label, strongest first, with the values that fired them.
    pub signals: Vec<SignalDetail>,
    pub suggested_action: UiAction,
    pub valence: f64,
    pub arousal: f64,
    pub tension: f64,
    pub affiliation: f64,
    /// The person's own neutral, learnt from their usual behaviour.
    pub baseline_valence: f64,
    pub baseline_arousal: f64,
    pub baseline_tension: f64,
    pub baseline_affiliation: f64,
    /// Events seen across all their sessions.
    pub event_count: i64,
    /// Time of their latest event.
    pub last_interaction_at: String,
    /// The instant this reading is for (`at`, default now).
    pub evaluated_at: String,
    /// Their most recently active sessions (up to 5), newest first.
    pub recent_sessions: Vec<UserSessionOut>,
    /// One paragraph for an LLM prompt.
    pub summary: String,
    pub model_version: String,
    pub scale: Scale,
}

impl Example for UserMood {
    fn example() -> Self {
        Self {
            user_id: "u_8f3k2a".into(),
            label: MoodLabel::Frustrated,
            confidence: 0.78,
            signals: vec![],
            suggested_action: UiAction::ShowLiveChat,
            valence: -0.48,
            arousal: 0.41,
            tension: 0.57,
            affiliation: -0.12,
            baseline_valence: 0.03,
            baseline_arousal: 0.01,
            baseline_tension: 0.02,
            baseline_affiliation: 0.05,
            event_count: 212,
            last_interaction_at: "2026-05-04T10:00:12.000Z".into(),
            evaluated_at: "2026-05-04T10:00:40.000Z".into(),
            recent_sessions: vec![],
            summary:
                "The user seems frustrated (confidence 0.78): two errors and a rage click on their current session; \
                      they were calm in their previous session."
                    .into(),
            model_version: "user-1".into(),
            scale: Scale::Unit,
        }
    }
}

#[derive(Debug, Object)]
pub struct UserSessions {
    pub user_id: String,
    /// Newest first.
    pub sessions: Vec<UserSessionOut>,
}

#[derive(Debug, Object)]
pub struct DeleteUserResponse {
    pub user_id: String,
    pub deleted: bool,
    /// Sessions erased with the user.
    pub sessions_deleted: u64,
    pub message: String,
}

pub struct OnUserRead;
impl Failures for OnUserRead {
    const STATUSES: &'static [u16] = &[400, 401, 403, 404, 429, 500];
}

const RECENT_SESSIONS: u64 = 5;

pub struct UsersApi;

#[OpenApi(prefix_path = "/v1/users", tag = "Tag::Users")]
impl UsersApi {
    /// Get a user's current mood
    ///
    /// How this person is doing now: their state across all their sessions, decayed to the
    /// present (or to `at`), with the signals behind it, their recent sessions and a summary
    /// paragraph to put in an LLM prompt. Cheap enough to call before every reply.
    #[oai(path = "/:user_id/mood", method = "get", operation_id = "getUserMood")]
    async fn mood(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Auth,
        /// Your id for the person, as sent with their sessions' events.
        user_id: Path<ClientIdParam>,
        /// Evaluate at this instant (ISO 8601 or Unix seconds); default now.
        at: Query<Option<InstantParam>>,
        /// `unit` (default) or Sonzai's `0-100`.
        scale: Query<Option<Scale>>,
    ) -> Result<JsonReply<UserMood>, Fails<OnUserRead>> {
        let id = self::user_id(&user_id)?;
        let (user, stored) = users::state(&state.store, auth.tenant(), &id)
            .await?
            .ok_or_else(|| ApiError::UserNotFound(id.to_string()))?;
        let latest = stored.state.last_interaction_at_ms.unwrap_or(stored.created_at_ms);
        let at_ms = match at.0.as_deref() {
            Some(raw) => parse_instant("at", raw)?.timestamp_millis(),
            None => state.clock.now().timestamp_millis(),
        }
        .max(latest);
        let model = state.models.user_for(&stored.model_version);
        let (affect, projection) = project_at(model, &stored.state, at_ms);
        // A person's draws are their own: no session id contains the control character.
        let subject = format!("\u{1}user:{id}");
        let action = state.policies.suggest(&state.store, auth.tenant(), &subject, model, &projection).await?;
        let recent = users::sessions_of(&state.store, user, RECENT_SESSIONS).await?;
        let summary = summarize(&projection, recent.get(1).map(|s| s.label));
        let scale = scale.0.unwrap_or_default();
        let (dims, base) = (scale.point(affect.dims.into()), scale.point(affect.baseline.into()));
        Ok(JsonReply(UserMood {
            user_id: id.to_string(),
            label: projection.label.into(),
            confidence: round4(projection.confidence),
            signals: projection.signals.iter().map(SignalDetail::from).collect(),
            suggested_action: action.into(),
            valence: dims[0],
            arousal: dims[1],
            tension: dims[2],
            affiliation: dims[3],
            baseline_valence: base[0],
            baseline_arousal: base[1],
            baseline_tension: base[2],
            baseline_affiliation: base[3],
            event_count: affect.event_count as i64,
            last_interaction_at: iso8601(latest),
            evaluated_at: iso8601(at_ms),
            recent_sessions: recent.iter().map(UserSessionOut::from).collect(),
            summary,
            model_version: stored.model_version,
            scale,
        }))
    }

    /// Get a user's mood history
    ///
    /// The person's state after each event of any of their sessions, newest first, in
    /// Sonzai's entry shape. Page with `before` = the previous page's `next_cursor`.
    #[oai(path = "/:user_id/mood-history", method = "get", operation_id = "getUserMoodHistory")]
    async fn history(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Auth,
        /// Your id for the person.
        user_id: Path<ClientIdParam>,
        /// Entries per page, 1–500 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))]
        limit: Query<Option<i64>>,
        /// A `next_cursor` from an earlier page.
        #[oai(validator(pattern = "^[0-9]{1,18}$"))]
        before: Query<Option<String>>,
        /// `unit` (default) or Sonzai's `0-100`.
        scale: Query<Option<Scale>>,
    ) -> Result<Json<HistoryResponse>, Fails<OnUserRead>> {
        let id = self::user_id(&user_id)?;
        let (limit, before) = page_params(limit.0, before.0.as_deref())?;
        let page = users::history(&state.store, auth.tenant(), &id, limit, before)
            .await?
            .ok_or_else(|| ApiError::UserNotFound(id.to_string()))?;
        Ok(Json(HistoryResponse::new(&page, scale.0.unwrap_or_default())))
    }

    /// List a user's sessions
    ///
    /// The sessions linked to this person, most recently active first, with their mood.
    #[oai(path = "/:user_id/sessions", method = "get", operation_id = "getUserSessions")]
    async fn sessions(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Auth,
        /// Your id for the person.
        user_id: Path<ClientIdParam>,
        /// At most this many, 1–500 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))]
        limit: Query<Option<i64>>,
    ) -> Result<Json<UserSessions>, Fails<OnUserRead>> {
        let id = self::user_id(&user_id)?;
        let (limit, _) = page_params(limit.0, None)?;
        let user = users::find_ref(&state.store, auth.tenant(), &id)
            .await?
            .ok_or_else(|| ApiError::UserNotFound(id.to_string()))?;
        let sessions = users::sessions_of(&state.store, user, limit).await?;
        Ok(Json(UserSessions {
            user_id: id.to_string(),
            sessions: sessions.iter().map(UserSessionOut::from).collect(),
        }))
    }

    /// Erase a user
    ///
    /// Permanently erases the person and every session linked to them — events, states,
    /// histories, feedback and their place in analytics — in one transaction (GDPR erasure by
    /// person).
    #[oai(path = "/:user_id", method = "delete", operation_id = "deleteUser")]
    async fn delete(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Auth,
        /// Your id for the person.
        user_id: Path<ClientIdParam>,
    ) -> Result<Json<DeleteUserResponse>, Fails<OnUserRead>> {
        let id = self::user_id(&user_id)?;
        let sessions_deleted = users::erase(&state.store, auth.tenant(), &id)
            .await?
            .ok_or_else(|| ApiError::UserNotFound(id.to_string()))?;
        Ok(Json(DeleteUserResponse {
            user_id: id.to_string(),
            deleted: true,
            sessions_deleted,
            message: "User data permanently erased.".into(),
        }))
    }
}
