//! Which UI action to suggest, learned per tenant from feedback. Pure: no HTTP, no database.
//!
//! # The context and the arms
//!
//! A suggestion is made in a [`Context`]: the session's mood label and its strongest signal
//! (`frustrated` + `repeated_errors`; `none` when no signal supports the label). Each context
//! has one arm per action of the contract's five. Feedback (`POST /v1/sessions/{id}/feedback`)
//! rewards the action that was taken in the context the session was in when that action was
//! suggested: `was_helpful: true` is a success, `false` a failure, omitted no reward.
//!
//! # The policy ([`Policy`])
//!
//! Beta–Bernoulli Thompson sampling per (context, action): each arm's chance of helping has a
//! Beta posterior, and an action is chosen with the probability that its arm is the best one.
//! Why this method: the reward is a yes/no answer, for which the Beta is the exact conjugate
//! prior (the learning state is two counts per arm, summed exactly in the database by any
//! number of replicas); it is well understood (Chapelle & Li 2011; Russo et al. 2018, "A
//! Tutorial on Thompson Sampling"); it explores in proportion to its uncertainty, so an arm
//! that keeps failing stops being tried on its own; and the probability of each choice is
//! known, so every suggestion is logged with its propensity for offline evaluation.
//!
//! - **Priors that reproduce the table.** The table's action for the mood starts at Beta(2, 1)
//!   (it helps two times in three, worth three answers), doing nothing (where the table does
//!   something) at Beta(0.5, 2) (20 %), every other action at Beta(0.3, 2.7) (10 %). An
//!   untried intervention is assumed worse than the table's and than doing nothing until
//!   feedback says otherwise (so a disabled table action falls back to `no_action`, as the
//!   table does), and the exploration floor keeps asking. The priors are weak: a context where
//!   the table is wrong leaves it after a handful of answers.
//! - **A sharpened posterior.** The sampler draws from each posterior with its variance divided
//!   by four (Beta(4α, 4β): the same mean), the "posterior reshaping" Chapelle & Li found to
//!   lower regret. Plain Thompson sampling keeps trying an arm while it is merely uncertain;
//!   here the exploration floor already guarantees that every action keeps being tried, so the
//!   sampler can commit sooner. Two answers still do not overturn the table; a few more
//!   consistent ones do. The simulation (`examples/interventions.rs`) chose the priors and the
//!   sharpness, in a world where the table is mostly right and in one where it is mostly wrong;
//!   the figures are in `benches/RESULTS.md`.
//! - **No feedback, no change.** A context with no rated feedback, or a tenant with
//!   `learning: false`, gets exactly the contract's table with probability 1: the mood's
//!   action when the confidence reaches its minimum, `no_action` otherwise.
//! - **Eligibility.** An action is eligible when it is not disabled and the confidence
//!   reaches its minimum (`no_action` always is): the policy never suggests an intrusive
//!   action on a weak guess, learned or not.
//! - **Exploration floor.** Once a context learns, each eligible action keeps at least
//!   `exploration / eligible` of the probability (default 5 %, as Vowpal Wabbit's ε-greedy):
//!   `π = (1 − ε)·thompson + ε/|eligible|`, so an arm that looked bad early is still tried.
//! - **Stable answers.** The probability that each arm is best is computed once per context
//!   and eligible set from a seeded Monte Carlo run (so it is reproducible), and the draw for
//!   a session uses a uniform number hashed from the tenant, the session and the context
//!   ([`Policy::draw`]): the same session in the same context reads the same suggestion, event after
//!   event, instead of flickering between actions.

mod policy;
mod settings;
mod stats;

pub use policy::{Arm, Choice, Context, Policy, Reading};
pub use settings::{MAX_EXPLORATION, Settings, SettingsError, SettingsPatch};
pub use stats::wilson_interval;
