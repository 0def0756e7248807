use crate::helpers::{T0, TestApp, engine_meltdown, export, meltdown, meltdown_events, r4, spawn, spawn_with};
use chrono::DateTime;
use moodring::engine::{AffectState, Model, apply_batch, project_at, summarize};
use moodring::state::Clock;
use reqwest::Method;
use serde_json::{Value, json};

async fn post_as(app: &TestApp, key: &str, session: &str, user: &str, events: Value) -> crate::helpers::Reply {
    let body = json!({"user_id": user, "events": events});
    app.send(Method::POST, &format!("/v1/sessions/{session}/events"), Some(key), Some(body)).await
}

#[tokio::test]
async fn a_linked_sessions_events_move_the_users_state() {
    let now = T0 + 60;
    let app = spawn_with(Clock::fixed(DateTime::from_timestamp(now, 0).unwrap())).await;
    let key = app.key("starter").await;
    assert_eq!(post_as(&app, &key, "checkout", "u_8f3k2a", meltdown()).await.status, 200);

    let (_, _, session_records) = engine_meltdown();
    let events = meltdown_events();
    let model = Model::user_v1();
    let mut state = AffectState::new(&model);
    apply_batch(&model, &mut state, &events);
    let (later, p) = project_at(&model, &state, now * 1000);
    let signals: Vec<Value> = p
        .signals
        .iter()
        .map(|s| json!({"id": s.id.as_str(), "strength": r4(s.strength), "values": s.values}))
        .collect();
    app.get("/v1/users/u_8f3k2a/mood", &key).await.expect(
        200,
        json!({
            "user_id": "u_8f3k2a",
            "label": p.label.as_str(),
            "confidence": r4(p.confidence),
            "signals": signals,
            "suggested_action": p.action.as_str(),
            "valence": later.dims[0], "arousal": later.dims[1], "tension": later.dims[2], "affiliation": later.dims[3],
            "baseline_valence": later.baseline[0], "baseline_arousal": later.baseline[1],
            "baseline_tension": later.baseline[2], "baseline_affiliation": later.baseline[3],
            "event_count": 6,
            "last_interaction_at": "2025-05-04T10:00:12.000Z",
            "evaluated_at": "2025-05-04T10:01:00.000Z",
            "recent_sessions": [{
                "session_id": "checkout", "mood": "frustrated", "confidence": r4(session_records[5].confidence),
                "event_count": 6, "created_at": "2025-05-04T10:01:00.000Z", "updated_at": "2025-05-04T10:00:12.000Z"
            }],
            "summary": summarize(&p, None),
            "model_version": "user-1",
            "scale": "unit"
        }),
    );
    assert_eq!(p.label.as_str(), "frustrated", "the user model reads the meltdown too");
    assert!(summarize(&p, None).starts_with("The user seems frustrated (confidence "));
}

#[tokio::test]
async fn yesterdays_frustration_has_faded_today() {
    let app = spawn_with(Clock::fixed(DateTime::from_timestamp(T0 + 86_400, 0).unwrap())).await;
    let key = app.key("starter").await;
    post_as(&app, &key, "s", "u1", meltdown()).await;
    let today = app.get("/v1/users/u1/mood", &key).await.json;
    assert_eq!((today["label"].clone(), today["suggested_action"].clone()), (json!("neutral"), json!("no_action")));
    assert!(today["confidence"].as_f64().unwrap() < 0.01);
    assert!(today["summary"].as_str().unwrap().contains("no activity for 24 hours"), "{}", today["summary"]);
    let then = app.get(&format!("/v1/users/u1/mood?at={}", T0 + 20), &key).await.json;
    assert_eq!(
        (then["label"].clone(), then["evaluated_at"].clone()),
        (json!("frustrated"), json!("2025-05-04T10:00:20.000Z"))
    );
}

#[tokio::test]
async fn a_session_belongs_to_one_user() {
    let app = spawn().await;
    let key = app.key("starter").await;
    post_as(&app, &key, "s", "alice", json!([{"type": "click", "ts": T0}])).await;
    post_as(&app, &key, "s", "mallory", json!([{"type": "error", "ts": T0 + 1}])).await.expect(
        409,
        json!({
            "error": "Session belongs to another user",
            "message": "This session is linked to a different user_id; a session belongs to one user.",
            "field": "user_id"
        }),
    );
    assert_eq!(app.mood(&key, "s").await.json["event_count"], 1, "nothing stored");
    app.get("/v1/users/mallory/mood", &key).await.expect(404, json!({"error": "User not found", "user_id": "mallory"}));
    // Without a user_id, events of a linked session still reach its user.
    app.post_events(&key, "s", json!([{"type": "click", "ts": T0 + 2}])).await;
    assert_eq!(app.get("/v1/users/alice/mood", &key).await.json["event_count"], 2);
    // Linking an existing session later takes nothing from the quota and counts once.
    app.post_events(&key, "t", json!([{"type": "click", "ts": T0}])).await;
    post_as(&app, &key, "t", "alice", json!([{"type": "click", "ts": T0 + 5}])).await;
    assert_eq!(
        app.get("/v1/users/alice/mood", &key).await.json["event_count"],
        3,
        "events before the link stay the session's"
    );
    assert_eq!(app.analytics(&key).await.json["total_sessions"], 2);
}

#[tokio::test]
async fn user_ids_are_checked_like_session_ids() {
    let app = spawn().await;
    let key = app.key("starter").await;
    post_as(&app, &key, "s", &"u".repeat(257), json!([{"type": "click"}])).await.expect(
        400,
        json!({"error": "Invalid user id", "message": "user id must be at most 256 characters", "field": "user_id"}),
    );
    let r = post_as(&app, &key, "s", "", json!([{"type": "click"}])).await;
    assert_eq!((r.status.as_u16(), r.json["field"].as_str()), (400, Some("user_id")));
    assert_eq!(app.mood(&key, "s").await.status, 404);
}

#[tokio::test]
async fn a_user_spans_sessions_newest_first() {
    let app = spawn().await;
    let key = app.key("starter").await;
    let kinds = ["page_view", "scroll", "click"];
    let browse: Vec<Value> =
        (0..8).map(|i| json!({"type": kinds[i % 3], "ts": T0 + i as i64 * 15, "speed": 400})).collect();
    post_as(&app, &key, "monday", "u1", json!(browse)).await;
    let later: Vec<Value> = meltdown()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let mut e = e.clone();
            e["ts"] = json!(e["ts"].as_i64().unwrap() + 3600);
            e
        })
        .collect();
    post_as(&app, &key, "tuesday", "u1", json!(later)).await;
    let sessions = app.get("/v1/users/u1/sessions", &key).await.json;
    let ids: Vec<&str> =
        sessions["sessions"].as_array().unwrap().iter().map(|s| s["session_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["tuesday", "monday"]);
    assert_eq!(sessions["sessions"][0]["mood"], "frustrated");
    let mood = app.get(&format!("/v1/users/u1/mood?at={}", T0 + 3600 + 13), &key).await.json;
    assert_eq!(mood["event_count"], 14);
    let previous = sessions["sessions"][1]["mood"].as_str().unwrap();
    let summary = mood["summary"].as_str().unwrap();
    assert!(summary.ends_with("in their previous session."), "{summary}");
    assert!(summary.contains(if previous == "browsing" { "browsing calmly" } else { previous }), "{summary}");

    let page = app.get("/v1/users/u1/mood-history?limit=10", &key).await.json;
    assert_eq!(page["entries"].as_array().unwrap().len(), 10);
    assert_eq!(page["entries"][0]["trigger_type"], "back_nav");
    let rest = app
        .get(&format!("/v1/users/u1/mood-history?before={}", page["next_cursor"].as_str().unwrap()), &key)
        .await
        .json;
    assert_eq!((rest["entries"].as_array().unwrap().len(), rest.get("next_cursor")), (4, None));
    assert_eq!(app.get("/v1/users/u1/mood-history?limit=0", &key).await.status, 400);
    assert_eq!(app.get("/v1/users/u1/sessions?limit=501", &key).await.status, 400);
}

#[tokio::test]
async fn erasing_a_user_erases_their_sessions() {
    let app = spawn().await;
    let key = app.key("starter").await;
    post_as(&app, &key, "a1", "alice", meltdown()).await;
    post_as(&app, &key, "a2", "alice", json!([{"type": "click", "ts": T0 + 100}])).await;
    app.feedback(&key, "a1", json!({"action_taken": "show_live_chat"})).await;
    post_as(&app, &key, "b1", "bob", json!([{"type": "click", "ts": T0}])).await;
    let other = app.key("starter").await;
    app.send(Method::DELETE, "/v1/users/alice", Some(&other), None)
        .await
        .expect(404, json!({"error": "User not found", "user_id": "alice"}));

    app.send(Method::DELETE, "/v1/users/alice", Some(&key), None).await.expect(
        200,
        json!({"user_id": "alice", "deleted": true, "sessions_deleted": 2, "message": "User data permanently erased."}),
    );
    for s in ["a1", "a2"] {
        assert_eq!(app.mood(&key, s).await.status, 404);
    }
    for path in ["/v1/users/alice/mood", "/v1/users/alice/mood-history", "/v1/users/alice/sessions"] {
        assert_eq!(app.get(path, &key).await.status, 404, "{path}");
    }
    app.analytics(&key).await.expect(200, crate::helpers::distribution(1, 0, &[("neutral", 1)]));
    assert_eq!(app.get("/v1/users/bob/mood", &key).await.json["event_count"], 1);
    let export = export(&app.http, &app.base, &key, T0, T0 + 200).await;
    assert_eq!(export.lines().count(), 1, "only bob's event is left");
}

#[tokio::test]
async fn the_aggregate_counts_distinct_users() {
    let app = spawn_with(Clock::fixed(DateTime::from_timestamp(T0 + 60, 0).unwrap())).await;
    let key = app.key("starter").await;
    post_as(&app, &key, "a1", "alice", json!([{"type": "click", "ts": T0}])).await;
    post_as(&app, &key, "a2", "alice", json!([{"type": "click", "ts": T0}])).await;
    post_as(&app, &key, "b1", "bob", json!([{"type": "click", "ts": T0}])).await;
    app.post_events(&key, "anonymous", json!([{"type": "click", "ts": T0}])).await;
    let r = app.get("/v1/analytics/moods/aggregate", &key).await.json;
    assert_eq!((r["session_count"].clone(), r["user_count"].clone()), (json!(4), json!(2)));
}

#[tokio::test]
async fn users_of_another_tenant_do_not_exist() {
    let app = spawn().await;
    let (a, b) = (app.key("starter").await, app.key("starter").await);
    post_as(&app, &a, "s", "shared-id", json!([{"type": "click"}])).await;
    post_as(&app, &b, "s", "shared-id", json!([{"type": "error"}, {"type": "error"}])).await;
    assert_eq!(app.get("/v1/users/shared-id/mood", &a).await.json["event_count"], 1);
    assert_eq!(app.get("/v1/users/shared-id/mood", &b).await.json["event_count"], 2);
}
