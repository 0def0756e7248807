use crate::helpers::{T0, TestApp, engine_meltdown, meltdown, r4, spawn};
use moodring::engine::project;
use reqwest::Method;
use serde_json::{Value, json};

async fn post_as(app: &TestApp, key: &str, session: &str, user: &str, events: Value) {
    let body = json!({"user_id": user, "events": events});
    let r = app.send(Method::POST, &format!("/v1/sessions/{session}/events"), Some(key), Some(body)).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
}

/// Three clicks ending at `T0 + at` seconds: a neutral session whose latest event is then.
fn clicks(at: i64) -> Value {
    json!([{"type": "click", "ts": T0 + at - 2}, {"type": "click", "ts": T0 + at - 1}, {"type": "click", "ts": T0 + at}])
}

fn ids(page: &Value) -> Vec<&str> {
    page["sessions"].as_array().unwrap().iter().map(|s| s["session_id"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_listed_session_has_the_documented_shape() {
    let app = spawn().await;
    let key = app.key("starter").await;
    post_as(&app, &key, "checkout", "u_8f3k2a", meltdown()).await;
    app.feedback(&key, "checkout", json!({"action_taken": "show_live_chat", "was_helpful": true})).await;
    let (model, state, _) = engine_meltdown();
    app.get("/v1/sessions", &key).await.expect(
        200,
        json!({"sessions": [{
            "session_id": "checkout",
            "user_id": "u_8f3k2a",
            "mood": "frustrated",
            "confidence": r4(project(&model, &state).confidence),
            "signals": ["rage_click_detected", "repeated_errors"],
            "suggested_action": "show_live_chat",
            "event_count": 6,
            "created_at": app.get("/v1/sessions/checkout/state", &key).await.json["mood"]["created_at"],
            "updated_at": "2025-05-04T10:00:12.000Z",
            "has_feedback": true
        }]}),
    );
}

#[tokio::test]
async fn pages_walk_every_session_once_latest_activity_first() {
    let app = spawn().await;
    let key = app.key("starter").await;
    for (i, at) in [30, 10, 50, 20, 70, 60, 40].into_iter().enumerate() {
        app.post_events(&key, &format!("s{i}"), clicks(at)).await;
    }
    let first = app.get("/v1/sessions?limit=3", &key).await;
    assert_eq!(ids(&first.json), ["s4", "s5", "s2"]);
    let cursor = first.json["next_cursor"].as_str().unwrap().to_owned();
    // A session active meanwhile moves to the front; the walk goes on where it was.
    app.post_events(&key, "s6", clicks(90)).await;
    let second = app.get(&format!("/v1/sessions?limit=3&cursor={cursor}"), &key).await;
    assert_eq!(ids(&second.json), ["s0", "s3", "s1"]);
    assert_eq!(second.json.get("next_cursor"), None, "the last page");
    assert_eq!(ids(&app.get("/v1/sessions?limit=2", &key).await.json), ["s6", "s4"]);
    let all = app.get("/v1/sessions?limit=7", &key).await;
    assert_eq!((ids(&all.json).len(), all.json.get("next_cursor")), (7, None), "a full last page has no cursor");
    let six = app.get("/v1/sessions?limit=6", &key).await;
    let rest = format!("/v1/sessions?limit=6&cursor={}", six.json["next_cursor"].as_str().unwrap());
    assert_eq!(ids(&app.get(&rest, &key).await.json), ["s1"]);
}

#[tokio::test]
async fn filters_by_mood_and_time_of_latest_event() {
    let app = spawn().await;
    let key = app.key("starter").await;
    app.post_events(&key, "calm-early", clicks(10)).await;
    app.post_events(&key, "angry", meltdown()).await;
    app.post_events(&key, "calm-late", clicks(100)).await;
    assert_eq!(ids(&app.get("/v1/sessions?mood=frustrated", &key).await.json), ["angry"]);
    assert_eq!(ids(&app.get("/v1/sessions?mood=neutral", &key).await.json), ["calm-late", "calm-early"]);
    assert_eq!(ids(&app.get("/v1/sessions?mood=confused", &key).await.json), Vec::<&str>::new());
    let (from, to) = (T0 + 12, T0 + 100);
    assert_eq!(ids(&app.get(&format!("/v1/sessions?from={from}&to={to}"), &key).await.json), ["angry"]);
    let iso = "2025-05-04T10:00:13Z";
    assert_eq!(ids(&app.get(&format!("/v1/sessions?from={iso}"), &key).await.json), ["calm-late"]);
}

#[tokio::test]
async fn bad_parameters_are_400_naming_them() {
    let app = spawn().await;
    let key = app.key("starter").await;
    for (query, field) in [
        ("mood=happy", "mood"),
        ("cursor=abc", "cursor"),
        ("cursor=1_", "cursor"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("from=tomorrow", "from"),
        ("from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", "from"),
    ] {
        let r = app.get(&format!("/v1/sessions?{query}"), &key).await;
        assert_eq!(
            (r.status.as_u16(), r.json["error"].as_str(), r.json["field"].as_str()),
            (400, Some("Invalid query parameter"), Some(field)),
            "{query}"
        );
    }
}

#[tokio::test]
async fn tenants_see_only_their_own_sessions_and_feedback() {
    let app = spawn().await;
    let (ours, theirs) = (app.key("starter").await, app.key("starter").await);
    app.post_events(&ours, "mine", clicks(10)).await;
    app.feedback(&ours, "mine", json!({"action_taken": "no_action"})).await;
    app.post_events(&theirs, "yours", clicks(20)).await;
    assert_eq!(ids(&app.get("/v1/sessions", &ours).await.json), ["mine"]);
    assert_eq!(ids(&app.get("/v1/sessions", &theirs).await.json), ["yours"]);
    app.get("/v1/sessions/mine/feedback", &theirs)
        .await
        .expect(404, json!({"error": "Session not found", "session_id": "mine"}));
    assert_eq!(app.send(Method::GET, "/v1/sessions", None, None).await.status, 401);
}

#[tokio::test]
async fn a_sessions_feedback_pages_newest_first() {
    let app = spawn().await;
    let key = app.key("starter").await;
    app.post_events(&key, "checkout", meltdown()).await;
    let (model, state, _) = engine_meltdown();
    let confidence = r4(project(&model, &state).confidence);
    for body in [
        json!({"action_taken": "show_live_chat", "was_helpful": false, "notes": "closed it"}),
        json!({"action_taken": "show_tooltip", "was_helpful": true}),
        json!({"action_taken": "call_them"}),
    ] {
        assert_eq!(app.feedback(&key, "checkout", body).await.status, 200);
    }
    let first = app.get("/v1/sessions/checkout/feedback?limit=2", &key).await;
    let at = |i: usize| first.json["feedback"][i]["created_at"].clone();
    let cursor = first.json["next_cursor"].as_str().unwrap().to_owned();
    first.expect(
        200,
        json!({
            "session_id": "checkout",
            "feedback": [
                {"action_taken": "call_them", "mood": "frustrated", "confidence": confidence, "created_at": at(0)},
                {"action_taken": "show_tooltip", "was_helpful": true, "mood": "frustrated", "confidence": confidence, "created_at": at(1)}
            ],
            "next_cursor": cursor
        }),
    );
    let second = app.get(&format!("/v1/sessions/checkout/feedback?limit=2&before={cursor}"), &key).await;
    let at = second.json["feedback"][0]["created_at"].clone();
    second.expect(
        200,
        json!({
            "session_id": "checkout",
            "feedback": [{"action_taken": "show_live_chat", "was_helpful": false, "notes": "closed it", "mood": "frustrated", "confidence": confidence, "created_at": at}]
        }),
    );
    app.get("/v1/sessions/nobody/feedback", &key)
        .await
        .expect(404, json!({"error": "Session not found", "session_id": "nobody"}));
}

#[tokio::test]
async fn a_listed_suggestion_follows_the_settings_as_the_mood_does() {
    let app = spawn().await;
    let key = app.key("starter").await;
    app.post_events(&key, "checkout", meltdown()).await;
    let listed = |r: Value| r["sessions"][0]["suggested_action"].clone();
    assert_eq!(listed(app.get("/v1/sessions", &key).await.json), "show_live_chat");
    let body = json!({"disabled_actions": ["show_live_chat"]});
    assert_eq!(app.send(Method::PUT, "/v1/settings/interventions", Some(&key), Some(body)).await.status, 200);
    let now = listed(app.get("/v1/sessions", &key).await.json);
    assert_ne!(now, "show_live_chat");
    assert_eq!(now, app.mood(&key, "checkout").await.json["suggested_action"]);
}
