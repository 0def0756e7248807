//! The HTTP API: poem-openapi endpoints (the spec is generated from them), their request and
//! response types, the error type, authentication and the edge middleware.

mod affect;
mod analytics;
mod auth;
pub mod body;
mod browser;
mod edge;
pub mod error;
pub mod events;
mod export;
mod health;
mod history;
mod interventions;
mod keys;
mod listing;
mod params;
mod publishable_keys;
mod retention;
mod sessions;
mod streams;
mod users;
mod webhooks;
pub mod wire;

pub use auth::AuthGuard;
pub(crate) use auth::bearer_token;
pub use edge::{Edge, JsonErrors};

use poem_openapi::{OpenApiService, Tags};

#[derive(Tags)]
enum Tag {
    /// API keys: sign-up, secret keys, publishable keys for web pages.
    Keys,
    /// For web pages and apps: browser sessions and session tokens.
    Browser,
    /// Sessions: send behavioural events, read the mood, record feedback, erase.
    Sessions,
    /// People across sessions: their current affect, history and sessions, for agents.
    Users,
    /// Aggregates over all sessions of your API key.
    Analytics,
    /// How `suggested_action` is chosen and what it learned from your feedback.
    Interventions,
    /// How long your data is kept.
    Settings,
    /// Mood changes pushed as they happen: Server-Sent Events for browsers and agents.
    Streams,
    /// Mood changes pushed to your servers, signed the Standard Webhooks way.
    Webhooks,
    /// Liveness for monitors and load balancers.
    Health,
}

/// The API and its spec. Needs no database: `moodring openapi` prints the spec from this.
pub fn service() -> OpenApiService<impl poem_openapi::OpenApi, ()> {
    OpenApiService::new(
        (
            health::HealthApi,
            keys::KeysApi,
            publishable_keys::PublishableKeysApi,
            browser::BrowserApi,
            sessions::SessionsApi,
            listing::ListingApi,
            affect::AffectApi,
            users::UsersApi,
            analytics::AnalyticsApi,
            export::ExportApi,
            interventions::InterventionsApi,
            retention::RetentionApi,
            streams::StreamsApi,
            webhooks::WebhooksApi,
        ),
        "moodring",
        env!("CARGO_PKG_VERSION"),
    )
    .summary("Infers how a person feels from what they do.")
    .description(include_str!("spec_description.md"))
}

/// The spec as committed and served at `/openapi.json`: poem-openapi's, with one rewrite for
/// client generators (see [`inline_described_enums`]).
pub fn spec_json() -> String {
    let mut spec: serde_json::Value = serde_json::from_str(&service().spec()).expect("poem-openapi writes JSON");
    inline_described_enums(&mut spec);
    name_time_zones(&mut spec);
    for name in DENY_UNKNOWN_FIELDS {
        spec["components"]["schemas"][name]["additionalProperties"] = false.into();
    }
    serde_json::to_string_pretty(&spec).expect("a JSON value serialises")
}

/// Request bodies that refuse fields they do not know (serde's `deny_unknown_fields`: a typo in
/// a setting must not pass silently). poem-openapi's own `deny_unknown_fields` does not say so
/// in the schema, so the spec gets `additionalProperties: false` for them.
const DENY_UNKNOWN_FIELDS: [&str; 6] = [
    "InterventionSettingsUpdate",
    "MinConfidenceUpdate",
    "RetentionUpdate",
    "StreamTokenRequest",
    "WebhookRequest",
    "WebhookPatch",
];

/// Client generators name an enum's members after its values; time zone names such as
/// `Etc/GMT+1` and `Etc/GMT-1` would collide once reduced to identifiers (openapi-python-client
/// refuses the spec), so the `TimeZone` enum names its members (`x-enum-varnames`):
/// `ETC_GMT_PLUS_1`, `ETC_GMT_MINUS_1`, `EUROPE_PARIS`.
fn name_time_zones(spec: &mut serde_json::Value) {
    let Some(schema) = spec["components"]["schemas"].get_mut(<params::TimeZones as wire::EnumNames>::NAME) else {
        return;
    };
    let names: Vec<serde_json::Value> = schema["enum"]
        .as_array()
        .map(|values| values.iter().filter_map(|v| v.as_str()).map(|v| time_zone_identifier(v).into()).collect())
        .unwrap_or_default();
    schema["x-enum-varnames"] = names.into();
}

/// `Etc/GMT+1` → `ETC_GMT_PLUS_1`: upper case, the signs of offsets spelt out, other
/// punctuation as one `_`.
fn time_zone_identifier(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 8);
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        let offset = chars.peek().is_some_and(char::is_ascii_digit);
        match c {
            '+' if offset => out.push_str("_PLUS_"),
            '-' if offset => out.push_str("_MINUS_"),
            c if c.is_ascii_alphanumeric() => out.push(c.to_ascii_uppercase()),
            _ => out.push('_'),
        }
    }
    let mut collapsed = String::with_capacity(out.len());
    for c in out.chars() {
        if !(c == '_' && (collapsed.is_empty() || collapsed.ends_with('_'))) {
            collapsed.push(c);
        }
    }
    collapsed.trim_end_matches('_').to_owned()
}

/// poem-openapi documents a field of an enum type that has its own description (or is
/// nullable) as `allOf: [{$ref: Enum}, {description, nullable}]`. openapi-python-client cannot
/// take `allOf` of a non-object and drops every schema that contains one (and the operations
/// using them), so such fields get the enum's schema inline, with the field's additions.
/// Serving this rewrite at `/openapi.json` keeps the served spec the committed one; `/docs`
/// renders poem-openapi's equivalent original.
fn inline_described_enums(spec: &mut serde_json::Value) {
    use serde_json::{Map, Value};
    /// `{allOf: [{$ref: enum}, patch]}` as the enum's schema with the patch's keys.
    fn inlined(node: &Map<String, Value>, enums: &Map<String, Value>) -> Option<Map<String, Value>> {
        let [Value::Object(first), Value::Object(patch)] = node.get("allOf")?.as_array()?.as_slice() else {
            return None;
        };
        let name = first.get("$ref")?.as_str()?.strip_prefix("#/components/schemas/")?;
        let schema = enums.get(name)?.as_object()?;
        Some(schema.iter().chain(patch).map(|(k, v)| (k.clone(), v.clone())).collect())
    }
    fn walk(node: &mut Value, enums: &Map<String, Value>) {
        match node {
            Value::Object(map) => {
                if let Some(inline) = inlined(map, enums) {
                    *map = inline;
                }
                map.values_mut().for_each(|v| walk(v, enums));
            }
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, enums)),
            _ => {}
        }
    }
    let enums: Map<String, Value> = spec["components"]["schemas"]
        .as_object()
        .map(|schemas| {
            schemas.iter().filter(|(_, s)| s.get("enum").is_some()).map(|(k, v)| (k.clone(), v.clone())).collect()
        })
        .unwrap_or_default();
    walk(spec, &enums);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_zones_get_distinct_identifiers() {
        let names: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect();
        let ids: std::collections::HashSet<String> = names.iter().map(|n| time_zone_identifier(n)).collect();
        assert_eq!(ids.len(), names.len());
        assert_eq!(time_zone_identifier("Etc/GMT+1"), "ETC_GMT_PLUS_1");
        assert_eq!(time_zone_identifier("Etc/GMT-14"), "ETC_GMT_MINUS_14");
        assert_eq!(time_zone_identifier("America/Port-au-Prince"), "AMERICA_PORT_AU_PRINCE");
        assert!(ids.iter().all(|id| id.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')));
    }

    /// Every type answered with [`body::JsonReply`] writes the JSON poem-openapi's `Json` would (whose
    /// schema the spec shows).
    #[test]
    fn replies_write_what_poem_openapi_writes() {
        use crate::store::analytics::MoodCounts;
        use affect::{SessionAffect, StateResponse};
        use analytics::MoodAnalytics;
        use poem_openapi::types::{Example, ToJSON};
        use serde::Serialize;
        use sessions::{MoodResponse, PostEventsResponse};
        use users::{UserMood, UserSessionOut};
        use wire::{MoodLabel, Scale, SignalDetail};
        fn same<T: ToJSON + Serialize>(value: T) {
            assert_eq!(serde_json::to_value(&value).unwrap(), value.to_json().unwrap());
        }
        same(MoodResponse::example());
        same(MoodResponse { signals: vec![], confidence: 0.0, ..MoodResponse::example() });
        same(PostEventsResponse::example());
        same(MoodAnalytics::example());
        same(MoodAnalytics::from(MoodCounts { sessions: [0; 7], with_feedback: 0 }));
        let signal = || SignalDetail {
            id: "repeated_errors".into(),
            strength: 0.75,
            values: [("errors".to_owned(), 2.0), ("window_s".to_owned(), 60.0)].into(),
        };
        let state = StateResponse::example();
        same(StateResponse { mood: SessionAffect { signals: vec![signal()], scale: Scale::Sonzai, ..state.mood } });
        same(UserMood::example());
        let session = UserSessionOut {
            session_id: "s1".into(),
            mood: MoodLabel::Neutral,
            confidence: 0.5,
            event_count: 3,
            created_at: "2026-05-04T10:00:00.000Z".into(),
            updated_at: "2026-05-04T10:05:00.000Z".into(),
        };
        same(UserMood { signals: vec![signal(), signal()], recent_sessions: vec![session], ..UserMood::example() });
    }
}
