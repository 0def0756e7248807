//! One error type, one table: each error's status and documented JSON body live here, and
//! every 4xx/5xx the server sends (our own, poem's and poem-openapi's) is rendered from it.

use crate::domain::Plan;
use crate::engine::EventKind;
use crate::store::StoreError;
use chrono::{DateTime, SecondsFormat, Utc};
use poem::http::StatusCode;
use poem_openapi::registry::{MetaHeader, MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::Example;
use poem_openapi::types::Type;
use poem_openapi::{ApiResponse, Object};
use serde::Serialize;
use std::marker::PhantomData;

/// The contract's `ApiError`: `error` always, the other fields where they apply.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Object)]
#[oai(rename = "ApiError", example)]
pub struct ErrorBody {
    /// Human-readable error description; stable per kind of error.
    pub error: String,
    /// Additional detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Which field caused a 400 (`events[2].duration_ms` for nested fields).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Invalid event types (400).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invalid: Option<Vec<String>>,
    /// The full list of valid event types (400).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_types: Option<Vec<String>>,
    /// The valid plans (400 on key generation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_plans: Option<Vec<String>>,
    /// The tenant's plan (429).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// The plan's monthly allowance of new sessions (429).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    /// When the allowance resets: the first instant of next month, UTC (429).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reset_at: Option<String>,
    /// The affected session (404).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The affected user (404).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The affected webhook (404).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_id: Option<String>,
    /// Opaque id for support; also in the server's log line for the request (500).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl ErrorBody {
    fn new(error: &str) -> Self {
        Self { error: error.to_owned(), ..Self::default() }
    }
}

impl Example for ErrorBody {
    fn example() -> Self {
        Self { session_id: Some("user_abc".into()), ..Self::new("Session not found") }
    }
}

/// Every error the API answers with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing required field {0}")]
    MissingField(String),
    #[error("invalid value for {field}: {message}")]
    InvalidField { field: String, message: String },
    #[error("request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("invalid event types")]
    InvalidEventTypes(Vec<String>),
    #[error("customer_name is required")]
    CustomerNameRequired,
    #[error("invalid plan")]
    InvalidPlan,
    #[error("invalid session id: {0}")]
    InvalidSessionId(&'static str),
    #[error("invalid query parameter {param}: {message}")]
    InvalidParameter { param: String, message: String },
    #[error("the path's parameters are not valid UTF-8")]
    InvalidPath,
    #[error("unauthorized")]
    Unauthorized,
    #[error("missing or wrong metrics token")]
    MetricsTokenInvalid,
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    #[error("origin not allowed")]
    OriginNotAllowed,
    #[error("publishable key not found")]
    PublishableKeyNotFound,
    #[error("session not found")]
    SessionNotFound(String),
    #[error("user not found")]
    UserNotFound(String),
    #[error("the session belongs to another user")]
    UserConflict,
    #[error("webhook not found")]
    WebhookNotFound(String),
    #[error("message not found")]
    MessageNotFound(i64),
    #[error("too many webhooks")]
    WebhookLimit(u64),
    #[error("invalid user id: {0}")]
    InvalidUserId(&'static str),
    #[error("no such route")]
    RouteNotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("request body over {0} bytes")]
    PayloadTooLarge(usize),
    #[error("unsupported content type")]
    UnsupportedMediaType,
    #[error("too many failed authentications from this address")]
    AuthThrottled(u64),
    #[error("monthly session quota exhausted")]
    RateLimited { plan: Plan, limit: i64, reset_at: DateTime<Utc> },
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidField { field: field.into(), message: message.into() }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingField(_)
            | Self::InvalidField { .. }
            | Self::MalformedJson(_)
            | Self::InvalidEventTypes(_)
            | Self::CustomerNameRequired
            | Self::InvalidPlan
            | Self::InvalidSessionId(_)
            | Self::InvalidUserId(_)
            | Self::InvalidParameter { .. }
            | Self::InvalidPath => StatusCode::BAD_REQUEST,
            Self::Unauthorized | Self::MetricsTokenInvalid => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::OriginNotAllowed => StatusCode::FORBIDDEN,
            Self::SessionNotFound(_)
            | Self::UserNotFound(_)
            | Self::WebhookNotFound(_)
            | Self::MessageNotFound(_)
            | Self::PublishableKeyNotFound
            | Self::RouteNotFound => StatusCode::NOT_FOUND,
            Self::UserConflict | Self::WebhookLimit(_) => StatusCode::CONFLICT,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RateLimited { .. } | Self::AuthThrottled(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The documented body. `request_id` appears only on 500s.
    pub fn body(&self, request_id: &str) -> ErrorBody {
        let e = ErrorBody::new;
        match self {
            Self::MissingField(field) => ErrorBody { field: Some(field.clone()), ..e("Missing required field") },
            Self::InvalidField { field, message } => {
                ErrorBody { field: Some(field.clone()), message: Some(message.clone()), ..e("Invalid field value") }
            }
            Self::MalformedJson(detail) => ErrorBody { message: Some(detail.clone()), ..e("Malformed JSON body") },
            Self::InvalidEventTypes(invalid) => ErrorBody {
                invalid: Some(invalid.clone()),
                valid_types: Some(EventKind::ALL.iter().map(|k| k.as_str().to_owned()).collect()),
                ..e("Invalid event type(s)")
            },
            Self::CustomerNameRequired => e("customer_name is required"),
            Self::InvalidPlan => {
                ErrorBody { valid_plans: Some(Plan::NAMES.map(str::to_owned).to_vec()), ..e("Invalid plan") }
            }
            Self::InvalidSessionId(why) => ErrorBody {
                field: Some("id".into()),
                message: Some(format!("session id {why}")),
                ..e("Invalid session id")
            },
            Self::InvalidParameter { param, message } => {
                ErrorBody { field: Some(param.clone()), message: Some(message.clone()), ..e("Invalid query parameter") }
            }
            Self::InvalidPath => ErrorBody {
                message: Some("A path segment is not valid UTF-8 once percent-decoded".into()),
                ..e("Invalid path")
            },
            Self::Unauthorized => ErrorBody { message: Some("Missing or invalid API key".into()), ..e("Unauthorized") },
            Self::MetricsTokenInvalid => ErrorBody {
                message: Some("Missing or invalid metrics token (Authorization: Bearer <token>)".into()),
                ..e("Unauthorized")
            },
            Self::Forbidden(why) => ErrorBody { message: Some((*why).into()), ..e("Forbidden") },
            Self::OriginNotAllowed => ErrorBody {
                message: Some("This credential may not be used from this page's origin".into()),
                ..e("Origin not allowed")
            },
            Self::PublishableKeyNotFound => e("Publishable key not found"),
            Self::SessionNotFound(id) => ErrorBody { session_id: Some(id.clone()), ..e("Session not found") },
            Self::UserNotFound(id) => ErrorBody { user_id: Some(id.clone()), ..e("User not found") },
            Self::WebhookNotFound(id) => ErrorBody { webhook_id: Some(id.clone()), ..e("Webhook not found") },
            Self::MessageNotFound(id) => ErrorBody {
                message: Some(format!("No message {id} is kept for this webhook's key (messages are kept 3 days)")),
                ..e("Message not found")
            },
            Self::WebhookLimit(max) => ErrorBody {
                message: Some(format!("A key's customer may have {max} webhooks; delete one first")),
                ..e("Too many webhooks")
            },
            Self::UserConflict => ErrorBody {
                field: Some("user_id".into()),
                message: Some("This session is linked to a different user_id; a session belongs to one user.".into()),
                ..e("Session belongs to another user")
            },
            Self::InvalidUserId(why) => ErrorBody {
                field: Some("user_id".into()),
                message: Some(format!("user id {why}")),
                ..e("Invalid user id")
            },
            Self::RouteNotFound => ErrorBody { message: Some("No such endpoint".into()), ..e("Not Found") },
            Self::MethodNotAllowed => ErrorBody {
                message: Some("This endpoint does not accept that method".into()),
                ..e("Method Not Allowed")
            },
            Self::PayloadTooLarge(limit) => ErrorBody {
                message: Some(format!("Request bodies are limited to {limit} bytes")),
                ..e("Payload Too Large")
            },
            Self::UnsupportedMediaType => ErrorBody {
                message: Some("Send the body as JSON with Content-Type: application/json".into()),
                ..e("Unsupported Media Type")
            },
            Self::RateLimited { plan, limit, reset_at } => ErrorBody {
                plan: Some(plan.as_str().into()),
                limit: Some(*limit),
                reset_at: Some(reset_at.to_rfc3339_opts(SecondsFormat::Millis, true)),
                ..e("Rate limit exceeded")
            },
            Self::AuthThrottled(secs) => ErrorBody {
                message: Some(format!(
                    "Too many failed authentications from this address; try again in {secs} seconds."
                )),
                ..e("Too Many Requests")
            },
            Self::Internal(_) => ErrorBody { request_id: Some(request_id.to_owned()), ..e("Internal Server Error") },
        }
    }

    /// Seconds until a 429's allowance resets (`Retry-After`).
    pub fn retry_after(&self, now: DateTime<Utc>) -> Option<i64> {
        match self {
            Self::RateLimited { reset_at, .. } => Some((*reset_at - now).num_seconds().max(1)),
            Self::AuthThrottled(secs) => Some(*secs as i64),
            _ => None,
        }
    }

    /// A poem or poem-openapi error that did not come from us, by its status.
    pub fn from_foreign(err: &poem::Error) -> Self {
        if let Some(p) = err.downcast_ref::<poem_openapi::error::ParseParamError>() {
            return Self::InvalidParameter { param: p.name.to_owned(), message: p.reason.clone() };
        }
        if err.is::<poem::error::ParsePathError>() {
            return Self::InvalidPath;
        }
        match err.status() {
            StatusCode::UNAUTHORIZED => Self::Unauthorized,
            StatusCode::NOT_FOUND => Self::RouteNotFound,
            StatusCode::METHOD_NOT_ALLOWED => Self::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge(0),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::UnsupportedMediaType,
            StatusCode::BAD_REQUEST => Self::MalformedJson(err.to_string()),
            status if status.is_client_error() => {
                Self::InvalidParameter { param: String::new(), message: err.to_string() }
            }
            _ => Self::Internal(anyhow::anyhow!("{err}")),
        }
    }
}

impl poem::error::ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        ApiError::status(self)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::QuotaExceeded { plan, limit, reset_at } => Self::RateLimited { plan, limit, reset_at },
            StoreError::UserConflict => Self::UserConflict,
            other => Self::Internal(other.into()),
        }
    }
}

/// The error statuses one operation can answer with, for its spec entry.
pub trait Failures: Send + Sync + 'static {
    const STATUSES: &'static [u16];
}

/// An operation's error: any [`ApiError`], documented in the spec as exactly the statuses of `S`.
pub struct Fails<S>(pub ApiError, PhantomData<S>);

impl<S, E: Into<ApiError>> From<E> for Fails<S> {
    fn from(e: E) -> Self {
        Self(e.into(), PhantomData)
    }
}

impl<S> From<Fails<S>> for poem::Error {
    fn from(f: Fails<S>) -> Self {
        poem::Error::from(f.0)
    }
}

fn describe(status: u16) -> &'static str {
    match status {
        400 => "Invalid request: the body, a field, a parameter or the session id (`ApiError` names which).",
        401 => {
            "Missing, malformed, wrong or revoked API key: `{\"error\":\"Unauthorized\",\"message\":\"Missing or invalid API key\"}`."
        }
        403 => {
            "A valid credential used beyond its reach: a session token on another session or endpoint (`{\"error\":\"Forbidden\",\"message\":\"...\"}`), or a session token or publishable key from an origin it does not allow (`{\"error\":\"Origin not allowed\",\"message\":\"...\"}`)."
        }
        404 => {
            "No such session, user, webhook or message for this key (never seen, erased, or another customer's): `{\"error\":\"Session not found\",\"session_id\":\"user_abc\"}`, `{\"error\":\"User not found\",\"user_id\":\"u_8f3k2a\"}` or `{\"error\":\"Webhook not found\",\"webhook_id\":\"wh_…\"}`."
        }
        409 => {
            "The session is already linked to a different `user_id`; nothing was stored: `{\"error\":\"Session belongs to another user\",\"field\":\"user_id\",\"message\":\"...\"}`. Or, on creating a webhook, the limit of webhooks is reached: `{\"error\":\"Too many webhooks\",\"message\":\"...\"}`."
        }
        413 => "The request body is over the size limit.",
        415 => "The body is not sent as `application/json`.",
        429 => {
            "Too many requests: a new session over the plan's monthly allowance (`{\"error\":\"Rate limit exceeded\",\"plan\":\"starter\",\"limit\":5000,\"reset_at\":\"2026-06-01T00:00:00.000Z\"}`; events to existing sessions and reads continue), or too many failed authentications from this address (`{\"error\":\"Too Many Requests\",\"message\":\"...\"}`). `Retry-After` says when to try again."
        }
        500 => {
            "Unexpected server-side failure; retry with exponential backoff: `{\"error\":\"Internal Server Error\",\"request_id\":\"req_7f3a2b\"}`."
        }
        _ => "Error.",
    }
}

impl<S: Failures> ApiResponse for Fails<S> {
    fn meta() -> MetaResponses {
        let responses = S::STATUSES
            .iter()
            .map(|&status| MetaResponse {
                description: describe(status),
                status: Some(status),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: "application/json; charset=utf-8",
                    schema: ErrorBody::schema_ref(),
                }],
                headers: if status == 429 {
                    vec![MetaHeader {
                        name: "Retry-After".into(),
                        description: Some("Seconds until the allowance resets.".into()),
                        required: true,
                        deprecated: false,
                        schema: i64::schema_ref(),
                    }]
                } else {
                    vec![]
                },
            })
            .collect();
        MetaResponses { responses }
    }

    fn register(registry: &mut Registry) {
        ErrorBody::register(registry);
    }
}
