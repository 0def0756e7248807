//! `GET /metrics`: what the server counted, in Prometheus' text format, and who may read it.

use crate::helpers::{T0, TestApp, fresh_database, meltdown, options, spawn, spawn_on};
use moodring::server::ServerOptions;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

/// The samples of a scrape: series (name and labels as written) to value.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect("a sample line is `series value`");
            (series.to_owned(), value.parse().expect("a number"))
        })
        .collect()
}

async fn scrape(app: &TestApp, token: Option<&str>) -> (u16, Option<String>, String) {
    let mut req = app.http.get(format!("{}/metrics", app.base));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.unwrap();
    let content_type = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
    (resp.status().as_u16(), content_type, resp.text().await.unwrap())
}

#[tokio::test]
async fn metrics_count_what_the_server_did() {
    let app = spawn().await;
    let key = app.key("starter").await;
    let events = meltdown();
    let sent = events.as_array().unwrap().len() as f64;
    assert_eq!(app.post_events(&key, "user_abc", events.clone()).await.status, 200);
    assert_eq!(app.post_events(&key, "user_abc", events).await.status, 200);
    assert_eq!(app.mood(&key, "user_abc").await.status, 200);
    assert_eq!(app.mood("mr_live_wrong", "user_abc").await.status, 401);
    assert_eq!(app.get("/v1/nothing/here", &key).await.status, 404);
    let preflight = app
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/v1/sessions/user_abc/events", app.base))
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());

    let (status, content_type, text) = scrape(&app, None).await;
    assert_eq!((status, content_type.as_deref()), (200, Some("text/plain; version=0.0.4")));
    let s = samples(&text);
    let at = |series: &str| s.get(series).copied().unwrap_or_else(|| panic!("no {series} in\n{text}"));
    assert_eq!(at(r#"moodring_http_requests_total{operation="postEvents",status="200"}"#), 2.0);
    assert_eq!(at(r#"moodring_http_requests_total{operation="getMood",status="200"}"#), 1.0);
    // A request refused before its handler ran still counts under its operation.
    assert_eq!(at(r#"moodring_http_requests_total{operation="getMood",status="401"}"#), 1.0);
    assert_eq!(at(r#"moodring_http_requests_total{operation="unmatched",status="404"}"#), 1.0);
    let preflights: f64 = s
        .iter()
        .filter(|(k, _)| k.starts_with(r#"moodring_http_requests_total{operation="preflight""#))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(preflights, 1.0, "{text}");
    assert_eq!(at(r#"moodring_http_requests_total{operation="generateKey",status="201"}"#), 1.0);
    assert_eq!(at(r#"moodring_http_request_duration_seconds_count{operation="postEvents"}"#), 2.0);
    assert_eq!(at(r#"moodring_http_request_duration_seconds_bucket{operation="postEvents",le="+Inf"}"#), 2.0);
    // Two requests one after the other: two groups, every event in them.
    assert_eq!(at("moodring_ingest_group_batches_count"), 2.0);
    assert_eq!(at("moodring_ingest_group_batches_sum"), 2.0);
    assert_eq!(at("moodring_ingest_group_events_sum"), 2.0 * sent);
    assert_eq!(at("moodring_ingest_commit_duration_seconds_count"), 2.0);
    assert_eq!(at("moodring_ingest_groups_split_total"), 0.0);
    assert_eq!(at(r#"moodring_ingest_queued_batches{lane="0"}"#), 0.0);
    // The key: looked up and verified with argon2 once, then known to the cache; the malformed
    // one was refused before any lookup.
    assert_eq!(at("moodring_argon2_runs_total"), 1.0);
    assert_eq!(at(r#"moodring_api_key_lookups_total{result="miss"}"#), 1.0);
    assert_eq!(at(r#"moodring_api_key_lookups_total{result="hit"}"#), 2.0);
    let version = env!("CARGO_PKG_VERSION");
    let model = moodring::engine::Models::default().session.version;
    assert_eq!(at(&format!(r#"moodring_build_info{{session_model="{model}",version="{version}"}}"#)), 1.0);
    let writer = at(r#"moodring_db_connections{pool="writer",state="in_use"}"#)
        + at(r#"moodring_db_connections{pool="writer",state="idle"}"#);
    assert!(writer >= 1.0, "{text}");
    assert!(at("process_resident_memory_bytes") > 1e6, "{text}");
    if app.database_url.starts_with("postgres") {
        // On PostgreSQL the mood read went through the coalesced reads.
        assert_eq!(at(r#"moodring_read_batch_keys_count{read="current_mood"}"#), 1.0);
    }
    // No customer data in a label: not the session, not the key, not a path.
    for secret in ["user_abc", &key, "mr_live_wrong", "/v1/nothing"] {
        assert!(!text.contains(secret), "{secret} appears in\n{text}");
    }
    // The scrape itself is counted, for the next one; it is not in the public spec.
    let (_, _, again) = scrape(&app, None).await;
    assert_eq!(samples(&again)[r#"moodring_http_requests_total{operation="metrics",status="200"}"#], 1.0);
    let spec = TestApp::read(app.http.get(format!("{}/openapi.json", app.base))).await;
    assert!(spec.json["paths"].get("/metrics").is_none());
}

/// On PostgreSQL a batch for a session its lane wrote last goes as one checked statement; one
/// that repeats a stored event id makes that statement stand down, and the locked way counts the
/// duplicate. SQLite always writes the locked way.
#[tokio::test]
async fn batches_for_a_session_the_lane_kept_go_the_checked_way_on_postgres() {
    let app = spawn().await;
    let key = app.key("starter").await;
    let click = |id: &str, s: i64| json!([{"type": "click", "x": 1, "y": 2, "ts": T0 + s, "event_id": id}]);
    for (id, s, stored, duplicates, total) in [("e1", 0, 1, 0, 1), ("e2", 1, 1, 0, 2), ("e2", 2, 0, 1, 2)] {
        let reply = app.post_events(&key, "kept", click(id, s)).await;
        assert_eq!(reply.status, 200, "{}", reply.json);
        let counts = (&reply.json["events_stored"], &reply.json["duplicates"], &reply.json["total_events"]);
        assert_eq!(counts, (&json!(stored), &json!(duplicates), &json!(total)), "{id} at {s} s");
    }
    let (_, _, text) = scrape(&app, None).await;
    let s = samples(&text);
    let at = |series: &str| s.get(series).copied().unwrap_or_else(|| panic!("no {series} in\n{text}"));
    let (written, stood_down) = if app.database_url.starts_with("postgres") { (1.0, 1.0) } else { (0.0, 0.0) };
    assert_eq!(at(r#"moodring_ingest_checked_writes_total{result="written"}"#), written);
    assert_eq!(at(r#"moodring_ingest_checked_writes_total{result="stood_down"}"#), stood_down);
}

#[tokio::test]
async fn a_metrics_token_guards_the_scrape() {
    let database = Arc::new(fresh_database().await);
    let options = ServerOptions { metrics_token: Some("s3cret-scrape-token".into()), ..options(&database.url) };
    let app = spawn_on(database, &options).await;
    let refused =
        json!({"error": "Unauthorized", "message": "Missing or invalid metrics token (Authorization: Bearer <token>)"});
    for token in [None, Some("s3cret-scrape-toke"), Some("s3cret-scrape-tokenn"), Some("")] {
        let (status, content_type, text) = scrape(&app, token).await;
        assert_eq!((status, content_type.as_deref()), (401, Some("application/json; charset=utf-8")), "{token:?}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), refused, "{token:?}");
    }
    // An API key is not the token.
    let key = app.key("starter").await;
    assert_eq!(scrape(&app, Some(&key)).await.0, 401);
    let (status, _, text) = scrape(&app, Some("s3cret-scrape-token")).await;
    assert_eq!(status, 200);
    assert_eq!(samples(&text)[r#"moodring_http_requests_total{operation="metrics",status="401"}"#], 5.0);
    // The scheme's name in any case, as for API keys (RFC 9110).
    let lower = app.http.get(format!("{}/metrics", app.base)).header("authorization", "bearer s3cret-scrape-token");
    assert_eq!(lower.send().await.unwrap().status(), 200);
}
