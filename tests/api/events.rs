use crate::helpers::{T0, meltdown, spawn};
use reqwest::Method;
use serde_json::{Value, json};

const VALID_TYPES: [&str; 12] = [
    "click",
    "rage_click",
    "scroll",
    "input_pause",
    "backtrack",
    "back_nav",
    "page_view",
    "error",
    "idle",
    "hover",
    "focus",
    "blur",
];

#[tokio::test]
async fn a_batch_answers_with_the_mood_after_it() {
    let app = spawn().await;
    let key = app.key("starter").await;
    let first = json!([
        {"type": "rage_click", "x": 240, "y": 580, "ts": T0},
        {"type": "error", "message": "Payment failed", "ts": T0 + 2},
        {"type": "idle", "duration_ms": 4500, "ts": T0 + 7}
    ]);
    app.post_events(&key, "user_abc", first).await.expect(
        200,
        json!({"session_id": "user_abc", "events_stored": 3, "duplicates": 0, "total_events": 3, "current_mood": "frustrated"}),
    );
    let second = json!([
        {"type": "rage_click", "x": 240, "y": 580, "ts": T0 + 8},
        {"type": "error", "ts": T0 + 10},
        {"type": "back_nav", "ts": T0 + 12}
    ]);
    app.post_events(&key, "user_abc", second).await.expect(
        200,
        json!({"session_id": "user_abc", "events_stored": 3, "duplicates": 0, "total_events": 6, "current_mood": "frustrated"}),
    );
}

#[tokio::test]
async fn unknown_types_reject_the_batch_and_are_listed_once() {
    let app = spawn().await;
    let key = app.key("starter").await;
    let r = app
        .post_events(
            &key,
            "s",
            json!([{"type": "click"}, {"type": "page_visit"}, {"type": "Click"}, {"type": "page_visit"}]),
        )
        .await;
    r.expect(
        400,
        json!({"error": "Invalid event type(s)", "invalid": ["page_visit", "Click"], "valid_types": VALID_TYPES}),
    );
    app.mood(&key, "s").await.expect(404, json!({"error": "Session not found", "session_id": "s"}));
}

#[tokio::test]
async fn one_bad_event_stores_nothing() {
    let app = spawn().await;
    let key = app.key("starter").await;
    app.post_events(&key, "s", json!([{"type": "click", "ts": T0}])).await;
    let r = app
        .post_events(
            &key,
            "s",
            json!([{"type": "click", "ts": T0 + 1}, {"type": "idle", "duration_ms": -5, "ts": T0 + 2}]),
        )
        .await;
    r.expect(
        400,
        json!({"error": "Invalid field value", "message": "must be between 0 and 86400000", "field": "events[1].duration_ms"}),
    );
    assert_eq!(app.mood(&key, "s").await.json["event_count"], 1);
}

#[tokio::test]
async fn every_field_is_checked() {
    let app = spawn().await;
    let key = app.key("starter").await;
    let long = |n: usize| "x".repeat(n);
    let cases: Vec<(Value, &str)> = vec![
        (json!({"type": "click", "x": 1e7}), "events[0].x"),
        (json!({"type": "click", "y": "12"}), "events[0].y"),
        (json!({"type": "scroll", "speed": -1}), "events[0].speed"),
        (json!({"type": "scroll", "direction": "left"}), "events[0].direction"),
        (json!({"type": "error", "message": long(513)}), "events[0].message"),
        (json!({"type": "page_view", "url": long(2049)}), "events[0].url"),
        (json!({"type": "click", "ts": -1}), "events[0].ts"),
        (json!({"type": "click", "ts": 1_746_352_800_000_i64}), "events[0].ts"),
        (json!({"type": "click", "ts": "now"}), "events[0].ts"),
        (json!({"type": "click", "event_id": ""}), "events[0].event_id"),
        (json!({"type": "click", "event_id": long(257)}), "events[0].event_id"),
        (json!({"type": "click", "event_id": "a\u{0}"}), "events[0].event_id"),
        (json!({"type": "error", "message": "\u{0}"}), "events[0].message"),
        (json!({"type": "page_view", "url": "/\u{0}"}), "events[0].url"),
        (json!({"type": "scroll", "direction": null}), "events[0].direction"),
        (json!({"type": 7}), "events[0].type"),
        (json!({"ts": T0}), "events[0].type"),
    ];
    for (event, field) in cases {
        let r = app.post_events(&key, "s", json!([event])).await;
        assert_eq!((r.status.as_u16(), r.json["field"].as_str()), (400, Some(field)), "{event}: {}", r.json);
    }
    assert_eq!(app.mood(&key, "s").await.status, 404, "nothing was stored");
    let r = app
        .post_events(
            &key,
            "s",
            json!([{"type": "error", "message": long(512)}, {"type": "page_view", "url": long(2048)}]),
        )
        .await;
    assert_eq!(r.status, 200, "limits are inclusive: {}", r.json);
}

#[tokio::test]
async fn null_is_absent_for_the_nullable_fields() {
    let app = spawn().await;
    let key = app.key("starter").await;
    let nulls = json!({"type": "click", "ts": null, "x": null, "y": null, "duration_ms": null, "speed": null,
                       "url": null, "message": null, "event_id": null});
    let r = app
        .send(Method::POST, "/v1/sessions/s/events", Some(&key), Some(json!({"events": [nulls], "user_id": null})))
        .await;
    assert_eq!((r.status.as_u16(), &r.json["events_stored"]), (200, &json!(1)), "{}", r.json);
    let r = app.send(Method::POST, "/v1/keys/generate", None, Some(json!({"customer_name": "N", "email": null}))).await;
    assert_eq!((r.status.as_u16(), &r.json["plan"]), (201, &json!("starter")), "{}", r.json);
}

#[tokio::test]
async fn a_batch_holds_one_to_a_thousand_events() {
    let app = spawn().await;
    let key = app.key("starter").await;
    let message =
        json!({"error": "Invalid field value", "message": "must contain between 1 and 1000 events", "field": "events"});
    app.post_events(&key, "s", json!([])).await.expect(400, message.clone());
    let many = |n: usize| Value::Array((0..n).map(|i| json!({"type": "click", "ts": T0 + i as i64})).collect());
    app.post_events(&key, "s", many(1001)).await.expect(400, message);
    let r = app.post_events(&key, "s", many(1000)).await;
    assert_eq!((r.status.as_u16(), &r.json["events_stored"]), (200, &json!(1000)));
}

#[tokio::test]
async fn the_events_array_is_required() {
    let app = spawn().await;
    let key = app.key("starter").await;
    app.send(reqwest::Method::POST, "/v1/sessions/s/events", Some(&key), Some(json!({"event": []})))
        .await
        .expect(400, json!({"error": "Missing required field", "field": "events"}));
}

#[tokio::test]
async fn retried_event_ids_are_stored_once() {
    let app = spawn().await;
    let key = app.key("starter").await;
    let batch = json!([
        {"type": "click", "ts": T0, "event_id": "e1"},
        {"type": "error", "ts": T0 + 1, "event_id": "e2"},
        {"type": "error", "ts": T0 + 2}
    ]);
    app.post_events(&key, "s", batch.clone()).await;
    let before = app.mood(&key, "s").await.json;
    app.post_events(&key, "s", batch).await.expect(
        200,
        json!({"session_id": "s", "events_stored": 1, "duplicates": 2, "total_events": 4, "current_mood": "frustrated"}),
    );
    let dupes_only = json!([{"type": "click", "event_id": "e1"}, {"type": "click", "event_id": "e2"}]);
    let r = app.post_events(&key, "s", dupes_only).await;
    assert_eq!(
        (r.json["events_stored"].clone(), r.json["duplicates"].clone(), r.json["total_events"].clone()),
        (json!(0), json!(2), json!(4))
    );
    assert_ne!(before, app.mood(&key, "s").await.json, "the id-less event was applied");
    let within =
        json!([{"type": "click", "ts": T0 + 5, "event_id": "x"}, {"type": "click", "ts": T0 + 6, "event_id": "x"}]);
    assert_eq!(app.post_events(&key, "t", within).await.json["duplicates"], 1, "repeats within a batch count too");
    let elsewhere = json!([{"type": "click", "ts": T0 + 7, "event_id": "e1"}]);
    let r = app.post_events(&key, "u", elsewhere).await;
    assert_eq!(
        (r.json["events_stored"].clone(), r.json["duplicates"].clone()),
        (json!(1), json!(0)),
        "ids are per session"
    );
}

#[tokio::test]
async fn any_batching_of_the_same_events_gives_the_same_mood() {
    let app = spawn().await;
    let key = app.key("starter").await;
    let events = meltdown();
    app.post_events(&key, "whole", events.clone()).await;
    for e in events.as_array().unwrap().iter().rev() {
        app.post_events(&key, "one_by_one_reversed", json!([e])).await;
    }
    for chunk in events.as_array().unwrap().chunks(4) {
        app.post_events(&key, "chunked", json!(chunk)).await;
    }
    let whole = app.mood(&key, "whole").await.json;
    let mut chunked = app.mood(&key, "chunked").await.json;
    assert_eq!(whole["mood"], "frustrated");
    chunked["session_id"] = whole["session_id"].clone();
    assert_eq!(chunked, whole);
    let reversed = app.mood(&key, "one_by_one_reversed").await.json;
    assert_eq!((reversed["mood"].clone(), reversed["event_count"].clone()), (json!("frustrated"), json!(6)));
}

#[tokio::test]
async fn omitted_times_are_receipt_times() {
    let now = chrono::DateTime::from_timestamp(T0 + 3600, 0).unwrap();
    let app = crate::helpers::spawn_with(moodring::state::Clock::fixed(now)).await;
    let key = app.key("starter").await;
    app.post_events(&key, "s", json!([{"type": "click"}])).await;
    assert_eq!(app.mood(&key, "s").await.json["updated_at"], "2025-05-04T11:00:00.000Z");
    // A client clock running more than an hour fast: recorded at receipt time.
    let r = app.post_events(&key, "fast", json!([{"type": "click", "ts": T0 + 3600 + 3601}])).await;
    assert_eq!(r.status, 200);
    assert_eq!(app.mood(&key, "fast").await.json["updated_at"], "2025-05-04T11:00:00.000Z");
    let r = app.post_events(&key, "ms", json!([{"type": "click", "ts": 1_746_352_800_000_i64}])).await;
    assert_eq!(
        (r.status.as_u16(), r.json["message"].as_str()),
        (400, Some("must be Unix time in seconds (0 to 1e11), not milliseconds"))
    );
}
