//! Invariants of the engine, over random event streams, plus its robustness to its own numbers.

use crate::engine::scenarios::{self, T0};
use crate::engine::{
    AffectState, Event, EventKind, Model, Models, Mood, Perturbation, ScrollDirection, apply_batch, posterior, project,
    project_at,
};
use proptest::prelude::*;
use rand::{SeedableRng, rngs::StdRng};

fn kind() -> impl Strategy<Value = EventKind> {
    (0..EventKind::COUNT).prop_map(|i| EventKind::ALL[i])
}

/// One event with any combination of the optional fields the API admits.
fn event_at(ts_ms: i64) -> impl Strategy<Value = Event> {
    (
        kind(),
        proptest::option::of((0.0..4000.0f64, 0.0..4000.0f64)),
        proptest::option::of(0.0..86_400_000.0f64),
        proptest::option::of(0.0..100_000.0f64),
        proptest::option::of(prop_oneof![Just(ScrollDirection::Up), Just(ScrollDirection::Down)]),
        proptest::option::of(0u64..6),
    )
        .prop_map(move |(kind, xy, duration_ms, speed, direction, page)| Event {
            kind,
            ts_ms,
            x: xy.map(|p| p.0),
            y: xy.map(|p| p.1),
            duration_ms,
            speed,
            direction,
            page,
        })
}

/// A stream sorted by time: gaps from simultaneous to ten minutes.
fn stream(max_len: usize) -> impl Strategy<Value = Vec<Event>> {
    proptest::collection::vec(0i64..600_000, 0..max_len).prop_flat_map(|gaps| {
        let mut t = T0;
        let times: Vec<i64> = gaps
            .iter()
            .map(|g| {
                t += g;
                t
            })
            .collect();
        times.into_iter().map(event_at).collect::<Vec<_>>()
    })
}

fn replay(model: &Model, events: &[Event]) -> AffectState {
    let mut state = AffectState::new(model);
    apply_batch(model, &mut state, events);
    state
}

/// Every session model a state can run under: the invariants hold for each.
fn session_models() -> Vec<Model> {
    Models::default().sessions().cloned().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn dimensions_stay_in_bounds(events in stream(3000)) {
        for model in &session_models() {
            let mut state = AffectState::new(model);
            for record in apply_batch(model, &mut state, &events) {
                prop_assert!(record.dims.iter().all(|v| (-1.0..=1.0).contains(v)), "{:?}", record.dims);
                prop_assert!((0.0..=1.0).contains(&record.confidence));
            }
            prop_assert_eq!(state.event_count, events.len() as u64);
        }
    }

    #[test]
    fn decay_is_monotone_toward_the_baseline(events in stream(60), a in 0i64..3_600_000, b in 0i64..3_600_000) {
        for model in &session_models() {
            let state = replay(model, &events);
            let Some(last) = state.last_decay_at_ms else { continue };
            let (near, far) = (last + a.min(b), last + a.max(b));
            let (x1, x2) = (state.decayed(model, near).deviation(), state.decayed(model, far).deviation());
            for i in 0..4 {
                prop_assert!(x2[i].abs() <= x1[i].abs(), "dim {i}: {} then {}", x1[i], x2[i]);
                prop_assert!(x2[i] * x1[i] >= 0.0, "dim {i} crossed the baseline");
            }
        }
    }

    #[test]
    fn any_batching_gives_the_identical_state(events in stream(200), cuts in proptest::collection::vec(0usize..200, 0..12)) {
        for model in &session_models() {
            let whole = replay(model, &events);
            let mut cuts: Vec<usize> = cuts.iter().map(|c| (*c).min(events.len())).collect();
            cuts.extend([0, events.len()]);
            cuts.sort_unstable();
            let mut batched = AffectState::new(model);
            let mut records = Vec::new();
            for w in cuts.windows(2) {
                records.extend(apply_batch(model, &mut batched, &events[w[0]..w[1]]));
            }
            prop_assert_eq!(&batched, &whole);
            prop_assert_eq!(records, apply_batch(model, &mut AffectState::new(model), &events));
        }
    }

    #[test]
    fn the_same_input_gives_the_same_output(events in stream(100), at in 0i64..7_200_000) {
        for model in &session_models() {
            let (s1, s2) = (replay(model, &events), replay(model, &events));
            prop_assert_eq!(&s1, &s2);
            prop_assert_eq!(project(model, &s1), project(model, &s2));
            let t = s1.last_decay_at_ms.unwrap_or(T0) + at;
            prop_assert_eq!(project_at(model, &s1, t), project_at(model, &s2, t));
        }
    }

    #[test]
    fn a_reloaded_state_continues_exactly(events in stream(100), more in stream(20)) {
        for model in &session_models() {
            let state = replay(model, &events);
            let mut reloaded: AffectState = serde_json::from_str(&serde_json::to_string(&state).unwrap()).unwrap();
            prop_assert_eq!(&reloaded, &state);
            let mut live = state;
            apply_batch(model, &mut live, &more);
            apply_batch(model, &mut reloaded, &more);
            prop_assert_eq!(live, reloaded);
        }
    }

    #[test]
    fn a_later_read_keeps_the_label_or_falls_to_neutral(events in stream(60), at in 0i64..7_200_000) {
        for model in &session_models() {
            let state = replay(model, &events);
            let now = project(model, &state);
            let t = state.last_decay_at_ms.unwrap_or(T0) + at;
            let (_, later) = project_at(model, &state, t);
            prop_assert!(later.label == now.label || later.label == Mood::Neutral);
            prop_assert!((0.0..=1.0).contains(&later.confidence));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// A handful of plain clicks at a human pace, with no position, page or error to go on, is
    /// no reason to interrupt anyone with a live chat. Held for the model new sessions start
    /// under and for session-3; session-2 fails it (benches/MODEL.md).
    #[test]
    fn a_few_unhurried_clicks_never_ask_for_live_chat(gaps in proptest::collection::vec(1_500i64..8_000, 2..6)) {
        for model in [&Models::default().session, &Model::session_v3()] {
            let mut t = T0;
            let mut events = vec![Event::new(EventKind::Click, t)];
            for gap in &gaps {
                t += gap;
                events.push(Event::new(EventKind::Click, t));
            }
            let mut state = AffectState::new(model);
            for r in apply_batch(model, &mut state, &events) {
                prop_assert_ne!(r.action, crate::engine::SuggestedAction::ShowLiveChat, "{} {:?}", model.version, gaps);
            }
        }
    }
}

#[test]
fn confidence_is_zero_with_no_events() {
    let model = Model::session_v1();
    let state = AffectState::new(&model);
    assert_eq!(project(&model, &state).confidence, 0.0);
    assert_eq!(project_at(&model, &state, T0).1.confidence, 0.0);
}

#[test]
fn an_older_event_applies_without_negative_decay() {
    let model = Model::session_v1();
    let mut state = replay(&model, &[Event::new(EventKind::Click, T0 + 60_000)]);
    let before = state.dims;
    apply_batch(&model, &mut state, &[Event::new(EventKind::Error, T0)]);
    let fresh = replay(&model, &[Event::new(EventKind::Error, T0)]);
    // The error lands on the undecayed state; the state's clock does not move back.
    assert_eq!(state.last_decay_at_ms, Some(T0 + 60_000));
    assert!(state.dims[0] < before[0]);
    assert!((state.dims[2] - before[2] - (fresh.dims[2]) * (1.0 - before[2])).abs() < 1e-12);
}

#[test]
fn a_second_error_within_a_minute_weighs_more() {
    let model = Model::session_v1();
    let error_tension = model.impulse(EventKind::Error)[2];
    // The impulse before saturation: delta = impulse · (1 − s) for a positive impulse.
    let impulse_of_second = |gap_ms: i64| {
        let mut state = replay(&model, &[Event::new(EventKind::Error, T0)]);
        let before = state.decayed(&model, T0 + gap_ms).dims[2];
        let records = apply_batch(&model, &mut state, &[Event::new(EventKind::Error, T0 + gap_ms)]);
        (records[0].delta[2] / (1.0 - before), records[0].trigger_reason.clone())
    };
    let (soon, reason) = impulse_of_second(30_000);
    assert!((soon - error_tension * 1.5).abs() < 1e-9, "{soon}");
    assert!(reason.contains("the 2nd in quick succession (×1.5)"), "{reason}");
    let (late, _) = impulse_of_second(600_000);
    assert!((late - error_tension).abs() < 1e-9, "{late}");
}

#[test]
fn the_window_of_remembered_events_is_bounded() {
    let model = Model::session_v1();
    let events: Vec<Event> = (0..1000).map(|i| Event::new(EventKind::Click, T0 + i * 100)).collect();
    let state = replay(&model, &events);
    assert_eq!(state.recent.len(), model.window_max_events);
    let sparse: Vec<Event> = (0..100).map(|i| Event::new(EventKind::Click, T0 + i * 60_000)).collect();
    assert_eq!(replay(&model, &sparse).recent.len(), 6, "only the last five minutes are kept");
}

/// A later read says the label of the latest event or `neutral`, even where decay alone would
/// carry the state past another prototype (some scenario must do so, or this proves nothing).
#[test]
fn decay_never_invents_a_label() {
    let model = Model::session_v1();
    let mut passed_through_another = Vec::new();
    for s in scenarios::all().iter().filter(|s| s.events.len() >= 3) {
        let state = replay(&model, &s.events);
        let (last, then) = (state.last_decay_at_ms.unwrap(), project(&model, &state).label);
        for secs in (0..3600).step_by(10) {
            let at = last + secs * 1000;
            let raw = posterior(&model, &state.decayed(&model, at));
            let raw_label = Mood::ALL[(0..Mood::COUNT).max_by(|a, b| raw[*a].total_cmp(&raw[*b])).unwrap()];
            if ![then, Mood::Neutral].contains(&raw_label) {
                passed_through_another.push((s.name, raw_label));
            }
            let label = project_at(&model, &state, at).1.label;
            assert!(label == then || label == Mood::Neutral, "{} at +{secs}s: {label}", s.name);
        }
    }
    assert!(!passed_through_another.is_empty());
}

/// Every scenario keeps its label when each impulse and each half-life is scaled by a factor
/// drawn from [0.8, 1.2] (fixed seed): the labels do not hang on the third decimal of a number.
/// Not session-3: a loop between pages, fields left one after another and a few events far
/// apart change label under it, one reason it never became the default (benches/MODEL.md).
#[test]
fn scenario_labels_survive_twenty_percent_perturbations() {
    let mut rng = StdRng::seed_from_u64(0x6d6f_6f64);
    let mut failures = Vec::new();
    let models = Models::default();
    let robust = models.sessions().filter(|m| m.version != "session-3");
    for (round, base) in robust.flat_map(|m| std::iter::repeat_n(m, 48)).enumerate() {
        let model = Perturbation::draw(&mut rng).apply(base);
        for s in scenarios::all() {
            let got = s.read(&model).label;
            if got != s.label {
                failures.push(format!("{} round {round}: {} read as {got}, not {}", base.version, s.name, s.label));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Changing any number of a released model fails here: a change is a new version (see the
/// engine's documentation), and its fingerprint is pinned here when it is added.
#[test]
fn the_model_version_names_its_numbers() {
    let session = Model::session_v1();
    assert_eq!((session.version.as_str(), session.fingerprint()), ("session-1", 2162064115625853432));
    let session = Model::session_v2();
    assert_eq!((session.version.as_str(), session.fingerprint()), ("session-2", 7634008932420750416));
    let session = Model::session_v3();
    assert_eq!((session.version.as_str(), session.fingerprint()), ("session-3", 4452505233068753456));
    let session = Model::session_v4();
    assert_eq!((session.version.as_str(), session.fingerprint()), ("session-4", 768104383756632007));
    let user = Model::user_v1();
    assert_eq!((user.version.as_str(), user.fingerprint()), ("user-1", 17728191114233808825));
}

/// A person who is always a little hesitant comes to read as neutral when hesitant: the
/// baseline converges on their usual state within days of regular use.
#[test]
fn a_users_baseline_converges_on_their_usual_behaviour() {
    let model = Model::user_v1();
    let day_ms = 86_400_000;
    let usual_day = |day: i64| -> Vec<Event> {
        let start = T0 + day * day_ms;
        (0..40)
            .map(|i| {
                let kind = [EventKind::Hover, EventKind::InputPause, EventKind::Backtrack, EventKind::Scroll][i % 4];
                Event::new(kind, start + i as i64 * 20_000).lasting(3_000.0)
            })
            .collect()
    };
    let mut state = AffectState::new(&model);
    let first = apply_batch(&model, &mut state, &usual_day(0));
    assert_eq!(first.last().unwrap().label, Mood::Confused, "at first their habit reads as confusion");
    let mut baselines = vec![state.baseline];
    for day in 1..30 {
        apply_batch(&model, &mut state, &usual_day(day));
        baselines.push(state.baseline);
    }
    let step = |a: usize, b: usize| (baselines[b] - baselines[a]).norm();
    assert!(step(0, 1) > 10.0 * step(28, 29), "the baseline settles: {} then {}", step(0, 1), step(28, 29));
    assert!(baselines[29][2] > 0.1, "it moved toward their usual tension: {:?}", baselines[29]);
    let last = apply_batch(&model, &mut state, &usual_day(30));
    assert_eq!(last.last().unwrap().label, Mood::Neutral, "a month on, the same habit reads as their neutral");
    // A real change still shows.
    let meltdown: Vec<Event> = (0..6)
        .map(|i| Event::new([EventKind::RageClick, EventKind::Error][i % 2], T0 + 31 * day_ms + i as i64 * 2_000))
        .collect();
    assert_eq!(apply_batch(&model, &mut state, &meltdown).last().unwrap().label, Mood::Frustrated);
}

#[test]
fn a_moving_baseline_stays_in_bounds() {
    let model = Model::user_v1();
    let events: Vec<Event> = (0..5000).map(|i| Event::new(EventKind::RageClick, T0 + i * 1000)).collect();
    let state = replay(&model, &events);
    assert!(state.baseline.iter().chain(state.dims.iter()).all(|v| (-1.0..=1.0).contains(v)));
}
