//! Credentials for web pages: publishable keys, browser sessions, session tokens, and where
//! each of them stops.

use crate::helpers::{TestApp, spawn};
use reqwest::Method;
use serde_json::{Value, json};

const SHOP: &str = "https://shop.example";

/// A request with these headers (and a JSON body).
async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> crate::helpers::Reply {
    let mut req = app.http.request(method, format!("{}{path}", app.base));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    TestApp::read(req).await
}

async fn publishable_key(app: &TestApp, key: &str, origins: Value) -> String {
    let r = app.send(Method::POST, "/v1/keys/publishable", Some(key), Some(json!({"allowed_origins": origins}))).await;
    assert_eq!(r.status, 201, "{}", r.json);
    r.json["publishable_key"].as_str().unwrap().to_owned()
}

/// Starts a browser session from `origin`: (session id, token).
async fn browser_session(app: &TestApp, pk: &str, origin: &str) -> (String, String) {
    let r =
        call(app, Method::POST, "/v1/browser/sessions", &[("x-publishable-key", pk), ("origin", origin)], None).await;
    assert_eq!(r.status, 201, "{}", r.json);
    (r.json["session_id"].as_str().unwrap().to_owned(), r.json["token"].as_str().unwrap().to_owned())
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn unauthorized() -> Value {
    json!({"error": "Unauthorized", "message": "Missing or invalid API key"})
}

fn origin_not_allowed() -> Value {
    json!({"error": "Origin not allowed", "message": "This credential may not be used from this page's origin"})
}

async fn session_count(app: &TestApp, key: &str) -> i64 {
    app.analytics(key).await.json["total_sessions"].as_i64().unwrap()
}

#[tokio::test]
async fn publishable_keys_are_created_listed_and_revoked_by_their_tenant() {
    let app = spawn().await;
    let (key, other) = (app.key("starter").await, app.key("starter").await);
    let r = app
        .send(
            Method::POST,
            "/v1/keys/publishable",
            Some(&key),
            Some(json!({"allowed_origins": ["HTTPS://Shop.Example:443", "http://localhost:8080"]})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let pk = r.json["publishable_key"].as_str().unwrap().to_owned();
    assert!(pk.starts_with("pk_") && pk.len() == 51 && pk[3..].bytes().all(|b| b.is_ascii_hexdigit()), "{pk}");
    let created_at = r.json["created_at"].as_str().unwrap().to_owned();
    let listed =
        json!({"publishable_key": pk, "allowed_origins": [SHOP, "http://localhost:8080"], "created_at": created_at});
    assert_eq!(r.json, listed);
    app.get("/v1/keys/publishable", &key).await.expect(200, json!({"publishable_keys": [listed]}));
    app.get("/v1/keys/publishable", &other).await.expect(200, json!({"publishable_keys": []}));
    let not_found = json!({"error": "Publishable key not found"});
    app.send(Method::DELETE, &format!("/v1/keys/publishable/{pk}"), Some(&other), None)
        .await
        .expect(404, not_found.clone());
    app.send(Method::DELETE, &format!("/v1/keys/publishable/{pk}"), Some(&key), None)
        .await
        .expect(200, json!({"publishable_key": pk, "revoked": true}));
    app.send(Method::DELETE, &format!("/v1/keys/publishable/{pk}"), Some(&key), None).await.expect(404, not_found);
    app.get("/v1/keys/publishable", &key).await.expect(200, json!({"publishable_keys": []}));
    // Revoked: at once.
    let r =
        call(&app, Method::POST, "/v1/browser/sessions", &[("x-publishable-key", &pk), ("origin", SHOP)], None).await;
    r.expect(401, unauthorized());
}

#[tokio::test]
async fn origins_must_be_listed_exactly() {
    let app = spawn().await;
    let key = app.key("starter").await;
    for (origins, field, message) in [
        (
            json!([SHOP, "https://*.shop.example"]),
            "allowed_origins[1]",
            "must not contain a wildcard: list each origin",
        ),
        (
            json!(["shop.example"]),
            "allowed_origins[0]",
            "must be scheme://host[:port] (http or https, no path, no wildcard)",
        ),
        (
            json!(["https://shop.example/cart"]),
            "allowed_origins[0]",
            "must be scheme://host[:port] (http or https, no path, no wildcard)",
        ),
        (json!(["ftp://shop.example"]), "allowed_origins[0]", "must use http or https"),
    ] {
        let r =
            app.send(Method::POST, "/v1/keys/publishable", Some(&key), Some(json!({"allowed_origins": origins}))).await;
        r.expect(400, json!({"error": "Invalid field value", "field": field, "message": message}));
    }
    let r = app.send(Method::POST, "/v1/keys/publishable", Some(&key), Some(json!({"allowed_origins": []}))).await;
    assert_eq!((r.status.as_u16(), &r.json["field"]), (400, &json!("allowed_origins")), "{}", r.json);
    app.get("/v1/keys/publishable", &key).await.expect(200, json!({"publishable_keys": []}));
}

#[tokio::test]
async fn a_publishable_key_starts_a_session_from_its_origins_only() {
    let app = spawn().await;
    let key = app.key("starter").await;
    let pk = publishable_key(&app, &key, json!([SHOP])).await;
    for (headers, expected) in [
        (vec![("x-publishable-key", pk.as_str()), ("origin", "https://evil.example")], origin_not_allowed()),
        (vec![("x-publishable-key", pk.as_str()), ("origin", "http://shop.example")], origin_not_allowed()),
        (vec![("x-publishable-key", pk.as_str())], origin_not_allowed()),
    ] {
        let r = call(&app, Method::POST, "/v1/browser/sessions", &headers, None).await;
        assert_eq!((r.status.as_u16(), &r.json), (403, &expected), "{headers:?}");
    }
    let bad_pk = format!("pk_{}", "0".repeat(48));
    for headers in [
        vec![("x-publishable-key", bad_pk.as_str()), ("origin", SHOP)],
        vec![("x-publishable-key", key.as_str()), ("origin", SHOP)],
    ] {
        call(&app, Method::POST, "/v1/browser/sessions", &headers, None).await.expect(401, unauthorized());
    }
    assert_eq!(session_count(&app, &key).await, 0, "nothing stored");

    let r =
        call(&app, Method::POST, "/v1/browser/sessions", &[("x-publishable-key", &pk), ("origin", SHOP)], None).await;
    assert_eq!(r.status, 201, "{}", r.json);
    let session = r.json["session_id"].as_str().unwrap();
    assert!(session.starts_with("bs_") && session.len() == 35, "{session}");
    let expires = chrono::DateTime::parse_from_rfc3339(r.json["expires_at"].as_str().unwrap()).unwrap();
    let ttl = (expires.timestamp() - chrono::Utc::now().timestamp()) as f64;
    assert!((895.0..=901.0).contains(&ttl), "15 minutes by default: {ttl}");
    // The session exists, neutral and empty, and counts.
    let mood = app.mood(&key, session).await;
    assert_eq!(
        (mood.status.as_u16(), &mood.json["mood"], &mood.json["event_count"]),
        (200, &json!("neutral"), &json!(0))
    );
    assert_eq!(session_count(&app, &key).await, 1);
    // Each start is a new session.
    let (again, _) = browser_session(&app, &pk, SHOP).await;
    assert_ne!(again, session);
}

#[tokio::test]
async fn a_token_reaches_its_own_session_and_nothing_else() {
    let app = spawn().await;
    let key = app.key("starter").await;
    app.post_events(&key, "someone-else", json!([{"type": "click"}])).await;
    let pk = publishable_key(&app, &key, json!([SHOP])).await;
    let (session, token) = browser_session(&app, &pk, SHOP).await;
    let auth = bearer(&token);
    let from_shop = [("authorization", auth.as_str()), ("origin", SHOP)];
    let events = json!({"events": [{"type": "rage_click", "x": 10, "y": 10}, {"type": "error", "message": "Payment failed"}, {"type": "rage_click", "x": 10, "y": 12}]});
    let r = call(&app, Method::POST, &format!("/v1/sessions/{session}/events"), &from_shop, Some(events.clone())).await;
    assert_eq!(
        (r.status.as_u16(), &r.json["events_stored"], &r.json["total_events"]),
        (200, &json!(3), &json!(3)),
        "{}",
        r.json
    );
    let r = call(&app, Method::GET, &format!("/v1/sessions/{session}/mood"), &from_shop, None).await;
    assert_eq!((r.status.as_u16(), &r.json["event_count"]), (200, &json!(3)), "{}", r.json);
    assert_eq!(r.json, app.mood(&key, &session).await.json, "the same answer as with the secret key");
    let r = call(&app, Method::GET, &format!("/v1/sessions/{session}/state"), &from_shop, None).await;
    assert_eq!(r.status, 200, "{}", r.json);
    // Without an Origin (an app, not a page) it works too.
    let r = call(&app, Method::GET, &format!("/v1/sessions/{session}/mood"), &[("authorization", &auth)], None).await;
    assert_eq!(r.status, 200);

    let other_session =
        json!({"error": "Forbidden", "message": "This session token grants access to its own session only"});
    let elsewhere =
        json!({"error": "Forbidden", "message": "A session token cannot call this endpoint: use your secret API key"});
    for (method, path, body, expected) in [
        (Method::POST, "/v1/sessions/someone-else/events".to_owned(), Some(events.clone()), &other_session),
        (Method::GET, "/v1/sessions/someone-else/mood".to_owned(), None, &other_session),
        (Method::GET, "/v1/sessions/someone-else/state".to_owned(), None, &other_session),
        (Method::GET, format!("/v1/sessions/{session}/mood-history"), None, &elsewhere),
        (
            Method::POST,
            format!("/v1/sessions/{session}/feedback"),
            Some(json!({"action_taken": "show_tooltip"})),
            &elsewhere,
        ),
        (Method::DELETE, format!("/v1/sessions/{session}"), None, &elsewhere),
        (Method::GET, "/v1/analytics/moods".to_owned(), None, &elsewhere),
        (Method::GET, "/v1/analytics/export".to_owned(), None, &elsewhere),
        (Method::GET, "/v1/users/u1/mood".to_owned(), None, &elsewhere),
        (Method::POST, "/v1/keys".to_owned(), None, &elsewhere),
        (Method::GET, "/v1/keys/publishable".to_owned(), None, &elsewhere),
        (Method::DELETE, "/v1/keys/current".to_owned(), None, &elsewhere),
        (Method::POST, "/v1/tokens".to_owned(), Some(json!({"session_id": "someone-else"})), &elsewhere),
    ] {
        let r = call(&app, method.clone(), &path, &from_shop, body).await;
        assert_eq!((r.status.as_u16(), &r.json), (403, expected), "{method} {path}");
    }
    // A token cannot link its session to a person.
    let r = call(
        &app,
        Method::POST,
        &format!("/v1/sessions/{session}/events"),
        &from_shop,
        Some(json!({"user_id": "u1", "events": [{"type": "click"}]})),
    )
    .await;
    assert_eq!((r.status.as_u16(), &r.json["error"]), (403, &json!("Forbidden")), "{}", r.json);
    // From a page of another origin: refused, nothing stored.
    let r = call(
        &app,
        Method::POST,
        &format!("/v1/sessions/{session}/events"),
        &[("authorization", &auth), ("origin", "https://evil.example")],
        Some(events),
    )
    .await;
    r.expect(403, origin_not_allowed());
    assert_eq!(app.mood(&key, &session).await.json["event_count"], 3);
    assert_eq!(app.mood(&key, "someone-else").await.json["event_count"], 1);
}

#[tokio::test]
async fn invalid_tampered_or_unsigned_tokens_are_401() {
    let app = spawn().await;
    let key = app.key("starter").await;
    let pk = publishable_key(&app, &key, json!([SHOP])).await;
    let (session, token) = browser_session(&app, &pk, SHOP).await;
    let parts: Vec<&str> = token.split('.').collect();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = json!("someone-else");
    let tampered = format!("{}.{}.{}", parts[0], b64.encode(claims.to_string()), parts[2]);
    let none = format!("{}.{}.", b64.encode(r#"{"alg":"none","typ":"JWT"}"#), parts[1]);
    let truncated = format!("{}.{}", parts[0], parts[1]);
    for bad in [tampered.as_str(), none.as_str(), truncated.as_str(), "not-a-token", &format!("{token}x")] {
        for path in [format!("/v1/sessions/{session}/mood"), "/v1/analytics/moods".to_owned()] {
            let r = call(&app, Method::GET, &path, &[("authorization", &bearer(bad))], None).await;
            assert_eq!((r.status.as_u16(), &r.json), (401, &unauthorized()), "{bad} {path}");
        }
    }
}

#[tokio::test]
async fn servers_mint_tokens_for_their_own_session_ids_and_holders_renew_them() {
    let app = spawn().await;
    let key = app.key("starter").await;
    let mint = |body: Value| app.send(Method::POST, "/v1/tokens", Some(&key), Some(body));
    for (body, field) in [
        (json!({"session_id": "s", "ttl_s": 59}), "ttl_s"),
        (json!({"session_id": "s", "ttl_s": 86_401}), "ttl_s"),
        (json!({"session_id": "s", "allowed_origins": ["https://ok.example", "nope"]}), "allowed_origins[1]"),
        (json!({"session_id": ""}), "session_id"),
    ] {
        let r = mint(body.clone()).await;
        assert_eq!((r.status.as_u16(), &r.json["field"]), (400, &json!(field)), "{body}: {}", r.json);
    }
    let r = mint(json!({"session_id": "checkout-42", "ttl_s": 3600})).await;
    assert_eq!((r.status.as_u16(), &r.json["session_id"]), (201, &json!("checkout-42")), "{}", r.json);
    let token = r.json["token"].as_str().unwrap().to_owned();
    let expires = chrono::DateTime::parse_from_rfc3339(r.json["expires_at"].as_str().unwrap()).unwrap();
    assert!((expires.timestamp() - chrono::Utc::now().timestamp() - 3600).abs() <= 2);
    // Its first batch creates the session.
    let r = call(
        &app,
        Method::POST,
        "/v1/sessions/checkout-42/events",
        &[("authorization", &bearer(&token))],
        Some(json!({"events": [{"type": "click"}]})),
    )
    .await;
    assert_eq!((r.status.as_u16(), &r.json["total_events"]), (200, &json!(1)), "{}", r.json);
    // Renewal: the same session, origins and lifetime.
    let r = call(&app, Method::POST, "/v1/tokens/renew", &[("authorization", &bearer(&token))], None).await;
    assert_eq!((r.status.as_u16(), &r.json["session_id"]), (201, &json!("checkout-42")), "{}", r.json);
    let renewed = r.json["token"].as_str().unwrap().to_owned();
    assert_ne!(renewed, token);
    let r =
        call(&app, Method::GET, "/v1/sessions/checkout-42/mood", &[("authorization", &bearer(&renewed))], None).await;
    assert_eq!(r.json["event_count"], 1);
    // Only a token renews.
    call(&app, Method::POST, "/v1/tokens/renew", &[("x-api-key", &key)], None).await.expect(401, unauthorized());
    // A token minted for some origins holds to them.
    let r = mint(json!({"session_id": "checkout-43", "allowed_origins": [SHOP]})).await;
    let token = r.json["token"].as_str().unwrap().to_owned();
    let r = call(
        &app,
        Method::GET,
        "/v1/sessions/checkout-43/mood",
        &[("authorization", &bearer(&token)), ("origin", "https://evil.example")],
        None,
    )
    .await;
    r.expect(403, origin_not_allowed());
}

#[tokio::test]
async fn browser_sessions_count_against_the_quota() {
    let app = spawn().await;
    let key = app.key("starter").await;
    let pk = publishable_key(&app, &key, json!([SHOP])).await;
    let db = sea_orm::Database::connect(&app.database_url).await.unwrap();
    use sea_orm::ConnectionTrait;
    let month = chrono::Utc::now().format("%Y-%m");
    db.execute_unprepared(&format!(
        "INSERT INTO quota_usage (tenant_id, month, used) SELECT id, '{month}', 4999 FROM tenants"
    ))
    .await
    .unwrap();
    browser_session(&app, &pk, SHOP).await;
    let r =
        call(&app, Method::POST, "/v1/browser/sessions", &[("x-publishable-key", &pk), ("origin", SHOP)], None).await;
    assert_eq!(
        (r.status.as_u16(), &r.json["error"], &r.json["limit"]),
        (429, &json!("Rate limit exceeded"), &json!(5000)),
        "{}",
        r.json
    );
    assert!(r.header("retry-after").is_some());
    assert_eq!(session_count(&app, &key).await, 1);
}

/// A client behind the same address that keeps sending bad keys does not lock out credentials
/// that verify: a key this server verified before, and session tokens.
#[tokio::test]
async fn the_throttle_never_refuses_a_credential_that_verifies() {
    let app = spawn().await;
    let key = app.key("starter").await;
    let pk = publishable_key(&app, &key, json!([SHOP])).await;
    let (session, token) = browser_session(&app, &pk, SHOP).await;
    let wrong = format!("sm_{}", "f".repeat(64));
    for _ in 0..20 {
        assert_eq!(app.analytics(&wrong).await.status, 401);
    }
    assert_eq!(app.analytics(&wrong).await.status, 429, "the address is throttled");
    assert_eq!(app.analytics(&key).await.status, 200, "a key verified before");
    let r =
        call(&app, Method::GET, &format!("/v1/sessions/{session}/mood"), &[("authorization", &bearer(&token))], None)
            .await;
    assert_eq!(r.status, 200, "a session token: {}", r.json);
    assert_eq!(browser_session(&app, &pk, SHOP).await.0.len(), 35, "a publishable key");
}

#[tokio::test]
async fn browsers_may_send_the_credentials_across_origins() {
    let app = spawn().await;
    let r = call(
        &app,
        Method::OPTIONS,
        "/v1/browser/sessions",
        &[
            ("origin", SHOP),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "x-publishable-key"),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some(SHOP));
    assert!(r.header("access-control-allow-headers").unwrap().contains("x-publishable-key"));
    let r = call(
        &app,
        Method::OPTIONS,
        "/v1/sessions/s/events",
        &[
            ("origin", SHOP),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "authorization, content-type"),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some(SHOP));
    assert!(r.header("access-control-allow-headers").unwrap().contains("authorization"));
}

#[tokio::test]
async fn the_tracker_is_served_with_a_hashed_url_an_etag_and_gzip() {
    let app = spawn().await;
    let get = |path: &str, headers: &[(&str, &str)]| {
        let mut req = app.http.get(format!("{}{path}", app.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send()
    };
    let plain = get("/v1/tracker.js", &[]).await.unwrap();
    assert_eq!(plain.status(), 200);
    let header = |r: &reqwest::Response, name: &str| r.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(header(&plain, "content-type").as_deref(), Some("application/javascript; charset=utf-8"));
    assert_eq!(header(&plain, "cache-control").as_deref(), Some("public, max-age=300"));
    let etag = header(&plain, "etag").unwrap();
    let body = plain.bytes().await.unwrap();
    assert_eq!(&body[..], include_bytes!("../../src/web/tracker.js"));
    // The same file at the URL named after its content, cached for good.
    let hash = etag.trim_matches('"');
    let hashed = get(&format!("/v1/tracker/{hash}.js"), &[]).await.unwrap();
    assert_eq!(header(&hashed, "cache-control").as_deref(), Some("public, max-age=31536000, immutable"));
    assert_eq!(hashed.bytes().await.unwrap(), body);
    let stale = TestApp::read(app.http.get(format!("{}/v1/tracker/0123456789abcdef.js", app.base))).await;
    stale.expect(404, json!({"error": "Not Found", "message": "No such endpoint"}));
    // Revalidation, and gzip for browsers that take it: at most 6 KB on the wire.
    assert_eq!(get("/v1/tracker.js", &[("if-none-match", &etag)]).await.unwrap().status(), 304);
    let gz = get("/v1/tracker.js", &[("accept-encoding", "gzip, deflate, br")]).await.unwrap();
    assert_eq!(header(&gz, "content-encoding").as_deref(), Some("gzip"));
    let compressed = gz.bytes().await.unwrap();
    assert!(compressed.len() <= 6 * 1024, "{} bytes gzipped", compressed.len());
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&compressed[..]), &mut unzipped).unwrap();
    assert_eq!(unzipped, body);
}

/// A token expires on every replica: one minted by a server whose clock says T is refused by
/// another, on the same database, whose clock says two hours later.
#[tokio::test]
async fn an_expired_token_is_401_on_every_replica() {
    use moodring::server::{Bound, ServerOptions};
    use moodring::state::Clock;
    let t0 = chrono::DateTime::from_timestamp(crate::helpers::T0, 0).unwrap();
    let app = crate::helpers::spawn_with(Clock::fixed(t0)).await;
    let key = app.key("starter").await;
    let r = app.send(Method::POST, "/v1/tokens", Some(&key), Some(json!({"session_id": "s", "ttl_s": 3600}))).await;
    assert_eq!(r.json["expires_at"], "2025-05-04T11:00:00.000Z");
    let token = r.json["token"].as_str().unwrap().to_owned();
    let later = ServerOptions {
        clock: Clock::fixed(t0 + chrono::Duration::hours(2)),
        ..crate::helpers::options(&app.database_url)
    };
    let bound = Bound::new(&later, "127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", bound.local_addr());
    tokio::spawn(bound.run_until(std::future::pending()));
    let at = |base: String| {
        let http = app.http.clone();
        let token = token.clone();
        async move { TestApp::read(http.get(format!("{base}/v1/sessions/s/mood")).bearer_auth(token)).await }
    };
    assert_eq!(at(app.base.clone()).await.status, 404, "valid where it was minted: the session has no events yet");
    at(base).await.expect(401, unauthorized());
}
