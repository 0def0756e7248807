//! Webhook endpoints: `/v1/webhooks` and what hangs off one (its secret, its attempts, a
//! message sent again). Deliveries themselves are [`crate::webhooks::delivery`]'s.

use super::Tag;
use super::auth::Auth;
use super::body::{JsonBody, not_null};
use super::error::{ApiError, Fails, Failures};
use super::streams::PushEventType;
use super::wire::{MoodLabel, iso8601};
use crate::engine::Mood;
use crate::push::Kind;
use crate::state::AppState;
use crate::store::webhooks::{self, Attempt, MAX_PER_TENANT, NewWebhook, Resend, Webhook, WebhookUpdate};
use crate::webhooks::signature::Secret;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::{Example, MaybeUndefined};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use rand::RngCore;
use serde::Deserialize;
use std::sync::Arc;

/// How long the secret a rotation replaces keeps signing (a second signature).
const ROTATION_OVERLAP_MS: i64 = 24 * 3600 * 1000;
const MAX_DESCRIPTION_CHARS: usize = 256;
const DEFAULT_ATTEMPTS_PAGE: i64 = 50;
const MAX_ATTEMPTS_PAGE: i64 = 200;

/// An endpoint (its secret is shown only when created or rotated).
#[derive(Debug, Object)]
#[oai(example)]
pub struct WebhookOut {
    /// `wh_…`
    pub id: String,
    pub url: String,
    pub event_types: Vec<PushEventType>,
    /// Only changes to these moods are sent; null: every mood.
    #[oai(nullable)]
    pub moods: Option<Vec<MoodLabel>>,
    #[oai(nullable)]
    pub description: Option<String>,
    /// `false` once disabled, by you or after failing for 5 days: changes meanwhile are not
    /// sent (deliveries already pending wait). `PATCH` with `true` to resume.
    pub enabled: bool,
    /// Why it was disabled automatically.
    #[oai(nullable)]
    pub disabled_reason: Option<String>,
    /// Since when every attempt has failed; null while deliveries succeed.
    #[oai(nullable)]
    pub failing_since: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Webhook> for WebhookOut {
    fn from(w: Webhook) -> Self {
        Self {
            id: w.public_id,
            url: w.url,
            event_types: w.event_types.into_iter().map(PushEventType::of).collect(),
            moods: w.moods.map(|m| m.into_iter().map(MoodLabel::from).collect()),
            description: w.description,
            enabled: w.enabled,
            disabled_reason: w.disabled_reason,
            failing_since: w.failing_since_ms.map(iso8601),
            created_at: iso8601(w.created_at_ms),
            updated_at: iso8601(w.updated_at_ms),
        }
    }
}

impl Example for WebhookOut {
    fn example() -> Self {
        Self {
            id: "wh_4c1f0e9a7b3d2c5e8f6a1b0c9d8e7f6a".into(),
            url: "https://example.com/hooks/moodring".into(),
            event_types: vec![PushEventType::MoodChanged],
            moods: Some(vec![MoodLabel::Frustrated, MoodLabel::Confused]),
            description: Some("Open a support ticket".into()),
            enabled: true,
            disabled_reason: None,
            failing_since: None,
            created_at: "2026-05-04T10:00:00.000Z".into(),
            updated_at: "2026-05-04T10:00:00.000Z".into(),
        }
    }
}

/// A new endpoint and its signing secret, shown this once.
#[derive(Debug, Object)]
pub struct WebhookCreated {
    #[oai(flatten)]
    pub webhook: WebhookOut,
    /// `whsec_` and the base64 of the key: verify each delivery's `webhook-signature` with it.
    pub secret: String,
}

/// The endpoint to create.
#[derive(Debug, Deserialize, Object)]
#[oai(example, deny_unknown_fields, skip_serializing_if_is_none)]
#[serde(deny_unknown_fields)]
pub struct WebhookRequest {
    /// Where deliveries are posted: `https`, at most 2048 characters, resolving only to public
    /// addresses.
    pub url: String,
    /// What to send; default: every type.
    #[serde(default, deserialize_with = "not_null")]
    pub event_types: Option<Vec<PushEventType>>,
    /// Only changes to these moods; omit or null for every mood.
    #[oai(nullable)]
    #[serde(default)]
    pub moods: Option<Vec<MoodLabel>>,
    /// Up to 256 characters, for you.
    #[oai(nullable)]
    #[serde(default)]
    pub description: Option<String>,
}

impl Example for WebhookRequest {
    fn example() -> Self {
        Self {
            url: "https://example.com/hooks/moodring".into(),
            event_types: Some(vec![PushEventType::MoodChanged]),
            moods: Some(vec![MoodLabel::Frustrated]),
            description: None,
        }
    }
}

/// Changes to an endpoint: fields left out keep their value.
#[derive(Debug, Deserialize, Object)]
#[oai(example, deny_unknown_fields, skip_serializing_if_is_none)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    #[serde(default, deserialize_with = "not_null")]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "not_null")]
    pub event_types: Option<Vec<PushEventType>>,
    /// null: every mood.
    #[serde(default)]
    pub moods: MaybeUndefined<Vec<MoodLabel>>,
    #[serde(default)]
    pub description: MaybeUndefined<String>,
    /// `true` resumes a disabled endpoint (its pending deliveries go out again).
    #[serde(default, deserialize_with = "not_null")]
    pub enabled: Option<bool>,
}

impl Example for WebhookPatch {
    fn example() -> Self {
        Self {
            url: None,
            event_types: None,
            moods: MaybeUndefined::Null,
            description: MaybeUndefined::Undefined,
            enabled: Some(true),
        }
    }
}

/// Your endpoints.
#[derive(Debug, Object)]
pub struct WebhookList {
    pub webhooks: Vec<WebhookOut>,
}

/// A new signing secret.
#[derive(Debug, Object)]
pub struct RotatedSecret {
    /// The secret that signs from now on, shown this once.
    pub secret: String,
    /// Until then deliveries carry a second signature, by the previous secret.
    pub previous_secret_expires_at: String,
}

/// Where a message's delivery to an endpoint stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Due now, being attempted, or waiting for its next attempt.
    Pending,
    Delivered,
    /// Every attempt failed.
    Failed,
}

/// One delivery attempt.
#[derive(Debug, Object)]
pub struct AttemptOut {
    pub id: i64,
    /// The message's id (`webhook-id`).
    pub message_id: i64,
    /// 1 for the first attempt of this message.
    pub attempt: i32,
    pub attempted_at: String,
    pub duration_ms: i64,
    /// A 2xx answer came.
    pub succeeded: bool,
    #[oai(nullable)]
    pub response_status: Option<i32>,
    /// The start of the answer (at most 1 KiB).
    #[oai(nullable)]
    pub response_body: Option<String>,
    /// Why no answer came: refused address, connection error, timeout.
    #[oai(nullable)]
    pub error: Option<String>,
    pub delivery_status: DeliveryStatus,
    /// When the message is attempted next, if it is pending.
    #[oai(nullable)]
    pub next_attempt_at: Option<String>,
}

impl From<Attempt> for AttemptOut {
    fn from(a: Attempt) -> Self {
        Self {
            id: a.id,
            message_id: a.message_id,
            attempt: a.attempt,
            attempted_at: iso8601(a.at_ms),
            duration_ms: a.duration_ms,
            succeeded: a.succeeded,
            response_status: a.response_status,
            response_body: a.response_body,
            error: a.error,
            delivery_status: match a.delivery_status.as_str() {
                webhooks::DELIVERED => DeliveryStatus::Delivered,
                webhooks::FAILED => DeliveryStatus::Failed,
                _ => DeliveryStatus::Pending,
            },
            next_attempt_at: a.next_attempt_ms.map(iso8601),
        }
    }
}

/// A page of attempts, newest first.
#[derive(Debug, Object)]
pub struct AttemptList {
    pub attempts: Vec<AttemptOut>,
    /// Pass as `before` for the next page; null on the last.
    #[oai(nullable)]
    pub next_before: Option<i64>,
}

/// A message queued again.
#[derive(Debug, Object)]
pub struct Resent {
    pub message_id: i64,
    pub delivery_status: DeliveryStatus,
}

#[derive(ApiResponse)]
pub enum Created {
    #[oai(status = 201)]
    Created(Json<WebhookCreated>),
}

/// A deleted endpoint.
#[derive(Debug, Object)]
pub struct WebhookDeleted {
    pub webhook_id: String,
    pub deleted: bool,
    pub message: String,
}

#[derive(ApiResponse)]
pub enum Accepted {
    /// Queued: attempted within about a second.
    #[oai(status = 202)]
    Accepted(Json<Resent>),
}

pub struct OnWebhookWrite;
impl Failures for OnWebhookWrite {
    const STATUSES: &'static [u16] = &[400, 401, 403, 404, 409, 413, 415, 429, 500];
}

pub struct OnWebhookRead;
impl Failures for OnWebhookRead {
    const STATUSES: &'static [u16] = &[400, 401, 403, 404, 429, 500];
}

pub struct WebhooksApi;

#[OpenApi(prefix_path = "/v1/webhooks", tag = "Tag::Webhooks")]
impl WebhooksApi {
    /// Create a webhook
    ///
    /// Your server is sent each change you ask for, as `POST` with the `PushMessage` JSON and
    /// the Standard Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
    /// A 2xx answer within 15 s delivers it; anything else is retried after 5 s, 5 min, 30
    /// min, 2 h, 5 h, 10 h and 10 h. The answer carries the signing secret, once.
    #[oai(path = "/", method = "post", operation_id = "createWebhook")]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Auth,
        body: JsonBody<WebhookRequest>,
    ) -> Result<Created, Fails<OnWebhookWrite>> {
        let request = body.0;
        let url = checked_url(&state, &request.url).await?;
        let event_types =
            event_types(request.event_types.unwrap_or_else(|| Kind::ALL.into_iter().map(PushEventType::of).collect()))?;
        let description = request.description.map(description).transpose()?;
        let secret = Secret::generate();
        let new = NewWebhook {
            public_id: public_id(),
            url,
            event_types,
            moods: request.moods.map(moods),
            description,
            secret: secret.reveal(),
        };
        let now_ms = state.clock.now().timestamp_millis();
        let created = webhooks::create(&state.store, auth.tenant(), new, now_ms).await?;
        let webhook = created.ok_or(ApiError::WebhookLimit(MAX_PER_TENANT))?;
        Ok(Created::Created(Json(WebhookCreated { webhook: webhook.into(), secret: secret.reveal() })))
    }

    /// List webhooks
    #[oai(path = "/", method = "get", operation_id = "listWebhooks")]
    async fn list(&self, state: Data<&Arc<AppState>>, auth: Auth) -> Result<Json<WebhookList>, Fails<OnWebhookRead>> {
        let list = webhooks::list(&state.store, auth.tenant()).await?;
        Ok(Json(WebhookList { webhooks: list.into_iter().map(WebhookOut::from).collect() }))
    }

    /// Get a webhook
    #[oai(path = "/:id", method = "get", operation_id = "getWebhook")]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Auth,
        /// The webhook's id (`wh_…`).
        id: Path<String>,
    ) -> Result<Json<WebhookOut>, Fails<OnWebhookRead>> {
        let found = webhooks::get(&state.store, auth.tenant(), &id.0).await?;
        Ok(Json(found.ok_or_else(|| ApiError::WebhookNotFound(id.0.clone()))?.into()))
    }

    /// Change a webhook
    ///
    /// Any subset of its fields; `"enabled": true` resumes a disabled one.
    #[oai(path = "/:id", method = "patch", operation_id = "updateWebhook")]
    async fn update(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Auth,
        /// The webhook's id (`wh_…`).
        id: Path<String>,
        body: JsonBody<WebhookPatch>,
    ) -> Result<Json<WebhookOut>, Fails<OnWebhookWrite>> {
        let patch = body.0;
        let url = match patch.url {
            Some(url) => Some(checked_url(&state, &url).await?),
            None => None,
        };
        let update = WebhookUpdate {
            url,
            event_types: patch.event_types.map(event_types).transpose()?,
            moods: Option::<Option<Vec<MoodLabel>>>::from(patch.moods).map(|m| m.map(moods)),
            description: Option::<Option<String>>::from(patch.description)
                .map(|d| d.map(description).transpose())
                .transpose()?,
            enabled: patch.enabled,
        };
        let now_ms = state.clock.now().timestamp_millis();
        let updated = webhooks::update(&state.store, auth.tenant(), &id.0, update, now_ms).await?;
        if updated.as_ref().is_some_and(|w| w.enabled) {
            state.deliveries.notify_one();
        }
        Ok(Json(updated.ok_or_else(|| ApiError::WebhookNotFound(id.0.clone()))?.into()))
    }

    /// Delete a webhook
    ///
    /// With its pending deliveries and its attempts: nothing more is sent to it.
    #[oai(path = "/:id", method = "delete", operation_id = "deleteWebhook")]
    async fn delete(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Auth,
        /// The webhook's id (`wh_…`).
        id: Path<String>,
    ) -> Result<Json<WebhookDeleted>, Fails<OnWebhookRead>> {
        if !webhooks::delete(&state.store, auth.tenant(), &id.0).await? {
            return Err(ApiError::WebhookNotFound(id.0.clone()).into());
        }
        Ok(Json(WebhookDeleted {
            webhook_id: id.0.clone(),
            deleted: true,
            message: "The webhook, its pending deliveries and its attempts were deleted.".into(),
        }))
    }

    /// Rotate a webhook's secret
    ///
    /// A new secret signs from now on; for 24 hours deliveries also carry a signature by the
    /// previous one, so receivers can switch without losing any.
    #[oai(path = "/:id/secret", method = "post", operation_id = "rotateWebhookSecret")]
    async fn rotate(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Auth,
        /// The webhook's id (`wh_…`).
        id: Path<String>,
    ) -> Result<Json<RotatedSecret>, Fails<OnWebhookRead>> {
        let secret = Secret::generate();
        let now_ms = state.clock.now().timestamp_millis();
        let until = now_ms + ROTATION_OVERLAP_MS;
        webhooks::rotate_secret(&state.store, auth.tenant(), &id.0, secret.reveal(), until, now_ms)
            .await?
            .ok_or_else(|| ApiError::WebhookNotFound(id.0.clone()))?;
        Ok(Json(RotatedSecret { secret: secret.reveal(), previous_secret_expires_at: iso8601(until) }))
    }

    /// List a webhook's delivery attempts
    ///
    /// Newest first, with what the receiver answered (its start) and where each message's
    /// delivery stands.
    #[oai(path = "/:id/attempts", method = "get", operation_id = "listWebhookAttempts")]
    async fn attempts(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Auth,
        /// The webhook's id (`wh_…`).
        id: Path<String>,
        /// Page size, 1–200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<i64>>,
        /// Attempts older than this one (`next_before` of the previous page).
        before: Query<Option<i64>>,
    ) -> Result<Json<AttemptList>, Fails<OnWebhookRead>> {
        let limit = limit.0.unwrap_or(DEFAULT_ATTEMPTS_PAGE);
        if !(1..=MAX_ATTEMPTS_PAGE).contains(&limit) {
            let message = format!("must be between 1 and {MAX_ATTEMPTS_PAGE}");
            return Err(ApiError::InvalidParameter { param: "limit".into(), message }.into());
        }
        let found = webhooks::attempts(&state.store, auth.tenant(), &id.0, before.0, limit as u64).await?;
        let attempts = found.ok_or_else(|| ApiError::WebhookNotFound(id.0.clone()))?;
        let next_before = (attempts.len() as i64 == limit).then(|| attempts.last().map(|a| a.id)).flatten();
        Ok(Json(AttemptList { attempts: attempts.into_iter().map(AttemptOut::from).collect(), next_before }))
    }

    /// Send a message again
    ///
    /// Queues the message (by its id) for this webhook now, whether it was delivered, failed
    /// or never sent to it. Messages are kept 3 days.
    #[oai(path = "/:id/messages/:message_id/resend", method = "post", operation_id = "resendWebhookMessage")]
    async fn resend(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Auth,
        /// The webhook's id (`wh_…`).
        id: Path<String>,
        /// The message's id.
        message_id: Path<i64>,
    ) -> Result<Accepted, Fails<OnWebhookWrite>> {
        let tenant = auth.tenant();
        let now_ms = state.clock.now().timestamp_millis();
        match webhooks::resend(&state.store, tenant, &id.0, message_id.0, now_ms).await? {
            Resend::Queued => {}
            Resend::NoSuchWebhook => return Err(ApiError::WebhookNotFound(id.0.clone()).into()),
            Resend::NoSuchMessage => return Err(ApiError::MessageNotFound(message_id.0).into()),
        }
        state.deliveries.notify_one();
        Ok(Accepted::Accepted(Json(Resent { message_id: message_id.0, delivery_status: DeliveryStatus::Pending })))
    }
}

/// A receiver URL the server's policy allows, its host resolved now (400 naming `url`).
async fn checked_url(state: &AppState, raw: &str) -> Result<String, ApiError> {
    let refused = |why: crate::webhooks::address::Refusal| ApiError::invalid("url", why.to_string());
    let url = state.webhook_policy.check_url(raw).map_err(refused)?;
    state.webhook_policy.resolve(&url).await.map_err(refused)?;
    Ok(url.to_string())
}

fn event_types(types: Vec<PushEventType>) -> Result<Vec<Kind>, ApiError> {
    let mut kinds: Vec<Kind> = Vec::new();
    for t in types {
        if !kinds.contains(&t.kind()) {
            kinds.push(t.kind());
        }
    }
    if kinds.is_empty() {
        return Err(ApiError::invalid("event_types", "must name at least one event type"));
    }
    Ok(kinds)
}

fn moods(labels: Vec<MoodLabel>) -> Vec<Mood> {
    let mut moods: Vec<Mood> = Vec::new();
    for m in labels.into_iter().map(Mood::from) {
        if !moods.contains(&m) {
            moods.push(m);
        }
    }
    moods
}

fn description(text: String) -> Result<String, ApiError> {
    if text.chars().count() > MAX_DESCRIPTION_CHARS || text.chars().any(char::is_control) {
        let message = format!("must be at most {MAX_DESCRIPTION_CHARS} characters, without control characters");
        return Err(ApiError::invalid("description", message));
    }
    Ok(text)
}

/// `wh_` and 16 random bytes in hex.
fn public_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    format!("wh_{}", hex::encode(bytes))
}
