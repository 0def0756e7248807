//! How well a model reads the simulated sessions: accuracy, macro-F1, calibration, time to detect
//! frustration, false live-chat prompts, and stability under perturbed parameters.

use super::persona::Persona;
use super::tracker::Device;
use super::{Session, read};
use crate::engine::{Model, Mood, SuggestedAction};
use serde::Serialize;

/// What the engine answered right after one event, against what was true then.
#[derive(Clone, Debug)]
pub struct Point {
    pub session: usize,
    pub ts_ms: i64,
    pub truth: Mood,
    pub label: Mood,
    pub confidence: f64,
    pub action: SuggestedAction,
    /// Signs of trouble in the window ([`crate::engine::Projection::trouble`]).
    pub trouble: usize,
    /// False for the first two events of a later phase: nobody can tell at once that the person
    /// changed, and the time-to-detect figure measures that lag instead.
    pub scored: bool,
    pub phase: usize,
}

impl Point {
    pub fn correct(&self) -> bool {
        self.truth == self.label
    }
}

/// Events of a later phase that are not scored while the change is still news.
const GRACE_EVENTS: usize = 2;
/// Confidence bins of the calibration figures.
pub const BINS: usize = 10;

/// Rows are the truth, columns the label, both in [`Mood::ALL`] order.
pub type Confusion = [[usize; Mood::COUNT]; Mood::COUNT];

#[derive(Clone, Debug, Serialize)]
pub struct ReliabilityBin {
    pub from: f64,
    pub to: f64,
    pub answers: usize,
    pub mean_confidence: f64,
    pub accuracy: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct PerLabel {
    pub label: Mood,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct PerPersona {
    pub persona: Persona,
    pub sessions: usize,
    pub accuracy: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Stability {
    /// Perturbed copies of the model, each number scaled by a factor in [0.8, 1.2].
    pub runs: usize,
    /// Share of scored points where a perturbed model gives the unperturbed model's label: the
    /// lowest over the runs, and the mean.
    pub min_agreement: f64,
    pub mean_agreement: f64,
    pub min_macro_f1: f64,
    pub max_macro_f1: f64,
}

/// Every figure of one evaluation.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub model_version: String,
    pub sessions: usize,
    pub points: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub per_label: Vec<PerLabel>,
    pub confusion: Confusion,
    pub ece: f64,
    pub reliability: Vec<ReliabilityBin>,
    /// Median seconds from the first event of a frustrated stretch to the first `frustrated`
    /// answer in it; a stretch never detected counts as never (infinitely late).
    pub median_detect_frustration_s: f64,
    pub p90_detect_frustration_s: f64,
    /// Share of frustrated stretches read as `frustrated` before they end.
    pub frustration_detected: f64,
    /// Share of sessions that never turn frustrated in which some answer suggests live chat.
    pub false_live_chat_rate: f64,
    /// Share of frustrated stretches in which some answer suggests live chat, and the median
    /// seconds from the stretch's first event to that answer (never: infinitely late).
    pub live_chat_offered: f64,
    pub median_live_chat_s: f64,
    pub calm_sessions: usize,
    pub per_persona: Vec<PerPersona>,
    /// Share of the answers right after the last event that are right: what a reader of the
    /// final mood sees.
    pub final_accuracy: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stability: Option<Stability>,
}

/// Scores `model` on `sessions`.
pub fn evaluate(model: &Model, sessions: &[Session]) -> Report {
    report(model, sessions, &answers(model, sessions))
}

/// What `model` answers after every event of every session.
fn answers(model: &Model, sessions: &[Session]) -> Vec<Vec<Point>> {
    sessions.iter().enumerate().map(|(i, s)| read(model, i, s)).collect()
}

/// The labels of the scored answers, in order.
fn scored_labels(points: &[Vec<Point>]) -> Vec<Mood> {
    points.iter().flatten().filter(|p| p.scored).map(|p| p.label).collect()
}

/// The figures of `model`'s `points` on `sessions`.
fn report(model: &Model, sessions: &[Session], points: &[Vec<Point>]) -> Report {
    let scored: Vec<&Point> = points.iter().flatten().filter(|p| p.scored).collect();
    let confusion = confusion(&scored);
    let per_label = per_label(&confusion);
    let present: Vec<&PerLabel> = per_label.iter().filter(|l| l.support > 0).collect();
    let macro_f1 = present.iter().map(|l| l.f1).sum::<f64>() / present.len().max(1) as f64;
    let correct = scored.iter().filter(|p| p.correct()).count();
    let reliability = reliability(&scored);
    let ece = reliability.iter().map(|b| b.answers as f64 * (b.accuracy - b.mean_confidence).abs()).sum::<f64>()
        / scored.len().max(1) as f64;
    let detect = detection_delays(points, |p| p.label == Mood::Frustrated);
    let offered = detection_delays(points, |p| p.action == SuggestedAction::ShowLiveChat);
    let calm: Vec<usize> = (0..sessions.len()).filter(|&i| !sessions[i].persona.troubled()).collect();
    let false_alarms =
        calm.iter().filter(|&&i| points[i].iter().any(|p| p.action == SuggestedAction::ShowLiveChat)).count();
    let finals: Vec<&Point> = points.iter().filter_map(|p| p.last()).collect();
    Report {
        model_version: model.version.clone(),
        sessions: sessions.len(),
        points: scored.len(),
        accuracy: ratio(correct, scored.len()),
        macro_f1,
        per_label,
        confusion,
        ece,
        reliability,
        median_detect_frustration_s: quantile(&detect, 0.5),
        p90_detect_frustration_s: quantile(&detect, 0.9),
        frustration_detected: ratio(detect.iter().filter(|d| d.is_finite()).count(), detect.len()),
        false_live_chat_rate: ratio(false_alarms, calm.len()),
        live_chat_offered: ratio(offered.iter().filter(|d| d.is_finite()).count(), offered.len()),
        median_live_chat_s: quantile(&offered, 0.5),
        calm_sessions: calm.len(),
        per_persona: per_persona(sessions, points),
        final_accuracy: ratio(finals.iter().filter(|p| p.correct()).count(), finals.len()),
        stability: None,
    }
}

/// Marks the points that count: all but the first [`GRACE_EVENTS`] of each later phase.
pub(super) fn mark_grace(points: &mut [Point]) {
    let mut phase_start = 0;
    for i in 0..points.len() {
        if i > 0 && points[i].phase != points[i - 1].phase {
            phase_start = i;
        }
        points[i].scored = points[i].phase == points[0].phase || i - phase_start >= GRACE_EVENTS;
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

fn confusion(points: &[&Point]) -> Confusion {
    let mut m = [[0; Mood::COUNT]; Mood::COUNT];
    for p in points {
        m[p.truth.index()][p.label.index()] += 1;
    }
    m
}

fn per_label(m: &Confusion) -> Vec<PerLabel> {
    Mood::ALL
        .iter()
        .map(|&label| {
            let k = label.index();
            let hits = m[k][k];
            let support: usize = m[k].iter().sum();
            let answered: usize = m.iter().map(|row| row[k]).sum();
            let (precision, recall) = (ratio(hits, answered), ratio(hits, support));
            let f1 = if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) };
            PerLabel { label, precision, recall, f1, support }
        })
        .collect()
}

fn reliability(points: &[&Point]) -> Vec<ReliabilityBin> {
    (0..BINS)
        .map(|b| {
            let (from, to) = (b as f64 / BINS as f64, (b + 1) as f64 / BINS as f64);
            let inside: Vec<&&Point> =
                points.iter().filter(|p| ((p.confidence * BINS as f64) as usize).min(BINS - 1) == b).collect();
            let n = inside.len();
            let mean_confidence = inside.iter().map(|p| p.confidence).sum::<f64>() / n.max(1) as f64;
            let accuracy = ratio(inside.iter().filter(|p| p.correct()).count(), n);
            ReliabilityBin { from, to, answers: n, mean_confidence, accuracy }
        })
        .collect()
}

/// Seconds from the start of each frustrated stretch to its first `frustrated` answer (infinite
/// when none comes before the stretch ends).
fn detection_delays(sessions: &[Vec<Point>], noticed: impl Fn(&Point) -> bool) -> Vec<f64> {
    let mut out = Vec::new();
    for points in sessions {
        let mut i = 0;
        while i < points.len() {
            let phase = points[i].phase;
            let end = i + points[i..].iter().take_while(|p| p.phase == phase).count();
            if points[i].truth == Mood::Frustrated {
                let start = points[i].ts_ms;
                let found = points[i..end].iter().find(|p| noticed(p));
                out.push(found.map_or(f64::INFINITY, |p| (p.ts_ms - start) as f64 / 1000.0));
            }
            i = end;
        }
    }
    out
}

/// The `q` quantile (nearest rank); infinite values sort last.
fn quantile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1]
}

fn per_persona(sessions: &[Session], points: &[Vec<Point>]) -> Vec<PerPersona> {
    Persona::ALL
        .iter()
        .filter_map(|&persona| {
            let mine: Vec<usize> = (0..sessions.len()).filter(|&i| sessions[i].persona == persona).collect();
            if mine.is_empty() {
                return None;
            }
            let scored: Vec<&Point> = mine.iter().flat_map(|&i| points[i].iter()).filter(|p| p.scored).collect();
            let accuracy = ratio(scored.iter().filter(|p| p.correct()).count(), scored.len());
            Some(PerPersona { persona, sessions: mine.len(), accuracy })
        })
        .collect()
}

/// Agreement of perturbed models with `model`: each impulse, half-life and prototype number
/// scaled by its own factor drawn from [0.8, 1.2].
pub fn stability(model: &Model, sessions: &[Session], runs: usize, seed: u64) -> Stability {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let base = scored_labels(&answers(model, sessions));
    let mut agreements = Vec::new();
    let mut f1s = Vec::new();
    for _ in 0..runs {
        let mut m = model.clone();
        let mut jiggle = |x: &mut f64| *x *= rng.random_range(0.8..=1.2);
        m.impulse.iter_mut().flat_map(|v| v.iter_mut()).for_each(&mut jiggle);
        m.prototype.iter_mut().flat_map(|v| v.iter_mut()).for_each(&mut jiggle);
        m.half_life_s.iter_mut().for_each(&mut jiggle);
        jiggle(&mut m.evidence_half_life_s);
        let points = answers(&m, sessions);
        let labels = scored_labels(&points);
        agreements.push(ratio(base.iter().zip(&labels).filter(|(a, b)| a == b).count(), base.len()));
        f1s.push(report(&m, sessions, &points).macro_f1);
    }
    let fold = |v: &[f64], f: fn(f64, f64) -> f64, init: f64| v.iter().copied().fold(init, f);
    Stability {
        runs,
        min_agreement: fold(&agreements, f64::min, 1.0),
        mean_agreement: agreements.iter().sum::<f64>() / runs.max(1) as f64,
        min_macro_f1: fold(&f1s, f64::min, 1.0),
        max_macro_f1: fold(&f1s, f64::max, 0.0),
    }
}

/// Sessions per persona and device, for the report's header.
pub fn mix(sessions: &[Session]) -> Vec<(Persona, usize, usize)> {
    Persona::ALL
        .iter()
        .map(|&p| {
            let of = |d: Device| sessions.iter().filter(|s| s.persona == p && s.device == d).count();
            (p, of(Device::Mouse), of(Device::Touch))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_take_the_nearest_rank_and_sort_never_last() {
        assert_eq!(quantile(&[3.0, 1.0, 2.0], 0.5), 2.0);
        assert_eq!(quantile(&[1.0, f64::INFINITY, f64::INFINITY], 0.5), f64::INFINITY);
        assert_eq!(quantile(&[5.0, 1.0, 9.0, 7.0], 0.9), 9.0);
    }

    fn point(truth: Mood, label: Mood, confidence: f64) -> Point {
        let action = SuggestedAction::NoAction;
        Point { session: 0, ts_ms: 0, truth, label, confidence, action, trouble: 0, scored: true, phase: 0 }
    }

    #[test]
    fn a_perfectly_calibrated_set_has_no_calibration_error() {
        let mut v = Vec::new();
        // Answers at 0.75 right three times in four, answers at 0.25 right once in four.
        for i in 0..4 {
            v.push(point(Mood::Focused, if i < 3 { Mood::Focused } else { Mood::Confused }, 0.75));
            v.push(point(Mood::Focused, if i < 1 { Mood::Focused } else { Mood::Confused }, 0.25));
        }
        let refs: Vec<&Point> = v.iter().collect();
        let bins = reliability(&refs);
        assert_eq!((bins[7].answers, bins[7].accuracy), (4, 0.75));
        assert_eq!((bins[2].answers, bins[2].accuracy), (4, 0.25));
        let ece: f64 = bins.iter().map(|b| b.answers as f64 * (b.accuracy - b.mean_confidence).abs()).sum::<f64>();
        assert_eq!(ece, 0.0);
    }

    #[test]
    fn the_first_events_after_a_change_are_not_scored() {
        let mut v: Vec<Point> = [0, 0, 0, 1, 1, 1, 1]
            .into_iter()
            .map(|phase| Point { phase, scored: false, ..point(Mood::Neutral, Mood::Neutral, 0.5) })
            .collect();
        mark_grace(&mut v);
        assert_eq!(v.iter().map(|p| p.scored).collect::<Vec<_>>(), [true, true, true, false, false, true, true]);
    }

    #[test]
    fn macro_f1_averages_labels_present() {
        let mut m = [[0; Mood::COUNT]; Mood::COUNT];
        m[0][0] = 8;
        m[0][1] = 2;
        m[1][1] = 5;
        let labels = per_label(&m);
        assert!((labels[0].f1 - 2.0 * 1.0 * 0.8 / 1.8).abs() < 1e-12);
        assert!((labels[1].f1 - 2.0 * (5.0 / 7.0) / (5.0 / 7.0 + 1.0)).abs() < 1e-12);
        assert_eq!(labels[2].support, 0);
    }
}
