//! Types shared by several endpoints' request and response bodies.

use super::error::ApiError;
use crate::auth::{MAX_ORIGINS, Origin};
use crate::domain::{SessionId, UserId};
use crate::engine::{EventKind, Mood, Signal, SuggestedAction};
use chrono::{DateTime, Utc};
use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type};
use poem_openapi::{Enum, Object};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::marker::PhantomData;

/// The names an [`OpenEnum`] documents.
pub trait EnumNames: Send + Sync + 'static {
    const NAME: &'static str;
    const DESCRIPTION: &'static str;
    fn names() -> Vec<&'static str>;
}

/// A string documented as an enum, but kept as sent, so that an unknown value reaches the
/// handler and gets the endpoint's own documented error (all invalid event types at once,
/// `valid_plans`) instead of a generic parse failure.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(transparent, bound = "")]
pub struct OpenEnum<N> {
    pub value: String,
    #[serde(skip)]
    names: PhantomData<N>,
}

impl<N> OpenEnum<N> {
    pub fn new(value: impl Into<String>) -> Self {
        Self { value: value.into(), names: PhantomData }
    }
}

impl<N: EnumNames> Type for OpenEnum<N> {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        N::NAME.into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Reference(N::NAME.to_owned())
    }

    fn register(registry: &mut Registry) {
        registry.create_schema::<Self, _>(N::NAME.to_owned(), |_| MetaSchema {
            description: Some(N::DESCRIPTION),
            enum_items: N::names().into_iter().map(Into::into).collect(),
            ..MetaSchema::new("string")
        });
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl<N: EnumNames> ParseFromJSON for OpenEnum<N> {
    fn parse_from_json(value: Option<serde_json::Value>) -> ParseResult<Self> {
        match value {
            Some(serde_json::Value::String(value)) => Ok(Self::new(value)),
            other => Err(poem_openapi::types::ParseError::expected_type(other.unwrap_or_default())),
        }
    }
}

impl<N: EnumNames> ParseFromParameter for OpenEnum<N> {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(Self::new(value))
    }
}

impl<N: EnumNames> ToJSON for OpenEnum<N> {
    fn to_json(&self) -> Option<serde_json::Value> {
        Some(self.value.clone().into())
    }
}

/// The twelve event types.
#[derive(Debug)]
pub struct EventTypes;

impl EnumNames for EventTypes {
    const NAME: &'static str = "EventType";
    const DESCRIPTION: &'static str = "One of the twelve behavioural event types.";
    fn names() -> Vec<&'static str> {
        EventKind::ALL.iter().map(|k| k.as_str()).collect()
    }
}

/// The subscription plans.
#[derive(Debug)]
pub struct Plans;

impl EnumNames for Plans {
    const NAME: &'static str = "Plan";
    const DESCRIPTION: &'static str = "`starter` (5,000 new sessions a month), `growth` (50,000) or `pro` (200,000).";
    fn names() -> Vec<&'static str> {
        crate::domain::Plan::NAMES.to_vec()
    }
}

/// A mood label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum, Serialize, Deserialize)]
#[oai(rename = "MoodLabel", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum MoodLabel {
    Frustrated,
    Confused,
    Decisive,
    Browsing,
    Disengaged,
    Focused,
    Neutral,
}

impl From<Mood> for MoodLabel {
    fn from(m: Mood) -> Self {
        match m {
            Mood::Frustrated => Self::Frustrated,
            Mood::Confused => Self::Confused,
            Mood::Decisive => Self::Decisive,
            Mood::Browsing => Self::Browsing,
            Mood::Disengaged => Self::Disengaged,
            Mood::Focused => Self::Focused,
            Mood::Neutral => Self::Neutral,
        }
    }
}

impl From<MoodLabel> for Mood {
    fn from(m: MoodLabel) -> Self {
        match m {
            MoodLabel::Frustrated => Self::Frustrated,
            MoodLabel::Confused => Self::Confused,
            MoodLabel::Decisive => Self::Decisive,
            MoodLabel::Browsing => Self::Browsing,
            MoodLabel::Disengaged => Self::Disengaged,
            MoodLabel::Focused => Self::Focused,
            MoodLabel::Neutral => Self::Neutral,
        }
    }
}

/// The UI action the mood suggests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum, Serialize, Deserialize)]
#[oai(rename = "SuggestedAction", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum UiAction {
    /// Do nothing.
    NoAction,
    /// Open the chat widget.
    ShowLiveChat,
    /// Display contextual help.
    ShowTooltip,
    /// Surface personalised content.
    ShowRecommendations,
    /// A discount or retention pop-up.
    ShowExitOffer,
}

impl From<SuggestedAction> for UiAction {
    fn from(a: SuggestedAction) -> Self {
        match a {
            SuggestedAction::NoAction => Self::NoAction,
            SuggestedAction::ShowLiveChat => Self::ShowLiveChat,
            SuggestedAction::ShowTooltip => Self::ShowTooltip,
            SuggestedAction::ShowRecommendations => Self::ShowRecommendations,
            SuggestedAction::ShowExitOffer => Self::ShowExitOffer,
        }
    }
}

/// A signal and the values that fired it.
#[derive(Debug, Object, Serialize)]
pub struct SignalDetail {
    /// Stable snake_case id, e.g. `repeated_errors`.
    pub id: String,
    /// How strongly it fired, 0–1.
    pub strength: f64,
    /// The measurements behind it, e.g. `{"errors": 2, "window_s": 60}`.
    pub values: BTreeMap<String, f64>,
}

impl From<&Signal> for SignalDetail {
    fn from(s: &Signal) -> Self {
        Self {
            id: s.id.as_str().to_owned(),
            strength: round4(s.strength),
            values: s.values.iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        }
    }
}

/// A session id from a path or body, checked.
pub fn session_id(raw: &str) -> Result<SessionId, ApiError> {
    SessionId::parse(raw).map_err(|e| ApiError::InvalidSessionId(e.reason()))
}

/// A user id from a path or body, checked.
pub fn user_id(raw: &str) -> Result<UserId, ApiError> {
    UserId::parse(raw).map_err(|e| ApiError::InvalidUserId(e.reason()))
}

/// A list of origins from a body, each checked and normalised, repeats dropped; 400 names the
/// one at fault.
pub fn origins(field: &str, raw: &[String]) -> Result<Vec<Origin>, ApiError> {
    if raw.len() > MAX_ORIGINS {
        return Err(ApiError::invalid(field, format!("must list at most {MAX_ORIGINS} origins")));
    }
    let mut origins = Vec::with_capacity(raw.len());
    for (i, o) in raw.iter().enumerate() {
        let origin = Origin::parse(o).map_err(|why| ApiError::invalid(format!("{field}[{i}]"), why))?;
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    Ok(origins)
}

pub use crate::domain::{iso8601, round4};

/// The latest instant [`parse_instant`] takes, in Unix seconds (9999-12-31T23:59:59Z).
pub const MAX_UNIX_SECONDS: f64 = 253_402_300_799.0;

/// Parses an instant given as ISO 8601 (RFC 3339) or as Unix seconds (fractions allowed).
pub fn parse_instant(param: &str, raw: &str) -> Result<DateTime<Utc>, ApiError> {
    let invalid = || ApiError::InvalidParameter {
        param: param.to_owned(),
        message: "must be an ISO 8601 time (2026-05-04T10:00:00Z) or Unix seconds".into(),
    };
    if let Ok(secs) = raw.trim().parse::<f64>() {
        let ms = (secs * 1000.0).round();
        return if ms.is_finite() && (0.0..=MAX_UNIX_SECONDS * 1000.0).contains(&ms) {
            DateTime::from_timestamp_millis(ms as i64).ok_or_else(invalid)
        } else {
            Err(invalid())
        };
    }
    DateTime::parse_from_rfc3339(raw.trim()).map(|t| t.with_timezone(&Utc)).map_err(|_| invalid())
}

/// How dimensions are reported.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Enum, Serialize)]
pub enum Scale {
    /// Each dimension in [-1, 1]; `tension` high = tense (moodring's own orientation).
    #[default]
    #[oai(rename = "unit")]
    #[serde(rename = "unit")]
    Unit,
    /// Sonzai's view: each dimension in [0, 100] (`(v + 1) · 50`), with `tension` turned around
    /// so that high = calm (`(1 − t) · 50`). Deltas scale by 50, the tension delta changes sign.
    #[oai(rename = "0-100")]
    #[serde(rename = "0-100")]
    Sonzai,
}

impl Scale {
    /// A point (state or baseline) on this scale; dimensions in v/a/t/f order.
    pub fn point(self, d: [f64; 4]) -> [f64; 4] {
        match self {
            Self::Unit => d,
            Self::Sonzai => [(d[0] + 1.0) * 50.0, (d[1] + 1.0) * 50.0, (1.0 - d[2]) * 50.0, (d[3] + 1.0) * 50.0],
        }
    }

    /// A change on this scale.
    pub fn delta(self, d: [f64; 4]) -> [f64; 4] {
        match self {
            Self::Unit => d,
            Self::Sonzai => [d[0] * 50.0, d[1] * 50.0, -d[2] * 50.0, d[3] * 50.0],
        }
    }
}

/// Free text the spec allows: at most `max` characters and no NUL (U+0000), which PostgreSQL
/// cannot store in text. The spec states it as the pattern `^[^\u0000]*$`.
pub fn check_text(field: impl Into<String>, value: &str, max: usize) -> Result<(), ApiError> {
    if value.chars().count() > max {
        return Err(ApiError::invalid(field, format!("must be at most {max} characters")));
    }
    if value.contains('\0') {
        return Err(ApiError::invalid(field, "must not contain NUL characters (U+0000)"));
    }
    Ok(())
}
