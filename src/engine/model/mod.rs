//! Every number of the affect model, in one versioned table. See the module documentation of
//! [`crate::engine`] for what each number means and how to change one safely.
//!
//! [`Model`] is the table's shape; `versions.rs` holds the released tables, [`Calibration`] the
//! confidence curves, and [`Models`] the set a deployment runs.

mod calibration;
mod registry;
mod versions;

pub use calibration::Calibration;
pub use registry::Models;

use super::event::EventKind;
use super::mood::{Mood, SuggestedAction};
use nalgebra::Vector4;
use serde::{Deserialize, Serialize};

/// A point or direction in affect space: (valence, arousal, tension, affiliation).
pub type Dims = Vector4<f64>;

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
}

/// A ±20 % change of a model's numbers: a factor in [0.8, 1.2] for each impulse (the fast
/// scroll's last) and each half-life. The scenarios must read the same under such a change
/// (the engine's robustness test), and the fit holds them to it (`examples/fit_model.rs`).
#[derive(Clone, Debug)]
pub struct Perturbation {
    impulse: [f64; EventKind::COUNT + 1],
    half_life: [f64; 4],
}

impl Perturbation {
    /// Draws the factors, impulses first.
    pub fn draw(rng: &mut impl rand::Rng) -> Self {
        Self {
            impulse: std::array::from_fn(|_| rng.random_range(0.8..=1.2)),
            half_life: std::array::from_fn(|_| rng.random_range(0.8..=1.2)),
        }
    }

    /// `model` with its impulses and half-lives scaled by these factors.
    pub fn apply(&self, model: &Model) -> Model {
        let mut m = model.clone();
        for (d, f) in m.impulse.iter_mut().chain([&mut m.scaling.fast_scroll_impulse]).zip(self.impulse) {
            *d *= f;
        }
        m.half_life_s.iter_mut().zip(self.half_life).for_each(|(h, f)| *h *= f);
        m
    }
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
