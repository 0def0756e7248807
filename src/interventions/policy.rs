//! A tenant's policy: the probability of each action in a context, and the draw for a session.

use super::settings::Settings;
use crate::engine::{Model, Mood, Signal, SignalId, SuggestedAction};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Beta, Distribution};
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

/// Where a suggestion is made: the mood label and its strongest signal, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Context {
    pub mood: Mood,
    pub signal: Option<SignalId>,
}

impl Context {
    /// The context of a projection: its label and the first (strongest) of its signals.
    pub fn of(mood: Mood, signals: &[Signal]) -> Self {
        Self { mood, signal: signals.first().map(|s| s.id) }
    }

    /// The signal as the API and the database name it: `none` when there is none.
    pub fn signal_str(&self) -> &'static str {
        self.signal.map_or("none", SignalId::as_str)
    }

    /// The inverse of ([`Mood::as_str`], [`Context::signal_str`]).
    pub fn parse(mood: &str, signal: &str) -> Option<Self> {
        let mood = mood.parse().ok()?;
        let signal = if signal == "none" { None } else { Some(signal.parse().ok()?) };
        Some(Self { mood, signal })
    }
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.mood, self.signal_str())
    }
}

/// The rated feedback an arm has had.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Arm {
    pub helpful: u64,
    pub unhelpful: u64,
}

/// The action suggested, and the probability it had of being chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Choice {
    pub action: SuggestedAction,
    pub probability: f64,
}

type Probabilities = [f64; SuggestedAction::COUNT];

/// What a suggestion is drawn for: a mood's context and its confidence.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reading {
    pub context: Context,
    pub confidence: f64,
}

/// One tenant's policy at one moment: its settings and its arms. Immutable but for a memo of
/// the Thompson probabilities it has computed. Each call names the model the reading was made
/// under: a minimum confidence the tenant did not set is that model's, as confidences mean
/// different things under different models (a session keeps answering as it did when the
/// current model changes).
pub struct Policy {
    settings: Settings,
    arms: HashMap<Context, [Arm; SuggestedAction::COUNT]>,
    /// Thompson probabilities per (context, eligible set as a bit mask).
    memo: Mutex<HashMap<(Context, u8), Probabilities>>,
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut learned: Vec<String> = self.arms.keys().map(Context::to_string).collect();
        learned.sort();
        f.debug_struct("Policy").field("settings", &self.settings).field("learned", &learned).finish()
    }
}

/// Beta(α, β) priors in pseudo-answers: the table's action helps two times in three (worth
/// three answers), doing nothing 20 % (when the table does something), any other action 10 %.
const TABLE_PRIOR: (f64, f64) = (2.0, 1.0);
const NO_ACTION_PRIOR: (f64, f64) = (0.5, 2.0);
const OTHER_PRIOR: (f64, f64) = (0.3, 2.7);
/// Thompson sampling draws from the posterior with its variance divided by this (each Beta
/// parameter multiplied by it; the mean is unchanged): the sampler explores less by itself,
/// as the exploration floor keeps every action tried.
const SHARPNESS: f64 = 4.0;
/// Monte Carlo draws per probability estimate: each probability within ±0.008 (one s.d.).
const DRAWS: u32 = 4096;

impl Policy {
    /// `settings`, with the rated feedback of each (context, action).
    pub fn new(settings: Settings, arms: impl IntoIterator<Item = (Context, SuggestedAction, Arm)>) -> Self {
        let mut by_context: HashMap<Context, [Arm; SuggestedAction::COUNT]> = HashMap::new();
        for (context, action, arm) in arms {
            if arm.helpful + arm.unhelpful > 0 {
                let slot = &mut by_context.entry(context).or_default()[action.index()];
                slot.helpful += arm.helpful;
                slot.unhelpful += arm.unhelpful;
            }
        }
        Self { settings, arms: by_context, memo: Mutex::default() }
    }

    /// The contract's table: default settings, no feedback.
    pub fn table() -> Self {
        Self::new(Settings::default(), [])
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether suggestions in `context` come from feedback rather than the table.
    pub fn learns_in(&self, context: Context) -> bool {
        self.settings.learning && self.arms.contains_key(&context)
    }

    /// The actions that may be suggested at `confidence` under `model`, as a bit mask by index:
    /// not disabled and confident enough; `no_action` always.
    fn eligible(&self, model: &Model, confidence: f64) -> u8 {
        SuggestedAction::ALL.iter().fold(0, |mask, a| {
            let ok = *a == SuggestedAction::NoAction
                || (!self.settings.disabled[a.index()] && confidence >= self.settings.min_confidence(model, *a));
            if ok { mask | 1 << a.index() } else { mask }
        })
    }

    /// Whether `action` may still be suggested at `confidence` under these settings (not
    /// disabled, confident enough): a suggestion stored under older settings that may not is
    /// drawn again when read.
    pub fn allows(&self, model: &Model, action: SuggestedAction, confidence: f64) -> bool {
        self.eligible(model, confidence) & 1 << action.index() != 0
    }

    /// The probability of each action (by index) in `context` at `confidence` under `model`.
    pub fn probabilities(&self, model: &Model, context: Context, confidence: f64) -> Probabilities {
        let mask = self.eligible(model, confidence);
        let mut p = [0.0; SuggestedAction::COUNT];
        if !self.learns_in(context) {
            let wanted = context.mood.action();
            let action = if mask & 1 << wanted.index() != 0 { wanted } else { SuggestedAction::NoAction };
            p[action.index()] = 1.0;
            return p;
        }
        let thompson = self.thompson(context, mask);
        let eligible = mask.count_ones() as f64;
        let epsilon = self.settings.exploration;
        for a in SuggestedAction::ALL {
            if mask & 1 << a.index() != 0 {
                p[a.index()] = (1.0 - epsilon) * thompson[a.index()] + epsilon / eligible;
            }
        }
        p
    }

    /// `stored`, the suggestion drawn for a state of `subject` earlier, unless these settings
    /// no longer allow it (an action disabled, a minimum raised since): then a fresh draw.
    pub fn revise(
        &self,
        model: &Model,
        tenant: i64,
        subject: &str,
        reading: Reading,
        stored: SuggestedAction,
    ) -> SuggestedAction {
        if self.allows(model, stored, reading.confidence) {
            stored
        } else {
            self.draw(model, tenant, subject, reading).action
        }
    }

    /// The suggestion for `subject` (a session, or a person) of `tenant` for `reading` under
    /// `model`: the one draw both ingest (for each stored state) and reads (for a state they
    /// evaluate) make, so they agree. The same policy always gives the same choice.
    pub fn draw(&self, model: &Model, tenant: i64, subject: &str, reading: Reading) -> Choice {
        self.choose(model, reading, seed(tenant, subject, reading.context))
    }

    /// The action for `reading` under `model` for the uniform number `seed` gives.
    fn choose(&self, model: &Model, reading: Reading, seed: u64) -> Choice {
        let p = self.probabilities(model, reading.context, reading.confidence);
        let u = (seed >> 11) as f64 / (1u64 << 53) as f64;
        let mut cumulative = 0.0;
        let mut last = SuggestedAction::NoAction;
        for a in SuggestedAction::ALL {
            if p[a.index()] > 0.0 {
                cumulative += p[a.index()];
                last = a;
                if u < cumulative {
                    return Choice { action: a, probability: p[a.index()] };
                }
            }
        }
        // Rounding left `cumulative` a hair under 1 and `u` above it.
        Choice { action: last, probability: p[last.index()] }
    }

    /// The posterior Beta parameters of each action in `context`.
    fn posterior(&self, context: Context) -> [(f64, f64); SuggestedAction::COUNT] {
        let arms = self.arms.get(&context).copied().unwrap_or_default();
        SuggestedAction::ALL.map(|a| {
            let (alpha, beta) = match a {
                a if a == context.mood.action() => TABLE_PRIOR,
                SuggestedAction::NoAction => NO_ACTION_PRIOR,
                _ => OTHER_PRIOR,
            };
            let arm = arms[a.index()];
            (alpha + arm.helpful as f64, beta + arm.unhelpful as f64)
        })
    }

    /// The probability that each eligible arm is the best, by seeded Monte Carlo, memoised.
    fn thompson(&self, context: Context, mask: u8) -> Probabilities {
        let key = (context, mask);
        if let Some(p) = self.memo.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return *p;
        }
        let posterior = self.posterior(context);
        let arms: Vec<(usize, Beta<f64>)> = SuggestedAction::ALL
            .iter()
            .filter(|a| mask & 1 << a.index() != 0)
            .map(|a| {
                let (alpha, beta) = posterior[a.index()];
                (a.index(), Beta::new(SHARPNESS * alpha, SHARPNESS * beta).expect("parameters are positive"))
            })
            .collect();
        let mut rng = StdRng::seed_from_u64(seed(i64::from(mask), "thompson", context));
        let mut wins = [0u32; SuggestedAction::COUNT];
        for _ in 0..DRAWS {
            let best = arms
                .iter()
                .map(|(i, dist)| (*i, dist.sample(&mut rng)))
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .expect("no_action is always eligible");
            wins[best.0] += 1;
        }
        let p = wins.map(|w| f64::from(w) / f64::from(DRAWS));
        self.memo.lock().unwrap_or_else(|e| e.into_inner()).insert(key, p);
        p
    }
}

/// A stable 64-bit hash of a tenant, a subject (session or person) and a context: the draw
/// behind a suggestion. FNV-1a, then SplitMix64's finaliser to spread the bits; the same on
/// every platform and release, unlike `std`'s hasher.
fn seed(tenant: i64, subject: &str, context: Context) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let parts: [&[u8]; 4] =
        [&tenant.to_le_bytes(), subject.as_bytes(), context.mood.as_str().as_bytes(), context.signal_str().as_bytes()];
    for part in parts {
        for b in part.iter().chain([&0xff]) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests;
