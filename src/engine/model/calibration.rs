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
}
