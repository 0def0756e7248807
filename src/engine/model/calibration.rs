//! The curves that turn a raw confidence into the share of answers that are right.

use crate::engine::mood::Mood;
use serde::{Deserialize, Serialize};

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
    /// For `frustrated`, one curve per count of trouble signs in the window (errors, rage
    /// clicks; the last curve for that many or more), in place of its curve in `by_label`: one
    /// stray error after a minute of calm and a burst of errors can leave the same raw
    /// confidence, and are not right equally often. Empty in models before it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frustrated_by_trouble: Vec<Vec<(f64, f64)>>,
}

impl Calibration {
    pub fn is_identity(&self) -> bool {
        self.by_label.iter().all(Vec::is_empty) && self.insufficient.is_empty() && self.frustrated_by_trouble.is_empty()
    }

    /// The confidence of an answer `label` whose posterior is `posterior` on `evidence` (the
    /// evidence factor), with `trouble` signs of trouble in the window; `by_rule` when the
    /// evidence rule gave it. Without curves (models before calibration), the raw
    /// `posterior × evidence`.
    pub fn confidence(&self, label: Mood, by_rule: bool, trouble: usize, posterior: f64, evidence: f64) -> f64 {
        let by_trouble = &self.frustrated_by_trouble;
        let (knots, raw) = match (by_rule, label) {
            (true, _) if !self.insufficient.is_empty() => (&self.insufficient, evidence),
            (false, Mood::Frustrated) if !by_trouble.is_empty() => {
                (&by_trouble[trouble.min(by_trouble.len() - 1)], posterior * evidence)
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_interpolates_stays_level_and_never_raises_below_its_data() {
        let mut c = Calibration::default();
        assert_eq!(c.confidence(Mood::Focused, false, 0, 0.8, 0.5), 0.4);
        c.by_label[Mood::Focused.index()] = vec![(0.4, 0.6), (0.8, 0.9)];
        c.by_label[Mood::Neutral.index()] = vec![(0.4, 0.1)];
        let focused = |raw| c.confidence(Mood::Focused, false, 0, raw, 1.0);
        assert!((focused(0.6) - 0.75).abs() < 1e-12);
        assert_eq!((focused(0.95), focused(0.2), focused(0.0)), (0.9, 0.2, 0.0));
        assert!((c.confidence(Mood::Neutral, false, 0, 0.2, 1.0) - 0.05).abs() < 1e-12);
        // No curve for the evidence rule: its answers read as any neutral answer.
        assert!((c.confidence(Mood::Neutral, true, 0, 0.5, 0.4) - 0.05).abs() < 1e-12);
        c.insufficient = vec![(0.2, 1.0)];
        assert_eq!(c.confidence(Mood::Neutral, true, 0, 0.0, 0.3), 1.0);
    }

    #[test]
    fn frustrated_answers_read_the_curve_of_their_trouble_count() {
        let mut c = Calibration::default();
        c.by_label[Mood::Frustrated.index()] = vec![(0.5, 0.5)];
        assert_eq!(c.confidence(Mood::Frustrated, false, 2, 0.9, 1.0), 0.5, "no trouble curves: the label's");
        c.frustrated_by_trouble = vec![vec![(0.5, 0.1)], vec![(0.5, 0.8)], vec![(0.5, 0.97)]];
        let frustrated = |trouble| c.confidence(Mood::Frustrated, false, trouble, 0.9, 1.0);
        assert_eq!([0, 1, 2, 3, 9].map(frustrated), [0.1, 0.8, 0.97, 0.97, 0.97]);
        // Other labels, and the evidence rule, are unaffected.
        assert_eq!(c.confidence(Mood::Focused, false, 2, 0.9, 1.0), 0.9);
    }
}
