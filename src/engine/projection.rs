//! From a continuous state to a label, a confidence, the signals behind it and an action.

use super::model::Model;
use super::mood::{Mood, SuggestedAction};
use super::signals::{self, Signal, SignalId};
use super::state::AffectState;

/// What a state means at one instant.
#[derive(Clone, Debug, PartialEq)]
pub struct Projection {
    pub label: Mood,
    /// The raw confidence `π_label · (1 − e^(−n_eff / evidence_scale))` through the model's
    /// calibration (for `frustrated`, the curve of its count of trouble signs where the model
    /// has them): the share of such answers that are right. In [0, 1]; 0 with no events.
    pub confidence: f64,
    /// Softmax posterior over the seven prototypes, indexed by [`Mood::index`].
    pub posterior: [f64; Mood::COUNT],
    /// Signs of trouble in the window (errors, rage clicks): what a `frustrated` answer's
    /// calibration reads besides the raw confidence.
    pub trouble: usize,
    /// Fired signals that support the label, strongest support first.
    pub signals: Vec<Signal>,
    pub action: SuggestedAction,
}

impl Projection {
    pub fn signal_ids(&self) -> impl Iterator<Item = SignalId> + '_ {
        self.signals.iter().map(|s| s.id)
    }
}

/// Posterior over the prototypes: `softmax(−‖x − p_k‖² / T)`.
pub fn posterior(model: &Model, state: &AffectState) -> [f64; Mood::COUNT] {
    let x = state.deviation();
    let logits = Mood::ALL.map(|m| -(x - model.prototype(m)).norm_squared() / model.temperature);
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let weights = logits.map(|l| (l - max).exp());
    let total: f64 = weights.iter().sum();
    weights.map(|w| w / total)
}

fn argmax(p: &[f64; Mood::COUNT]) -> Mood {
    // Ties go to the earlier label in the documented order.
    let mut best = 0;
    for (i, v) in p.iter().enumerate() {
        if *v > p[best] {
            best = i;
        }
    }
    Mood::ALL[best]
}

/// The label whose prototype best explains a point in deviation space (no evidence gate): how
/// an aggregate of many states reads.
pub fn label_of(model: &Model, deviation: &super::Dims) -> Mood {
    let mut state = AffectState::new(model);
    state.dims = state.baseline + deviation;
    argmax(&posterior(model, &state))
}

/// The state's meaning at its own instant (its latest event).
pub fn project(model: &Model, state: &AffectState) -> Projection {
    let p = posterior(model, state);
    let label = if state.event_count < model.min_events { Mood::Neutral } else { argmax(&p) };
    finish(model, state, p, label)
}

/// The state's meaning at a later instant: decay only. The label is the one at the latest event
/// if it still leads, `neutral` otherwise; decay never invents a new label.
pub fn project_at(model: &Model, state: &AffectState, at_ms: i64) -> (AffectState, Projection) {
    let then = project(model, state).label;
    let later = state.decayed(model, at_ms);
    let p = posterior(model, &later);
    let label = if argmax(&p) == then { then } else { Mood::Neutral };
    let projection = finish(model, &later, p, label);
    (later, projection)
}

fn finish(model: &Model, state: &AffectState, posterior: [f64; Mood::COUNT], label: Mood) -> Projection {
    let now = state.last_decay_at_ms.unwrap_or(0);
    let fired = signals::detect(model, state, now);
    let trouble = fired.trouble;
    let evidence = 1.0 - (-state.effective_count / model.evidence_scale).exp();
    let by_rule = state.event_count < model.min_events;
    let confidence =
        model.calibration.confidence(label, by_rule, trouble, posterior[label.index()], evidence).clamp(0.0, 1.0);
    let wanted = label.action();
    let action = if confidence >= model.action_min_confidence(wanted) { wanted } else { SuggestedAction::NoAction };
    let signals = rank(model, fired, label);
    Projection { label, confidence, posterior, trouble, signals, action }
}

/// Keeps the signals that support `label` (all of them for `neutral`), strongest support first;
/// `insufficient_data` always leads when it fired.
fn rank(model: &Model, fired: signals::Fired, label: Mood) -> Vec<Signal> {
    let prototype = model.prototype(label);
    let mut scored = [(0.0, 0); SignalId::ALL.len()];
    let mut kept = 0;
    let fired = fired.as_slice();
    for (i, s) in fired.iter().enumerate() {
        let drive = if s.id == SignalId::InsufficientData { f64::INFINITY } else { s.drive(model, &prototype) };
        if label == Mood::Neutral || drive > 0.0 {
            scored[kept] = (drive, i);
            kept += 1;
        }
    }
    // Stable: equal drives keep the SignalId order `detect` produced.
    scored[..kept].sort_by(|a, b| b.0.total_cmp(&a.0));
    scored[..kept].iter().map(|&(_, i)| fired[i]).collect()
}
