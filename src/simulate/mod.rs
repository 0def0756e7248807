//! A behaviour simulator and the figures of model quality it yields.
//!
//! Deterministic from a seed: [`sessions`] draws a mix of personas, devices and integrations,
//! each person acts input by input with log-normal timing noise (human response and reading
//! times are right-skewed), and [`tracker::Tracker`] turns those inputs into the events
//! `/v1/tracker.js` would send, with its thresholds — or, for a quarter of the sessions, the
//! events a customer's own integration sends (one scroll event per gesture, clicks without
//! coordinates, idle reported after 4 s as in the contract's example, shorter hover and pause
//! thresholds). Each event carries what a person watching would call that moment (its truth),
//! and the first two events of a session are `neutral`: the contract's "insufficient events".
//! [`metrics::evaluate`] reads every session with a [`Model`] exactly as ingestion does (one
//! projection per event) and scores the answers. `cargo run --release --example simulate` prints
//! the report; `benches/MODEL.md` keeps the figures.
//!
//! # Where the behaviour comes from
//!
//! - **Event thresholds** are the tracker's (README, "Add it to a web page"): a rage click is 3
//!   clicks within 1 s and 30 px (PostHog's and Datadog's rule), scrolls are sampled every 250 ms
//!   with their speed, a backtrack is an upward scroll after 200 px down, an input pause is typing
//!   resumed after ≥ 2 s, idle is ≥ 30 s without input, reported when input resumes or the tab
//!   hides, and a hover is ≥ 1.5 s on a control without clicking (never on touch).
//! - **Which behaviour belongs to which mood** is the contract's "Event Types" and "Mood States"
//!   tables: frustration is errors, repeated failed actions, rage clicks and back navigation;
//!   confusion is backtracking, long hovers, input pauses and scroll reversals; decisiveness is
//!   quick clicks, form focus and forward navigation; browsing is page views and moderate scrolls;
//!   disengagement is prolonged idle and blurs without refocus; focus is sustained form work.
//! - **Frustration** follows the rage/dead-click pattern described by session-replay vendors
//!   (FullStory, Microsoft Clarity, Hotjar): a control that does not respond is clicked again in
//!   a burst within a second, often after an error, then the person goes back and retries.
//! - **Confusion in forms** follows form-usability research (Baymard Institute, Nielsen Norman
//!   Group): hesitation mid-field, hovering help icons, scrolling back to re-read instructions,
//!   leaving a field and returning to it. A searcher who cannot find something on a long page
//!   flicks down and back up repeatedly (scroll reversals), with no error.
//! - **Forms**: most people click or tap into a field (focus, then the click); some Tab from
//!   the one before. The contract's `focused` is "focus, click".
//! - **Timing**: steady typing at ~180 ms a key (typing studies put skilled typists at 150–250 ms
//!   between keystrokes), reading pauses of several seconds between scrolls, quick funnels with
//!   a second or two per step. Touch scrolling is flicking: several times faster than a wheel
//!   (we draw a median of 2,600 px/s against 700 for a mouse), with no hover at all.
//! - **Exploring by clicking**: on product lists people apply filters, switch tabs and images,
//!   open a product and come back to the list (Baymard Institute's product-list and filtering
//!   studies): plain clicks on different controls a few seconds apart, nothing failing. A
//!   direct integration reports little more than the clicks, without positions.
//! - **Disengagement** is idling past the 30 s threshold or a hidden tab, with brief returns.
//! - **Noise**: at 8 % of steps something that belongs to no persona happens — a stray hover,
//!   a tap elsewhere, a window switch, a nudge of the page, a third-party script's error.
//!
//! The personas were written from these sources and the contract, not from the engine's numbers;
//! a model is tuned on one seed and reported on another (`benches/MODEL.md`).

pub mod metrics;
pub mod persona;
#[cfg(test)]
mod tests;
pub mod tracker;

use crate::engine::{AffectState, Model, Mood, project};
pub use metrics::{Point, Report, evaluate, stability};
pub use persona::Persona;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
pub use tracker::{Device, Integration, Labelled};

/// One simulated session: who, on what, and the events with their truth.
#[derive(Clone, Debug)]
pub struct Session {
    pub persona: Persona,
    pub device: Device,
    pub integration: Integration,
    pub events: Vec<Labelled>,
}

/// The share of sessions per persona, in [`Persona::ALL`] order.
const WEIGHTS: [u32; Persona::ALL.len()] = [10, 9, 6, 10, 12, 8, 10, 8, 7, 7, 7, 7];
/// Share of touch devices (about half of web traffic is mobile).
const TOUCH: f64 = 0.45;
/// Share of sessions reported by a customer's own integration instead of the tracker.
const DIRECT: f64 = 0.25;
/// Share of steps at which something unrelated happens.
const NOISE: f64 = 0.08;
/// The first session's start: 2025-05-04T10:00:00Z.
const T0: i64 = 1_746_352_800_000;

/// `n` sessions drawn from `seed`: the same seed gives the same sessions.
pub fn sessions(seed: u64, n: usize) -> Vec<Session> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let total: u32 = WEIGHTS.iter().sum();
    (0..n)
        .map(|i| {
            let mut pick = rng.random_range(0..total);
            let persona = Persona::ALL
                .into_iter()
                .zip(WEIGHTS)
                .find(|(_, w)| {
                    let hit = pick < *w;
                    pick = pick.saturating_sub(*w);
                    hit
                })
                .map(|(p, _)| p)
                .expect("the weights cover the range");
            let device = if rng.random_bool(TOUCH) { Device::Touch } else { Device::Mouse };
            let integration = if rng.random_bool(DIRECT) { Integration::Direct } else { Integration::Tracker };
            act(&mut rng, persona, device, integration, T0 + i as i64 * 3_600_000)
        })
        .collect()
}

/// One session of `persona` on `device`, reported by `integration`, drawn from `seed`.
pub fn session(seed: u64, persona: Persona, device: Device, integration: Integration) -> Session {
    act(&mut ChaCha8Rng::seed_from_u64(seed), persona, device, integration, T0)
}

fn act(rng: &mut ChaCha8Rng, persona: Persona, device: Device, integration: Integration, start_ms: i64) -> Session {
    let mut person = persona::Person::new(rng, device, integration, start_ms, NOISE);
    person.act(persona);
    Session { persona, device, integration, events: person.finish() }
}

/// What `model` answers after each event of `session`, as ingestion would ([`apply_batch`]
/// applies and projects event by event the same way).
///
/// [`apply_batch`]: crate::engine::apply_batch
pub fn read(model: &Model, index: usize, session: &Session) -> Vec<Point> {
    assert!(session.events.is_sorted_by_key(|l| l.event.ts_ms), "a session's events are in time order");
    let mut state = AffectState::new(model);
    let mut points: Vec<Point> = session
        .events
        .iter()
        .enumerate()
        .map(|(n, l)| {
            state.apply(model, &l.event);
            let p = project(model, &state);
            Point {
                session: index,
                ts_ms: l.event.ts_ms,
                truth: if n < 2 { Mood::Neutral } else { l.truth },
                label: p.label,
                confidence: p.confidence,
                action: p.action,
                trouble: p.trouble,
                scored: true,
                phase: l.phase,
            }
        })
        .collect();
    metrics::mark_grace(&mut points);
    points
}
