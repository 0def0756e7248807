use super::Tag;
use super::auth::{Auth, SessionAuth};
use super::body::{JsonBody, JsonReply};
use super::error::{ApiError, Fails, Failures};
use super::events::PostEventsRequest;
use super::listing::{FeedbackList, feedback_page};
use super::params::ClientIdParam;
use super::wire::{MoodLabel, UiAction, check_text, iso8601, round4, session_id, user_id};
use crate::ingest::Job;
use crate::interventions::{Context, Reading};
use crate::reads::Reads;
use crate::state::AppState;
use crate::store::feedback::{self, NewFeedback};
use crate::store::sessions;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{Object, OpenApi};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What a batch did.
#[derive(Debug, Object, Serialize)]
#[oai(example)]
pub struct PostEventsResponse {
    /// The session identifier.
    pub session_id: String,
    /// Events accepted in this request.
    pub events_stored: u64,
    /// Events in this request that repeated an `event_id` the session already had (not stored again).
    pub duplicates: u64,
    /// Cumulative event count for the session.
    pub total_events: i64,
    /// The mood after this batch.
    pub current_mood: MoodLabel,
}

impl Example for PostEventsResponse {
    fn example() -> Self {
        Self {
            session_id: "user_abc".into(),
            events_stored: 3,
            duplicates: 0,
            total_events: 6,
            current_mood: MoodLabel::Frustrated,
        }
    }
}

/// A session's current mood, evaluated at its latest event.
#[derive(Debug, Object, Serialize)]
#[oai(example)]
pub struct MoodResponse {
    /// Echo of the requested session id.
    pub session_id: String,
    pub mood: MoodLabel,
    /// Confidence in the label, from 0 (no data) to 1 (very high), rounded to 4 decimals.
    pub confidence: f64,
    /// Signal identifiers that drove the mood, strongest first (e.g. `rage_click_detected`).
    pub signals: Vec<String>,
    /// The UI action to trigger; `no_action` when the mood is not confident enough for its action.
    pub suggested_action: UiAction,
    /// Total number of events stored for the session.
    pub event_count: i64,
    /// ISO 8601 time of the latest event processed.
    pub updated_at: String,
}

impl Example for MoodResponse {
    fn example() -> Self {
        Self {
            session_id: "user_abc".into(),
            mood: MoodLabel::Frustrated,
            confidence: 0.89,
            signals: vec!["rage_click_detected".into(), "repeated_errors".into()],
            suggested_action: UiAction::ShowLiveChat,
            event_count: 6,
            updated_at: "2026-05-04T10:00:00.000Z".into(),
        }
    }
}

/// The outcome of a mood-triggered action.
#[derive(Debug, Deserialize, Object)]
#[oai(example)]
pub struct FeedbackRequest {
    /// The action you triggered (e.g. `show_live_chat`, `show_discount`, `no_action`): 1–128
    /// characters, not blank.
    #[oai(validator(min_length = 1, max_length = 128, pattern = "^[^\\u0000]*\\S[^\\u0000]*$"))]
    pub action_taken: String,
    /// Whether the action improved the user's experience. Omit if unknown.
    #[oai(nullable)]
    pub was_helpful: Option<bool>,
    /// Free-text notes for your own records, at most 512 characters.
    #[oai(nullable, validator(max_length = 512, pattern = "^[^\\u0000]*$"))]
    pub notes: Option<String>,
}

impl Example for FeedbackRequest {
    fn example() -> Self {
        Self {
            action_taken: "show_live_chat".into(),
            was_helpful: Some(true),
            notes: Some("User started chat immediately".into()),
        }
    }
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct FeedbackResponse {
    pub session_id: String,
    pub feedback_recorded: bool,
}

impl Example for FeedbackResponse {
    fn example() -> Self {
        Self { session_id: "user_abc".into(), feedback_recorded: true }
    }
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct DeleteSessionResponse {
    pub session_id: String,
    pub deleted: bool,
    pub message: String,
}

impl Example for DeleteSessionResponse {
    fn example() -> Self {
        Self { session_id: "user_abc".into(), deleted: true, message: ERASED.into() }
    }
}

const ERASED: &str = "Session data permanently erased.";

pub struct OnPostEvents;
impl Failures for OnPostEvents {
    const STATUSES: &'static [u16] = &[400, 401, 403, 409, 413, 415, 429, 500];
}

pub struct OnSessionRead;
impl Failures for OnSessionRead {
    const STATUSES: &'static [u16] = &[400, 401, 403, 404, 429, 500];
}

pub struct OnFeedback;
impl Failures for OnFeedback {
    const STATUSES: &'static [u16] = &[400, 401, 403, 404, 413, 415, 429, 500];
}

pub struct SessionsApi;

#[OpenApi(prefix_path = "/v1/sessions", tag = "Tag::Sessions")]
impl SessionsApi {
    /// Submit behavioural events
    ///
    /// Send one or more events for a session. The whole batch is validated first: one invalid
    /// event rejects it and nothing is stored. An accepted batch is stored with the mood update
    /// in one transaction, and the response carries the mood after it. The first batch of a
    /// new session counts against the plan's monthly allowance of new sessions. A session
    /// token may post to its own session only, and cannot link it to a `user_id`.
    #[oai(path = "/:id/events", method = "post", operation_id = "postEvents")]
    async fn post_events(
        &self,
        state: Data<&Arc<AppState>>,
        auth: SessionAuth,
        /// Your session identifier: 1–256 characters, URL-encoded. Never put PII in it.
        id: Path<ClientIdParam>,
        body: JsonBody<PostEventsRequest>,
    ) -> Result<JsonReply<PostEventsResponse>, Fails<OnPostEvents>> {
        let id = session_id(&id)?;
        let tenant = auth.tenant_for(&id)?.clone();
        let now = state.clock.now();
        let user = body.0.user_id.as_deref().map(user_id).transpose()?;
        if user.is_some() && auth.grant().is_some() {
            return Err(ApiError::Forbidden(
                "A session token cannot link its session to a user: send user_id with your secret API key",
            )
            .into());
        }
        let events = body.0.validate(now.timestamp_millis())?;
        let policy = state.policies.get(&state.store, &tenant).await?;
        let job = Job { tenant, session: id, user, events, now, policy };
        let session_id = job.session.to_string();
        let out = state.ingest.submit(job).await?;
        Ok(JsonReply(PostEventsResponse {
            session_id,
            events_stored: out.events_stored as u64,
            duplicates: out.duplicates as u64,
            total_events: out.total_events,
            current_mood: out.mood.into(),
        }))
    }

    /// Get the current mood
    ///
    /// The mood label, its confidence, the signals behind it and a suggested UI action,
    /// evaluated at the session's latest event.
    #[oai(path = "/:id/mood", method = "get", operation_id = "getMood")]
    async fn mood(
        &self,
        state: Data<&Arc<AppState>>,
        reads: Data<&Arc<Reads>>,
        auth: SessionAuth,
        /// Your session identifier.
        id: Path<ClientIdParam>,
    ) -> Result<JsonReply<MoodResponse>, Fails<OnSessionRead>> {
        let id = session_id(&id)?;
        let tenant = auth.tenant_for(&id)?;
        let mood = reads.current_mood(tenant, &id).await?.ok_or_else(|| ApiError::SessionNotFound(id.to_string()))?;
        let context = Context { mood: mood.label, signal: mood.signals.first().copied() };
        let (model, reading) =
            (state.models.session_for(&mood.model_version), Reading { context, confidence: mood.confidence });
        let action = state.policies.revise(&state.store, tenant, id.as_str(), model, reading, mood.action).await?;
        Ok(JsonReply(MoodResponse {
            session_id: id.to_string(),
            mood: mood.label.into(),
            confidence: round4(mood.confidence),
            signals: mood.signals.iter().map(|s| s.as_str().to_owned()).collect(),
            suggested_action: action.into(),
            event_count: mood.event_count,
            updated_at: iso8601(mood.updated_at_ms),
        }))
    }

    /// Record feedback
    ///
    /// The outcome of a mood-triggered action, stored with the mood and signals it answered.
    #[oai(path = "/:id/feedback", method = "post", operation_id = "postFeedback")]
    async fn feedback(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Auth,
        /// Your session identifier.
        id: Path<ClientIdParam>,
        body: JsonBody<FeedbackRequest>,
    ) -> Result<Json<FeedbackResponse>, Fails<OnFeedback>> {
        let id = session_id(&id)?;
        let req = body.0;
        let action_taken = req.action_taken.trim();
        if action_taken.is_empty() {
            return Err(ApiError::MissingField("action_taken".into()).into());
        }
        check_text("action_taken", &req.action_taken, 128)?;
        if let Some(notes) = &req.notes {
            check_text("notes", notes, 512)?;
        }
        let fb = NewFeedback { action_taken: action_taken.to_owned(), was_helpful: req.was_helpful, notes: req.notes };
        if !feedback::record(&state.store, auth.tenant(), &id, fb, state.clock.now()).await? {
            return Err(ApiError::SessionNotFound(id.to_string()).into());
        }
        state.policies.forget(auth.tenant().id);
        Ok(Json(FeedbackResponse { session_id: id.to_string(), feedback_recorded: true }))
    }

    /// List a session's feedback
    ///
    /// The feedback recorded for the session, newest first, with the mood each answered. Page
    /// with `before` = the previous page's `next_cursor`.
    #[oai(path = "/:id/feedback", method = "get", operation_id = "listFeedback")]
    async fn list_feedback(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Auth,
        /// Your session identifier.
        id: Path<ClientIdParam>,
        /// Records per page, 1–500 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))]
        limit: Query<Option<i64>>,
        /// A `next_cursor` from an earlier page.
        #[oai(validator(pattern = "^[0-9]{1,18}$"))]
        before: Query<Option<String>>,
    ) -> Result<Json<FeedbackList>, Fails<OnSessionRead>> {
        Ok(Json(feedback_page(&state, &auth, &id, limit.0, before.0.as_deref()).await?))
    }

    /// Erase a session
    ///
    /// Permanently erases the session's events, mood state, history and feedback in one
    /// transaction (GDPR right to erasure). Later reads answer 404 and analytics no longer
    /// count it. Sessions already counted against this month's allowance stay counted.
    #[oai(path = "/:id", method = "delete", operation_id = "deleteSession")]
    async fn delete(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Auth,
        /// Your session identifier.
        id: Path<ClientIdParam>,
    ) -> Result<Json<DeleteSessionResponse>, Fails<OnSessionRead>> {
        let id = session_id(&id)?;
        if !sessions::erase(&state.store, auth.tenant(), &id).await? {
            return Err(ApiError::SessionNotFound(id.to_string()).into());
        }
        Ok(Json(DeleteSessionResponse { session_id: id.to_string(), deleted: true, message: ERASED.into() }))
    }
}
