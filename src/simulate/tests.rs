//! The personas as properties of the current session model (`session-4`), over many seeds, and
//! the simulator's own determinism. (`session-1` fails most of them: benches/MODEL.md.)

use super::{Device, Integration, Persona, Point, read, session, sessions};
use crate::engine::{Models, Mood, SuggestedAction};

const SEEDS: u64 = 100;
const WAYS: [(Device, Integration); 4] = [
    (Device::Mouse, Integration::Tracker),
    (Device::Touch, Integration::Tracker),
    (Device::Mouse, Integration::Direct),
    (Device::Touch, Integration::Direct),
];

/// Each persona on each device and integration, `SEEDS` times, with the fitted model's answers.
fn runs(persona: Persona) -> impl Iterator<Item = Vec<Point>> {
    let model = Models::default().session;
    WAYS.into_iter()
        .flat_map(move |(device, integration)| (0..SEEDS).map(move |seed| (device, integration, seed)))
        .map(move |(device, integration, seed)| read(&model, 0, &session(seed, persona, device, integration)))
}

fn share(hits: usize, of: usize) -> f64 {
    hits as f64 / of as f64
}

#[test]
fn a_failing_checkout_reads_as_frustrated_within_ten_events_of_the_trouble() {
    let runs: Vec<Vec<Point>> = runs(Persona::FailingCheckout).collect();
    let quick = runs
        .iter()
        .filter(|points| {
            let start = points.iter().position(|p| p.truth == Mood::Frustrated).expect("a frustrated stretch");
            points[start..].iter().take(10).any(|p| p.label == Mood::Frustrated)
        })
        .count();
    assert!(share(quick, runs.len()) >= 0.95, "{quick} of {}", runs.len());
}

#[test]
fn a_reader_who_hits_errors_is_read_as_frustrated_before_the_errors_end() {
    let runs: Vec<Vec<Point>> = runs(Persona::ReaderHitsErrors).collect();
    let seen = runs
        .iter()
        .filter(|points| points.iter().any(|p| p.truth == Mood::Frustrated && p.label == Mood::Frustrated))
        .count();
    assert!(share(seen, runs.len()) >= 0.95, "{seen} of {}", runs.len());
}

#[test]
fn calm_personas_are_almost_never_offered_live_chat() {
    let calm = Persona::ALL.into_iter().filter(|p| !p.troubled());
    let (mut alarms, mut total) = (0, 0);
    for persona in calm {
        for points in runs(persona) {
            total += 1;
            alarms += usize::from(points.iter().any(|p| p.action == SuggestedAction::ShowLiveChat));
        }
    }
    assert!(share(alarms, total) <= 0.02, "{alarms} of {total}");
}

/// The answer after the last event is the persona's truth in most sessions: what an agent
/// reading the mood at the end would act on.
#[test]
fn each_persona_ends_read_as_what_it_is() {
    for persona in Persona::ALL {
        let runs: Vec<Vec<Point>> = runs(persona).collect();
        let right = runs.iter().filter(|points| points.last().is_some_and(Point::correct)).count();
        assert!(share(right, runs.len()) >= 0.8, "{}: {right} of {}", persona.as_str(), runs.len());
    }
}

#[test]
fn touch_searchers_are_not_read_as_frustrated() {
    let model = Models::default().session;
    let (mut frustrated, mut total) = (0, 0);
    for (seed, integration) in (0..SEEDS).flat_map(|s| [(s, Integration::Tracker), (s, Integration::Direct)]) {
        for p in read(&model, 0, &session(seed, Persona::SearchingPage, Device::Touch, integration)) {
            total += 1;
            frustrated += usize::from(p.label == Mood::Frustrated);
        }
    }
    assert!(share(frustrated, total) <= 0.01, "{frustrated} of {total}");
}

#[test]
fn a_seed_gives_the_same_sessions_and_another_seed_others() {
    let events = |seed| -> Vec<_> { sessions(seed, 40).into_iter().flat_map(|s| s.events).collect() };
    assert_eq!(events(7), events(7));
    assert_ne!(events(7), events(8));
}

#[test]
fn every_persona_and_device_turns_up_in_a_mix() {
    let mix = super::metrics::mix(&sessions(1, 2_000));
    for (persona, mouse, touch) in mix {
        assert!(mouse >= 40 && touch >= 30, "{}: {mouse} mouse, {touch} touch", persona.as_str());
    }
}
