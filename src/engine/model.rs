//! Every number of the affect model, in one versioned table. See the module documentation of
//! [`crate::engine`] for what each number means and how to change one safely.

use super::event::EventKind;
use super::mood::{Mood, SuggestedAction};
use nalgebra::Vector4;
use serde::{Deserialize, Serialize};

/// A point or direction in affect space: (valence, arousal, tension, affiliation).
pub type Dims = Vector4<f64>;

/// Shorthand for writing table rows.
const fn d(valence: f64, arousal: f64, tension: f64, affiliation: f64) -> Dims {
    Vector4::new(valence, arousal, tension, affiliation)
}

/// The whole parameter table. The engine takes it as a value, so a tenant-specific profile is a
/// different `Model`, not different code.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// Recorded with every stored state and history row; changes whenever any number here does
    /// (a unit test pins it to [`Model::fingerprint`]).
    pub version: String,
    /// The resting point a fresh state starts at and decays toward.
    pub baseline: Dims,
    /// How far the baseline moves toward the state after each event (an exponential moving
    /// average over about `1 / baseline_rate` events), so a person's usual behaviour comes to
    /// read as their neutral. 0 keeps the baseline fixed (sessions).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub baseline_rate: f64,
    /// Per-dimension half-life of the pull back to the baseline, in seconds.
    pub half_life_s: Dims,
    /// Half-life of the effective evidence count, in seconds.
    pub evidence_half_life_s: f64,
    /// Impulse per event type, indexed by [`EventKind::index`].
    pub impulse: [Dims; EventKind::COUNT],
    pub scaling: Scaling,
    pub context: Context,
    /// Prototype point per mood in deviation space (state − baseline), indexed by [`Mood::index`].
    pub prototype: [Dims; Mood::COUNT],
    /// Softmax temperature over negative squared distances to the prototypes.
    pub temperature: f64,
    /// Below this many events the label is `neutral`.
    pub min_events: u64,
    /// Evidence factor of the confidence: `1 − e^(−n_eff / evidence_scale)`.
    pub evidence_scale: f64,
    /// Minimum confidence per action (indexed by [`SuggestedAction::index`]); below it the
    /// suggestion falls back to `no_action`.
    pub action_min_confidence: [f64; SuggestedAction::COUNT],
    pub signals: SignalRules,
    /// How far back the state remembers individual events (for context and signals).
    pub window_s: f64,
    /// At most this many remembered events.
    pub window_max_events: usize,
    /// Turns the raw confidence into the share of such answers that are right. Absent (the
    /// identity) in models before it was fitted, so their numbers and answers stay as they were.
    #[serde(default, skip_serializing_if = "Calibration::is_identity")]
    pub calibration: Calibration,
}

/// A monotone map per label from the raw confidence (`posterior × evidence`) to the share of
/// answers with that label and raw confidence that are right, fitted on simulated sessions
/// (`examples/fit_model.rs`). Each curve is a list of knots `(raw, calibrated)`, increasing in
/// both, read by linear interpolation; the first knot is the lowest raw confidence fitted on.
/// Below it the raw confidence is only ever lowered (no evidence is still confidence 0), and
/// past the last knot the curve stays level.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Indexed by [`Mood::index`].
    pub by_label: [Vec<(f64, f64)>; Mood::COUNT],
    /// For `neutral` given by the evidence rule (fewer than `min_events` events), read from the
    /// evidence factor alone: the posterior says nothing about whether there is enough to go on.
    pub insufficient: Vec<(f64, f64)>,
}

impl Calibration {
    pub fn is_identity(&self) -> bool {
        self.by_label.iter().all(Vec::is_empty) && self.insufficient.is_empty()
    }

    /// The confidence of an answer `label` whose posterior is `posterior` on `evidence` (the
    /// evidence factor); `by_rule` when the evidence rule gave it. Without curves (models before
    /// calibration), the raw `posterior × evidence`.
    pub fn confidence(&self, label: Mood, by_rule: bool, posterior: f64, evidence: f64) -> f64 {
        let (knots, raw) = match by_rule {
            true if !self.insufficient.is_empty() => (&self.insufficient, evidence),
            _ => (&self.by_label[label.index()], posterior * evidence),
        };
        if knots.is_empty() {
            return raw;
        }
        let at = knots.partition_point(|k| k.0 <= raw);
        if at == 0 {
            // Below every answer the curve was fitted on: lowered if answers there were right
            // less often than claimed, never raised without evidence.
            let (x, y) = knots[0];
            return raw * (y / x).min(1.0);
        }
        let (x0, y0) = knots[at - 1];
        let Some(&(x1, y1)) = knots.get(at) else { return y0 };
        y0 + (y1 - y0) * (raw - x0) / (x1 - x0)
    }
}

/// How an event's optional fields scale its impulse.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scaling {
    /// Reference durations: an event of this `duration_ms` gets factor 1.
    pub idle_ref_ms: f64,
    pub hover_ref_ms: f64,
    pub input_pause_ref_ms: f64,
    /// Duration factor `(duration / ref)^duration_exponent`, clamped to this range.
    pub duration_factor_min: f64,
    pub duration_factor_max: f64,
    /// 0.5 (a square root: diminishing returns) unless a model says otherwise.
    #[serde(default = "square_root", skip_serializing_if = "is_square_root")]
    pub duration_exponent: f64,
    /// From this speed (px/s) a scroll reads as searching, not reading.
    pub fast_scroll_px_s: f64,
    /// The impulse of a fast scroll, times `min(speed / fast_scroll_px_s, fast_scroll_factor_max)`.
    pub fast_scroll_impulse: Dims,
    pub fast_scroll_factor_max: f64,
    /// An upward scroll adds this share of a `backtrack` impulse.
    pub scroll_up_backtrack_share: f64,
    /// A click that completes `rage_clicks` clicks within `rage_window_ms` and `rage_radius_px`
    /// applies this share of a `rage_click` impulse instead of a click's.
    pub rage_clicks: usize,
    pub rage_window_ms: i64,
    pub rage_radius_px: f64,
    pub clustered_click_share: f64,
}

impl Scaling {
    /// Whether two clicks are within `rage_radius_px` of each other: compared squared, as the
    /// distance itself (`hypot`) was the engine's costliest call when every event is projected.
    pub(crate) fn within_rage_radius(&self, (x1, y1): (f64, f64), (x2, y2): (f64, f64)) -> bool {
        let (dx, dy) = (x1 - x2, y1 - y2);
        dx * dx + dy * dy <= self.rage_radius_px * self.rage_radius_px
    }
}

/// How recent context amplifies an impulse.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Context {
    /// Each earlier error within the window adds `error_step` to the factor, up to `max_steps`.
    pub error_window_s: f64,
    pub error_step: f64,
    /// Each earlier back navigation within the window adds `back_nav_step`, up to `max_steps`.
    pub back_nav_window_s: f64,
    pub back_nav_step: f64,
    pub max_steps: f64,
}

/// Thresholds of the named signal rules.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignalRules {
    /// Window for rage clicks, errors and hesitation.
    pub recent_s: f64,
    pub hesitation_hover_ms: f64,
    pub hesitation_pause_ms: f64,
    pub scroll_window_s: f64,
    pub excessive_scrolls: usize,
    pub excessive_fast_scrolls: usize,
    pub excessive_backtracks: usize,
    pub nav_loop_window_s: f64,
    pub nav_loop_back_navs: usize,
    pub idle_window_s: f64,
    pub prolonged_idle_ms: f64,
    pub tab_hidden_gap_s: f64,
    pub rapid_progress_window_s: f64,
    pub rapid_progress_steps: usize,
    pub sustained_span_s: f64,
    pub sustained_events: usize,
    pub sustained_max_gap_s: f64,
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

fn square_root() -> f64 {
    0.5
}

fn is_square_root(v: &f64) -> bool {
    *v == 0.5
}

impl Model {
    pub fn impulse(&self, kind: EventKind) -> Dims {
        self.impulse[kind.index()]
    }

    pub fn prototype(&self, mood: Mood) -> Dims {
        self.prototype[mood.index()]
    }

    pub fn action_min_confidence(&self, action: SuggestedAction) -> f64 {
        self.action_min_confidence[action.index()]
    }

    /// A stable hash of every number in the table (FNV-1a over its JSON form, version excluded).
    pub fn fingerprint(&self) -> u64 {
        let numbers = Self { version: String::new(), ..self.clone() };
        let json = serde_json::to_string(&numbers).expect("a model always serializes");
        super::event::page_hash(&json)
    }

    /// The session-level model: half-lives of minutes, tuned on labelled scenario streams.
    pub fn session_v1() -> Self {
        use EventKind as K;
        let mut impulse = [Dims::zeros(); EventKind::COUNT];
        for (kind, v) in [
            (K::Click, d(0.04, 0.08, -0.02, 0.06)),
            (K::RageClick, d(-0.35, 0.40, 0.45, -0.10)),
            (K::Scroll, d(0.04, 0.01, -0.05, 0.03)),
            (K::InputPause, d(-0.05, -0.05, 0.14, 0.04)),
            (K::Backtrack, d(-0.06, 0.02, 0.16, 0.00)),
            (K::BackNav, d(-0.10, 0.06, 0.14, -0.06)),
            (K::PageView, d(0.08, 0.02, -0.08, 0.05)),
            (K::Error, d(-0.30, 0.25, 0.35, -0.10)),
            (K::Idle, d(-0.06, -0.35, -0.06, -0.30)),
            (K::Hover, d(-0.04, -0.03, 0.12, 0.05)),
            (K::Focus, d(0.06, 0.10, 0.04, 0.15)),
            (K::Blur, d(-0.05, -0.10, 0.00, -0.14)),
        ] {
            impulse[kind.index()] = v;
        }
        let mut prototype = [Dims::zeros(); Mood::COUNT];
        for (mood, p) in [
            (Mood::Frustrated, d(-0.60, 0.60, 0.70, -0.20)),
            (Mood::Confused, d(-0.25, 0.00, 0.50, 0.15)),
            (Mood::Decisive, d(0.40, 0.55, -0.10, 0.35)),
            (Mood::Browsing, d(0.35, 0.05, -0.35, 0.25)),
            (Mood::Disengaged, d(-0.20, -0.60, -0.10, -0.60)),
            (Mood::Focused, d(0.20, 0.30, 0.25, 0.60)),
            (Mood::Neutral, d(0.0, 0.0, 0.0, 0.0)),
        ] {
            prototype[mood.index()] = p;
        }
        let mut action_min_confidence = [0.0; SuggestedAction::COUNT];
        for (action, min) in [
            (SuggestedAction::ShowLiveChat, 0.50),
            (SuggestedAction::ShowTooltip, 0.40),
            (SuggestedAction::ShowRecommendations, 0.30),
            (SuggestedAction::ShowExitOffer, 0.45),
        ] {
            action_min_confidence[action.index()] = min;
        }
        Self {
            version: "session-1".into(),
            baseline: Dims::zeros(),
            baseline_rate: 0.0,
            half_life_s: d(180.0, 60.0, 120.0, 300.0),
            evidence_half_life_s: 300.0,
            impulse,
            scaling: Scaling {
                idle_ref_ms: 30_000.0,
                hover_ref_ms: 2_000.0,
                input_pause_ref_ms: 3_000.0,
                duration_factor_min: 0.5,
                duration_factor_max: 2.0,
                duration_exponent: 0.5,
                fast_scroll_px_s: 2_500.0,
                fast_scroll_impulse: d(-0.03, 0.06, 0.08, -0.02),
                fast_scroll_factor_max: 2.0,
                scroll_up_backtrack_share: 0.5,
                rage_clicks: 3,
                rage_window_ms: 1_000,
                rage_radius_px: 30.0,
                clustered_click_share: 0.6,
            },
            context: Context {
                error_window_s: 60.0,
                error_step: 0.5,
                back_nav_window_s: 30.0,
                back_nav_step: 0.6,
                max_steps: 2.0,
            },
            prototype,
            temperature: 0.08,
            min_events: 3,
            evidence_scale: 4.0,
            action_min_confidence,
            signals: SignalRules {
                recent_s: 60.0,
                hesitation_hover_ms: 2_000.0,
                hesitation_pause_ms: 3_000.0,
                scroll_window_s: 30.0,
                excessive_scrolls: 8,
                excessive_fast_scrolls: 3,
                excessive_backtracks: 3,
                nav_loop_window_s: 120.0,
                nav_loop_back_navs: 2,
                idle_window_s: 120.0,
                prolonged_idle_ms: 30_000.0,
                tab_hidden_gap_s: 60.0,
                rapid_progress_window_s: 60.0,
                rapid_progress_steps: 3,
                sustained_span_s: 30.0,
                sustained_events: 5,
                sustained_max_gap_s: 10.0,
            },
            window_s: 300.0,
            window_max_events: 64,
            calibration: Calibration::default(),
        }
    }
}

impl Model {
    /// The session model fitted to the behaviour simulator (seed 1): `session-1`'s mechanics,
    /// every number of size ≥ 0.05 keeping its sign within 0.4–2.5× of its size (smaller ones
    /// moved within ±0.1), and a calibrated confidence. How it was fitted and how it measures on
    /// held-out seeds: `benches/MODEL.md`.
    pub fn session_v2() -> Self {
        use EventKind as K;
        let v1 = Self::session_v1();
        let mut impulse = [Dims::zeros(); EventKind::COUNT];
        for (kind, v) in [
            (K::Click, d(-0.09, 0.20, 0.00, 0.02)),
            (K::RageClick, d(-0.36, 0.42, 0.45, -0.16)),
            (K::Scroll, d(-0.04, 0.01, -0.02, 0.09)),
            (K::InputPause, d(-0.13, -0.13, 0.31, 0.10)),
            (K::Backtrack, d(-0.05, -0.10, 0.06, 0.10)),
            (K::BackNav, d(-0.25, 0.02, 0.16, -0.02)),
            (K::PageView, d(0.20, 0.10, -0.10, 0.03)),
            (K::Error, d(-0.21, 0.35, 0.14, -0.09)),
            (K::Idle, d(-0.02, -0.50, -0.15, -0.12)),
            (K::Hover, d(0.05, -0.10, 0.05, 0.13)),
            (K::Focus, d(0.15, 0.06, 0.10, 0.06)),
            (K::Blur, d(-0.02, -0.04, 0.04, -0.08)),
        ] {
            impulse[kind.index()] = v;
        }
        let mut prototype = [Dims::zeros(); Mood::COUNT];
        for (mood, p) in [
            (Mood::Frustrated, d(-0.51, 0.83, 0.28, -0.08)),
            (Mood::Confused, d(-0.13, -0.10, 0.37, 0.36)),
            (Mood::Decisive, d(0.53, 0.52, -0.25, 0.14)),
            (Mood::Browsing, d(0.14, 0.02, -0.31, 0.53)),
            (Mood::Disengaged, d(-0.24, -0.34, -0.04, -0.24)),
            (Mood::Focused, d(0.12, 0.12, 0.54, 0.24)),
        ] {
            prototype[mood.index()] = p;
        }
        let mut calibration = Calibration::default();
        for (mood, knots) in [
            (
                Mood::Frustrated,
                &[
                    (0.22, 0.972),
                    (0.844, 0.972),
                    (0.951, 0.996),
                    (0.974, 0.999),
                    (0.988, 0.999),
                    (0.995, 1.0),
                    (1.0, 1.0),
                ][..],
            ),
            (
                Mood::Confused,
                &[
                    (0.203, 0.591),
                    (0.493, 0.591),
                    (0.65, 0.643),
                    (0.762, 0.743),
                    (0.846, 0.813),
                    (0.903, 0.888),
                    (0.94, 0.924),
                    (0.963, 0.955),
                    (0.977, 0.973),
                    (0.986, 0.977),
                    (0.991, 0.986),
                    (0.995, 0.992),
                    (0.997, 0.995),
                    (0.998, 0.996),
                    (0.999, 0.999),
                    (1.0, 1.0),
                ][..],
            ),
            (
                Mood::Decisive,
                &[
                    (0.202, 0.774),
                    (0.433, 0.774),
                    (0.47, 0.843),
                    (0.553, 0.91),
                    (0.645, 0.913),
                    (0.745, 0.96),
                    (0.827, 0.967),
                    (0.905, 0.976),
                ][..],
            ),
            (
                Mood::Browsing,
                &[
                    (0.215, 0.793),
                    (0.503, 0.793),
                    (0.695, 0.853),
                    (0.79, 0.89),
                    (0.858, 0.903),
                    (0.906, 0.94),
                    (0.939, 0.947),
                    (0.962, 0.966),
                    (0.977, 0.987),
                    (0.987, 0.991),
                    (0.993, 0.994),
                    (0.996, 0.998),
                    (0.998, 0.998),
                    (0.999, 0.999),
                    (1.0, 1.0),
                ][..],
            ),
            (
                Mood::Disengaged,
                &[
                    (0.263, 0.092),
                    (0.461, 0.092),
                    (0.638, 0.309),
                    (0.759, 0.582),
                    (0.833, 0.762),
                    (0.887, 0.804),
                    (0.928, 0.824),
                    (0.96, 0.831),
                    (0.983, 0.905),
                    (0.997, 0.935),
                ][..],
            ),
            (
                Mood::Focused,
                &[
                    (0.225, 0.575),
                    (0.427, 0.575),
                    (0.59, 0.751),
                    (0.708, 0.777),
                    (0.796, 0.914),
                    (0.845, 0.929),
                    (0.887, 0.955),
                    (0.916, 0.968),
                    (0.938, 0.972),
                    (0.962, 0.987),
                    (0.977, 0.989),
                    (0.984, 0.994),
                    (0.989, 0.998),
                    (0.994, 0.999),
                    (0.998, 0.999),
                ][..],
            ),
            (
                Mood::Neutral,
                &[(0.187, 0.025), (0.313, 0.025), (0.378, 0.045), (0.392, 0.046), (0.503, 0.052), (0.683, 0.067)][..],
            ),
        ] {
            calibration.by_label[mood.index()] = knots.to_vec();
        }
        calibration.insufficient = vec![(0.221, 1.0), (0.393, 1.0)];
        Self {
            version: "session-2".into(),
            half_life_s: d(183.0, 71.0, 158.0, 254.0),
            impulse,
            scaling: Scaling {
                idle_ref_ms: 31_900.0,
                hover_ref_ms: 1_800.0,
                input_pause_ref_ms: 2_900.0,
                duration_factor_min: 0.2,
                duration_exponent: 1.0,
                fast_scroll_impulse: d(0.03, 0.02, 0.03, 0.10),
                scroll_up_backtrack_share: 0.65,
                clustered_click_share: 0.63,
                ..v1.scaling
            },
            context: Context { error_step: 0.24, back_nav_step: 0.58, ..v1.context },
            prototype,
            temperature: 0.069,
            calibration,
            ..v1
        }
    }
}

impl Model {
    /// The person-level model behind `GET /v1/users/{id}/mood`: the session model's impulses,
    /// prototypes and rules, with a person's slower rhythm — valence settles in 30 minutes,
    /// arousal in 10, tension in 20, affiliation in an hour, evidence in an hour — and a
    /// baseline that follows their last ~250 events (days of regular use).
    pub fn user_v1() -> Self {
        Self {
            version: "user-1".into(),
            baseline_rate: 0.004,
            half_life_s: d(1800.0, 600.0, 1200.0, 3600.0),
            evidence_half_life_s: 3600.0,
            window_s: 600.0,
            ..Self::session_v1()
        }
    }
}

/// The models a deployment runs: the current one per session and per person, which new
/// sessions and people get, and the others a stored state may name or `--session-model` may
/// choose. A state keeps the model it started under, so it goes on answering exactly as it did
/// when the current model changes.
#[derive(Clone, Debug, PartialEq)]
pub struct Models {
    pub session: Model,
    pub user: Model,
    /// Session models that are not current: kept for the states written under them, and to be
    /// chosen for new sessions.
    pub other_sessions: Vec<Model>,
    /// Likewise for people.
    pub other_users: Vec<Model>,
}

impl Default for Models {
    fn default() -> Self {
        Self {
            // session-2 measures far better on the simulator, but reads some streams the
            // simulator never makes worse (benches/MODEL.md): chosen with --session-model.
            session: Model::session_v1(),
            user: Model::user_v1(),
            other_sessions: vec![Model::session_v2()],
            other_users: Vec::new(),
        }
    }
}

impl Models {
    /// The session model a stored state names; the current one for a version this build does not
    /// know (a state written by a newer build, read after a rollback).
    pub fn session_for(&self, version: &str) -> &Model {
        find(&self.session, &self.other_sessions, version)
    }

    /// The person-level model a stored state names, as [`Models::session_for`].
    pub fn user_for(&self, version: &str) -> &Model {
        find(&self.user, &self.other_users, version)
    }

    /// Whether `version` names a session model this build knows.
    pub fn knows_session(&self, version: &str) -> bool {
        self.session_for(version).version == version
    }

    /// Every session model, the current one first.
    pub fn sessions(&self) -> impl Iterator<Item = &Model> {
        std::iter::once(&self.session).chain(&self.other_sessions)
    }

    /// These models with new sessions starting under `version`, if it is one of them.
    pub fn with_session(mut self, version: &str) -> Option<Self> {
        if self.session.version == version {
            return Some(self);
        }
        let at = self.other_sessions.iter().position(|m| m.version == version)?;
        let chosen = self.other_sessions.remove(at);
        self.other_sessions.insert(0, std::mem::replace(&mut self.session, chosen));
        Some(self)
    }
}

fn find<'m>(current: &'m Model, earlier: &'m [Model], version: &str) -> &'m Model {
    earlier.iter().find(|m| m.version == version).unwrap_or(current)
}

impl Default for Model {
    fn default() -> Self {
        Models::default().session
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_interpolates_stays_level_and_never_raises_below_its_data() {
        let mut c = Calibration::default();
        assert_eq!(c.confidence(Mood::Focused, false, 0.8, 0.5), 0.4);
        c.by_label[Mood::Focused.index()] = vec![(0.4, 0.6), (0.8, 0.9)];
        c.by_label[Mood::Neutral.index()] = vec![(0.4, 0.1)];
        let focused = |raw| c.confidence(Mood::Focused, false, raw, 1.0);
        assert!((focused(0.6) - 0.75).abs() < 1e-12);
        assert_eq!((focused(0.95), focused(0.2), focused(0.0)), (0.9, 0.2, 0.0));
        assert!((c.confidence(Mood::Neutral, false, 0.2, 1.0) - 0.05).abs() < 1e-12);
        // No curve for the evidence rule: its answers read as any neutral answer.
        assert!((c.confidence(Mood::Neutral, true, 0.5, 0.4) - 0.05).abs() < 1e-12);
        c.insufficient = vec![(0.2, 1.0)];
        assert_eq!(c.confidence(Mood::Neutral, true, 0.0, 0.3), 1.0);
    }

    #[test]
    fn the_rage_radius_is_hypots() {
        let s = &Model::default().scaling;
        assert_eq!(s.rage_radius_px, 30.0);
        // On the radius (a 3-4-5 triangle), just outside it, and at the coordinates' extremes.
        assert!(s.within_rage_radius((100.0, 100.0), (118.0, 124.0)));
        assert!(!s.within_rage_radius((100.0, 100.0), (118.0, 124.001)));
        assert!(!s.within_rage_radius((-1e6, -1e6), (1e6, 1e6)));
        let pairs: [((f64, f64), (f64, f64)); 3] =
            [((0.0, 0.0), (29.9, 1.0)), ((5.5, -3.0), (-20.0, 12.25)), ((1e6, 0.0), (1e6 - 21.0, 21.5))];
        for (a, b) in pairs {
            let by_hypot = (a.0 - b.0).hypot(a.1 - b.1) <= s.rage_radius_px;
            assert_eq!(s.within_rage_radius(a, b), by_hypot, "{a:?} {b:?}");
        }
    }
}
