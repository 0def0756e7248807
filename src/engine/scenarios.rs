//! Labelled event streams written by reasoning from the contract's tables: what a person
//! watching the session would call it. Every session model must read them as labelled (the
//! engine's tests), and the fit of a new model keeps them as a term of its loss
//! (`examples/fit_model.rs`).

use super::{AffectState, Event, EventKind as K, Model, Mood, Projection, ScrollDirection, SignalId as S};
use super::{SuggestedAction as A, apply_batch, project, project_at};

/// When every scenario starts.
pub const T0: i64 = 1_746_352_800_000;

/// A stream, an optional read at a later instant, and what it must read as.
pub struct Scenario {
    pub name: &'static str,
    pub events: Vec<Event>,
    /// Read the state this many seconds after the last event (decay only).
    pub read_after_s: Option<f64>,
    pub label: Mood,
    pub action: A,
    /// Signals that must be reported (others may be too).
    pub signals: Vec<S>,
}

impl Scenario {
    /// Applies the events in one batch and reads the state where the scenario says.
    pub fn read(&self, model: &Model) -> Projection {
        let mut state = AffectState::new(model);
        apply_batch(model, &mut state, &self.events);
        match (self.read_after_s, state.last_interaction_at_ms) {
            (Some(after), Some(last)) => project_at(model, &state, last + (after * 1000.0) as i64).1,
            _ => project(model, &state),
        }
    }
}

fn e(t_s: f64, kind: K) -> Event {
    Event::new(kind, T0 + (t_s * 1000.0).round() as i64)
}

/// `n` events of `kind` from `start_s`, one every `every_s` seconds.
fn every(start_s: f64, every_s: f64, n: usize, kind: K) -> Vec<Event> {
    (0..n).map(|i| e(start_s + i as f64 * every_s, kind)).collect()
}

fn scenario(name: &'static str, events: Vec<Event>, label: Mood, action: A, signals: &[S]) -> Scenario {
    Scenario { name, events, read_after_s: None, label, action, signals: signals.to_vec() }
}

fn read_later(mut s: Scenario, after_s: f64, label: Mood, action: A, signals: &[S]) -> Scenario {
    s.read_after_s = Some(after_s);
    (s.label, s.action, s.signals) = (label, action, signals.to_vec());
    s
}

/// Calm catalogue browsing: page views, slow downward scrolls, an occasional click.
fn browsing(start_s: f64, minutes: usize) -> Vec<Event> {
    let mut out = Vec::new();
    for m in 0..minutes {
        let t = start_s + m as f64 * 60.0;
        out.push(e(t, K::PageView).on_page(&format!("/catalogue/{}", m % 7)));
        out.push(e(t + 15.0, K::Scroll).scrolling(600.0, Some(ScrollDirection::Down)));
        out.push(e(t + 30.0, K::Scroll).scrolling(500.0, Some(ScrollDirection::Down)));
        out.push(e(t + 45.0, K::Click).at(300.0, 400.0));
    }
    out
}

/// A checkout meltdown: rage clicks and payment errors within half a minute.
fn meltdown(start_s: f64) -> Vec<Event> {
    vec![
        e(start_s, K::Click).at(240.0, 580.0),
        e(start_s + 2.0, K::RageClick).at(240.0, 580.0),
        e(start_s + 4.0, K::Error),
        e(start_s + 8.0, K::RageClick).at(242.0, 578.0),
        e(start_s + 12.0, K::Error),
        e(start_s + 20.0, K::BackNav),
    ]
}

fn focused_form(start_s: f64) -> Vec<Event> {
    let mut out = Vec::new();
    for i in 0..6 {
        let t = start_s + i as f64 * 8.0;
        out.push(e(t, K::Focus));
        out.push(e(t + 4.0, K::Click).at(400.0, 200.0 + 40.0 * i as f64));
    }
    out.push(e(start_s + 50.0, K::InputPause).lasting(1_500.0));
    out.push(e(start_s + 52.0, K::Focus));
    out
}

/// Every scenario.
pub fn all() -> Vec<Scenario> {
    let mut v = Vec::new();

    v.push(scenario("no events", vec![], Mood::Neutral, A::NoAction, &[S::InsufficientData]));
    v.push(scenario(
        "two rage clicks are not enough to judge",
        vec![e(0.0, K::RageClick).at(10.0, 10.0), e(1.0, K::RageClick).at(10.0, 10.0)],
        Mood::Neutral,
        A::NoAction,
        &[S::InsufficientData, S::RageClickDetected],
    ));
    v.push(scenario(
        "checkout meltdown",
        meltdown(0.0),
        Mood::Frustrated,
        A::ShowLiveChat,
        &[S::RageClickDetected, S::RepeatedErrors],
    ));
    v.push(scenario(
        "payment keeps failing",
        [every(0.0, 10.0, 4, K::Error), vec![e(35.0, K::BackNav), e(40.0, K::Click)]].concat(),
        Mood::Frustrated,
        A::ShowLiveChat,
        &[S::RepeatedErrors],
    ));
    v.push(scenario(
        "a dead button clicked in a tight burst",
        [
            vec![e(0.0, K::PageView).on_page("/cart")],
            (0..6).map(|i| e(5.0 + i as f64 * 0.15, K::Click).at(500.0 + i as f64, 300.0)).collect(),
            vec![e(7.0, K::Error)],
        ]
        .concat(),
        Mood::Frustrated,
        A::ShowLiveChat,
        &[S::RageClickDetected],
    ));
    v.push(scenario(
        "an error and a rage click after a quiet spell are a weak guess",
        vec![e(0.0, K::PageView).on_page("/"), e(300.0, K::Error), e(304.0, K::RageClick).at(9.0, 9.0)],
        Mood::Frustrated,
        A::NoAction,
        &[S::ErrorEncountered, S::RageClickDetected],
    ));
    v.push(scenario(
        "lost on a pricing page",
        vec![
            e(0.0, K::PageView).on_page("/pricing"),
            e(6.0, K::Hover).lasting(4_000.0),
            e(12.0, K::Backtrack),
            e(18.0, K::Hover).lasting(5_000.0),
            e(26.0, K::InputPause).lasting(6_000.0),
            e(32.0, K::Scroll).scrolling(400.0, Some(ScrollDirection::Up)),
            e(38.0, K::Hover).lasting(3_000.0),
        ],
        Mood::Confused,
        A::ShowTooltip,
        &[S::Hesitation],
    ));
    v.push(scenario(
        "hunting up and down a long page",
        [
            vec![e(0.0, K::PageView).on_page("/docs")],
            every(2.0, 3.0, 4, K::Backtrack),
            vec![e(15.0, K::Hover).lasting(2_500.0), e(20.0, K::InputPause).lasting(4_000.0)],
        ]
        .concat(),
        Mood::Confused,
        A::ShowTooltip,
        &[S::ExcessiveScrolling, S::Hesitation],
    ));
    v.push(scenario(
        "going round in circles",
        vec![
            e(0.0, K::PageView).on_page("/settings"),
            e(10.0, K::PageView).on_page("/settings/billing"),
            e(20.0, K::PageView).on_page("/settings"),
            e(28.0, K::Hover).lasting(3_000.0),
            e(35.0, K::BackNav),
            e(45.0, K::BackNav),
            e(52.0, K::Hover).lasting(3_500.0),
        ],
        Mood::Confused,
        A::ShowTooltip,
        &[S::NavigationLoop],
    ));
    v.push(scenario(
        "straight through checkout",
        vec![
            e(0.0, K::PageView).on_page("/product/42"),
            e(3.0, K::Click).at(600.0, 300.0),
            e(6.0, K::PageView).on_page("/cart"),
            e(8.0, K::Click).at(900.0, 650.0),
            e(11.0, K::PageView).on_page("/checkout"),
            e(13.0, K::Focus),
            e(15.0, K::Click).at(700.0, 500.0),
            e(17.0, K::Click).at(700.0, 560.0),
        ],
        Mood::Decisive,
        A::NoAction,
        &[],
    ));
    v.push(scenario(
        "rapid progress through a wizard",
        vec![
            e(0.0, K::PageView).on_page("/wizard/1"),
            e(4.0, K::Focus),
            e(6.0, K::Click).at(500.0, 500.0),
            e(9.0, K::PageView).on_page("/wizard/2"),
            e(12.0, K::Focus),
            e(14.0, K::Click).at(500.0, 520.0),
            e(17.0, K::PageView).on_page("/wizard/3"),
            e(19.0, K::Click).at(520.0, 520.0),
        ],
        Mood::Decisive,
        A::NoAction,
        &[S::RapidProgress],
    ));
    v.push(scenario("filling in a long form", focused_form(0.0), Mood::Focused, A::NoAction, &[S::SustainedAttention]));
    v.push(scenario("reading the catalogue", browsing(0.0, 6), Mood::Browsing, A::ShowRecommendations, &[]));
    v.push(scenario(
        "one long idle after a little reading is a weak guess",
        vec![
            e(0.0, K::PageView).on_page("/blog"),
            e(200.0, K::Scroll).scrolling(300.0, Some(ScrollDirection::Down)),
            e(400.0, K::Idle).lasting(90_000.0),
        ],
        Mood::Disengaged,
        A::NoAction,
        &[S::ProlongedIdle],
    ));
    v.push(scenario(
        "walked away from the page",
        vec![
            e(0.0, K::PageView).on_page("/article"),
            e(20.0, K::Scroll).scrolling(300.0, Some(ScrollDirection::Down)),
            e(80.0, K::Idle).lasting(60_000.0),
            e(90.0, K::Blur),
            e(210.0, K::Idle).lasting(120_000.0),
        ],
        Mood::Disengaged,
        A::ShowExitOffer,
        &[S::ProlongedIdle],
    ));
    v.push(scenario(
        "came back from another tab and left again",
        vec![
            e(0.0, K::PageView).on_page("/signup"),
            e(5.0, K::Focus),
            e(8.0, K::Blur),
            e(200.0, K::Blur),
            e(205.0, K::Idle).lasting(45_000.0),
        ],
        Mood::Disengaged,
        A::ShowExitOffer,
        &[S::TabHidden],
    ));
    v.push(scenario(
        "a few events far apart stay neutral",
        vec![e(0.0, K::PageView).on_page("/"), e(600.0, K::Click).at(5.0, 5.0), e(1200.0, K::PageView).on_page("/b")],
        Mood::Neutral,
        A::NoAction,
        &[],
    ));
    v.push(scenario(
        "a meltdown followed by an hour of calm browsing",
        [meltdown(0.0), browsing(60.0, 60)].concat(),
        Mood::Browsing,
        A::ShowRecommendations,
        &[],
    ));
    v.push(scenario(
        "frustration after long browsing wins",
        [browsing(0.0, 30), meltdown(30.0 * 60.0 + 5.0)].concat(),
        Mood::Frustrated,
        A::ShowLiveChat,
        &[S::RageClickDetected, S::RepeatedErrors],
    ));
    v.push(scenario(
        "recovered after the error and got on with the form",
        [meltdown(0.0), focused_form(300.0)].concat(),
        Mood::Focused,
        A::NoAction,
        &[S::SustainedAttention],
    ));
    v.push(read_later(
        scenario("meltdown read moments later", meltdown(0.0), Mood::Frustrated, A::ShowLiveChat, &[]),
        10.0,
        Mood::Frustrated,
        A::ShowLiveChat,
        &[S::RageClickDetected, S::RepeatedErrors],
    ));
    v.push(read_later(
        scenario("meltdown read an hour later", meltdown(0.0), Mood::Frustrated, A::ShowLiveChat, &[]),
        3600.0,
        Mood::Neutral,
        A::NoAction,
        &[S::ProlongedIdle],
    ));
    v.push(read_later(
        scenario("focus read later never becomes browsing", focused_form(0.0), Mood::Focused, A::NoAction, &[]),
        900.0,
        Mood::Neutral,
        A::NoAction,
        &[],
    ));
    v.push(scenario(
        "late-arriving events apply without negative decay",
        {
            let mut m = meltdown(0.0);
            m.reverse();
            m
        },
        Mood::Frustrated,
        A::ShowLiveChat,
        &[S::RepeatedErrors],
    ));
    v.push(scenario(
        "blurring out of fields one after another",
        vec![
            e(0.0, K::PageView).on_page("/survey"),
            e(10.0, K::Focus),
            e(25.0, K::Blur),
            e(40.0, K::Idle).lasting(20_000.0),
            e(55.0, K::Blur),
            e(75.0, K::Idle).lasting(30_000.0),
            e(85.0, K::Blur),
        ],
        Mood::Disengaged,
        A::ShowExitOffer,
        &[S::ProlongedIdle],
    ));
    v
}
