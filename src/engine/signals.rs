//! Named rules over the recent events: the evidence a person can read behind a mood.

use super::event::EventKind;
use super::model::{Dims, Model};
use super::state::{AffectState, RecentEvent};
use serde::{Deserialize, Serialize};

/// Stable snake_case signal ids (part of the API).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalId {
    RageClickDetected,
    ErrorEncountered,
    RepeatedErrors,
    NavigationLoop,
    Hesitation,
    ExcessiveScrolling,
    ProlongedIdle,
    TabHidden,
    RapidProgress,
    SustainedAttention,
    InsufficientData,
}

impl SignalId {
    pub const ALL: [SignalId; 11] = [
        Self::RageClickDetected,
        Self::ErrorEncountered,
        Self::RepeatedErrors,
        Self::NavigationLoop,
        Self::Hesitation,
        Self::ExcessiveScrolling,
        Self::ProlongedIdle,
        Self::TabHidden,
        Self::RapidProgress,
        Self::SustainedAttention,
        Self::InsufficientData,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::RageClickDetected => "rage_click_detected",
            Self::ErrorEncountered => "error_encountered",
            Self::RepeatedErrors => "repeated_errors",
            Self::NavigationLoop => "navigation_loop",
            Self::Hesitation => "hesitation",
            Self::ExcessiveScrolling => "excessive_scrolling",
            Self::ProlongedIdle => "prolonged_idle",
            Self::TabHidden => "tab_hidden",
            Self::RapidProgress => "rapid_progress",
            Self::SustainedAttention => "sustained_attention",
            Self::InsufficientData => "insufficient_data",
        }
    }

    /// The direction in affect space the behaviour behind this signal pushes toward, used to
    /// rank signals by how much they support a label.
    fn direction(self, model: &Model) -> Dims {
        match self {
            Self::RageClickDetected => model.impulse(EventKind::RageClick),
            Self::ErrorEncountered | Self::RepeatedErrors => model.impulse(EventKind::Error),
            Self::NavigationLoop => model.impulse(EventKind::BackNav),
            Self::Hesitation => model.impulse(EventKind::Hover),
            Self::ExcessiveScrolling => model.scaling.fast_scroll_impulse,
            Self::ProlongedIdle | Self::TabHidden => model.impulse(EventKind::Idle),
            Self::RapidProgress => model.impulse(EventKind::PageView),
            Self::SustainedAttention => model.impulse(EventKind::Focus),
            Self::InsufficientData => Dims::zeros(),
        }
    }
}

impl std::str::FromStr for SignalId {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|id| id.as_str() == s).ok_or(())
    }
}

/// A signal that fired, how strongly (0–1), and the values that fired it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    pub id: SignalId,
    pub strength: f64,
    pub values: Values,
}

/// Most values any signal reports (`excessive_scrolling`'s four).
const MAX_VALUES: usize = 4;

/// Every name a signal's values use, so stored signals read back without allocating names.
const VALUE_NAMES: [&str; 17] = [
    "back_navs",
    "backtracks",
    "clustered_clicks",
    "errors",
    "events",
    "fast_scrolls",
    "gap_ms",
    "idle_ms",
    "longest_ms",
    "needed",
    "pauses",
    "rage_clicks",
    "revisits",
    "scrolls",
    "span_s",
    "steps",
    "window_s",
];

/// A signal's measurements by name, in name order: a JSON object on the wire and in storage.
/// Held inline (a signal is built for every projection, and named values in a map cost an
/// allocation each).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Values {
    pairs: [(&'static str, f64); MAX_VALUES],
    len: usize,
}

impl Values {
    fn new(values: &[(&'static str, f64)]) -> Self {
        let mut pairs = [("", 0.0); MAX_VALUES];
        pairs[..values.len()].copy_from_slice(values);
        pairs[..values.len()].sort_unstable_by_key(|p| p.0);
        Self { pairs, len: values.len() }
    }

    pub fn get(&self, name: &str) -> Option<f64> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, f64)> + '_ {
        self.pairs[..self.len].iter().copied()
    }
}

impl Serialize for Values {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Values {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let map = std::collections::BTreeMap::<String, f64>::deserialize(deserializer)?;
        if map.len() > MAX_VALUES {
            return Err(D::Error::invalid_length(map.len(), &"at most four signal values"));
        }
        let mut pairs = Vec::with_capacity(map.len());
        for (name, value) in map {
            let known = VALUE_NAMES.iter().find(|n| **n == name);
            pairs.push((*known.ok_or_else(|| D::Error::unknown_field(&name, &VALUE_NAMES))?, value));
        }
        Ok(Self::new(&pairs))
    }
}

impl Signal {
    pub(crate) fn new(id: SignalId, strength: f64, values: &[(&'static str, f64)]) -> Self {
        Self { id, strength: strength.clamp(0.0, 1.0), values: Values::new(values) }
    }

    /// How much this signal supports `prototype`: strength times the cosine between the
    /// signal's direction and the prototype (strength alone for the neutral origin).
    pub fn drive(&self, model: &Model, prototype: &Dims) -> f64 {
        let dir = self.id.direction(model);
        let norms = dir.norm() * prototype.norm();
        if norms == 0.0 { self.strength } else { self.strength * dir.dot(prototype) / norms }
    }
}

/// The first instant of a window of `window_s` seconds ending at `now_ms`.
fn window_start(now_ms: i64, window_s: f64) -> i64 {
    now_ms - (window_s * 1000.0) as i64
}

/// What the rules count, each within its own window ending at `now_ms`, gathered in one pass
/// over the remembered events: a pass per count was most of the cost of projecting a state.
#[derive(Default)]
struct Tally {
    // Within `recent_s`.
    rage_clicks: usize,
    errors: usize,
    pauses: usize,
    longest_pause_ms: f64,
    // Within `nav_loop_window_s`.
    back_navs: usize,
    // Within `scroll_window_s`.
    scrolls: usize,
    fast_scrolls: usize,
    backtracks: usize,
    /// Within `idle_window_s`: the longest idle period reported.
    reported_idle_ms: f64,
    // Within `rapid_progress_window_s`.
    steps: usize,
    setbacks: usize,
    /// Over every remembered event: the longest gap not explained by an idle report at its end.
    gap_ms: i64,
}

impl Tally {
    fn of(model: &Model, events: &[RecentEvent], now_ms: i64) -> Self {
        let (r, s) = (&model.signals, &model.scaling);
        let from = |window_s| window_start(now_ms, window_s);
        let recent = from(r.recent_s);
        let (nav, scroll, idle, progress) = (
            from(r.nav_loop_window_s),
            from(r.scroll_window_s),
            from(r.idle_window_s),
            from(r.rapid_progress_window_s),
        );
        let mut t = Self::default();
        let mut previous_ts = None;
        for e in events {
            let ts = e.ts_ms;
            if let Some(p) = previous_ts
                && e.kind != EventKind::Idle
            {
                t.gap_ms = t.gap_ms.max(ts - p);
            }
            previous_ts = Some(ts);
            let setback =
                matches!(e.kind, EventKind::BackNav | EventKind::Error | EventKind::Backtrack | EventKind::RageClick);
            if setback && ts >= progress {
                t.setbacks += 1;
            }
            match (e.kind, e.duration_ms) {
                (EventKind::RageClick, _) if ts >= recent => t.rage_clicks += 1,
                (EventKind::Error, _) if ts >= recent => t.errors += 1,
                (EventKind::BackNav, _) if ts >= nav => t.back_navs += 1,
                (EventKind::Backtrack, _) if ts >= scroll => t.backtracks += 1,
                (EventKind::Scroll, _) if ts >= scroll => {
                    t.scrolls += 1;
                    if e.speed.is_some_and(|v| v >= s.fast_scroll_px_s) {
                        t.fast_scrolls += 1;
                    }
                }
                (EventKind::Hover, Some(ms)) if ms >= r.hesitation_hover_ms && ts >= recent => t.pause(ms),
                (EventKind::InputPause, Some(ms)) if ms >= r.hesitation_pause_ms && ts >= recent => t.pause(ms),
                (EventKind::Idle, Some(ms)) if ts >= idle => t.reported_idle_ms = t.reported_idle_ms.max(ms),
                (EventKind::PageView | EventKind::Focus, _) if ts >= progress => t.steps += 1,
                _ => {}
            }
        }
        t
    }

    fn pause(&mut self, ms: f64) {
        self.pauses += 1;
        self.longest_pause_ms = self.longest_pause_ms.max(ms);
    }
}

/// The signals that fired, at most one of each, in [`SignalId`] order. Held inline: detection
/// runs for every event, and its result is ranked into a vector of its own size anyway.
pub struct Fired {
    slots: [Signal; SignalId::ALL.len()],
    len: usize,
    /// Signs of trouble within `recent_s`: each error, each rage click, and a tight cluster of
    /// clicks as one. What a `frustrated` answer's calibration reads (see [`Calibration`]).
    ///
    /// [`Calibration`]: super::model::Calibration
    pub trouble: usize,
}

impl Fired {
    fn new() -> Self {
        let unused = Signal { id: SignalId::InsufficientData, strength: 0.0, values: Values::new(&[]) };
        Self { slots: [unused; SignalId::ALL.len()], len: 0, trouble: 0 }
    }

    fn push(&mut self, signal: Signal) {
        self.slots[self.len] = signal;
        self.len += 1;
    }

    pub fn as_slice(&self) -> &[Signal] {
        &self.slots[..self.len]
    }
}

/// Every signal that fires for `state` evaluated at `now_ms`, in [`SignalId`] order.
pub fn detect(model: &Model, state: &AffectState, now_ms: i64) -> Fired {
    let r = &model.signals;
    let ev = &state.recent;
    let since = |window_s| -> &[RecentEvent] {
        let from = window_start(now_ms, window_s);
        &ev[ev.partition_point(|e| e.ts_ms < from)..]
    };
    let t = Tally::of(model, ev, now_ms);
    let mut out = Fired::new();

    let rage = t.rage_clicks;
    let cluster = largest_click_cluster(model, since(r.recent_s));
    out.trouble = t.errors + rage + usize::from(cluster >= model.scaling.rage_clicks);
    if rage > 0 || cluster >= model.scaling.rage_clicks {
        let clustered = if cluster >= model.scaling.rage_clicks { cluster } else { 0 };
        let strength = (rage as f64 + clustered as f64 / 3.0) / 2.0;
        out.push(Signal::new(
            SignalId::RageClickDetected,
            strength,
            &[("rage_clicks", rage as f64), ("clustered_clicks", clustered as f64), ("window_s", r.recent_s)],
        ));
    }

    if t.errors == 1 {
        out.push(Signal::new(SignalId::ErrorEncountered, 0.5, &[("errors", 1.0), ("window_s", r.recent_s)]));
    } else if t.errors >= 2 {
        out.push(Signal::new(
            SignalId::RepeatedErrors,
            t.errors as f64 / 3.0,
            &[("errors", t.errors as f64), ("window_s", r.recent_s)],
        ));
    }

    let revisits = page_revisits(since(r.nav_loop_window_s));
    if t.back_navs >= r.nav_loop_back_navs || revisits > 0 {
        out.push(Signal::new(
            SignalId::NavigationLoop,
            (t.back_navs + revisits) as f64 / 3.0,
            &[("back_navs", t.back_navs as f64), ("revisits", revisits as f64), ("window_s", r.nav_loop_window_s)],
        ));
    }

    if t.pauses > 0 {
        out.push(Signal::new(
            SignalId::Hesitation,
            t.pauses as f64 / 2.0,
            &[("pauses", t.pauses as f64), ("longest_ms", t.longest_pause_ms)],
        ));
    }

    let (scrolls, fast, backtracks) = (t.scrolls, t.fast_scrolls, t.backtracks);
    if scrolls >= r.excessive_scrolls || fast >= r.excessive_fast_scrolls || backtracks >= r.excessive_backtracks {
        out.push(Signal::new(
            SignalId::ExcessiveScrolling,
            scrolls as f64 / 16.0 + fast as f64 / 6.0 + backtracks as f64 / 6.0,
            &[
                ("scrolls", scrolls as f64),
                ("fast_scrolls", fast as f64),
                ("backtracks", backtracks as f64),
                ("window_s", r.scroll_window_s),
            ],
        ));
    }

    // Silence since the last event is idleness too, for reads at a later instant.
    let silent_ms = state.last_interaction_at_ms.map_or(0.0, |t| (now_ms - t).max(0) as f64);
    let idle_ms = t.reported_idle_ms.max(silent_ms);
    if idle_ms >= r.prolonged_idle_ms {
        out.push(Signal::new(SignalId::ProlongedIdle, idle_ms / 120_000.0, &[("idle_ms", idle_ms)]));
    }

    // A long gap with no events, not explained by an idle report at its end: the page was
    // most likely in a background tab.
    let gap_ms = t.gap_ms as f64;
    if gap_ms >= r.tab_hidden_gap_s * 1000.0 {
        out.push(Signal::new(SignalId::TabHidden, gap_ms / 300_000.0, &[("gap_ms", gap_ms)]));
    }

    if t.steps >= r.rapid_progress_steps && t.setbacks == 0 {
        out.push(Signal::new(
            SignalId::RapidProgress,
            t.steps as f64 / 6.0,
            &[("steps", t.steps as f64), ("window_s", r.rapid_progress_window_s)],
        ));
    }

    if let Some((span_s, events)) = sustained_run(model, ev, now_ms) {
        out.push(Signal::new(
            SignalId::SustainedAttention,
            span_s / 120.0,
            &[("span_s", span_s), ("events", events as f64)],
        ));
    }

    if state.event_count < model.min_events {
        out.push(Signal::new(
            SignalId::InsufficientData,
            1.0,
            &[("events", state.event_count as f64), ("needed", model.min_events as f64)],
        ));
    }
    out
}

/// The largest number of clicks within the rage window and radius of one another's first click.
fn largest_click_cluster(model: &Model, events: &[RecentEvent]) -> usize {
    let s = &model.scaling;
    let mut clicks = events.iter().filter(|e| e.kind == EventKind::Click);
    let mut largest = 0;
    while let Some(first) = clicks.next() {
        let (Some(x), Some(y)) = (first.x, first.y) else { continue };
        let n = 1 + clicks
            .clone()
            .take_while(|c| c.ts_ms - first.ts_ms <= s.rage_window_ms)
            .filter(|c| matches!((c.x, c.y), (Some(cx), Some(cy)) if s.within_rage_radius((cx, cy), (x, y))))
            .count();
        largest = largest.max(n);
    }
    largest
}

/// Page views that return to a page seen earlier in the window after visiting another (A → B → A).
fn page_revisits(events: &[RecentEvent]) -> usize {
    let pages = || events.iter().filter(|e| e.kind == EventKind::PageView).filter_map(|e| e.page);
    let mut previous = None;
    let mut revisits = 0;
    for (i, page) in pages().enumerate() {
        if previous.is_some_and(|p| p != page) && pages().take(i - 1).any(|p| p == page) {
            revisits += 1;
        }
        previous = Some(page);
    }
    revisits
}

/// Events that show a person working with the page; anything else (idle, blur, an error, a rage
/// click, a back navigation) ends a run of sustained attention.
const ENGAGED: [EventKind; 6] = [
    EventKind::Click,
    EventKind::Focus,
    EventKind::InputPause,
    EventKind::Scroll,
    EventKind::Hover,
    EventKind::PageView,
];

/// The trailing run of engaged events with no long gap, if it is long enough.
fn sustained_run(model: &Model, events: &[RecentEvent], now_ms: i64) -> Option<(f64, usize)> {
    let r = &model.signals;
    let max_gap = (r.sustained_max_gap_s * 1000.0) as i64;
    let last = events.last()?;
    if now_ms - last.ts_ms > max_gap {
        return None;
    }
    let mut start = last.ts_ms;
    let mut n = 0;
    let mut next = last.ts_ms;
    for e in events.iter().rev() {
        if !ENGAGED.contains(&e.kind) || next - e.ts_ms > max_gap {
            break;
        }
        (start, next) = (e.ts_ms, e.ts_ms);
        n += 1;
    }
    let span_s = (last.ts_ms - start) as f64 / 1000.0;
    (span_s >= r.sustained_span_s && n >= r.sustained_events).then_some((span_s, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_an_object_in_name_order_and_read_back() {
        let v = Values::new(&[("window_s", 60.0), ("errors", 2.0)]);
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(json, r#"{"errors":2.0,"window_s":60.0}"#);
        assert_eq!(serde_json::from_str::<Values>(&json).unwrap(), v);
        assert_eq!((v.get("errors"), v.get("scrolls")), (Some(2.0), None));
        assert!(serde_json::from_str::<Values>(r#"{"mystery":1.0}"#).is_err());
    }

    #[test]
    fn revisits_count_returns_after_another_page() {
        let view = |page| RecentEvent {
            kind: EventKind::PageView,
            ts_ms: 0,
            x: None,
            y: None,
            duration_ms: None,
            speed: None,
            page: Some(page),
        };
        let pages: Vec<RecentEvent> = [1, 2, 1, 1, 3, 2, 2].map(view).into();
        assert_eq!(page_revisits(&pages), 2);
        assert_eq!(page_revisits(&pages[..2]), 0);
    }
}
