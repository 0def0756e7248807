mod properties;

use super::Projection;
use super::scenarios;

fn describe(p: &Projection) -> String {
    let post: Vec<String> = p.posterior.iter().map(|v| format!("{v:.2}")).collect();
    let sig: Vec<&str> = p.signal_ids().map(|s| s.as_str()).collect();
    format!("{} {:.2} {} post=[{}] signals={:?}", p.label, p.confidence, p.action, post.join(" "), sig)
}

#[test]
fn every_scenario_reads_as_labelled() {
    let scenarios = scenarios::all();
    assert!(scenarios.len() >= 24);
    let models = super::Models::default();
    let failures: Vec<String> = models
        .sessions()
        .flat_map(|model| scenarios.iter().map(move |s| (model, s)))
        .filter_map(|(model, s)| {
            let p = s.read(model);
            let (label, action) = measured_otherwise(&model.version, s.name).unwrap_or((s.label, s.action));
            let missing: Vec<_> = s.signals.iter().filter(|id| !p.signal_ids().any(|x| x == **id)).collect();
            let ok = p.label == label && p.action == action && missing.is_empty();
            let (want, got) = ((label, action, &s.signals), describe(&p));
            (!ok).then(|| format!("{} {}: want {want:?}; got {got}", model.version, s.name))
        })
        .collect();
    assert!(failures.is_empty(), "{} scenario(s) misread:\n{}", failures.len(), failures.join("\n"));
}

/// Where a later model reads a scenario differently on purpose, and why.
fn measured_otherwise(version: &str, scenario: &str) -> Option<(super::Mood, super::SuggestedAction)> {
    use super::{Mood, SuggestedAction};
    match (version, scenario) {
        // session-1 held back live chat on three events. Calibrated, an error followed by a rage
        // click within seconds reads as frustration that is right 97 % of the time in the
        // simulator (benches/MODEL.md): a live chat is what the contract's table asks for.
        // Under session-4 an error and a rage click within seconds are two signs of trouble,
        // and frustrated answers with two were right every time on the simulator.
        ("session-2" | "session-4", "an error and a rage click after a quiet spell are a weak guess") => {
            Some((Mood::Frustrated, SuggestedAction::ShowLiveChat))
        }
        // Read as disengaged, at a confidence under the exit offer's 0.45: on the simulator,
        // disengaged answers on this little evidence (a few events, then minutes of silence)
        // are right a quarter of the time — readers pausing between scrolls look the same to
        // an integration that reports idle after 4 s.
        ("session-2", "walked away from the page" | "came back from another tab and left again") => {
            Some((Mood::Disengaged, SuggestedAction::NoAction))
        }
        // As under session-2; under session-3 fields left one after another read the same way.
        ("session-4", "walked away from the page" | "came back from another tab and left again") => {
            Some((Mood::Disengaged, SuggestedAction::NoAction))
        }
        (
            "session-3",
            "walked away from the page"
            | "came back from another tab and left again"
            | "blurring out of fields one after another",
        ) => Some((Mood::Disengaged, SuggestedAction::NoAction)),
        // Misses, and why session-3 never became the default (benches/MODEL.md): three pages
        // visited in a loop with long hovers read as browsing by a hair (posterior 0.51 against
        // 0.49 for confused), and a meltdown read moments later is frustrated at 0.92, under
        // the 0.93 at which session-3 offers live chat.
        ("session-3", "going round in circles") => Some((Mood::Browsing, SuggestedAction::ShowRecommendations)),
        ("session-3", "meltdown read moments later") => Some((Mood::Frustrated, SuggestedAction::NoAction)),
        _ => None,
    }
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

/// `cargo test --lib tune -- --ignored --nocapture` prints every scenario's reading under the
/// current session model, or under the model in the JSON file `MOODRING_MODEL` names (as
/// `examples/fit_model.rs --out` writes).
#[test]
#[ignore]
fn tune() {
    let model = match std::env::var("MOODRING_MODEL") {
        Ok(path) => serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap(),
        Err(_) => super::Models::default().session,
    };
    println!("model {}", model.version);
    for s in scenarios::all() {
        let mark = if s.read(&model).label == s.label { " " } else { "X" };
        println!("{mark} {:<55} want {:<10} got {}", s.name, s.label.as_str(), describe(&s.read(&model)));
    }
}
