mod properties;
mod scenarios;

use super::{AffectState, Model, Projection, apply_batch, project, project_at};
use scenarios::Scenario;

/// Applies the scenario's events in one batch and reads it where the scenario says.
fn run(model: &Model, s: &Scenario) -> Projection {
    let mut state = AffectState::new(model);
    apply_batch(model, &mut state, &s.events);
    match (s.read_after_s, state.last_interaction_at_ms) {
        (Some(after), Some(last)) => project_at(model, &state, last + (after * 1000.0) as i64).1,
        _ => project(model, &state),
    }
}

fn describe(p: &Projection) -> String {
    let post: Vec<String> = p.posterior.iter().map(|v| format!("{v:.2}")).collect();
    let sig: Vec<&str> = p.signal_ids().map(|s| s.as_str()).collect();
    format!("{} {:.2} {} post=[{}] signals={:?}", p.label, p.confidence, p.action, post.join(" "), sig)
}

#[test]
fn every_scenario_reads_as_labelled() {
    let model = Model::session_v1();
    let scenarios = scenarios::all();
    assert!(scenarios.len() >= 24);
    let failures: Vec<String> = scenarios
        .iter()
        .filter_map(|s| {
            let p = run(&model, s);
            let missing: Vec<_> = s.signals.iter().filter(|id| !p.signal_ids().any(|x| x == **id)).collect();
            let ok = p.label == s.label && p.action == s.action && missing.is_empty();
            (!ok).then(|| format!("{}: want {} {} {:?}; got {}", s.name, s.label, s.action, s.signals, describe(&p)))
        })
        .collect();
    assert!(failures.is_empty(), "{} scenario(s) misread:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn scenarios_cover_every_label_and_action() {
    let all = scenarios::all();
    for mood in super::Mood::ALL {
        assert!(all.iter().any(|s| s.label == mood), "no scenario is labelled {mood}");
    }
    for action in ["no_action", "show_live_chat", "show_tooltip", "show_recommendations", "show_exit_offer"] {
        assert!(all.iter().any(|s| s.action.as_str() == action), "no scenario expects {action}");
    }
}

/// `cargo test --lib tune -- --ignored --nocapture` prints every scenario's reading.
#[test]
#[ignore]
fn tune() {
    let model = Model::session_v1();
    for s in scenarios::all() {
        let mark = if run(&model, &s).label == s.label { " " } else { "X" };
        println!("{mark} {:<55} want {:<10} got {}", s.name, s.label.as_str(), describe(&run(&model, &s)));
    }
}
