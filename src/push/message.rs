//! What is pushed: the messages announcing a committed change, as ingest writes them to the
//! outbox and as streams and webhooks send them.

use crate::domain::{iso8601, round4};
use crate::engine::{HistoryRecord, Mood};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a message announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A session's first events were stored: its first mood.
    SessionStarted,
    /// A session's label changed.
    MoodChanged,
}

impl Kind {
    pub const ALL: [Kind; 2] = [Kind::MoodChanged, Kind::SessionStarted];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SessionStarted => "session.started",
            Self::MoodChanged => "mood.changed",
        }
    }
}

impl FromStr for Kind {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|k| k.as_str() == s).ok_or(())
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message's `data`: the session as the event that changed its label (or its first) left it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub session_id: String,
    /// The person the session is linked to, if any.
    pub user_id: Option<String>,
    /// The label before; `null` for `session.started`.
    pub previous_mood: Option<String>,
    pub mood: String,
    pub confidence: f64,
    pub signals: Vec<String>,
    pub suggested_action: String,
    /// The session's events up to and including the one that changed the label.
    pub event_count: i64,
    /// That event's time (the client's clock), ISO 8601.
    pub event_time: String,
}

impl Change {
    /// The change `record` (the state after the session's `event_count`th event) announces, if
    /// its label differs from `before` (`None`: the session's first event).
    pub fn of(
        session_id: &str,
        user_id: Option<&str>,
        before: Option<Mood>,
        record: &HistoryRecord,
        event_count: i64,
    ) -> Option<(Kind, Change)> {
        let kind = match before {
            None => Kind::SessionStarted,
            Some(label) if label != record.label => Kind::MoodChanged,
            Some(_) => return None,
        };
        let change = Change {
            session_id: session_id.to_owned(),
            user_id: user_id.map(str::to_owned),
            previous_mood: before.map(|m| m.as_str().to_owned()),
            mood: record.label.as_str().to_owned(),
            confidence: round4(record.confidence),
            signals: record.signals.iter().map(|s| s.id.as_str().to_owned()).collect(),
            suggested_action: record.action.as_str().to_owned(),
            event_count,
            event_time: iso8601(record.ts_ms),
        };
        Some((kind, change))
    }
}

/// A message in its place in commit order: what streams and webhooks send.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// The position in commit order across the deployment: the message's id.
    pub seq: i64,
    pub kind: Kind,
    pub tenant_id: i64,
    /// The session's own id (the client's).
    pub session_id: String,
    pub mood: Mood,
    /// When the change was received.
    pub created_at_ms: i64,
    /// The [`Change`], as JSON.
    pub data: String,
}

impl Message {
    /// The JSON sent: `{"id": seq, "type": "mood.changed", "timestamp": created, "data": {…}}`
    /// (the Standard Webhooks payload shape).
    pub fn body(&self) -> String {
        format!(
            r#"{{"id":{},"type":"{}","timestamp":"{}","data":{}}}"#,
            self.seq,
            self.kind,
            iso8601(self.created_at_ms),
            self.data
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Models, apply_batch};

    fn record(label: Mood) -> HistoryRecord {
        let model = &Models::default().session;
        let mut state = crate::engine::AffectState::new(model);
        let event = crate::engine::Event::new(crate::engine::EventKind::Click, 1_777_888_000_000);
        let mut r = apply_batch(model, &mut state, &[event]).pop().unwrap();
        r.label = label;
        r
    }

    #[test]
    fn a_first_event_starts_a_session_and_a_new_label_changes_its_mood() {
        let r = record(Mood::Frustrated);
        let (kind, started) = Change::of("s1", Some("u1"), None, &r, 1).unwrap();
        assert_eq!((kind, started.previous_mood, started.user_id.as_deref()), (Kind::SessionStarted, None, Some("u1")));
        let (kind, changed) = Change::of("s1", None, Some(Mood::Browsing), &r, 7).unwrap();
        assert_eq!(kind, Kind::MoodChanged);
        assert_eq!((changed.previous_mood.as_deref(), changed.mood.as_str()), (Some("browsing"), "frustrated"));
        assert_eq!((changed.event_count, changed.event_time.as_str()), (7, "2026-05-04T09:46:40.000Z"));
        assert_eq!(Change::of("s1", None, Some(Mood::Frustrated), &r, 8), None, "the same label again");
    }

    #[test]
    fn the_body_is_the_envelope_around_the_stored_data() {
        let message = Message {
            seq: 42,
            kind: Kind::MoodChanged,
            tenant_id: 1,
            session_id: "s1".into(),
            mood: Mood::Frustrated,
            created_at_ms: 1_777_888_000_123,
            data: r#"{"session_id":"s1"}"#.into(),
        };
        let body: serde_json::Value = serde_json::from_str(&message.body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"id": 42, "type": "mood.changed", "timestamp": "2026-05-04T09:46:40.123Z",
                "data": {"session_id": "s1"}})
        );
        assert_eq!("session.started".parse(), Ok(Kind::SessionStarted));
        assert_eq!("mood.change".parse::<Kind>(), Err(()));
    }
}
