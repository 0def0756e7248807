//! The intervention policy against simulated users whose true helpful rates differ from the
//! contract's table: cumulative regret of the fixed table, the learned policy and the oracle.
//!
//!   cargo run --release --example interventions -- --seed 1 [--sessions 10000] [--exploration 0.05]
//!       [--world mostly-right|popup-averse] [--session-model session-4]
//!
//! Each session lands in one of eight contexts (mood + strongest signal) with a confidence
//! drawn from [0.3, 1]; a policy picks among the actions eligible at that confidence (the
//! minimums of the session model new sessions get, unless `--session-model` names another); the
//! simulated user finds the action helpful with its true rate, and half the sessions report it
//! as feedback (`was_helpful`). The learned policy is rebuilt from the counts every 50 sessions,
//! as a replica's cache refreshes. Regret is expected regret: the best eligible action's true
//! rate minus the chosen one's, summed over sessions (the oracle's is 0). `oracle+floor` is
//! what any policy with the same exploration floor pays even when it knows the best action:
//! the learned policy's regret above it is the price of learning.

use clap::Parser;
use moodring::engine::{Models, Mood, SignalId, SuggestedAction};
use moodring::interventions::{Arm, Context, Policy, Reading, Settings, SettingsPatch};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;

/// Which simulated customer: how their users answer each action.
#[derive(Clone, Copy, clap::ValueEnum)]
enum World {
    /// The table is right in five of the eight contexts and wrong in three.
    MostlyRight,
    /// Users close pop-ups: the table's action is not the best in six of the eight contexts.
    PopupAverse,
}

/// Context, share of sessions, true helpful rate per action in `SuggestedAction::ALL` order
/// (no_action, live chat, tooltip, recommendations, exit offer).
fn world(which: World) -> Vec<(Context, f64, [f64; 5])> {
    let c = |mood, signal| Context { mood, signal };
    let (repeated_errors, rage_clicks, hesitation, navigation_loop, browsing, idle, decisive, neutral) = (
        c(Mood::Frustrated, Some(SignalId::RepeatedErrors)),
        c(Mood::Frustrated, Some(SignalId::RageClickDetected)),
        c(Mood::Confused, Some(SignalId::Hesitation)),
        c(Mood::Confused, Some(SignalId::NavigationLoop)),
        c(Mood::Browsing, None),
        c(Mood::Disengaged, Some(SignalId::ProlongedIdle)),
        c(Mood::Decisive, Some(SignalId::RapidProgress)),
        c(Mood::Neutral, Some(SignalId::InsufficientData)),
    );
    match which {
        World::MostlyRight => vec![
            // Shoppers failing at checkout want help in context, not a chat agent.
            (repeated_errors, 0.12, [0.10, 0.25, 0.55, 0.05, 0.10]),
            // Rage clicks: here the table is right, live chat helps most.
            (rage_clicks, 0.10, [0.10, 0.45, 0.30, 0.05, 0.10]),
            (hesitation, 0.12, [0.15, 0.20, 0.50, 0.20, 0.05]),
            // Going round in circles: recommendations show the way out better than a tooltip.
            (navigation_loop, 0.08, [0.10, 0.15, 0.20, 0.40, 0.05]),
            (browsing, 0.25, [0.20, 0.02, 0.05, 0.30, 0.05]),
            // Leaving users resent the pop-up: leaving them alone is best.
            (idle, 0.10, [0.20, 0.05, 0.05, 0.10, 0.12]),
            (decisive, 0.10, [0.60, 0.05, 0.05, 0.15, 0.02]),
            (neutral, 0.13, [0.50, 0.02, 0.05, 0.10, 0.02]),
        ],
        World::PopupAverse => vec![
            // Chat windows are closed unread; a hint next to the trouble is read.
            (repeated_errors, 0.12, [0.10, 0.08, 0.45, 0.05, 0.05]),
            (rage_clicks, 0.10, [0.15, 0.05, 0.35, 0.05, 0.05]),
            // Hesitating shoppers want to compare, not be told how the page works.
            (hesitation, 0.12, [0.15, 0.05, 0.20, 0.40, 0.05]),
            (navigation_loop, 0.08, [0.10, 0.05, 0.15, 0.40, 0.05]),
            // Browsers dismiss the recommendations panel: leave them be.
            (browsing, 0.25, [0.30, 0.02, 0.05, 0.20, 0.05]),
            (idle, 0.10, [0.20, 0.02, 0.05, 0.10, 0.05]),
            (decisive, 0.10, [0.60, 0.05, 0.05, 0.15, 0.02]),
            (neutral, 0.13, [0.50, 0.02, 0.05, 0.10, 0.02]),
        ],
    }
}

/// The intervention policy against simulated users.
#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, default_value_t = 10_000)]
    sessions: usize,
    /// The policy's exploration floor, 0–0.5.
    #[arg(long, default_value_t = 0.05)]
    exploration: f64,
    #[arg(long, value_enum, default_value_t = World::MostlyRight)]
    world: World,
    /// The session model whose minimum confidences decide which actions are eligible; the
    /// current one when not given.
    #[arg(long)]
    session_model: Option<String>,
}

const REBUILD_EVERY: usize = 50;
const FEEDBACK_SHARE: f64 = 0.5;
const CHECKPOINTS: [usize; 5] = [500, 1_000, 2_000, 5_000, 10_000];

fn main() {
    let args = Args::parse();
    let models = Models::default();
    let model = match &args.session_model {
        Some(version) if models.knows_session(version) => models.session_for(version).clone(),
        Some(version) => panic!("no session model {version}"),
        None => models.session.clone(),
    };
    let world = world(args.world);
    let mut rng = StdRng::seed_from_u64(args.seed);
    let mut settings = Settings::default();
    settings.apply(SettingsPatch { exploration: Some(args.exploration), ..Default::default() }).expect("0–0.5");
    let table = Policy::table();
    let mut arms: HashMap<(Context, SuggestedAction), Arm> = HashMap::new();
    let mut learned = Policy::table();
    let (mut regret_table, mut regret_learned, mut regret_floor) = (0.0, 0.0, 0.0);
    // Per context: (table's regret, learned policy's regret).
    let mut by_context: HashMap<Context, (f64, f64)> = HashMap::new();
    println!("sessions  regret: table  learned  oracle  oracle+floor  learned/table");
    for i in 0..args.sessions {
        if i % REBUILD_EVERY == 0 {
            let counts = arms.iter().map(|((c, a), arm)| (*c, *a, *arm));
            learned = Policy::new(settings.clone(), counts);
        }
        let pick: f64 = rng.random();
        let mut cumulative = 0.0;
        let (context, _, rates) = world
            .iter()
            .find(|(_, share, _)| {
                cumulative += share;
                pick < cumulative
            })
            .unwrap_or(world.last().expect("contexts"));
        let confidence = rng.random_range(0.3..=1.0);
        let eligible =
            |a: SuggestedAction| a == SuggestedAction::NoAction || confidence >= settings.min_confidence(&model, a);
        let eligible: Vec<SuggestedAction> = SuggestedAction::ALL.into_iter().filter(|a| eligible(*a)).collect();
        let best = eligible.iter().map(|a| rates[a.index()]).fold(0.0, f64::max);
        // What the exploration floor alone costs: the oracle's best action, but every eligible
        // action tried with its floor share.
        regret_floor +=
            eligible.iter().map(|a| best - rates[a.index()]).sum::<f64>() * args.exploration / eligible.len() as f64;
        let session = format!("session-{}-{i}", args.seed);
        let reading = Reading { context: *context, confidence };
        let by_table = table.draw(&model, 1, &session, reading).action;
        let by_learned = learned.draw(&model, 1, &session, reading).action;
        let (lost_table, lost_learned) = (best - rates[by_table.index()], best - rates[by_learned.index()]);
        regret_table += lost_table;
        regret_learned += lost_learned;
        let entry = by_context.entry(*context).or_default();
        entry.0 += lost_table;
        entry.1 += lost_learned;
        if rng.random_bool(FEEDBACK_SHARE) {
            let helpful = rng.random_bool(rates[by_learned.index()]);
            let arm = arms.entry((*context, by_learned)).or_default();
            if helpful {
                arm.helpful += 1;
            } else {
                arm.unhelpful += 1;
            }
        }
        let n = i + 1;
        if CHECKPOINTS.contains(&n) || n == args.sessions {
            println!(
                "{n:>8}  {regret_table:>13.1}  {regret_learned:>7.1}  {:>6.1}  {regret_floor:>12.1}  {:>13.3}",
                0.0,
                regret_learned / regret_table
            );
        }
    }
    println!(
        "\nper context: the best action, the table's, regret (table, learned), and the learned policy's probability of the best now"
    );
    let final_policy = Policy::new(settings, arms.iter().map(|((c, a), arm)| (*c, *a, *arm)));
    for (context, _, rates) in &world {
        let best =
            SuggestedAction::ALL.into_iter().max_by(|a, b| rates[a.index()].total_cmp(&rates[b.index()])).unwrap();
        let p = final_policy.probabilities(&model, *context, 1.0);
        let (lost_table, lost_learned) = by_context.get(context).copied().unwrap_or_default();
        println!(
            "  {:<32} best {:<20} table {:<20} regret {lost_table:>6.1} {lost_learned:>6.1}  p(best) now {:.2}",
            context.to_string(),
            best.as_str(),
            context.mood.action().as_str(),
            p[best.index()]
        );
    }
}
