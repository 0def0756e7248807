use crate::helpers::{TestApp, spawn};
use serde_json::json;

fn unauthorized() -> serde_json::Value {
    json!({"error": "Unauthorized", "message": "Missing or invalid API key"})
}

async fn mood_with(app: &TestApp, headers: &[(&str, String)]) -> crate::helpers::Reply {
    let mut req = app.http.get(format!("{}/v1/analytics/moods", app.base));
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    TestApp::read(req).await
}

#[tokio::test]
async fn either_header_authenticates() {
    let app = spawn().await;
    let key = app.key("starter").await;
    assert_eq!(mood_with(&app, &[("x-api-key", key.clone())]).await.status, 200);
    assert_eq!(mood_with(&app, &[("authorization", format!("Bearer {key}"))]).await.status, 200);
    assert_eq!(
        mood_with(&app, &[("x-api-key", key.clone()), ("authorization", format!("Bearer {key}"))]).await.status,
        200
    );
}

#[tokio::test]
async fn every_authentication_failure_is_the_same_401() {
    let app = spawn().await;
    let key = app.key("starter").await;
    let other = app.key("starter").await;
    let unknown = format!("sm_{}", "0".repeat(64));
    let wrong_secret = format!("{}{}", &key[..19], if key.ends_with('0') { "1" } else { "0" }.repeat(48));
    for headers in [
        vec![],
        vec![("x-api-key", unknown.clone())],
        vec![("x-api-key", wrong_secret)],
        vec![("x-api-key", "sm_live_xxxxxxxxxxxx".to_owned())],
        vec![("x-api-key", String::new())],
        vec![("authorization", key.clone())],
        vec![("authorization", format!("Basic {key}"))],
        vec![("authorization", "Bearer".to_owned())],
        vec![("x-api-key", key.clone()), ("authorization", format!("Bearer {other}"))],
    ] {
        let r = mood_with(&app, &headers).await;
        assert_eq!((r.status.as_u16(), &r.json), (401, &unauthorized()), "{headers:?}");
    }
}

#[tokio::test]
async fn a_repeated_key_header_is_refused() {
    let app = spawn().await;
    let key = app.key("starter").await;
    let req =
        app.http.get(format!("{}/v1/analytics/moods", app.base)).header("x-api-key", &key).header("x-api-key", &key);
    TestApp::read(req).await.expect(401, unauthorized());
}

#[tokio::test]
async fn every_tenant_endpoint_needs_a_key() {
    let app = spawn().await;
    for (method, path) in [
        (reqwest::Method::POST, "/v1/sessions/s/events"),
        (reqwest::Method::GET, "/v1/sessions/s/mood"),
        (reqwest::Method::POST, "/v1/sessions/s/feedback"),
        (reqwest::Method::DELETE, "/v1/sessions/s"),
        (reqwest::Method::GET, "/v1/analytics/moods"),
    ] {
        let r = app
            .send(method.clone(), path, None, Some(json!({"events": [{"type": "click"}], "action_taken": "x"})))
            .await;
        assert_eq!((r.status.as_u16(), &r.json), (401, &unauthorized()), "{method} {path}");
    }
}

#[tokio::test]
async fn an_address_that_keeps_failing_is_throttled() {
    let app = spawn().await;
    let key = app.key("starter").await;
    let wrong = format!("sm_{}", "f".repeat(64));
    for _ in 0..20 {
        assert_eq!(mood_with(&app, &[("x-api-key", wrong.clone())]).await.status, 401);
    }
    let r = mood_with(&app, &[("authorization", format!("Bearer {key}"))]).await;
    assert_eq!(r.status, 429, "a key this server never verified waits (argon2 would run): {}", r.json);
    assert_eq!(r.json["error"], "Too Many Requests");
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // Public endpoints stay open.
    assert_eq!(TestApp::read(app.http.get(format!("{}/health", app.base))).await.status, 200);
    assert_eq!(
        app.send(reqwest::Method::POST, "/v1/keys/generate", None, Some(json!({"customer_name": "x"}))).await.status,
        201
    );
}
