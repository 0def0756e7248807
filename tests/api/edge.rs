use crate::helpers::{TestApp, spawn};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn health_reports_ok_and_the_version() {
    let app = spawn().await;
    let r = TestApp::read(app.http.get(format!("{}/health", app.base))).await;
    r.expect(200, json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}));
}

#[tokio::test]
async fn ready_reports_what_it_checked() {
    let app = spawn().await;
    let key = app.key("starter").await;
    let r = TestApp::read(app.http.get(format!("{}/ready", app.base))).await;
    let lanes = r.json["ingest_lanes"].as_u64().expect("a count of lanes");
    assert!(lanes >= 1, "{}", r.json);
    r.expect(
        200,
        json!({"status": "ready", "reasons": [], "database": true, "ingest_lanes": lanes, "stopped_lanes": 0,
               "queued_batches": 0}),
    );
    // A key is no reason to refuse it.
    let with_key = TestApp::read(app.http.get(format!("{}/ready", app.base)).header("x-api-key", &key)).await;
    assert_eq!(with_key.status, 200);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let app = spawn().await;
    let key = app.key("starter").await;
    app.get("/v1/nothing/here", &key).await.expect(404, json!({"error": "Not Found", "message": "No such endpoint"}));
    let r = app.send(Method::PUT, "/v1/sessions/s/mood", Some(&key), None).await;
    r.expect(405, json!({"error": "Method Not Allowed", "message": "This endpoint does not accept that method"}));
    assert_eq!(r.header("allow"), Some("GET, OPTIONS"));
    let r = app.send(Method::GET, "/v1/keys/current", Some(&key), None).await;
    assert_eq!((r.status.as_u16(), r.header("allow")), (405, Some("DELETE, OPTIONS")));
}

/// A path segment whose bytes are not UTF-8 is blamed on the path, not on a body.
#[tokio::test]
async fn paths_that_are_not_utf8_are_invalid_paths() {
    let app = spawn().await;
    let key = app.key("starter").await;
    let invalid = json!({"error": "Invalid path", "message": "A path segment is not valid UTF-8 once percent-decoded"});
    app.get("/v1/sessions/a_only%FF/mood", &key).await.expect(400, invalid.clone());
    app.get("/v1/users/%C3%28/sessions", &key).await.expect(400, invalid);
}

#[tokio::test]
async fn bodies_must_be_json() {
    let app = spawn().await;
    let key = app.key("starter").await;
    let url = format!("{}/v1/sessions/s/events", app.base);
    let post = |ct: Option<&str>, body: &str| {
        let mut req = app.http.post(&url).header("x-api-key", &key).body(body.to_owned());
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        TestApp::read(req)
    };
    let unsupported = json!({"error": "Unsupported Media Type", "message": "Send the body as JSON with Content-Type: application/json"});
    post(None, r#"{"events":[{"type":"click"}]}"#).await.expect(415, unsupported.clone());
    post(Some("text/plain"), r#"{"events":[{"type":"click"}]}"#).await.expect(415, unsupported);
    for body in
        ["", "{", "{\"events\": [", "not json", "[]", "\"events\"", "{\"events\": [{\"type\": \"click\"}]} trailing"]
    {
        let r = post(Some("application/json"), body).await;
        assert_eq!(
            (r.status.as_u16(), r.json["error"].as_str()),
            (400, Some("Malformed JSON body")),
            "{body:?}: {}",
            r.json
        );
    }
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert_eq!(post(Some("application/json"), &nested).await.status, 400);
    assert_eq!(app.mood(&key, "s").await.status, 404);
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let app = spawn().await;
    let key = app.key("starter").await;
    let (status, body) = app.declare_body(&key, 5 << 20).await;
    assert_eq!(
        (status, body),
        (413, json!({"error": "Payload Too Large", "message": "Request bodies are limited to 4194304 bytes"}))
    );
    // Without a Content-Length the limit holds too: one byte over it, sent whole.
    let chunks = (0..4).map(|_| vec![b' '; 1 << 20]).chain([b" ".to_vec()]);
    let stream = futures::stream::iter(chunks.map(Ok::<_, std::io::Error>));
    let chunked = app
        .http
        .post(format!("{}/v1/sessions/s/events", app.base))
        .header("x-api-key", &key)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(stream));
    assert_eq!(TestApp::read(chunked).await.status, 413);
    assert_eq!(app.mood(&key, "s").await.status, 404);
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn().await;
    let ok = TestApp::read(app.http.get(format!("{}/health", app.base))).await;
    let err = TestApp::read(app.http.get(format!("{}/v1/analytics/moods", app.base))).await;
    for r in [&ok, &err] {
        let id = r.header("x-request-id").unwrap();
        assert!(id.starts_with("req_") && id.len() == 20, "{id}");
    }
    assert_ne!(ok.header("x-request-id"), err.header("x-request-id"));
}

#[tokio::test]
async fn browsers_may_call_with_either_auth_header() {
    let app = spawn().await;
    let req = app
        .http
        .request(Method::OPTIONS, format!("{}/v1/sessions/s/events", app.base))
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "x-api-key, authorization, content-type");
    let r = TestApp::read(req).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some("https://shop.example"));
    let allowed = r.header("access-control-allow-headers").unwrap().to_lowercase();
    for h in ["x-api-key", "authorization", "content-type"] {
        assert!(allowed.contains(h), "{allowed}");
    }
    let key = app.key("starter").await;
    let req = app
        .http
        .get(format!("{}/v1/analytics/moods", app.base))
        .header("x-api-key", &key)
        .header("origin", "https://shop.example");
    let r = TestApp::read(req).await;
    assert_eq!(r.header("access-control-allow-origin"), Some("https://shop.example"));
    assert!(r.header("access-control-expose-headers").unwrap().to_lowercase().contains("x-request-id"));
}

#[tokio::test]
async fn a_server_failure_answers_500_with_a_request_id() {
    let app = spawn().await;
    let key = app.key("starter").await;
    let db = sea_orm::Database::connect(&app.database_url).await.unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(&db, "DROP TABLE mood_rollup").await.unwrap();
    let r = app.analytics(&key).await;
    let id = r.header("x-request-id").unwrap().to_owned();
    r.expect(500, json!({"error": "Internal Server Error", "request_id": id}));
}
