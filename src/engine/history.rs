//! Applying batches of events, one history record per applied event.

use super::event::{Event, EventKind};
use super::model::{Dims, Model};
use super::mood::{Mood, SuggestedAction};
use super::projection::{Projection, project};
use super::signals::Signal;
use super::state::{AffectState, Amplifier, Step};
use std::fmt::Write;

/// The state right after one event, and what the event did to it.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryRecord {
    pub ts_ms: i64,
    pub trigger: EventKind,
    pub dims: Dims,
    /// The change the event's impulse caused (decay before the event is not included).
    pub delta: Dims,
    /// One sentence: what moved the state and why.
    pub trigger_reason: String,
    pub label: Mood,
    pub confidence: f64,
    pub signals: Vec<Signal>,
    pub action: SuggestedAction,
}

impl HistoryRecord {
    fn new(event: &Event, state: &AffectState, step: &Step, projection: Projection) -> Self {
        Self {
            ts_ms: event.ts_ms,
            trigger: event.kind,
            dims: state.dims,
            delta: step.delta,
            trigger_reason: trigger_reason(event.kind, step),
            label: projection.label,
            confidence: projection.confidence,
            signals: projection.signals,
            action: projection.action,
        }
    }
}

/// Applies `events` in time order (stable for equal times) and returns a record per event.
/// Any split of a time-ordered stream into batches yields the identical state.
pub fn apply_batch(model: &Model, state: &mut AffectState, events: &[Event]) -> Vec<HistoryRecord> {
    let mut ordered: Vec<&Event> = events.iter().collect();
    ordered.sort_by_key(|e| e.ts_ms);
    ordered
        .into_iter()
        .map(|event| {
            let step = state.apply(model, event);
            HistoryRecord::new(event, state, &step, project(model, state))
        })
        .collect()
}

const DIM_NAMES: [&str; 4] = ["valence", "arousal", "tension", "affiliation"];

/// "A second error within 60 s (×1.5) lowered valence by 0.27 and raised tension by 0.31."
fn trigger_reason(kind: EventKind, step: &Step) -> String {
    // Room for the longest reason: growing the string as it is written cost a copy or two each.
    let mut s = String::with_capacity(160);
    s.push_str(kind.phrase());
    match step.amplifier {
        Amplifier::None => {}
        Amplifier::Duration(f) => _ = write!(s, " (duration-weighted ×{f:.2})"),
        Amplifier::FastScroll(f) => _ = write!(s, " at searching speed (×{f:.2})"),
        Amplifier::ScrollUp => s.push_str(" upward, a partial backtrack,"),
        Amplifier::ClickCluster(n) => _ = write!(s, ", the {} in a tight burst, read as a rage click,", ordinal(n)),
        Amplifier::Repeat(n, f) => _ = write!(s, ", the {} in quick succession (×{f:.1}),", ordinal(n)),
    }
    let mut moved: Vec<(usize, f64)> = (0..4).map(|i| (i, step.delta[i])).filter(|(_, v)| v.abs() >= 0.005).collect();
    moved.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    moved.truncate(2);
    if moved.is_empty() {
        s.push_str(" barely moved the state.");
        return s;
    }
    for (n, (i, v)) in moved.iter().enumerate() {
        let verb = if *v > 0.0 { "raised" } else { "lowered" };
        let joiner = if n == 0 { " " } else { " and " };
        _ = write!(s, "{joiner}{verb} {} by {:.2}", DIM_NAMES[*i], v.abs());
    }
    s.push('.');
    s
}

fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_as_sentences() {
        let step = Step { delta: Dims::new(-0.27, 0.1, 0.31, 0.0), amplifier: Amplifier::Repeat(2, 1.5) };
        assert_eq!(
            trigger_reason(EventKind::Error, &step),
            "An error shown to the user, the 2nd in quick succession (×1.5), raised tension by 0.31 and lowered valence by 0.27."
        );
        let still = Step { delta: Dims::zeros(), amplifier: Amplifier::None };
        assert_eq!(trigger_reason(EventKind::Click, &still), "A click barely moved the state.");
        assert_eq!(ordinal(11), "11th");
        assert_eq!(ordinal(23), "23rd");
    }
}
