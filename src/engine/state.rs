//! The continuous affect state and how one event moves it.

use super::event::{Event, EventKind, ScrollDirection};
use super::model::{Dims, Model};
use serde::{Deserialize, Serialize};

/// The affect of one session (or user): where it stands, how much evidence backs it, and the
/// recent events its context rules and signals look at. Serializes losslessly, so a stored and
/// reloaded state continues exactly as if it had stayed in memory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AffectState {
    /// (valence, arousal, tension, affiliation), each in [-1, 1]; `+tension` means tense.
    pub dims: Dims,
    pub baseline: Dims,
    pub event_count: u64,
    /// Evidence that decays with `evidence_half_life_s`: +1 per event.
    pub effective_count: f64,
    /// The instant `dims` are evaluated at (the latest event's time, or a later read).
    pub last_decay_at_ms: Option<i64>,
    /// The latest event time applied.
    pub last_interaction_at_ms: Option<i64>,
    /// Recent events sorted by time, oldest first, bounded by the model's window.
    pub recent: Window,
}

/// The remembered events, oldest first: a slice to every reader. Forgetting the oldest advances a
/// start index, and the buffer is compacted once the forgotten part outgrows the kept one, so an
/// event is moved about once in its life, not once for every later event (a full window shifted
/// by one for each event was a tenth of the cost of applying it). Serializes as the kept events.
#[derive(Debug, Default)]
pub struct Window {
    events: Vec<RecentEvent>,
    start: usize,
}

impl Window {
    /// Inserts after every event with the same or an earlier time: stable for ties.
    fn insert(&mut self, event: RecentEvent) {
        let at = self.partition_point(|r| r.ts_ms <= event.ts_ms);
        self.events.insert(self.start + at, event);
    }

    /// Forgets the `n` oldest events.
    fn forget(&mut self, n: usize) {
        self.start += n.min(self.len());
        if self.start > self.len() {
            self.events.drain(..self.start);
            self.start = 0;
        }
    }
}

impl std::ops::Deref for Window {
    type Target = [RecentEvent];

    fn deref(&self) -> &[RecentEvent] {
        &self.events[self.start..]
    }
}

impl Clone for Window {
    fn clone(&self) -> Self {
        Self { events: self.to_vec(), start: 0 }
    }
}

impl PartialEq for Window {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl From<Vec<RecentEvent>> for Window {
    fn from(events: Vec<RecentEvent>) -> Self {
        Self { events, start: 0 }
    }
}

impl Serialize for Window {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Window {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::deserialize(deserializer).map(Self::from)
    }
}

/// What the state remembers of one event. Stored as an array, `[kind, ts_ms, x, y, duration_ms,
/// speed, page]` without its trailing absent values: about half the bytes of an object, in the
/// state that every batch reads, rewrites and stores. Reads the object form too (older states).
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
pub struct RecentEvent {
    pub kind: EventKind,
    pub ts_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u64>,
}

impl Serialize for RecentEvent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let (x, y, duration_ms, speed, page) = (self.x, self.y, self.duration_ms, self.speed, self.page);
        let present = [x.is_some(), y.is_some(), duration_ms.is_some(), speed.is_some(), page.is_some()];
        let optional = present.iter().rposition(|p| *p).map_or(0, |last| last + 1);
        let mut seq = serializer.serialize_seq(Some(2 + optional))?;
        seq.serialize_element(&self.kind)?;
        seq.serialize_element(&self.ts_ms)?;
        for value in [x, y, duration_ms, speed].into_iter().take(optional) {
            seq.serialize_element(&value.map(Num))?;
        }
        if optional == present.len() {
            seq.serialize_element(&page)?;
        }
        seq.end()
    }
}

/// A float as the state stores it: an integral value (as most coordinates, durations and speeds
/// are) as an integer, which reads back as the same `f64` and is cheaper to write and to read;
/// any other, and `-0.0`, as the shortest text that reads back exactly.
struct Num(f64);

impl Serialize for Num {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53: every integer below it is an f64
        let v = self.0;
        if v.fract() == 0.0 && v.abs() < EXACT && !(v == 0.0 && v.is_sign_negative()) {
            serializer.serialize_i64(v as i64)
        } else {
            serializer.serialize_f64(v)
        }
    }
}

impl From<&Event> for RecentEvent {
    fn from(e: &Event) -> Self {
        Self { kind: e.kind, ts_ms: e.ts_ms, x: e.x, y: e.y, duration_ms: e.duration_ms, speed: e.speed, page: e.page }
    }
}

/// Why an impulse had the size it had, for the trigger reason.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Amplifier {
    None,
    /// Scaled by `duration_ms`.
    Duration(f64),
    /// A fast scroll, scaled by speed.
    FastScroll(f64),
    /// An upward scroll, which also counts as part of a backtrack.
    ScrollUp,
    /// The n-th click of a tight cluster, treated as a rage click.
    ClickCluster(usize),
    /// The n-th error (or back navigation) within the context window.
    Repeat(usize, f64),
}

/// The effect of one applied event.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The change the event's impulse caused (after decaying to the event's time).
    pub delta: Dims,
    pub amplifier: Amplifier,
}

fn decay_factor(dt_s: f64, half_life_s: f64) -> f64 {
    (-dt_s / half_life_s).exp2()
}

impl AffectState {
    /// A fresh state at the model's baseline with no evidence.
    pub fn new(model: &Model) -> Self {
        Self {
            dims: model.baseline,
            baseline: model.baseline,
            event_count: 0,
            effective_count: 0.0,
            last_decay_at_ms: None,
            last_interaction_at_ms: None,
            recent: Window::default(),
        }
    }

    /// The state as stored: JSON, written into a buffer sized for its window at once (grown from
    /// empty, the text was copied several times over).
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(256 + 40 * self.recent.len());
        serde_json::to_writer(&mut out, self).expect("a state serializes");
        String::from_utf8(out).expect("serde_json writes UTF-8")
    }

    /// Deviation from the baseline, the space the prototypes live in.
    pub fn deviation(&self) -> Dims {
        self.dims - self.baseline
    }

    /// Decays toward the baseline up to `at_ms`. Never moves backwards in time.
    pub fn decay_to(&mut self, model: &Model, at_ms: i64) {
        let Some(last) = self.last_decay_at_ms else { return };
        if at_ms <= last {
            return;
        }
        let dt_s = (at_ms - last) as f64 / 1000.0;
        for i in 0..4 {
            let b = self.baseline[i];
            self.dims[i] = b + (self.dims[i] - b) * decay_factor(dt_s, model.half_life_s[i]);
        }
        self.effective_count *= decay_factor(dt_s, model.evidence_half_life_s);
        self.last_decay_at_ms = Some(at_ms);
    }

    /// A copy evaluated at a later instant (decay only).
    pub fn decayed(&self, model: &Model, at_ms: i64) -> Self {
        let mut later = self.clone();
        later.decay_to(model, at_ms);
        later
    }

    /// Applies one event: decay to its time (none if it is older than the state), the impulse,
    /// a saturating add that keeps every dimension in [-1, 1], and the evidence counts.
    pub fn apply(&mut self, model: &Model, event: &Event) -> Step {
        if self.last_decay_at_ms.is_none() {
            self.last_decay_at_ms = Some(event.ts_ms);
        }
        self.decay_to(model, event.ts_ms);
        let (impulse, amplifier) = impulse_for(model, event, &self.recent);
        let before = self.dims;
        for i in 0..4 {
            let (s, di) = (self.dims[i], impulse[i]);
            let moved = if di > 0.0 { s + di * (1.0 - s) } else { s + di * (1.0 + s) };
            self.dims[i] = moved.clamp(-1.0, 1.0);
        }
        if model.baseline_rate > 0.0 {
            self.baseline += (self.dims - self.baseline) * model.baseline_rate;
        }
        self.event_count += 1;
        self.effective_count += 1.0;
        self.last_interaction_at_ms = Some(self.last_interaction_at_ms.map_or(event.ts_ms, |t| t.max(event.ts_ms)));
        self.remember(model, event);
        Step { delta: self.dims - before, amplifier }
    }

    fn remember(&mut self, model: &Model, event: &Event) {
        self.recent.insert(RecentEvent::from(event));
        let latest = self.recent.last().map_or(event.ts_ms, |r| r.ts_ms);
        let horizon = latest - (model.window_s * 1000.0) as i64;
        let stale = self.recent.partition_point(|r| r.ts_ms < horizon);
        let excess = self.recent.len().saturating_sub(model.window_max_events);
        self.recent.forget(stale.max(excess));
    }
}

/// The impulse an event applies, given the recent events before it.
fn impulse_for(model: &Model, event: &Event, recent: &[RecentEvent]) -> (Dims, Amplifier) {
    let s = &model.scaling;
    let c = &model.context;
    let base = model.impulse(event.kind);
    let within = |kind: EventKind, window_s: f64| {
        let from = event.ts_ms - (window_s * 1000.0) as i64;
        recent.iter().filter(|r| r.kind == kind && r.ts_ms >= from && r.ts_ms <= event.ts_ms).count()
    };
    let duration = |ref_ms: f64| match event.duration_ms {
        Some(ms) => {
            let ratio = ms / ref_ms;
            // `sqrt` where the model says 0.5: bit for bit what models before the exponent did.
            let f = if s.duration_exponent == 0.5 { ratio.sqrt() } else { ratio.powf(s.duration_exponent) };
            let f = f.clamp(s.duration_factor_min, s.duration_factor_max);
            (base * f, Amplifier::Duration(f))
        }
        None => (base, Amplifier::None),
    };
    let repeat = |earlier: usize, step: f64| {
        if earlier == 0 {
            return (base, Amplifier::None);
        }
        let f = 1.0 + step * (earlier as f64).min(c.max_steps);
        (base * f, Amplifier::Repeat(earlier + 1, f))
    };
    match event.kind {
        EventKind::Idle => duration(s.idle_ref_ms),
        EventKind::Hover => duration(s.hover_ref_ms),
        EventKind::InputPause => duration(s.input_pause_ref_ms),
        EventKind::Error => repeat(within(EventKind::Error, c.error_window_s), c.error_step),
        EventKind::BackNav => repeat(within(EventKind::BackNav, c.back_nav_window_s), c.back_nav_step),
        EventKind::Scroll => match (event.speed, event.direction) {
            (Some(v), _) if v >= s.fast_scroll_px_s => {
                let f = (v / s.fast_scroll_px_s).min(s.fast_scroll_factor_max);
                (s.fast_scroll_impulse * f, Amplifier::FastScroll(f))
            }
            (_, Some(ScrollDirection::Up)) => {
                (base + model.impulse(EventKind::Backtrack) * s.scroll_up_backtrack_share, Amplifier::ScrollUp)
            }
            _ => (base, Amplifier::None),
        },
        EventKind::Click => match click_cluster(model, event, recent) {
            n if n >= s.rage_clicks => {
                (model.impulse(EventKind::RageClick) * s.clustered_click_share, Amplifier::ClickCluster(n))
            }
            _ => (base, Amplifier::None),
        },
        _ => (base, Amplifier::None),
    }
}

/// How many clicks (this one included) fall within the rage window and radius ending at `event`.
fn click_cluster(model: &Model, event: &Event, recent: &[RecentEvent]) -> usize {
    let s = &model.scaling;
    let (Some(x), Some(y)) = (event.x, event.y) else { return 1 };
    1 + recent
        .iter()
        .filter(|r| r.kind == EventKind::Click && r.ts_ms <= event.ts_ms && event.ts_ms - r.ts_ms <= s.rage_window_ms)
        .filter(|r| matches!((r.x, r.y), (Some(rx), Some(ry)) if s.within_rage_radius((rx, ry), (x, y))))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn a_window_reads_as_a_vector_that_drains_its_front(ops in prop::collection::vec((0i64..50, 0usize..4), 1..200)) {
            let (mut window, mut reference) = (Window::default(), Vec::<RecentEvent>::new());
            for (ts_ms, forget) in ops {
                let e = RecentEvent { ts_ms, ..event(EventKind::Click) };
                window.insert(e);
                reference.insert(reference.partition_point(|r| r.ts_ms <= ts_ms), e);
                window.forget(forget);
                reference.drain(..forget.min(reference.len()));
                prop_assert_eq!(&*window, &reference[..]);
                prop_assert!(window.events.len() <= 2 * reference.len() + 1, "the forgotten part is compacted");
            }
            prop_assert_eq!(window.clone(), Window::from(reference));
        }
    }

    fn event(kind: EventKind) -> RecentEvent {
        RecentEvent { kind, ts_ms: 1_746_352_800_000, x: None, y: None, duration_ms: None, speed: None, page: None }
    }

    #[test]
    fn recent_events_are_stored_as_short_arrays() {
        let click = RecentEvent { x: Some(240.0), y: Some(580.5), ..event(EventKind::Click) };
        let scroll = RecentEvent { speed: Some(800.0), ..event(EventKind::Scroll) };
        let page = RecentEvent { page: Some(42), ..event(EventKind::PageView) };
        let json = serde_json::to_string(&[event(EventKind::Blur), click, scroll, page]).unwrap();
        assert_eq!(
            json,
            r#"[["blur",1746352800000],["click",1746352800000,240,580.5],["scroll",1746352800000,null,null,null,800],["page_view",1746352800000,null,null,null,null,42]]"#
        );
        assert_eq!(
            serde_json::from_str::<Vec<RecentEvent>>(&json).unwrap(),
            [event(EventKind::Blur), click, scroll, page]
        );
    }

    #[test]
    fn states_stored_with_recent_events_as_objects_or_integral_floats_as_floats_still_read() {
        let old = r#"{"kind":"click","ts_ms":1746352800000,"x":240.0,"y":580.5}"#;
        let click = RecentEvent { x: Some(240.0), y: Some(580.5), ..event(EventKind::Click) };
        assert_eq!(serde_json::from_str::<RecentEvent>(old).unwrap(), click);
        let old = r#"["click",1746352800000,240.0,580.5]"#;
        assert_eq!(serde_json::from_str::<RecentEvent>(old).unwrap(), click);
    }

    proptest! {
        #[test]
        fn every_float_reads_back_bit_for_bit(v in prop_oneof![
            any::<f64>().prop_filter("JSON has no NaN or infinity", |v| v.is_finite()),
            (-(1i64 << 54)..(1i64 << 54)).prop_map(|i| i as f64),
            (-100_000i64..100_000).prop_map(|i| i as f64),
            prop::sample::select(vec![0.0, -0.0, 9_007_199_254_740_992.0, -9_007_199_254_740_992.0, 1e300, -1e-300, f64::MAX, f64::MIN_POSITIVE]),
        ]) {
            let e = RecentEvent { x: Some(v), y: Some(-v), duration_ms: Some(v.abs()), speed: Some(v * 0.5), ..event(EventKind::Hover) };
            let back: RecentEvent = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
            for (a, b) in [(back.x, e.x), (back.y, e.y), (back.duration_ms, e.duration_ms), (back.speed, e.speed)] {
                prop_assert_eq!(a.unwrap().to_bits(), b.unwrap().to_bits());
            }
        }
    }
}
