use crate::helpers::spawn;
use reqwest::Method;
use serde_json::json;

async fn generate(body: serde_json::Value) -> crate::helpers::Reply {
    spawn().await.send(Method::POST, "/v1/keys/generate", None, Some(body)).await
}

#[tokio::test]
async fn a_key_is_generated_once_with_the_documented_body() {
    let mut r = generate(json!({"customer_name": "Acme Inc", "email": "dev@acme.com", "plan": "starter"})).await;
    let key = r.json["api_key"].take();
    let key = key.as_str().unwrap();
    assert!(key.starts_with("sm_") && key.len() == 67 && key[3..].bytes().all(|b| b.is_ascii_hexdigit()), "{key}");
    r.json.as_object_mut().unwrap().remove("api_key");
    r.expect(
        201,
        json!({
            "customer": "Acme Inc",
            "email": "dev@acme.com",
            "plan": "starter",
            "limits": "5,000 sessions/month",
            "message": "Store this key safely - it won't be shown again."
        }),
    );
}

#[tokio::test]
async fn each_plan_states_its_limits_and_starter_is_the_default() {
    let app = spawn().await;
    for (plan, limits) in [
        (Some("growth"), "50,000 sessions/month"),
        (Some("pro"), "200,000 sessions/month"),
        (None, "5,000 sessions/month"),
    ] {
        let mut body = json!({"customer_name": "Acme"});
        if let Some(p) = plan {
            body["plan"] = json!(p);
        }
        let r = app.send(Method::POST, "/v1/keys/generate", None, Some(body)).await;
        assert_eq!(r.status, 201);
        assert_eq!(
            (r.json["plan"].as_str(), r.json["limits"].as_str()),
            (Some(plan.unwrap_or("starter")), Some(limits))
        );
        assert_eq!(r.json.get("email"), None);
    }
}

#[tokio::test]
async fn customer_name_is_required_and_not_blank() {
    let app = spawn().await;
    for body in [json!({}), json!({"customer_name": ""}), json!({"customer_name": "   "}), json!({"email": "a@b.c"})] {
        app.send(Method::POST, "/v1/keys/generate", None, Some(body))
            .await
            .expect(400, json!({"error": "customer_name is required"}));
    }
}

#[tokio::test]
async fn an_unknown_plan_lists_the_valid_ones() {
    generate(json!({"customer_name": "Acme", "plan": "enterprise"}))
        .await
        .expect(400, json!({"error": "Invalid plan", "valid_plans": ["starter", "growth", "pro"]}));
}

#[tokio::test]
async fn wrong_types_and_bad_values_name_the_field() {
    let app = spawn().await;
    let r = app.send(Method::POST, "/v1/keys/generate", None, Some(json!({"customer_name": 42}))).await;
    assert_eq!(
        (r.status.as_u16(), r.json["error"].as_str(), r.json["field"].as_str()),
        (400, Some("Invalid field value"), Some("customer_name"))
    );
    let r =
        app.send(Method::POST, "/v1/keys/generate", None, Some(json!({"customer_name": "A", "email": "nope"}))).await;
    assert_eq!((r.status.as_u16(), r.json["field"].as_str()), (400, Some("email")));
    let r = app.send(Method::POST, "/v1/keys/generate", None, Some(json!({"customer_name": "x".repeat(257)}))).await;
    assert_eq!((r.status.as_u16(), r.json["field"].as_str()), (400, Some("customer_name")));
}

#[tokio::test]
async fn every_key_is_a_new_tenant() {
    let app = spawn().await;
    let (a, b) = (app.key("starter").await, app.key("starter").await);
    assert_ne!(a, b);
    app.post_events(&a, "s1", json!([{"type": "click"}])).await;
    app.mood(&b, "s1").await.expect(404, json!({"error": "Session not found", "session_id": "s1"}));
}

#[tokio::test]
async fn keys_rotate_and_revoked_keys_stop_working_at_once() {
    let app = spawn().await;
    let old = app.key("growth").await;
    app.post_events(&old, "s", json!([{"type": "click"}])).await;
    let r = app.send(Method::POST, "/v1/keys", Some(&old), None).await;
    assert_eq!(
        (r.status.as_u16(), r.json["plan"].as_str(), r.json["limits"].as_str()),
        (201, Some("growth"), Some("50,000 sessions/month"))
    );
    let new = r.json["api_key"].as_str().unwrap().to_owned();
    assert_eq!(app.mood(&new, "s").await.json["event_count"], 1, "the same customer's data");

    app.send(Method::DELETE, "/v1/keys/current", Some(&old), None).await.expect(
        200,
        json!({"revoked": true, "message": "This key no longer works; servers that cached it forget it within 30 seconds."}),
    );
    let unauthorized = json!({"error": "Unauthorized", "message": "Missing or invalid API key"});
    app.mood(&old, "s").await.expect(401, unauthorized.clone());
    app.send(Method::DELETE, "/v1/keys/current", Some(&old), None).await.expect(401, unauthorized);
    assert_eq!(app.mood(&new, "s").await.status, 200, "the other key keeps working");
}
