//! The body of `POST /v1/sessions/{id}/events` and its validation: the whole batch is checked
//! before anything is stored, and one bad event rejects it.

use super::error::ApiError;
use super::wire::{EventTypes, OpenEnum, check_text};
use crate::domain::NewEvent;
use crate::engine::{Event, EventKind, ScrollDirection, page_hash};
use poem_openapi::types::Example;
use poem_openapi::{Enum, Object};
use serde::Deserialize;

pub const MAX_EVENTS: usize = 1000;
const MAX_URL_CHARS: usize = 2048;
const MAX_MESSAGE_CHARS: usize = 512;
const MAX_EVENT_ID_CHARS: usize = 256;
const MAX_COORDINATE_PX: f64 = 1_000_000.0;
const MAX_DURATION_MS: f64 = 86_400_000.0;
const MAX_SPEED_PX_S: f64 = 1_000_000.0;
/// Client clocks drift: a timestamp further ahead of the server than this is recorded at
/// receipt time (as analytics services commonly do).
const MAX_FUTURE_MS: i64 = 3_600_000;
/// Above this (the year ~5138) a timestamp is milliseconds sent where seconds belong: rejected.
const MAX_TS_S: f64 = 1e11;

/// A batch of events for one session.
#[derive(Debug, Deserialize, Object)]
#[oai(example)]
pub struct PostEventsRequest {
    /// 1 to 1,000 events, applied in `ts` order (stable for equal times).
    #[oai(validator(min_items = 1, max_items = 1000))]
    pub events: Vec<EventIn>,
    /// The person this session belongs to (1–256 characters; an opaque id of yours, never an
    /// e-mail address or a name). Links the session to the user on first use; the user's own
    /// affect state then follows every event of the session. A session belongs to one user:
    /// another `user_id` for a linked session is a 409.
    #[oai(nullable, validator(min_length = 1, max_length = 256, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"))]
    pub user_id: Option<String>,
}

impl Example for PostEventsRequest {
    fn example() -> Self {
        serde_json::from_value(serde_json::json!({"events": [
            {"type": "rage_click", "x": 240, "y": 580, "ts": 1746352800},
            {"type": "error", "message": "Payment failed", "ts": 1746352802},
            {"type": "idle", "duration_ms": 4500, "ts": 1746352807}
        ]}))
        .expect("the example parses")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Enum)]
#[serde(rename_all = "lowercase")]
#[oai(rename_all = "lowercase")]
pub enum Direction {
    Up,
    Down,
}

/// One behavioural event. All fields but `type` are optional; more fields classify better.
#[derive(Debug, Deserialize, Object)]
#[oai(rename = "Event")]
pub struct EventIn {
    /// The event type.
    #[serde(rename = "type")]
    #[oai(rename = "type")]
    pub kind: OpenEnum<EventTypes>,
    /// Unix time in seconds (fractions allowed) when the event happened; receipt time when
    /// omitted. A time more than an hour ahead of the server (a client clock running fast) is
    /// recorded at receipt time; above 1e11 it is milliseconds by mistake and rejected.
    #[oai(nullable, validator(minimum(value = "0"), maximum(value = "100000000000")))]
    pub ts: Option<f64>,
    /// Viewport X coordinate in pixels (click, rage_click).
    #[oai(nullable, validator(minimum(value = "-1000000"), maximum(value = "1000000")))]
    pub x: Option<f64>,
    /// Viewport Y coordinate in pixels (click, rage_click).
    #[oai(nullable, validator(minimum(value = "-1000000"), maximum(value = "1000000")))]
    pub y: Option<f64>,
    /// Duration in milliseconds (idle, hover, input_pause), 0 to 86,400,000.
    #[oai(nullable, validator(minimum(value = "0"), maximum(value = "86400000")))]
    pub duration_ms: Option<f64>,
    /// Scroll speed in pixels per second (scroll), 0 to 1,000,000.
    #[oai(nullable, validator(minimum(value = "0"), maximum(value = "1000000")))]
    pub speed: Option<f64>,
    /// Scroll direction (scroll).
    #[serde(default, deserialize_with = "super::body::not_null")]
    pub direction: Option<Direction>,
    /// Page URL (page_view), at most 2,048 characters.
    #[oai(nullable, validator(max_length = 2048, pattern = "^[^\\u0000]*$"))]
    pub url: Option<String>,
    /// Error message (error), at most 512 characters.
    #[oai(nullable, validator(max_length = 512, pattern = "^[^\\u0000]*$"))]
    pub message: Option<String>,
    /// Your id for this event (1–256 characters). An event whose id the session already has is
    /// not stored again, so a batch can be retried safely.
    #[oai(nullable, validator(min_length = 1, max_length = 256, pattern = "^[^\\u0000]*$"))]
    pub event_id: Option<String>,
}

impl PostEventsRequest {
    /// The batch as domain events, or the first reason to reject all of it. Unknown types are
    /// reported together, before anything else.
    pub fn validate(self, now_ms: i64) -> Result<Vec<NewEvent>, ApiError> {
        if self.events.is_empty() || self.events.len() > MAX_EVENTS {
            return Err(ApiError::invalid("events", format!("must contain between 1 and {MAX_EVENTS} events")));
        }
        let mut invalid: Vec<String> = Vec::new();
        for e in &self.events {
            if e.kind.value.parse::<EventKind>().is_err() && !invalid.contains(&e.kind.value) {
                invalid.push(e.kind.value.clone());
            }
        }
        if !invalid.is_empty() {
            return Err(ApiError::InvalidEventTypes(invalid));
        }
        self.events.into_iter().enumerate().map(|(i, e)| e.validate(i, now_ms)).collect()
    }
}

impl EventIn {
    fn validate(self, i: usize, now_ms: i64) -> Result<NewEvent, ApiError> {
        let field = |name: &str| format!("events[{i}].{name}");
        let within = |name: &str, v: Option<f64>, min: f64, max: f64| match v {
            Some(v) if !(min..=max).contains(&v) => {
                Err(ApiError::invalid(field(name), format!("must be between {min} and {max}")))
            }
            _ => Ok(v),
        };
        let text = |name: &str, v: Option<String>, max: usize| match v {
            Some(s) => check_text(field(name), &s, max).map(|()| Some(s)),
            None => Ok(None),
        };
        let kind: EventKind =
            self.kind.value.parse().map_err(|_| ApiError::InvalidEventTypes(vec![self.kind.value.clone()]))?;
        let ts_ms = match self.ts {
            None => now_ms,
            Some(ts) if !(0.0..=MAX_TS_S).contains(&ts) => {
                return Err(ApiError::invalid(
                    field("ts"),
                    "must be Unix time in seconds (0 to 1e11), not milliseconds",
                ));
            }
            Some(ts) => match (ts * 1000.0).round() as i64 {
                ms if ms > now_ms + MAX_FUTURE_MS => now_ms,
                ms => ms,
            },
        };
        let event_id = text("event_id", self.event_id, MAX_EVENT_ID_CHARS)?;
        if event_id.as_deref().is_some_and(|id| id.is_empty()) {
            return Err(ApiError::invalid(field("event_id"), "must not be empty"));
        }
        let url = text("url", self.url, MAX_URL_CHARS)?;
        let event = Event {
            kind,
            ts_ms,
            x: within("x", self.x, -MAX_COORDINATE_PX, MAX_COORDINATE_PX)?,
            y: within("y", self.y, -MAX_COORDINATE_PX, MAX_COORDINATE_PX)?,
            duration_ms: within("duration_ms", self.duration_ms, 0.0, MAX_DURATION_MS)?,
            speed: within("speed", self.speed, 0.0, MAX_SPEED_PX_S)?,
            direction: self.direction.map(|d| match d {
                Direction::Up => ScrollDirection::Up,
                Direction::Down => ScrollDirection::Down,
            }),
            page: url.as_deref().map(page_hash),
        };
        Ok(NewEvent { event, event_id, url, message: text("message", self.message, MAX_MESSAGE_CHARS)? })
    }
}
