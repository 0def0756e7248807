use crate::helpers::fresh_database;
use crate::helpers::{T0, TestApp, engine_meltdown, meltdown, meltdown_events, options, r4, spawn_on, spawn_with};
use chrono::DateTime;
use moodring::engine::{
    AffectState, Dims, Event, EventKind, Model, Models, apply_batch, label_of, project, project_at,
};
use moodring::server::ServerOptions;
use moodring::state::Clock;
use serde_json::{Value, json};

/// The server's clock: a minute after the meltdown.
fn clock() -> Clock {
    Clock::fixed(DateTime::from_timestamp(T0 + 60, 0).unwrap())
}

async fn app_with_meltdown() -> (TestApp, String) {
    let app = spawn_with(clock()).await;
    let key = app.key("starter").await;
    app.post_events(&key, "user_abc", meltdown()).await;
    (app, key)
}

#[tokio::test]
async fn the_state_is_the_engines() {
    let (app, key) = app_with_meltdown().await;
    let (model, state, _) = engine_meltdown();
    let p = project(&model, &state);
    let signals: Vec<Value> = p
        .signals
        .iter()
        .map(|s| json!({"id": s.id.as_str(), "strength": r4(s.strength), "values": s.values}))
        .collect();
    app.get("/v1/sessions/user_abc/state", &key).await.expect(
        200,
        json!({"mood": {
            "session_id": "user_abc",
            "valence": state.dims[0], "arousal": state.dims[1], "tension": state.dims[2], "affiliation": state.dims[3],
            "baseline_valence": 0.0, "baseline_arousal": 0.0, "baseline_tension": 0.0, "baseline_affiliation": 0.0,
            "label": "frustrated",
            "confidence": r4(p.confidence),
            "suggested_action": "show_live_chat",
            "signals": signals,
            "event_count": 6,
            "created_at": "2025-05-04T10:01:00.000Z",
            "updated_at": "2025-05-04T10:00:12.000Z",
            "last_decay_at": "2025-05-04T10:00:12.000Z",
            "last_interaction_at": "2025-05-04T10:00:12.000Z",
            "model_version": model.version,
            "scale": "unit"
        }}),
    );
}

#[tokio::test]
async fn a_later_instant_only_decays() {
    let (app, key) = app_with_meltdown().await;
    let (model, state, _) = engine_meltdown();
    let soon = app.get(&format!("/v1/sessions/user_abc/state?at={}", T0 + 22), &key).await.json["mood"].clone();
    let (later, p) = project_at(&model, &state, (T0 + 22) * 1000);
    assert_eq!((soon["label"].clone(), soon["valence"].clone()), (json!("frustrated"), json!(later.dims[0])));
    assert_eq!(soon["last_decay_at"], "2025-05-04T10:00:22.000Z");
    assert_eq!(soon["confidence"], r4(p.confidence));
    assert!(soon["tension"].as_f64().unwrap() < state.dims[2]);
    let hour = app.get("/v1/sessions/user_abc/state?at=2025-05-04T11:00:12Z", &key).await.json["mood"].clone();
    assert_eq!((hour["label"].clone(), hour["suggested_action"].clone()), (json!("neutral"), json!("no_action")));
    assert!(hour["arousal"].as_f64().unwrap().abs() < 1e-6);
}

#[tokio::test]
async fn at_must_be_a_time_after_the_latest_event() {
    let (app, key) = app_with_meltdown().await;
    app.get(&format!("/v1/sessions/user_abc/state?at={}", T0 + 11), &key).await.expect(
        400,
        json!({"error": "Invalid query parameter", "field": "at", "message": "must not be before the session's latest event (2025-05-04T10:00:12.000Z)"}),
    );
    for bad in ["yesterday", "2025-13-01T00:00:00Z", "1e30", "NaN"] {
        let r = app.get(&format!("/v1/sessions/user_abc/state?at={bad}"), &key).await;
        assert_eq!((r.status.as_u16(), r.json["field"].as_str()), (400, Some("at")), "{bad}");
    }
    let r = app.get("/v1/sessions/user_abc/state?scale=percent", &key).await;
    assert_eq!((r.status.as_u16(), r.json["field"].as_str()), (400, Some("scale")));
}

#[tokio::test]
async fn the_sonzai_scale_runs_0_to_100_with_calm_high() {
    let (app, key) = app_with_meltdown().await;
    let unit = app.get("/v1/sessions/user_abc/state", &key).await.json["mood"].clone();
    let sonzai = app.get("/v1/sessions/user_abc/state?scale=0-100", &key).await.json["mood"].clone();
    let f = |v: &Value, k: &str| v[k].as_f64().unwrap();
    assert!((f(&sonzai, "valence") - (f(&unit, "valence") + 1.0) * 50.0).abs() < 1e-9);
    assert!((f(&sonzai, "tension") - (1.0 - f(&unit, "tension")) * 50.0).abs() < 1e-9);
    assert!(f(&sonzai, "tension") < 50.0, "a tense session reads as not calm");
    assert_eq!((f(&sonzai, "baseline_tension"), sonzai["scale"].clone()), (50.0, json!("0-100")));
}

#[tokio::test]
async fn history_has_one_entry_per_event_newest_first() {
    let (app, key) = app_with_meltdown().await;
    let (_, _, records) = engine_meltdown();
    let r = app.get("/v1/sessions/user_abc/mood-history", &key).await;
    assert_eq!(r.status, 200);
    let entries = r.json["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 6);
    assert_eq!(r.json.get("next_cursor"), None);
    let last = records.last().unwrap();
    let signals: Vec<Value> = last
        .signals
        .iter()
        .map(|s| json!({"id": s.id.as_str(), "strength": r4(s.strength), "values": s.values}))
        .collect();
    assert_eq!(
        entries[0],
        json!({
            "valence": last.dims[0], "arousal": last.dims[1], "tension": last.dims[2], "affiliation": last.dims[3],
            "delta_valence": last.delta[0], "delta_arousal": last.delta[1], "delta_tension": last.delta[2], "delta_affiliation": last.delta[3],
            "label": "frustrated",
            "confidence": r4(last.confidence),
            "timestamp": "2025-05-04T10:00:12.000Z",
            "trigger_type": "back_nav",
            "trigger_reason": last.trigger_reason,
            "signals": signals
        })
    );
    let types: Vec<&str> = entries.iter().map(|e| e["trigger_type"].as_str().unwrap()).collect();
    assert_eq!(types, ["back_nav", "error", "rage_click", "idle", "error", "rage_click"]);
}

#[tokio::test]
async fn history_pages_never_skip_or_repeat_while_events_arrive() {
    let (app, key) = app_with_meltdown().await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for page in 0.. {
        let path = match &cursor {
            Some(c) => format!("/v1/sessions/user_abc/mood-history?limit=4&before={c}"),
            None => "/v1/sessions/user_abc/mood-history?limit=4".to_owned(),
        };
        let r = app.get(&path, &key).await;
        seen.extend(r.json["entries"].as_array().unwrap().iter().map(|e| e["timestamp"].as_str().unwrap().to_owned()));
        // New events land between page reads.
        app.post_events(&key, "user_abc", json!([{"type": "click", "ts": T0 + 20 + page}])).await;
        match r.json.get("next_cursor") {
            Some(c) => cursor = Some(c.as_str().unwrap().to_owned()),
            None => break,
        }
    }
    let expected: Vec<String> = [12, 10, 8, 7, 2, 0].iter().map(|s| format!("2025-05-04T10:00:{s:02}.000Z")).collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn history_parameters_are_checked() {
    let (app, key) = app_with_meltdown().await;
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=ten", "limit"),
        ("before=abc", "before"),
        ("before=-3", "before"),
    ] {
        let r = app.get(&format!("/v1/sessions/user_abc/mood-history?{query}"), &key).await;
        assert_eq!(
            (r.status.as_u16(), r.json["error"].as_str(), r.json["field"].as_str()),
            (400, Some("Invalid query parameter"), Some(field)),
            "{query}"
        );
    }
    assert_eq!(app.get("/v1/sessions/user_abc/mood-history?limit=500", &key).await.status, 200);
    let not_found = json!({"error": "Session not found", "session_id": "ghost"});
    app.get("/v1/sessions/ghost/mood-history", &key).await.expect(404, not_found.clone());
    app.get("/v1/sessions/ghost/state", &key).await.expect(404, not_found);
    let other = app.key("starter").await;
    assert_eq!(app.get("/v1/sessions/user_abc/mood-history", &other).await.status, 404);
}

#[tokio::test]
async fn the_aggregate_averages_recently_active_sessions() {
    let app = spawn_with(clock()).await;
    let key = app.key("starter").await;
    app.post_events(&key, "angry", meltdown()).await;
    app.post_events(
        &key,
        "calm",
        json!([{"type": "page_view", "ts": T0}, {"type": "scroll", "speed": 500, "ts": T0 + 20}]),
    )
    .await;
    app.post_events(&key, "old", json!([{"type": "error", "ts": T0 - 10 * 86_400}])).await;
    let other = app.key("starter").await;
    app.post_events(&other, "elsewhere", meltdown()).await;

    let state = |id: &'static str| {
        let (app, key) = (&app, &key);
        async move { app.get(&format!("/v1/sessions/{id}/state"), key).await.json["mood"].clone() }
    };
    let (a, c) = (state("angry").await, state("calm").await);
    let mean = |k: &str| (a[k].as_f64().unwrap() + c[k].as_f64().unwrap()) / 2.0;
    let r = app.get("/v1/analytics/moods/aggregate", &key).await;
    assert_eq!(
        (r.json["session_count"].clone(), r.json["user_count"].clone(), r.json["days_window"].clone()),
        (json!(2), json!(0), json!(5))
    );
    for k in ["valence", "arousal", "tension", "affiliation"] {
        assert!((r.json[k].as_f64().unwrap() - mean(k)).abs() < 1e-9, "{k}");
    }
    // The mean point read as the model reads any point (the baseline is the origin).
    let mean_point = Dims::from_fn(|i, _| mean(["valence", "arousal", "tension", "affiliation"][i]));
    assert_eq!(r.json["label"], label_of(&Models::default().session, &mean_point).as_str());
    assert_eq!(app.get("/v1/analytics/moods/aggregate?days=30", &key).await.json["session_count"], 3);

    app.delete(&key, "angry").await;
    let r = app.get("/v1/analytics/moods/aggregate?scale=0-100", &key).await;
    assert_eq!((r.json["session_count"].clone(), r.json["scale"].clone()), (json!(1), json!("0-100")));
    assert!((r.json["valence"].as_f64().unwrap() - (c["valence"].as_f64().unwrap() + 1.0) * 50.0).abs() < 1e-9);
}

#[tokio::test]
async fn an_empty_aggregate_is_neutral_and_days_are_bounded() {
    let app = spawn_with(clock()).await;
    let key = app.key("starter").await;
    app.get("/v1/analytics/moods/aggregate?days=7", &key).await.expect(
        200,
        json!({"valence": 0.0, "arousal": 0.0, "tension": 0.0, "affiliation": 0.0, "label": "neutral",
               "session_count": 0, "user_count": 0, "days_window": 7, "scale": "unit"}),
    );
    for days in ["0", "366", "-1", "five"] {
        let r = app.get(&format!("/v1/analytics/moods/aggregate?days={days}"), &key).await;
        assert_eq!((r.status.as_u16(), r.json["field"].as_str()), (400, Some("days")), "{days}");
    }
}

/// What the state of `events` answers under `model`: (model_version, label, confidence).
fn reading(model: &Model, events: &[Event]) -> Value {
    let mut state = AffectState::new(model);
    apply_batch(model, &mut state, events);
    let p = project(model, &state);
    json!([model.version, p.label.as_str(), r4(p.confidence)])
}

fn read_back(state: &Value) -> Value {
    let m = &state["mood"];
    json!([m["model_version"], m["label"], m["confidence"]])
}

/// Changing the current model never changes what a stored session answers: a session started
/// under another model keeps loading, answering and taking events under it on a server whose
/// new sessions start under the current one; its history follows it.
#[tokio::test]
async fn a_session_keeps_the_model_it_started_under() {
    let at = |s| Clock::fixed(DateTime::from_timestamp(T0 + s, 0).unwrap());
    let (current, other) = (Models::default().session, Models::default().other_sessions[0].clone());
    let database = std::sync::Arc::new(fresh_database().await);
    let chosen = Models::default().with_session(&other.version).unwrap();
    let first =
        spawn_on(database.clone(), &ServerOptions { models: chosen, clock: at(60), ..options(&database.url) }).await;
    let key = first.key("starter").await;
    first.post_events(&key, "old", meltdown()).await;
    let before = first.get("/v1/sessions/old/state", &key).await;
    assert_eq!(read_back(&before.json), reading(&other, &meltdown_events()));

    let later = spawn_on(database, &ServerOptions { clock: at(60), ..options(&first.database_url) }).await;
    later.get("/v1/sessions/old/state", &key).await.expect(200, before.json.clone());
    let more = json!([{"type": "click", "x": 5, "y": 5, "ts": T0 + 20}]);
    let posted = later.post_events(&key, "old", more).await;
    assert_eq!(posted.status, 200, "{:?}", posted.json);
    let mut events = meltdown_events();
    events.push(Event::new(EventKind::Click, (T0 + 20) * 1000).at(5.0, 5.0));
    let after = later.get("/v1/sessions/old/state", &key).await;
    assert_eq!(read_back(&after.json), reading(&other, &events));
    let history = later.get("/v1/sessions/old/mood-history?limit=1", &key).await;
    assert_eq!(history.json["entries"][0]["confidence"], reading(&other, &events)[2]);

    later.post_events(&key, "new", meltdown()).await;
    let fresh = later.get("/v1/sessions/new/state", &key).await;
    assert_eq!(read_back(&fresh.json), reading(&current, &meltdown_events()));
    assert_ne!(reading(&current, &meltdown_events()), reading(&other, &meltdown_events()));
}
