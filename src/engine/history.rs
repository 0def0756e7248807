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
    let apply = |event: &Event| {
        let step = state.apply(model, event);
        HistoryRecord::new(event, state, &step, project(model, state))
    };
    // Batches usually arrive in time order already: no copy to sort then.
    if events.is_sorted_by_key(|e| e.ts_ms) {
        return events.iter().map(apply).collect();
    }
    let mut ordered: Vec<&Event> = events.iter().collect();
    ordered.sort_by_key(|e| e.ts_ms);
    ordered.into_iter().map(apply).collect()
}

const DIM_NAMES: [&str; 4] = ["valence", "arousal", "tension", "affiliation"];

/// "A second error within 60 s (×1.5) lowered valence by 0.27 and raised tension by 0.31."
fn trigger_reason(kind: EventKind, step: &Step) -> String {
    // Room for the longest reason: growing the string as it is written cost a copy or two each.
    let mut s = String::with_capacity(160);
    s.push_str(kind.phrase());
    match step.amplifier {
        Amplifier::None => {}
        Amplifier::Duration(f) => {
            s.push_str(" (duration-weighted ×");
            push_fixed(&mut s, f, 2);
            s.push(')');
        }
        Amplifier::FastScroll(f) => {
            s.push_str(" at searching speed (×");
            push_fixed(&mut s, f, 2);
            s.push(')');
        }
        Amplifier::ScrollUp => s.push_str(" upward, a partial backtrack,"),
        Amplifier::ClickCluster(n) => _ = write!(s, ", the {n}{} in a tight burst, read as a rage click,", ordinal(n)),
        Amplifier::Repeat(n, f) => {
            _ = write!(s, ", the {n}{} in quick succession (×", ordinal(n));
            push_fixed(&mut s, f, 1);
            s.push_str("),");
        }
    }
    let mut moved: [(usize, f64); 4] = std::array::from_fn(|i| (i, step.delta[i]));
    moved.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    let moved = moved.iter().take(2).take_while(|(_, v)| v.abs() >= 0.005);
    if moved.clone().next().is_none() {
        s.push_str(" barely moved the state.");
        return s;
    }
    for (n, (i, v)) in moved.enumerate() {
        let verb = if *v > 0.0 { "raised" } else { "lowered" };
        let joiner = if n == 0 { " " } else { " and " };
        for part in [joiner, verb, " ", DIM_NAMES[*i], " by "] {
            s.push_str(part);
        }
        push_fixed(&mut s, v.abs(), 2);
    }
    s.push('.');
    s
}

/// Appends `x` (finite, ≥ 0, under 2^50) with `decimals` (1 or 2) digits after the point, exactly
/// as `format!("{x:.2}")` would: the exact binary value rounded half to even. Through `fmt`
/// the reasons' numbers were a tenth of the cost of applying an event.
fn push_fixed(s: &mut String, x: f64, decimals: u32) {
    let scale = 10f64.powi(decimals as i32);
    // `k` = ⌊x·scale⌋ of the exact product: fused multiply-adds compare it with no rounding
    // in between (the sign of a once-rounded result is the sign of the exact one).
    let mut k = (x * scale).floor();
    if x.mul_add(scale, -k) < 0.0 {
        k -= 1.0;
    } else if x.mul_add(scale, -(k + 1.0)) >= 0.0 {
        k += 1.0;
    }
    let above_half = x.mul_add(scale, -(k + 0.5));
    if above_half > 0.0 || (above_half == 0.0 && k % 2.0 == 1.0) {
        k += 1.0;
    }
    let k = k as u64;
    let unit = 10u64.pow(decimals);
    _ = write!(s, "{}.", k / unit);
    let frac = k % unit;
    if decimals == 2 && frac < 10 {
        s.push('0');
    }
    _ = write!(s, "{frac}");
}

/// The suffix of an ordinal number: "st" for 1, "th" for 11.
fn ordinal(n: usize) -> &'static str {
    match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn fixed_point_numbers_read_as_fmt_writes_them(x in 0.0f64..4.0, bits in any::<u64>()) {
            // Any value in range, and ones a hair either side of a rounding boundary.
            let near = f64::from_bits((x.to_bits() & !0xff) | (bits & 0xff));
            for v in [x, near, (x * 200.0).round() / 200.0, (x * 20.0).round() / 20.0] {
                let (mut two, mut one) = (String::new(), String::new());
                push_fixed(&mut two, v, 2);
                push_fixed(&mut one, v, 1);
                prop_assert_eq!((two, one), (format!("{v:.2}"), format!("{v:.1}")));
            }
        }
    }

    #[test]
    fn reasons_read_as_sentences() {
        let step = Step { delta: Dims::new(-0.27, 0.1, 0.31, 0.0), amplifier: Amplifier::Repeat(2, 1.5) };
        assert_eq!(
            trigger_reason(EventKind::Error, &step),
            "An error shown to the user, the 2nd in quick succession (×1.5), raised tension by 0.31 and lowered valence by 0.27."
        );
        let still = Step { delta: Dims::zeros(), amplifier: Amplifier::None };
        assert_eq!(trigger_reason(EventKind::Click, &still), "A click barely moved the state.");
        assert_eq!(ordinal(11), "th");
        for x in [0.0, 0.005, 0.125, 0.375, 0.625, 0.875, 1.125, 0.015, 0.994999, 0.995, 1.0, 2.0, 0.05, 0.25, 0.35] {
            let (mut two, mut one) = (String::new(), String::new());
            push_fixed(&mut two, x, 2);
            push_fixed(&mut one, x, 1);
            assert_eq!((two, one), (format!("{x:.2}"), format!("{x:.1}")), "{x}");
        }
        assert_eq!(ordinal(23), "rd");
    }
}
