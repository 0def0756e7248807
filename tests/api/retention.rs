//! Retention: the setting, and the sweep that removes what is older, with clocks the test sets.

use crate::helpers::{TestApp, distribution, export, fresh_database, options, spawn, spawn_on};
use chrono::DateTime;
use moodring::server::ServerOptions;
use moodring::state::Clock;
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const SETTINGS: &str = "/v1/settings/retention";
const DAY: i64 = 86_400;
/// 2026-03-01 00:00 UTC, Unix seconds.
const T0: i64 = 1_772_323_200;

fn clock(at: i64) -> Clock {
    Clock::fixed(DateTime::from_timestamp(at, 0).unwrap())
}

async fn put(app: &TestApp, key: &str, body: Value) -> crate::helpers::Reply {
    app.send(Method::PUT, SETTINGS, Some(key), Some(body)).await
}

#[tokio::test]
async fn retention_is_read_set_and_bounded() {
    let app = spawn().await;
    let key = app.key("starter").await;
    app.get(SETTINGS, &key).await.expect(200, json!({"days": 90}));
    put(&app, &key, json!({"days": 30})).await.expect(200, json!({"days": 30}));
    app.get(SETTINGS, &key).await.expect(200, json!({"days": 30}));
    let bounds = "must be between 1 and 3650";
    for (body, message) in [
        (json!({"days": 0}), bounds),
        (json!({"days": 3651}), bounds),
        (json!({"days": -5}), bounds),
        (json!({"days": 10_000_000_000i64}), bounds),
        (json!({"days": "30"}), "invalid type: string \"30\", expected i64"),
        (json!({"days": 1.5}), "invalid type: floating point `1.5`, expected i64"),
        (json!({"days": null}), "invalid type: null, expected i64"),
    ] {
        let r = put(&app, &key, body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {r:?}");
        assert_eq!((&r.json["field"], &r.json["message"]), (&json!("days"), &json!(message)), "{body}: {r:?}");
    }
    put(&app, &key, json!({})).await.expect(400, json!({"error": "Missing required field", "field": "days"}));
    let r = put(&app, &key, json!({"days": 7, "weeks": 1})).await;
    assert_eq!(r.status, 400);
    assert!(r.json["message"].as_str().unwrap().contains("unknown field"), "{r:?}");
    // Nothing above changed it; other tenants keep their own; secret key only.
    app.get(SETTINGS, &key).await.expect(200, json!({"days": 30}));
    app.get(SETTINGS, &app.key("starter").await).await.expect(200, json!({"days": 90}));
    assert_eq!(app.send(Method::GET, SETTINGS, None, None).await.status, 401);
}

/// An RFC 3339 time in Unix seconds.
fn unix(ts: &Value) -> i64 {
    DateTime::parse_from_rfc3339(ts.as_str().unwrap()).unwrap().timestamp()
}

fn clicks(from: i64, n: i64) -> Value {
    json!((0..n).map(|i| json!({"type": "click", "x": 100, "y": 100, "ts": from + i * 3})).collect::<Vec<_>>())
}

/// Tenant A keeps 30 days, tenant B the default 90. On day 40 a sweep erases A's session whose
/// events are all from day 0, trims day 0 from A's session that went on to day 35, keeps A's
/// day-39 session and B's day-0 session, and the distribution counts what is left.
#[tokio::test]
async fn the_sweep_removes_what_is_older_than_the_retention() {
    let database = Arc::new(fresh_database().await);
    let now = T0 + 40 * DAY;
    let writer = spawn_on(database.clone(), &ServerOptions { clock: clock(now), ..options(&database.url) }).await;
    let (a, b) = (writer.key("growth").await, writer.key("growth").await);
    put(&writer, &a, json!({"days": 30})).await.expect(200, json!({"days": 30}));
    for (key, session, events) in [
        (&a, "old", clicks(T0, 5)),
        (&a, "mixed", clicks(T0, 5)),
        (&a, "mixed", clicks(T0 + 35 * DAY, 4)),
        (&a, "fresh", clicks(T0 + 39 * DAY, 3)),
        (&b, "old", clicks(T0, 5)),
    ] {
        assert_eq!(writer.post_events(key, session, events).await.status, 200);
    }
    assert_eq!(writer.feedback(&a, "old", json!({"action_taken": "no_action", "was_helpful": true})).await.status, 200);
    let label = |r: crate::helpers::Reply| r.json["mood"].as_str().unwrap().to_owned();
    let (mixed, fresh) = (label(writer.mood(&a, "mixed").await), label(writer.mood(&a, "fresh").await));
    let mixed_state = writer.get("/v1/sessions/mixed/state", &a).await.json;
    let before = writer.analytics(&a).await.json;
    assert_eq!((&before["total_sessions"], &before["feedback_count"]), (&json!(3), &json!(1)), "{before}");

    // Another replica, sweeping at start and every 50 ms.
    let sweeping =
        ServerOptions { clock: clock(now), retention_sweep: Some(Duration::from_millis(50)), ..options(&database.url) };
    let sweeper = spawn_on(database, &sweeping).await;
    // A sweep erases sessions first, then trims the ones kept: wait for both.
    let history_of_mixed = || async {
        let history = sweeper.get("/v1/sessions/mixed/mood-history", &a).await.json;
        history["entries"].as_array().map_or(0, Vec::len)
    };
    let mut waited = 0;
    while sweeper.analytics(&a).await.json["total_sessions"] != 2 || history_of_mixed().await != 4 {
        assert!(waited < 400, "no sweep in 20 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
    let counts: Vec<(&str, i64)> = if mixed == fresh { vec![(&mixed, 2)] } else { vec![(&mixed, 1), (&fresh, 1)] };
    sweeper.analytics(&a).await.expect(200, distribution(2, 0, &counts));
    sweeper.mood(&a, "old").await.expect(404, json!({"error": "Session not found", "session_id": "old"}));
    // The kept session answers as before, its count of events applied included; its day-0
    // events and history are gone.
    sweeper.get("/v1/sessions/mixed/state", &a).await.expect(200, mixed_state);
    let kept: Vec<Value> = export(&sweeper.http, &sweeper.base, &a, T0 - DAY, now + DAY)
        .await
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut sessions_and_times: Vec<(String, i64)> =
        kept.iter().map(|e| (e["session_id"].as_str().unwrap().to_owned(), unix(&e["ts"]))).collect();
    sessions_and_times.sort();
    let expected: Vec<(String, i64)> = (0..3)
        .map(|i| ("fresh".to_owned(), T0 + 39 * DAY + i * 3))
        .chain((0..4).map(|i| ("mixed".to_owned(), T0 + 35 * DAY + i * 3)))
        .collect();
    assert_eq!(sessions_and_times, expected);
    // The time series counts what is kept, its rollup compacted or not.
    let days = format!("/v1/analytics/moods/timeseries?interval=day&from={}&to={}", T0 - DAY, now + DAY);
    let series = sweeper.get_compacted_too(&days, &a).await.json;
    sweeper.assert_rollup_matches_slots().await;
    let busy: Vec<(&str, i64, i64)> = series["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["events"] != 0)
        .map(|b| (b["start"].as_str().unwrap(), b["sessions"].as_i64().unwrap(), b["events"].as_i64().unwrap()))
        .collect();
    assert_eq!(busy, [("2026-04-05T00:00:00.000Z", 1, 4), ("2026-04-09T00:00:00.000Z", 1, 3)]);
    // Tenant B keeps 90 days: nothing of it went.
    assert_eq!(sweeper.mood(&b, "old").await.status, 200);
    assert_eq!(sweeper.analytics(&b).await.json["total_sessions"], 1);
    // A batch for the erased session starts it again.
    assert_eq!(sweeper.post_events(&a, "old", clicks(now - 60, 2)).await.status, 200);
    assert_eq!(sweeper.analytics(&a).await.json["total_sessions"], 3);
}
