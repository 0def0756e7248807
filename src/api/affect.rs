//! The dimensional views of a session (Sonzai's shapes): its state and its mood history.

use super::Tag;
use super::auth::{Auth, SessionAuth};
use super::body::JsonReply;
use super::error::{ApiError, Fails, Failures};
use super::history::{HistoryResponse, page_params};
use super::params::{ClientIdParam, InstantParam};
use super::wire::{MoodLabel, Scale, SignalDetail, UiAction, iso8601, parse_instant, round4, session_id};
use crate::engine::{project, project_at};
use crate::interventions::{Context, Reading};
use crate::state::AppState;
use crate::store::history;
use crate::store::sessions;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{Object, OpenApi};
use serde::Serialize;
use std::sync::Arc;

/// A session's continuous affect at one instant.
#[derive(Debug, Object, Serialize)]
#[oai(rename = "SessionAffect")]
pub struct SessionAffect {
    pub session_id: String,
    pub valence: f64,
    pub arousal: f64,
    pub tension: f64,
    pub affiliation: f64,
    /// The point the dimensions decay toward.
    pub baseline_valence: f64,
    pub baseline_arousal: f64,
    pub baseline_tension: f64,
    pub baseline_affiliation: f64,
    pub label: MoodLabel,
    /// 0–1, rounded to 4 decimals.
    pub confidence: f64,
    pub suggested_action: UiAction,
    /// Signals behind the label at this instant, strongest first.
    pub signals: Vec<SignalDetail>,
    pub event_count: i64,
    /// When the session's first batch was received.
    pub created_at: String,
    /// Time of the latest event processed (as in `GET …/mood`).
    pub updated_at: String,
    /// The instant the dimensions are evaluated at: `at`, or the latest event.
    pub last_decay_at: String,
    /// Time of the latest event.
    pub last_interaction_at: String,
    /// The engine model the state was built with.
    pub model_version: String,
    /// The scale the dimensions are reported on.
    pub scale: Scale,
}

/// `{"mood": {...}}`, as Sonzai's `GET /agents/{agentId}/mood` answers.
#[derive(Debug, Object, Serialize)]
#[oai(example)]
pub struct StateResponse {
    pub mood: SessionAffect,
}

impl Example for StateResponse {
    fn example() -> Self {
        Self {
            mood: SessionAffect {
                session_id: "user_abc".into(),
                valence: -0.52,
                arousal: 0.47,
                tension: 0.61,
                affiliation: -0.18,
                baseline_valence: 0.0,
                baseline_arousal: 0.0,
                baseline_tension: 0.0,
                baseline_affiliation: 0.0,
                label: MoodLabel::Frustrated,
                confidence: 0.9987,
                suggested_action: UiAction::ShowLiveChat,
                signals: vec![],
                event_count: 6,
                created_at: "2026-05-04T10:00:01.250Z".into(),
                updated_at: "2026-05-04T10:00:12.000Z".into(),
                last_decay_at: "2026-05-04T10:00:12.000Z".into(),
                last_interaction_at: "2026-05-04T10:00:12.000Z".into(),
                model_version: "session-4".into(),
                scale: Scale::Unit,
            },
        }
    }
}

pub struct OnAffectRead;
impl Failures for OnAffectRead {
    const STATUSES: &'static [u16] = &[400, 401, 403, 404, 429, 500];
}

pub struct AffectApi;

#[OpenApi(prefix_path = "/v1/sessions", tag = "Tag::Sessions")]
impl AffectApi {
    /// Get the dimensional state
    ///
    /// Valence, arousal, tension and affiliation with their baselines, the label, confidence
    /// and signals, evaluated at the latest event — or at a later instant `at`, where the state
    /// has only decayed toward its baseline (the label stays the latest one while it leads,
    /// then becomes `neutral`).
    #[oai(path = "/:id/state", method = "get", operation_id = "getSessionState")]
    async fn state(
        &self,
        state: Data<&Arc<AppState>>,
        auth: SessionAuth,
        /// Your session identifier.
        id: Path<ClientIdParam>,
        /// Evaluate at this instant (ISO 8601 or Unix seconds), not before the latest event.
        at: Query<Option<InstantParam>>,
        /// `unit` (default) or Sonzai's `0-100`.
        scale: Query<Option<Scale>>,
    ) -> Result<JsonReply<StateResponse>, Fails<OnAffectRead>> {
        let id = session_id(&id)?;
        let tenant = auth.tenant_for(&id)?;
        let stored = sessions::state(&state.store, tenant, &id)
            .await?
            .ok_or_else(|| ApiError::SessionNotFound(id.to_string()))?;
        let model = state.models.session_for(&stored.model_version);
        let latest = stored.state.last_decay_at_ms.unwrap_or(stored.created_at_ms);
        let (affect, projection, action) = match at.0.as_deref() {
            None => {
                let projection = project(model, &stored.state);
                let context = Context::of(projection.label, &projection.signals);
                let reading = Reading { context, confidence: projection.confidence };
                let action =
                    state.policies.revise(&state.store, tenant, id.as_str(), model, reading, stored.action).await?;
                (stored.state.clone(), projection, action)
            }
            Some(raw) => {
                let at_ms = parse_instant("at", raw)?.timestamp_millis();
                if at_ms < latest {
                    return Err(ApiError::InvalidParameter {
                        param: "at".into(),
                        message: format!("must not be before the session's latest event ({})", iso8601(latest)),
                    }
                    .into());
                }
                let (affect, projection) = project_at(model, &stored.state, at_ms);
                let action = state.policies.suggest(&state.store, tenant, id.as_str(), model, &projection).await?;
                (affect, projection, action)
            }
        };
        let scale = scale.0.unwrap_or_default();
        let dims = scale.point(affect.dims.into());
        let base = scale.point(affect.baseline.into());
        let last_event = affect.last_interaction_at_ms.unwrap_or(latest);
        Ok(JsonReply(StateResponse {
            mood: SessionAffect {
                session_id: id.to_string(),
                valence: dims[0],
                arousal: dims[1],
                tension: dims[2],
                affiliation: dims[3],
                baseline_valence: base[0],
                baseline_arousal: base[1],
                baseline_tension: base[2],
                baseline_affiliation: base[3],
                label: projection.label.into(),
                confidence: round4(projection.confidence),
                suggested_action: action.into(),
                signals: projection.signals.iter().map(SignalDetail::from).collect(),
                event_count: affect.event_count as i64,
                created_at: iso8601(stored.created_at_ms),
                updated_at: iso8601(last_event),
                last_decay_at: iso8601(affect.last_decay_at_ms.unwrap_or(latest)),
                last_interaction_at: iso8601(last_event),
                model_version: stored.model_version,
                scale,
            },
        }))
    }

    /// Get the mood history
    ///
    /// One entry per applied event — the state right after it, what it changed, and why —
    /// newest first. Page with `before` = the previous page's `next_cursor`: pages never skip
    /// or repeat an entry while new events arrive.
    #[oai(path = "/:id/mood-history", method = "get", operation_id = "getSessionMoodHistory")]
    async fn history(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Auth,
        /// Your session identifier.
        id: Path<ClientIdParam>,
        /// Entries per page, 1–500 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))]
        limit: Query<Option<i64>>,
        /// A `next_cursor` from an earlier page.
        #[oai(validator(pattern = "^[0-9]{1,18}$"))]
        before: Query<Option<String>>,
        /// `unit` (default) or Sonzai's `0-100`.
        scale: Query<Option<Scale>>,
    ) -> Result<Json<HistoryResponse>, Fails<OnAffectRead>> {
        let id = session_id(&id)?;
        let (limit, before) = page_params(limit.0, before.0.as_deref())?;
        let page = history::page(&state.store, auth.tenant(), &id, limit, before)
            .await?
            .ok_or_else(|| ApiError::SessionNotFound(id.to_string()))?;
        Ok(Json(HistoryResponse::new(&page, scale.0.unwrap_or_default())))
    }
}
