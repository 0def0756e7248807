use super::*;
use crate::interventions::SettingsPatch;
use proptest::prelude::*;

fn contexts() -> impl Iterator<Item = Context> {
    Mood::ALL.into_iter().flat_map(|mood| {
        std::iter::once(None).chain(SignalId::ALL.map(Some)).map(move |signal| Context { mood, signal })
    })
}

fn frustrated(signal: SignalId) -> Context {
    Context { mood: Mood::Frustrated, signal: Some(signal) }
}

/// `n` answers for `action` in `context`, `helpful` of them helpful.
fn answers(context: Context, action: SuggestedAction, helpful: u64, n: u64) -> (Context, SuggestedAction, Arm) {
    (context, action, Arm { helpful, unhelpful: n - helpful })
}

fn with(patch: SettingsPatch) -> Settings {
    let mut s = Settings::default();
    s.apply(patch).unwrap();
    s
}

proptest! {
    /// Without feedback every context reads the contract's table, with certainty.
    #[test]
    fn no_feedback_is_the_table(confidence in 0.0..=1.0f64, seed in any::<u64>()) {
        let model = Model::session_v1();
        let policy = Policy::table();
        for context in contexts() {
            let wanted = context.mood.action();
            let table = if confidence >= model.action_min_confidence(wanted) { wanted } else { SuggestedAction::NoAction };
            prop_assert_eq!(policy.choose(&model, Reading { context, confidence }, seed), Choice { action: table, probability: 1.0 });
        }
    }

    /// Whatever the feedback and settings: the probabilities sum to 1, a disabled or
    /// unconfident action has none, and each eligible one has at least its exploration share.
    #[test]
    fn probabilities_respect_the_settings(
        counts in proptest::collection::vec((0..5usize, 0..40u64, 0..40u64), 0..8),
        disabled in proptest::collection::vec(1..5usize, 0..4),
        exploration in 0.0..=0.5f64,
        confidence in 0.0..=1.0f64,
        learning in any::<bool>(),
    ) {
        let model = Model::session_v1();
        let context = frustrated(SignalId::RepeatedErrors);
        let arms = counts.iter().map(|&(a, h, u)| (context, SuggestedAction::ALL[a], Arm { helpful: h, unhelpful: u }));
        let settings = with(SettingsPatch {
            learning: Some(learning),
            exploration: Some(exploration),
            disabled_actions: Some(disabled.iter().map(|&a| SuggestedAction::ALL[a].to_string()).collect()),
            ..Default::default()
        });
        let policy = Policy::new(settings, arms);
        let p = policy.probabilities(&model, context, confidence);
        prop_assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{p:?}");
        let eligible: Vec<SuggestedAction> = SuggestedAction::ALL
            .into_iter()
            .filter(|a| *a == SuggestedAction::NoAction
                || (!disabled.contains(&a.index()) && confidence >= model.action_min_confidence(*a)))
            .collect();
        for a in SuggestedAction::ALL {
            if !eligible.contains(&a) {
                prop_assert_eq!(p[a.index()], 0.0, "{} is not eligible", a);
            } else if policy.learns_in(context) {
                prop_assert!(p[a.index()] >= exploration / eligible.len() as f64 - 1e-12);
            }
        }
    }
}

#[test]
fn feedback_moves_a_context_to_what_helps() {
    let model = Model::session_v1();
    let context = frustrated(SignalId::RepeatedErrors);
    let arms = [
        answers(context, SuggestedAction::ShowLiveChat, 0, 20),
        answers(context, SuggestedAction::ShowTooltip, 18, 20),
    ];
    let settings = with(SettingsPatch { exploration: Some(0.0), ..Default::default() });
    let policy = Policy::new(settings, arms);
    let p = policy.probabilities(&model, context, 0.9);
    assert!(p[SuggestedAction::ShowTooltip.index()] > 0.99, "{p:?}");
    // Only that context learned: its neighbours keep the table.
    assert_eq!(
        policy.choose(&model, Reading { context: frustrated(SignalId::RageClickDetected), confidence: 0.9 }, 7).action,
        SuggestedAction::ShowLiveChat
    );
    // With learning off, the same feedback changes nothing.
    let off = Policy::new(with(SettingsPatch { learning: Some(false), ..Default::default() }), arms);
    assert_eq!(
        off.choose(&model, Reading { context, confidence: 0.9 }, 7),
        Choice { action: SuggestedAction::ShowLiveChat, probability: 1.0 }
    );
}

#[test]
fn two_unlucky_answers_do_not_overturn_the_table_but_a_few_consistent_ones_do() {
    let model = Model::session_v1();
    let context = frustrated(SignalId::RepeatedErrors);
    let chat = SuggestedAction::ShowLiveChat;
    let unlucky = Policy::new(Settings::default(), [answers(context, chat, 0, 2)]);
    let p = unlucky.probabilities(&model, context, 0.9);
    assert!(p[chat.index()] > 0.6, "{p:?}");
    let tooltip = SuggestedAction::ShowTooltip;
    let consistent = Policy::new(Settings::default(), [answers(context, chat, 0, 4), answers(context, tooltip, 3, 4)]);
    let p = consistent.probabilities(&model, context, 0.9);
    assert!(p[tooltip.index()] > 0.8, "{p:?}");
}

#[test]
fn draws_follow_the_probabilities() {
    let model = Model::session_v1();
    let context = frustrated(SignalId::RepeatedErrors);
    let policy = Policy::new(Settings::default(), [answers(context, SuggestedAction::ShowLiveChat, 5, 10)]);
    let p = policy.probabilities(&model, context, 0.9);
    let mut seen = [0u32; SuggestedAction::COUNT];
    for i in 0..20_000 {
        let choice = policy.choose(&model, Reading { context, confidence: 0.9 }, seed(1, &format!("s{i}"), context));
        assert_eq!(choice.probability, p[choice.action.index()]);
        seen[choice.action.index()] += 1;
    }
    for a in SuggestedAction::ALL {
        let share = f64::from(seen[a.index()]) / 20_000.0;
        assert!((share - p[a.index()]).abs() < 0.015, "{a}: drew {share}, probability {}", p[a.index()]);
    }
}

#[test]
fn seeds_are_stable_and_separate_what_they_hash() {
    let context = frustrated(SignalId::RepeatedErrors);
    assert_eq!(seed(1, "s", context), seed(1, "s", context));
    let others = [
        seed(2, "s", context),
        seed(1, "t", context),
        seed(1, "s", frustrated(SignalId::RageClickDetected)),
        seed(1, "s", Context { mood: Mood::Confused, signal: Some(SignalId::RepeatedErrors) }),
    ];
    assert!(others.iter().all(|o| *o != seed(1, "s", context)));
    // Pinned: a change would reshuffle every stored session's draw.
    assert_eq!(seed(1, "s", context), SEED_OF_S);
}

const SEED_OF_S: u64 = 12_336_923_120_055_593_930;

#[test]
fn contexts_round_trip_through_their_names() {
    for context in contexts() {
        assert_eq!(Context::parse(context.mood.as_str(), context.signal_str()), Some(context));
    }
    assert_eq!(Context::parse("frustrated", "bogus"), None);
}

/// A minimum the tenant did not set is the reading's model's: confidences mean what that
/// model's calibration says. One the tenant set holds under every model.
#[test]
fn minimums_are_the_readings_models_unless_set() {
    let (v1, v4) = (Model::session_v1(), Model::session_v4());
    let reading = Reading { context: frustrated(SignalId::RepeatedErrors), confidence: 0.8 };
    let chat = SuggestedAction::ShowLiveChat;
    let policy = Policy::table();
    assert_eq!(policy.choose(&v1, reading, 7).action, chat, "session-1 offers live chat from 0.5");
    assert_eq!(policy.choose(&v4, reading, 7).action, SuggestedAction::NoAction, "session-4 from 0.93");
    let set = Policy::new(with(SettingsPatch { min_confidence: vec![(chat, 0.75)], ..Default::default() }), []);
    assert!([&v1, &v4].iter().all(|m| set.allows(m, chat, 0.8) && !set.allows(m, chat, 0.7)));
}
