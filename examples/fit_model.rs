//! Fits the session model's numbers to simulated sessions: the tuning half of `benches/MODEL.md`.
//!
//!   cargo run --release --example fit_model -- --seed 1 [--sessions 1200] [--sweeps 40] [--from session-1]
//!     [--start model.json] [--out model.json]
//!
//! Starts from a model this build knows (or from `--start`, a model's JSON, within the bounds of
//! `--from`) and runs a coordinate search over its impulses, fast-scroll
//! impulse, prototypes (neutral stays at the origin), temperature and half-lives, minimising the
//! class-balanced cross-entropy of the posterior against the simulator's truth on the scored
//! answers of seed `--seed`: each mood weighs the same whatever its share of answers, which is
//! what macro-F1 rewards. Prints the fitted table; report it on another seed with
//! `--example simulate`.

use clap::Parser;
use moodring::engine::scenarios::{self, Scenario};
use moodring::engine::{AffectState, Calibration, Dims, Model, Models, Mood, Perturbation, posterior};
use moodring::simulate::{Session, read, sessions};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Fits a session model's numbers to simulated sessions.
#[derive(Parser)]
struct Args {
    /// The simulator's seed to fit on.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, default_value_t = 1_200)]
    sessions: usize,
    /// Rounds over every number (0: only calibrate the start).
    #[arg(long, default_value_t = 40)]
    sweeps: usize,
    /// The model whose numbers set the bounds (default: the current one).
    #[arg(long)]
    from: Option<String>,
    /// A model's JSON file to start from instead of `--from`.
    #[arg(long)]
    start: Option<String>,
    /// Where to write the fitted model as JSON.
    #[arg(long)]
    out: Option<String>,
    /// The extra cost of reading a calm moment as frustrated (it interrupts with a live chat),
    /// per unit of posterior on `frustrated`.
    #[arg(long, default_value_t = 20.0)]
    false_alarm_cost: f64,
    /// Calibrate `frustrated` answers by their count of trouble signs, in this many curves (the
    /// last for that many or more); 0 for one curve.
    #[arg(long, default_value_t = 0)]
    trouble_curves: usize,
    /// Weight of the labelled scenarios (`moodring::engine::scenarios`): the mean shortfall of
    /// each one's posterior on its label from leading every other label by a factor of three,
    /// under the model and 32 copies with its impulses and half-lives scaled by ±20 %.
    #[arg(long, default_value_t = 0.0)]
    scenario_weight: f64,
}

/// One scored answer to fit: the event's position in its session, and the truth.
struct Target {
    event: usize,
    truth: Mood,
}

/// How a fitted number may move (see [`bounds`]).
#[derive(Clone, Copy)]
enum Kind {
    /// An impulse, prototype or share: its sign is its meaning.
    Signed,
    /// A time scale or temperature, fitted as its logarithm.
    Scale,
}

/// The fitted numbers, in a fixed order, with their kinds.
fn params(m: &Model) -> Vec<(f64, Kind)> {
    let mut v = Vec::new();
    let mut signed = |d: &Dims| v.extend(d.iter().map(|x| (*x, Kind::Signed)));
    m.impulse.iter().for_each(&mut signed);
    signed(&m.scaling.fast_scroll_impulse);
    m.prototype[..Mood::COUNT - 1].iter().for_each(&mut signed);
    let s = &m.scaling;
    for x in [s.clustered_click_share, s.scroll_up_backtrack_share, m.context.error_step, m.context.back_nav_step] {
        v.push((x, Kind::Signed));
    }
    v.push((s.duration_factor_min, Kind::Signed));
    v.push((s.duration_exponent, Kind::Signed));
    for x in [m.temperature, s.idle_ref_ms, s.hover_ref_ms, s.input_pause_ref_ms] {
        v.push((x.ln(), Kind::Scale));
    }
    v.extend(m.half_life_s.iter().map(|h| (h.ln(), Kind::Scale)));
    v
}

/// `base` with the numbers of `v`, in the order of [`params`].
fn with_params(base: &Model, v: &[f64]) -> Model {
    let mut m = base.clone();
    let mut rest = v;
    let mut take = |n: usize| {
        let (head, tail) = rest.split_at(n);
        rest = tail;
        head
    };
    for d in m.impulse.iter_mut() {
        *d = Dims::from_column_slice(take(4));
    }
    m.scaling.fast_scroll_impulse = Dims::from_column_slice(take(4));
    for d in m.prototype[..Mood::COUNT - 1].iter_mut() {
        *d = Dims::from_column_slice(take(4));
    }
    let &[share, up, error, back, shortest, exponent, t, idle, hover, pause] = take(10) else { unreachable!() };
    m.half_life_s = Dims::from_column_slice(take(4)).map(f64::exp);
    let s = &mut m.scaling;
    (s.clustered_click_share, s.scroll_up_backtrack_share) = (share, up);
    (m.context.error_step, m.context.back_nav_step) = (error, back);
    m.temperature = t.exp();
    (s.idle_ref_ms, s.hover_ref_ms, s.input_pause_ref_ms) = (idle.exp(), hover.exp(), pause.exp());
    (s.duration_factor_min, s.duration_exponent) = (shortest, exponent);
    m
}

/// Where each number may move: an impulse or prototype number keeps the sign reasoning gave it
/// and stays within 0.4 and 2.5 times its size (what a dimension means must not change: an error
/// stays unpleasant and tense, a frustrated person tense); a number reasoning left near 0 (under
/// 0.05) keeps its sign within 0.1 (within ±0.05 if it was 0); time scales and the temperature
/// within half and twice their start.
fn bounds(origin: &[(f64, Kind)]) -> Vec<(f64, f64)> {
    origin
        .iter()
        .map(|&(x, kind)| match kind {
            Kind::Scale => (x - std::f64::consts::LN_2, x + std::f64::consts::LN_2),
            Kind::Signed if x.abs() >= 0.05 => {
                let (a, b) = (x * 0.4, (x * 2.5).clamp(-1.0, 1.0));
                (a.min(b), a.max(b))
            }
            Kind::Signed if x > 0.0 => (0.0, 0.1),
            Kind::Signed if x < 0.0 => (-0.1, 0.0),
            Kind::Signed => (-0.05, 0.05),
        })
        .collect()
}

/// Weight of the pull toward the starting numbers (per squared unit of change).
const PULL: f64 = 0.01;

/// How far (in log posterior) a scenario's label should lead the next label: a factor of three.
const SCENARIO_MARGIN: f64 = 1.0986;

/// Copies of a model with every impulse and half-life scaled by its own factor in [0.8, 1.2],
/// as the engine's robustness test does (with other draws): the labels must not hang on the
/// third decimal of a number.
const PERTURBED: usize = 32;

/// The [`PERTURBED`] changes, drawn once so that every trial of the search meets the same copies.
fn perturbations() -> Vec<Perturbation> {
    let mut rng = ChaCha8Rng::seed_from_u64(0xf17);
    (0..PERTURBED).map(|_| Perturbation::draw(&mut rng)).collect()
}

/// The scenarios' mean shortfall from leading by [`SCENARIO_MARGIN`], under the model and its
/// perturbed copies (scenarios the evidence rule answers are left out: their posterior does not
/// decide them).
fn scenario_shortfall(model: &Model, scenarios: &[Scenario], perturbed: &[Perturbation]) -> f64 {
    let copies = std::iter::once(model.clone()).chain(perturbed.iter().map(|p| p.apply(model)));
    let mut shortfalls = Vec::new();
    for m in copies {
        for s in scenarios.iter().filter(|s| s.events.len() as u64 >= m.min_events) {
            let p = s.read(&m).posterior;
            let want = s.label.index();
            let rival = (0..Mood::COUNT).filter(|&k| k != want).map(|k| p[k]).fold(0.0, f64::max);
            shortfalls.push((SCENARIO_MARGIN - (p[want].max(1e-12).ln() - rival.max(1e-12).ln())).max(0.0));
        }
    }
    shortfalls.iter().sum::<f64>() / shortfalls.len().max(1) as f64
}

/// Class-balanced mean cross-entropy of the posterior, plus the false-alarm cost, plus a small pull toward the start so
/// numbers the data does not need stay where reasoning put them.
fn loss(
    model: &Model,
    sessions: &[Session],
    targets: &[Vec<Target>],
    weights: &[f64; Mood::COUNT],
    false_alarm: f64,
) -> f64 {
    let half = sessions.len() / 2;
    let part = |range: std::ops::Range<usize>| -> f64 {
        let mut total = 0.0;
        for i in range {
            let mut state = AffectState::new(model);
            let mut next = targets[i].iter().peekable();
            for (n, l) in sessions[i].events.iter().enumerate() {
                state.apply(model, &l.event);
                while let Some(t) = next.next_if(|t| t.event == n) {
                    let p = posterior(model, &state);
                    let w = weights[t.truth.index()];
                    total -= w * p[t.truth.index()].max(1e-12).ln();
                    if t.truth != Mood::Frustrated {
                        total += w * false_alarm * p[Mood::Frustrated.index()];
                    }
                }
            }
        }
        total
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| part(0..half));
        let b = part(half..sessions.len());
        (a.join().unwrap(), b)
    });
    a + b
}

fn main() {
    let a = Args::parse();
    let models = Models::default();
    let from = a.from.as_deref().unwrap_or(&models.session.version);
    assert!(models.knows_session(from), "no session model {from}");
    let start = models.session_for(from).clone();
    let sessions = sessions(a.seed, a.sessions);
    // The answers that count, from events the evidence rule does not already answer `neutral`.
    let targets: Vec<Vec<Target>> = sessions
        .iter()
        .enumerate()
        .map(|(i, s)| {
            read(&start, i, s)
                .iter()
                .enumerate()
                .filter(|(n, p)| p.scored && *n as u64 >= start.min_events - 1)
                .map(|(event, p)| Target { event, truth: p.truth })
                .collect()
        })
        .collect();
    let mut counts = [0usize; Mood::COUNT];
    targets.iter().flatten().for_each(|t| counts[t.truth.index()] += 1);
    let weights = counts.map(|c| if c == 0 { 0.0 } else { 1.0 / (Mood::COUNT * c) as f64 });
    eprintln!("{} answers to fit; per mood {counts:?}", targets.iter().flatten().count());

    let origin: Vec<f64> = params(&start).iter().map(|p| p.0).collect();
    let limits = bounds(&params(&start));
    let (scenarios, perturbed) = (scenarios::all(), perturbations());
    let objective = |v: &[f64]| {
        let pull: f64 = v.iter().zip(&origin).map(|(x, o)| (x - o) * (x - o)).sum();
        let model = with_params(&start, v);
        let judged = if a.scenario_weight > 0.0 {
            a.scenario_weight * scenario_shortfall(&model, &scenarios, &perturbed)
        } else {
            0.0
        };
        loss(&model, &sessions, &targets, &weights, a.false_alarm_cost) + PULL * pull + judged
    };
    let mut best = match &a.start {
        Some(path) => {
            let json = std::fs::read_to_string(path).expect("a readable --start file");
            params(&serde_json::from_str(&json).expect("a model")).iter().map(|p| p.0).collect()
        }
        None => origin.clone(),
    };
    // A start outside the bounds (fitted under other ones) starts at their nearest point.
    for (x, (lo, hi)) in best.iter_mut().zip(&limits) {
        *x = x.clamp(*lo, *hi);
    }
    let mut best_loss = objective(&best);
    eprintln!(
        "start: loss {best_loss:.5}, scenarios {:.5}",
        scenario_shortfall(&with_params(&start, &best), &scenarios, &perturbed)
    );
    let mut step: Vec<f64> = origin.iter().map(|_| 0.08).collect();
    for sweep in 0..a.sweeps {
        let mut improved = 0;
        for k in 0..best.len() {
            for dir in [1.0, -1.0] {
                let mut trial = best.clone();
                trial[k] = (trial[k] + dir * step[k]).clamp(limits[k].0, limits[k].1);
                if trial[k] == best[k] {
                    continue;
                }
                let l = objective(&trial);
                if l < best_loss {
                    (best, best_loss) = (trial, l);
                    step[k] *= 1.5;
                    improved += 1;
                    break;
                }
                if dir < 0.0 {
                    step[k] *= 0.6;
                }
            }
        }
        let shortfall = scenario_shortfall(&with_params(&start, &best), &scenarios, &perturbed);
        eprintln!("sweep {sweep}: loss {best_loss:.5}, scenarios {shortfall:.5}, {improved} moves");
        if improved == 0 && step.iter().all(|s| *s < 1e-3) {
            break;
        }
    }
    let mut fitted = rounded(&with_params(&start, &best));
    fitted.calibration = calibrate(&fitted, &sessions, a.trouble_curves);
    println!("{}", table(&fitted));
    if let Some(path) = &a.out {
        std::fs::write(path, serde_json::to_string_pretty(&fitted).unwrap()).expect("--out is writable");
    }
}

/// Answers per bin of raw confidence when fitting a calibration curve (fewer bins for fewer).
const PER_BIN: usize = 400;
const MAX_KNOTS: usize = 16;

/// The calibration of `model`'s confidence on `sessions`: per label (and for the evidence rule's
/// `neutral`, and with `trouble_curves`, for `frustrated` per count of trouble signs), the answers
/// sorted by raw confidence in bins of equal count, each bin's mean raw confidence against its
/// share of right answers, made increasing by pooling adjacent violators.
fn calibrate(model: &Model, sessions: &[Session], trouble_curves: usize) -> Calibration {
    // Raw confidences: `posterior × evidence`, and the evidence factor itself for the rule's
    // answers (an identity curve over it).
    let identity = Calibration { insufficient: vec![(1.0, 1.0)], ..Calibration::default() };
    let raw = Model { calibration: identity, ..model.clone() };
    // Groups: the labels, the evidence rule's answers, then `frustrated` by trouble count.
    let rule = Mood::COUNT;
    let mut groups: Vec<Vec<(f64, bool)>> = vec![Vec::new(); rule + 1 + trouble_curves];
    for (i, s) in sessions.iter().enumerate() {
        for (n, p) in read(&raw, i, s).iter().enumerate().filter(|(_, p)| p.scored) {
            let group = match p.label {
                _ if (n as u64) + 1 < raw.min_events => rule,
                Mood::Frustrated if trouble_curves > 0 => rule + 1 + p.trouble.min(trouble_curves - 1),
                label => label.index(),
            };
            groups[group].push((p.confidence, p.correct()));
        }
    }
    let mut curves = groups.into_iter().map(curve);
    let by_label = std::array::from_fn(|_| curves.next().unwrap());
    let insufficient = curves.next().unwrap();
    Calibration { by_label, insufficient, frustrated_by_trouble: curves.collect() }
}

/// The increasing curve through one group's answers (raw confidence, right).
fn curve(mut g: Vec<(f64, bool)>) -> Vec<(f64, f64)> {
    g.sort_by(|a, b| a.0.total_cmp(&b.0));
    let bins = (g.len() / PER_BIN).clamp(1, MAX_KNOTS);
    let size = g.len().div_ceil(bins).max(1);
    let points: Vec<(f64, f64, f64)> = g
        .chunks(size)
        .map(|c| {
            let n = c.len() as f64;
            (c.iter().map(|p| p.0).sum::<f64>() / n, c.iter().filter(|p| p.1).count() as f64 / n, n)
        })
        .collect();
    let mut knots = increasing(points);
    // The curve starts at the lowest raw confidence seen, at the first block's accuracy.
    if let (Some(lowest), Some(first)) = (g.first(), knots.first().copied()) {
        knots.insert(0, (lowest.0, first.1));
    }
    let mut knots: Vec<(f64, f64)> = knots.into_iter().map(|(x, y)| (round(x, 3), round(y, 3))).collect();
    knots.dedup_by(|b, a| b.0 <= a.0);
    // A level stretch needs only its ends.
    let level = |k: &[(f64, f64)], i: usize| i > 0 && i + 1 < k.len() && k[i - 1].1 == k[i].1 && k[i].1 == k[i + 1].1;
    (0..knots.len()).filter(|&i| !level(&knots, i)).map(|i| knots[i]).collect()
}

/// Pool adjacent violators: the increasing sequence closest to `points` (x, y, weight) in
/// weighted least squares, as knots (x, y) with strictly increasing x.
fn increasing(points: Vec<(f64, f64, f64)>) -> Vec<(f64, f64)> {
    let mut pooled: Vec<(f64, f64, f64)> = Vec::new();
    for (x, y, w) in points {
        pooled.push((x * w, y * w, w));
        while pooled.len() > 1 {
            let (a, b) = (pooled[pooled.len() - 2], pooled[pooled.len() - 1]);
            if a.1 / a.2 <= b.1 / b.2 {
                break;
            }
            pooled.pop();
            *pooled.last_mut().unwrap() = (a.0 + b.0, a.1 + b.1, a.2 + b.2);
        }
    }
    pooled.iter().map(|(x, y, w)| (x / w, y / w)).collect()
}

fn round(x: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (x * scale).round() / scale
}

/// `m` with its fitted numbers rounded as they are written in the source: what is written is
/// what was measured.
fn rounded(m: &Model) -> Model {
    let mut r = m.clone();
    r.impulse.iter_mut().chain([&mut r.scaling.fast_scroll_impulse]).chain(r.prototype.iter_mut()).for_each(|d| {
        d.iter_mut().for_each(|x| *x = round(*x, 2));
    });
    r.temperature = round(r.temperature, 3);
    r.half_life_s.iter_mut().for_each(|h| *h = h.round());
    let s = &mut r.scaling;
    for x in [&mut s.idle_ref_ms, &mut s.hover_ref_ms, &mut s.input_pause_ref_ms] {
        *x = round(*x, -2);
    }
    for x in [
        &mut s.duration_factor_min,
        &mut s.clustered_click_share,
        &mut s.scroll_up_backtrack_share,
        &mut r.context.error_step,
        &mut r.context.back_nav_step,
    ] {
        *x = round(*x, 2);
    }
    r
}

/// The fitted numbers as they would be written in `src/engine/model.rs`.
fn table(m: &Model) -> String {
    // `+ 0.0` turns a rounded -0.00 into 0.00.
    let d = |v: &Dims| format!("d({:.2}, {:.2}, {:.2}, {:.2})", v[0] + 0.0, v[1] + 0.0, v[2] + 0.0, v[3] + 0.0);
    let mut out = String::from("impulses:\n");
    for k in moodring::engine::EventKind::ALL {
        out += &format!("    (K::{k:?}, {}),\n", d(&m.impulse(k)));
    }
    out += &format!("fast_scroll_impulse: {}\nprototypes:\n", d(&m.scaling.fast_scroll_impulse));
    for mood in Mood::ALL {
        out += &format!("    (Mood::{mood:?}, {}),\n", d(&m.prototype(mood)));
    }
    let (s, c, h) = (&m.scaling, &m.context, &m.half_life_s);
    out += &format!(
        "temperature: {}\nhalf_life_s: d({:.0}, {:.0}, {:.0}, {:.0})\n\
         idle_ref_ms: {:.0}, hover_ref_ms: {:.0}, input_pause_ref_ms: {:.0}, duration_factor_min: {}, duration_exponent: {}\n\
         clustered_click_share: {:.2}, scroll_up_backtrack_share: {:.2}\n\
         error_step: {:.2}, back_nav_step: {:.2}\n",
        m.temperature,
        h[0],
        h[1],
        h[2],
        h[3],
        s.idle_ref_ms,
        s.hover_ref_ms,
        s.input_pause_ref_ms,
        s.duration_factor_min,
        s.duration_exponent,
        s.clustered_click_share,
        s.scroll_up_backtrack_share,
        c.error_step,
        c.back_nav_step
    );
    out += "calibration:\n";
    for (mood, knots) in Mood::ALL.iter().zip(&m.calibration.by_label) {
        out += &format!("    (Mood::{mood:?}, &{knots:?}),\n");
    }
    out += &format!("    insufficient: &{:?}\n", m.calibration.insufficient);
    for (n, knots) in m.calibration.frustrated_by_trouble.iter().enumerate() {
        out += &format!("    frustrated, {n} trouble signs: &{knots:?},\n");
    }
    out
}
