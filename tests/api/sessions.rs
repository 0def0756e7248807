use crate::helpers::{T0, distribution, engine_meltdown, meltdown, r4, spawn};
use moodring::engine::project;
use serde_json::json;

/// What the engine itself says about the meltdown stream.
fn meltdown_confidence() -> f64 {
    let (model, state, _) = engine_meltdown();
    r4(project(&model, &state).confidence)
}

#[tokio::test]
async fn the_mood_has_the_documented_shape() {
    let app = spawn().await;
    let key = app.key("starter").await;
    app.post_events(&key, "user_abc", meltdown()).await;
    app.mood(&key, "user_abc").await.expect(
        200,
        json!({
            "session_id": "user_abc",
            "mood": "frustrated",
            "confidence": meltdown_confidence(),
            "signals": ["rage_click_detected", "repeated_errors"],
            "suggested_action": "show_live_chat",
            "event_count": 6,
            "updated_at": "2025-05-04T10:00:12.000Z"
        }),
    );
}

#[tokio::test]
async fn few_events_read_as_neutral_with_insufficient_data() {
    let app = spawn().await;
    let key = app.key("starter").await;
    app.post_events(&key, "s", json!([{"type": "rage_click", "ts": T0}, {"type": "rage_click", "ts": T0 + 1}])).await;
    let r = app.mood(&key, "s").await;
    assert_eq!(
        (r.json["mood"].clone(), r.json["suggested_action"].clone(), r.json["signals"][0].clone()),
        (json!("neutral"), json!("no_action"), json!("insufficient_data"))
    );
}

#[tokio::test]
async fn unknown_sessions_are_404() {
    let app = spawn().await;
    let key = app.key("starter").await;
    app.mood(&key, "nobody").await.expect(404, json!({"error": "Session not found", "session_id": "nobody"}));
}

#[tokio::test]
async fn session_ids_are_opaque_up_to_256_characters() {
    let app = spawn().await;
    let key = app.key("starter").await;
    for id in ["a/b", "with space", "ünïcødé 🙂", "'; DROP TABLE sessions; --", "%2F", "...", &"é".repeat(256)] {
        let r = app.post_events(&key, id, json!([{"type": "click"}])).await;
        assert_eq!((r.status.as_u16(), r.json["session_id"].as_str()), (200, Some(id)), "{id}");
        assert_eq!(app.mood(&key, id).await.json["session_id"], id);
    }
    let r = app.post_events(&key, &"a".repeat(257), json!([{"type": "click"}])).await;
    r.expect(
        400,
        json!({"error": "Invalid session id", "message": "session id must be at most 256 characters", "field": "id"}),
    );
    let r = app.post_events(&key, "tab\there", json!([{"type": "click"}])).await;
    assert_eq!(r.json["message"], "session id must not contain control characters");
}

/// Ids compare byte for byte on every backend (PostgreSQL's columns are `COLLATE "C"`, as
/// SQLite compares): ids that differ only in case or in Unicode normalization are different
/// sessions, and different event ids within one.
#[tokio::test]
async fn ids_differing_only_in_case_or_normalization_are_distinct() {
    let app = spawn().await;
    let key = app.key("starter").await;
    let ids = ["Ab", "ab", "caf\u{e9}", "cafe\u{301}"];
    for id in ids {
        let events = json!([{"type": "click", "event_id": "E1"}, {"type": "click", "event_id": "e1"}]);
        app.post_events(&key, id, events).await.expect(
            200,
            json!({"session_id": id, "events_stored": 2, "duplicates": 0, "total_events": 2, "current_mood": "neutral"}),
        );
    }
    for id in ids {
        let r = app.mood(&key, id).await;
        assert_eq!((r.status.as_u16(), &r.json["session_id"], &r.json["event_count"]), (200, &json!(id), &json!(2)));
    }
}

#[tokio::test]
async fn feedback_is_recorded_for_known_sessions() {
    let app = spawn().await;
    let key = app.key("starter").await;
    app.post_events(&key, "user_abc", meltdown()).await;
    let body = json!({"action_taken": "show_live_chat", "was_helpful": true, "notes": "User started chat immediately"});
    app.feedback(&key, "user_abc", body.clone())
        .await
        .expect(200, json!({"session_id": "user_abc", "feedback_recorded": true}));
    app.feedback(&key, "user_abc", json!({"action_taken": "no_action"}))
        .await
        .expect(200, json!({"session_id": "user_abc", "feedback_recorded": true}));
    app.feedback(&key, "ghost", body).await.expect(404, json!({"error": "Session not found", "session_id": "ghost"}));
}

#[tokio::test]
async fn feedback_needs_an_action() {
    let app = spawn().await;
    let key = app.key("starter").await;
    app.post_events(&key, "s", json!([{"type": "click"}])).await;
    let missing = json!({"error": "Missing required field", "field": "action_taken"});
    for body in [json!({}), json!({"was_helpful": true}), json!({"action_taken": ""}), json!({"action_taken": "  "})] {
        app.feedback(&key, "s", body).await.expect(400, missing.clone());
    }
    for (body, field) in [
        (json!({"action_taken": "x".repeat(129)}), "action_taken"),
        (json!({"action_taken": 5}), "action_taken"),
        (json!({"action_taken": "a", "was_helpful": "yes"}), "was_helpful"),
        (json!({"action_taken": "a", "notes": "n".repeat(513)}), "notes"),
        // PostgreSQL cannot store NUL in text: refused on every backend, with the field named.
        (json!({"action_taken": "show\u{0}chat"}), "action_taken"),
        (json!({"action_taken": "a", "notes": "\u{0}"}), "notes"),
    ] {
        let r = app.feedback(&key, "s", body).await;
        assert_eq!((r.status.as_u16(), r.json["field"].as_str()), (400, Some(field)));
    }
    assert_eq!(app.analytics(&key).await.json["feedback_count"], 0, "no rejected feedback was stored");
}

#[tokio::test]
async fn erasure_removes_everything_and_is_final() {
    let app = spawn().await;
    let key = app.key("starter").await;
    app.post_events(&key, "user_abc", meltdown()).await;
    app.post_events(&key, "other", json!([{"type": "click"}])).await;
    app.feedback(&key, "user_abc", json!({"action_taken": "show_live_chat"})).await;
    app.delete(&key, "user_abc")
        .await
        .expect(200, json!({"session_id": "user_abc", "deleted": true, "message": "Session data permanently erased."}));
    app.mood(&key, "user_abc").await.expect(404, json!({"error": "Session not found", "session_id": "user_abc"}));
    app.delete(&key, "user_abc").await.expect(404, json!({"error": "Session not found", "session_id": "user_abc"}));
    app.analytics(&key).await.expect(200, distribution(1, 0, &[("neutral", 1)]));
    let r = app.post_events(&key, "user_abc", json!([{"type": "click"}])).await;
    assert_eq!(r.json["total_events"], 1, "a new session under the old id starts from nothing");
}
