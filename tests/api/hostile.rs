//! Hostile and broken requests: every one gets a 4xx JSON error of the documented shape, nothing
//! is stored, and the server stays up.

use crate::helpers::{TestApp, enc, spawn};
use reqwest::Method;
use serde_json::{Value, json};

/// One bad request.
struct Bad {
    what: String,
    method: Method,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
}

fn bad(what: impl Into<String>, method: Method, path: impl Into<String>) -> Bad {
    Bad { what: what.into(), method, path: path.into(), headers: vec![], body: None }
}

impl Bad {
    fn key(mut self, key: &str) -> Self {
        self.headers.push(("x-api-key", key.to_owned()));
        self
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    fn json(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self.header("content-type", "application/json")
    }
}

fn events_with(event: Value) -> String {
    json!({"events": [event]}).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_get_documented_4xx_and_store_nothing() {
    let app = spawn().await;
    let key = app.key("starter").await;
    let other = app.key("starter").await;
    app.post_events(&other, "theirs", json!([{"type": "click"}])).await;
    let post = |what: &str, body: &str| {
        bad(what, Method::POST, "/v1/sessions/s/events").key(&key).json(body.as_bytes().to_vec())
    };
    let event = |what: &str, e: Value| post(what, &events_with(e));

    let mut cases = vec![
        post("empty body", ""),
        post("truncated object", "{"),
        post("truncated array", r#"{"events":["#),
        post("truncated event", r#"{"events":[{"type":"click""#),
        post("trailing comma", r#"{"events":[{"type":"click",}]}"#),
        post("single quotes", "{'events': []}"),
        post("bare array", r#"[{"type":"click"}]"#),
        post("null", "null"),
        post("number", "42"),
        post("string", r#""events""#),
        post("trailing garbage", r#"{"events":[{"type":"click"}]} x"#),
        post("comment", r#"{"events":[/* x */{"type":"click"}]}"#),
        bad("NUL byte", Method::POST, "/v1/sessions/s/events")
            .key(&key)
            .json(b"{\"events\":[{\"type\":\"cl\0ick\"}]}".to_vec()),
        bad("invalid UTF-8", Method::POST, "/v1/sessions/s/events")
            .key(&key)
            .json(b"{\"events\":[{\"type\":\"\xff\xfe\"}]}".to_vec()),
        post("byte order mark", "\u{feff}{\"events\":[{\"type\":\"click\"}]}"),
        post("events a string", r#"{"events":"click"}"#),
        post("events an object", r#"{"events":{"type":"click"}}"#),
        post("event a number", r#"{"events":[1]}"#),
        post("event null", r#"{"events":[null]}"#),
        post("no events key", r#"{"event":[{"type":"click"}]}"#),
        post("empty events", r#"{"events":[]}"#),
        event("type a number", json!({"type": 1})),
        event("type null", json!({"type": null})),
        event("type an array", json!({"type": ["click"]})),
        event("unknown type", json!({"type": "page_visit"})),
        event("type with SQL", json!({"type": "click'; DROP TABLE events; --"})),
        event("ts a string", json!({"type": "click", "ts": "1746352800"})),
        event("ts a boolean", json!({"type": "click", "ts": true})),
        event("ts NaN-like string", json!({"type": "click", "ts": "NaN"})),
        event("ts huge", json!({"type": "click", "ts": 1e308})),
        event("ts very negative", json!({"type": "click", "ts": -1e308})),
        event("ts in milliseconds", json!({"type": "click", "ts": 1_746_352_800_000_i64})),
        post("number out of range", r#"{"events":[{"type":"click","x":1e400}]}"#),
        event("x Infinity string", json!({"type": "click", "x": "Infinity"})),
        event("x far off screen", json!({"type": "click", "x": -1e7})),
        event("duration enormous", json!({"type": "idle", "duration_ms": 9e15})),
        event("duration negative", json!({"type": "idle", "duration_ms": -1})),
        event("speed enormous", json!({"type": "scroll", "speed": 1e12})),
        event("direction sideways", json!({"type": "scroll", "direction": "left"})),
        event("direction a number", json!({"type": "scroll", "direction": 1})),
        event("url too long", json!({"type": "page_view", "url": "u".repeat(2049)})),
        event("url an array", json!({"type": "page_view", "url": ["/a"]})),
        event("message too long", json!({"type": "error", "message": "m".repeat(513)})),
        event("event_id a number", json!({"type": "click", "event_id": 5})),
        event("message with NUL", json!({"type": "error", "message": "a\u{0}b"})),
        event("url with NUL", json!({"type": "page_view", "url": "/a\u{0}"})),
        event("event_id with NUL", json!({"type": "click", "event_id": "e\u{0}"})),
        event("direction null", json!({"type": "scroll", "direction": null})),
        event("event_id huge", json!({"type": "click", "event_id": "e".repeat(10_000)})),
        event("nested object in a field", json!({"type": "click", "x": {"a": {"b": 1}}})),
        post("deep nesting", &format!(r#"{{"events":{}{}}}"#, "[".repeat(50_000), "]".repeat(50_000))),
        post("a thousand and one events", &json!({"events": vec![json!({"type": "click"}); 1001]}).to_string()),
        post("ten thousand events", &json!({"events": vec![json!({"type": "click"}); 10_000]}).to_string()),
        bad("user_id a number", Method::POST, "/v1/sessions/s/events")
            .key(&key)
            .json(r#"{"user_id":5,"events":[{"type":"click"}]}"#),
        bad("user_id too long", Method::POST, "/v1/sessions/s/events")
            .key(&key)
            .json(format!(r#"{{"user_id":"{}","events":[{{"type":"click"}}]}}"#, "u".repeat(257))),
        bad("id of 257 characters", Method::POST, format!("/v1/sessions/{}/events", "a".repeat(257)))
            .key(&key)
            .json(events_with(json!({"type": "click"}))),
        bad("id of 257 odd characters", Method::POST, format!("/v1/sessions/{}/events", enc(&"🙂".repeat(257))))
            .key(&key)
            .json(events_with(json!({"type": "click"}))),
        bad("id with a control character", Method::POST, "/v1/sessions/a%01b/events")
            .key(&key)
            .json(events_with(json!({"type": "click"}))),
        bad("id with a newline", Method::POST, "/v1/sessions/a%0Ab/events")
            .key(&key)
            .json(events_with(json!({"type": "click"}))),
        bad("id with NUL", Method::POST, "/v1/sessions/a%00b/events")
            .key(&key)
            .json(events_with(json!({"type": "click"}))),
        bad("text/plain", Method::POST, "/v1/sessions/s/events")
            .key(&key)
            .header("content-type", "text/plain")
            .json(events_with(json!({"type": "click"}))),
        bad("form encoded", Method::POST, "/v1/sessions/s/events")
            .key(&key)
            .header("content-type", "application/x-www-form-urlencoded")
            .json(b"events=click".to_vec()),
        bad("xml", Method::POST, "/v1/sessions/s/events")
            .key(&key)
            .header("content-type", "application/xml")
            .json(b"<events/>".to_vec()),
        bad("path traversal", Method::GET, "/v1/sessions/..%2F..%2Fetc%2Fpasswd/mood").key(&key),
        bad("SQL in a session id", Method::GET, format!("/v1/sessions/{}/mood", enc("x' OR '1'='1"))).key(&key),
        bad("another tenant's session", Method::GET, "/v1/sessions/theirs/mood").key(&key),
        bad("deleting another tenant's session", Method::DELETE, "/v1/sessions/theirs").key(&key),
        bad("unknown route", Method::GET, "/v1/admin").key(&key),
        bad("wrong method", Method::PUT, "/v1/sessions/s/events").key(&key).json(events_with(json!({"type": "click"}))),
        bad("limit negative", Method::GET, "/v1/sessions/theirs/mood-history?limit=-1").key(&key),
        bad("limit huge", Method::GET, "/v1/sessions/theirs/mood-history?limit=1000000000000").key(&key),
        bad("at garbage", Method::GET, "/v1/sessions/theirs/state?at=%27;--").key(&key),
        bad("tz traversal", Method::GET, "/v1/analytics/moods/timeseries?tz=../../etc/localtime").key(&key),
        bad("days NaN", Method::GET, "/v1/analytics/moods/aggregate?days=NaN").key(&key),
        bad("feedback without action", Method::POST, "/v1/sessions/theirs/feedback")
            .key(&key)
            .json(r#"{"was_helpful":"yes"}"#),
        bad("customer name with NUL", Method::POST, "/v1/keys/generate").json(r#"{"customer_name":"A\u0000"}"#),
        bad("plan null", Method::POST, "/v1/keys/generate").json(r#"{"customer_name":"A","plan":null}"#),
        bad("missing key", Method::GET, "/v1/analytics/moods"),
        bad("empty key", Method::GET, "/v1/analytics/moods").header("x-api-key", ""),
        bad("duplicated key header", Method::GET, "/v1/analytics/moods").key(&key).key(&key),
        bad("conflicting keys", Method::GET, "/v1/analytics/moods")
            .key(&key)
            .header("authorization", format!("Bearer {other}")),
        bad("basic auth", Method::GET, "/v1/analytics/moods").header("authorization", "Basic dXNlcjpwYXNz"),
        bad("key with SQL", Method::GET, "/v1/analytics/moods").header("x-api-key", "sm_' OR 1=1 --"),
    ];
    assert!(cases.len() >= 60, "{}", cases.len());

    let mut failures = Vec::new();
    for case in cases.drain(..) {
        let mut req = app.http.request(case.method.clone(), format!("{}{}", app.base, case.path));
        for (k, v) in &case.headers {
            req = req.header(*k, v);
        }
        if let Some(body) = case.body {
            req = req.body(body);
        }
        let r = TestApp::read(req).await;
        let shaped = r.json["error"].is_string()
            && r.header("content-type").is_some_and(|ct| ct.starts_with("application/json"));
        if !(r.status.is_client_error() && shaped) {
            failures.push(format!("{}: {} {}", case.what, r.status, r.json));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let (status, body) = app.declare_body(&key, 10 << 20).await;
    assert_eq!((status, body["error"].as_str()), (413, Some("Payload Too Large")));
    assert_eq!(TestApp::read(app.http.get(format!("{}/health", app.base))).await.status, 200, "still up");
    assert_eq!(app.analytics(&key).await.json["total_sessions"], 0, "nothing stored");
    assert_eq!(app.mood(&other, "theirs").await.json["event_count"], 1, "the other tenant untouched");
}
