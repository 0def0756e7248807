//! The affect engine: pure code, no HTTP, no database, no clock.
//!
//! It turns a stream of behavioural events into a continuous state and reads that state as one
//! of seven moods. Everything else in moodring is an adapter around these functions.
//!
//! # The state
//!
//! `s = (valence, arousal, tension, affiliation)`, each in [-1, 1], with a baseline `b` (0 for
//! sessions). Valence is pleasant (+) vs unpleasant; arousal is activation; tension is strain
//! (`+` = tense, the opposite of Sonzai's calm-high orientation, converted at the API edge);
//! affiliation is engagement with the product. The state also keeps an event count, an
//! effective count that decays (the evidence), the latest event time, and a window of recent
//! events (at most [`Model::window_max_events`] = 64, within [`Model::window_s`] = 300 s) for
//! context rules and signals. [`AffectState`] serializes losslessly: a stored and reloaded state
//! continues bit for bit.
//!
//! # One event ([`AffectState::apply`])
//!
//! 1. **Decay** toward the baseline: `s_i ← b_i + (s_i − b_i)·2^(−Δt/H_i)`, `Δt = max(0, τ − last)`.
//!    An event older than the state applies with no decay (never negative decay), and the
//!    state's clock does not move back. Half-lives `H`: valence 180 s, arousal 60 s, tension
//!    120 s, affiliation 300 s — arousal is the quickest to settle (a burst of activity is over
//!    in a minute), how much someone is invested in the product the slowest.
//! 2. **Impulse**, per event type (rows of [`Model::session_v1`], in v/a/t/f order):
//!    `rage_click` (−.35 +.40 +.45 −.10) and `error` (−.30 +.25 +.35 −.10) are the strongest
//!    negatives; `back_nav`, `backtrack`, `input_pause` and `hover` add tension with little
//!    arousal (confusion rather than anger); `idle` (−.06 −.35 −.06 −.30) and `blur` drain arousal
//!    and affiliation; `page_view`, `scroll` and `click` are mildly positive and relaxing;
//!    `focus` adds arousal and affiliation (intent). Scaling by the optional fields:
//!    `duration_ms` scales idle/hover/input_pause by `sqrt(duration/ref)` clamped to [0.5, 2]
//!    (refs 30 s, 2 s, 3 s: diminishing returns, so one huge value cannot dominate); a scroll
//!    at ≥ 2,500 px/s is searching, not reading, and applies the fast-scroll vector
//!    (−.03 +.06 +.08 −.02) × `min(speed/2500, 2)`; an upward scroll adds half a backtrack; a
//!    click completing 3 clicks within 1 s and 30 px is a rage click in disguise and applies
//!    0.6 of a rage-click impulse. Context: each earlier error within 60 s adds 0.5 to the
//!    factor of an error (×1.5, ×2 at most), each earlier back navigation within 30 s adds 0.6.
//! 3. **Saturating add**: `s_i ← s_i + Δ_i(1 − s_i)` for `Δ_i > 0`, `s_i + Δ_i(1 + s_i)` otherwise,
//!    so no dimension leaves [-1, 1] and repeated pushes have diminishing effect.
//! 4. **Evidence**: the event count +1, and the effective count +1 after decaying with a
//!    300 s half-life (old evidence counts less).
//!
//! [`apply_batch`] applies a batch in timestamp order (stable for ties) and returns one
//! [`HistoryRecord`] per event: the state after it, the change its impulse caused (decay
//! excluded), a one-sentence trigger reason, and the projection at that point. Any split of a
//! time-ordered stream into batches gives the identical state.
//!
//! # Projection ([`project`], [`project_at`])
//!
//! Each mood has a prototype point in deviation space `x = s − b`: frustrated (−.60 +.60 +.70
//! −.20), confused (−.25 0 +.50 +.15), decisive (+.40 +.55 −.10 +.35), browsing (+.35 +.05 −.35
//! +.25), disengaged (−.20 −.60 −.10 −.60), focused (+.20 +.30 +.25 +.60), neutral at the origin.
//! The posterior is `π_k = softmax(−‖x − p_k‖² / T)` with `T = 0.08` (a squared-distance gap of
//! 0.08 is a factor e); the label is the argmax (ties to the earlier label in that order), and
//! `neutral` below 3 events. The raw confidence is `π_label · (1 − e^(−n_eff/4))`: about 0.53 of
//! the posterior after three quick events, 0.78 after six, 0 with none; `session-1` answers it
//! as it is, later models through a calibration curve (below).
//!
//! The suggested action is the contract's table (frustrated → `show_live_chat`, confused →
//! `show_tooltip`, browsing → `show_recommendations`, disengaged → `show_exit_offer`, the rest
//! `no_action`), falling back to `no_action` below a minimum confidence per action: 0.50 for live
//! chat (an intrusive prompt on a weak guess annoys), 0.45 for an exit offer, 0.40 for a
//! tooltip, 0.30 for recommendations (cheap and harmless).
//!
//! A read at a later instant only decays: the label is the one at the latest event while it
//! still leads the posterior, `neutral` after; decay never invents a label.
//!
//! # Signals ([`SignalId`])
//!
//! Named rules over the window, each with the values that fired it: `rage_click_detected`
//! (a rage_click, or ≥ 3 clicks within 1 s and 30 px, in the last 60 s), `error_encountered`
//! (one error in 60 s) or `repeated_errors` (≥ 2), `navigation_loop` (≥ 2 back navigations in
//! 120 s, or returning to a page after another, A → B → A), `hesitation` (a hover ≥ 2 s or an
//! input pause ≥ 3 s in 60 s), `excessive_scrolling` (in 30 s: ≥ 8 scrolls, ≥ 3 fast ones or ≥ 3
//! backtracks), `prolonged_idle` (an idle ≥ 30 s reported in 120 s, or that much silence before
//! a later read), `tab_hidden` (a gap ≥ 60 s between events not closed by an idle report: the
//! page was in the background), `rapid_progress` (≥ 3 page views or focuses in 60 s without a
//! setback), `sustained_attention` (a run of engaged events ≥ 30 s long, ≥ 5 events, no gap
//! over 10 s), `insufficient_data` (fewer than 3 events). A projection keeps the signals that
//! support its label — strength × cosine between the signal's direction (the impulse of the
//! behaviour behind it) and the label's prototype — strongest first.
//!
//! # The person-level model ([`Model::user_v1`])
//!
//! A person's state spans their sessions and is read at *now*, so it runs on a slower clock:
//! half-lives valence 30 min, arousal 10 min, tension 20 min, affiliation 1 h, evidence 1 h; a
//! window of 10 minutes for signals. Its baseline is not fixed: after each event it moves toward
//! the state by [`Model::baseline_rate`] = 0.004 (an exponential moving average over about the
//! last 250 events — days of regular use), so a person who is always a little hesitant comes to
//! read as neutral when hesitant, while a real change still shows. Per event, not per second: a
//! person is active for minutes a day and the baseline should learn from what they do then.
//! The baseline stays a convex combination of states, so it never leaves [-1, 1].
//! [`summarize`] writes the reading as one paragraph for an LLM prompt.
//!
//! # Model versions
//!
//! The numbers quoted above are `session-1`'s, set by reasoning. `session-2`
//! ([`Model::session_v2`]) keeps the mechanics (plus a duration exponent: an idle report weighs
//! in proportion to its length) and the sign of every number of size ≥ 0.05, within 0.4–2.5× of
//! it, but is fitted to the behaviour simulator ([`crate::simulate`], `examples/fit_model.rs`,
//! seed 1), and its confidence is calibrated: a monotone curve per label ([`Calibration`]) turns
//! `π · evidence` into the share of such answers that are right, and the evidence rule's
//! `neutral` reads the evidence alone. `session-3` ([`Model::session_v3`]) is the same fit on a
//! simulator that also explores pages by plain clicks and clicks into form fields, with evidence
//! that builds twice as fast and live chat from a calibrated 0.93. `session-4`
//! ([`Model::session_v4`]), the current one, is that fit continued with the labelled scenarios
//! ([`scenarios`]) as a term of the loss, and with `frustrated` answers calibrated by their
//! count of trouble signs (errors and rage clicks in the window): a stray error after a calm
//! minute is not a burst of errors, whatever the raw confidence says. Their figures on held-out
//! seeds are in `benches/MODEL.md`.
//!
//! [`Models`] holds the current model per session and per person and every earlier one. A state
//! keeps the version it started under (stored with it, and with every history row), so changing
//! the current model never changes what a stored session answers — nor the minimum confidences
//! its suggestions are held to — new sessions start under the current one, which
//! `--session-model` chooses. A person's model is still `user-1`.
//!
//! # Changing a number safely
//!
//! All numbers live in one [`Model`], which the engine takes as a value. A change is a new
//! version, never an edit of a released one:
//! 1. Fit or edit the numbers of a new `session_vN`, and measure it on a held-out seed with
//!    `cargo run --release --example simulate -- --seed 2 --model session-N`;
//!    `cargo test --lib tune -- --ignored --nocapture` prints every labelled scenario's reading.
//! 2. `cargo test --lib` must pass: the scenarios (`src/engine/tests/scenarios.rs`) under every
//!    session model, the invariants (bounds, monotone decay, batch independence, determinism,
//!    lossless reload), the robustness test that scales every impulse and half-life by ±20 %,
//!    and the personas (`src/simulate/tests.rs`).
//! 3. Make it current in [`Models::default`], move the old one to `other_sessions`, and pin
//!    the new fingerprint in `the_model_version_names_its_numbers`: released numbers never
//!    change, which that test holds them to.

mod event;
mod history;
mod model;
mod mood;
mod projection;
pub mod scenarios;
mod signals;
mod state;
mod summary;

pub use event::{Event, EventKind, ScrollDirection, UnknownEventKind, page_hash};
pub use history::{HistoryRecord, apply_batch};
pub use model::{Calibration, Context, Dims, Model, Models, Perturbation, Scaling, SignalRules};
pub use mood::{Mood, SuggestedAction};
pub use projection::{Projection, label_of, posterior, project, project_at};
pub use signals::{Signal, SignalId, Values};
pub use state::{AffectState, RecentEvent};
pub use summary::summarize;

#[cfg(test)]
mod tests;
