use crate::helpers::{TestApp, spawn};
use serde_json::Value;

const COMMITTED: &str = "openapi/openapi.json";

/// The committed spec is what the code generates. On failure, regenerate it with
/// `cargo run --quiet -- openapi > openapi/openapi.json` and commit the result.
#[test]
fn the_committed_spec_matches_the_code() {
    let generated: Value = serde_json::from_str(&moodring::api::spec_json()).unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(COMMITTED);
    let committed: Value =
        std::fs::read_to_string(&path).ok().and_then(|s| serde_json::from_str(&s).ok()).unwrap_or(Value::Null);
    assert!(
        generated == committed,
        "{COMMITTED} is out of date: run `cargo run --quiet -- openapi > {COMMITTED}` and commit it"
    );
}

#[tokio::test]
async fn the_server_serves_the_spec_and_docs() {
    let app = spawn().await;
    let served = TestApp::read(app.http.get(format!("{}/openapi.json", app.base))).await;
    assert_eq!(served.json, serde_json::from_str::<Value>(&moodring::api::spec_json()).unwrap());
    let docs = app.http.get(format!("{}/docs", app.base)).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger"));
}

/// Every operation has an id, a summary, a tag, its error responses, and (but for the public
/// three) its security schemes, any one sufficing: both secret-key schemes, plus the session token
/// where a page may call, or the publishable key alone, or the token alone.
#[test]
fn every_operation_is_documented() {
    let spec: Value = serde_json::from_str(&moodring::api::spec_json()).unwrap();
    let public = ["getHealth", "getReady", "generateKey"];
    let secret = serde_json::json!([{"ApiKeyHeader": []}, {"BearerKey": []}]);
    let page = serde_json::json!([{"ApiKeyHeader": []}, {"SessionToken": []}, {"BearerKey": []}]);
    let security = |id: &str| match id {
        "postEvents" | "getMood" | "getSessionState" => page.clone(),
        "startBrowserSession" => serde_json::json!([{"PublishableKey": []}]),
        "renewSessionToken" => serde_json::json!([{"SessionToken": []}]),
        "streamMoods" => serde_json::json!([{"ApiKeyHeader": []}, {"StreamToken": []}, {"BearerKey": []}]),
        "streamSessionMood" => {
            serde_json::json!([{"ApiKeyHeader": []}, {"StreamToken": []}, {"SessionToken": []}, {"BearerKey": []}])
        }
        _ => secret.clone(),
    };
    let mut ids = Vec::new();
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            ids.push(id.to_owned());
            assert!(op["summary"].is_string() && op["tags"].is_array(), "{id}");
            let responses = op["responses"].as_object().unwrap();
            if public.contains(&id) {
                assert!(op.get("security").is_none(), "{id}");
            } else {
                assert_eq!(op["security"], security(id), "{id}");
                assert!(responses.contains_key("401") && responses.contains_key("403"), "{id}");
            }
            for (status, r) in responses {
                let content = r["content"].as_object().unwrap();
                assert!(content.values().all(|c| c["schema"].is_object()), "{id} {status} has no schema");
            }
        }
    }
    ids.sort();
    assert_eq!(
        ids,
        [
            "createPublishableKey",
            "createStreamToken",
            "createWebhook",
            "deleteSession",
            "deleteUser",
            "deleteWebhook",
            "exportEvents",
            "exportInterventions",
            "generateKey",
            "getHealth",
            "getInterventionAnalytics",
            "getInterventionSettings",
            "getMood",
            "getMoodAggregate",
            "getMoodAnalytics",
            "getMoodTimeseries",
            "getReady",
            "getRetention",
            "getSessionMoodHistory",
            "getSessionState",
            "getUserMood",
            "getUserMoodHistory",
            "getUserSessions",
            "getWebhook",
            "issueKey",
            "listFeedback",
            "listPublishableKeys",
            "listSessions",
            "listWebhookAttempts",
            "listWebhooks",
            "mintSessionToken",
            "postEvents",
            "postFeedback",
            "putInterventionSettings",
            "putRetention",
            "renewSessionToken",
            "resendWebhookMessage",
            "revokeCurrentKey",
            "revokePublishableKey",
            "rotateWebhookSecret",
            "startBrowserSession",
            "streamMoods",
            "streamSessionMood",
            "updateWebhook"
        ]
    );
}
