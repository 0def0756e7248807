//! What the real binary writes to its log: no keys, ever; a request id on every request line.

use crate::helpers::{http_client, sign_up, start_binary};
use serde_json::{Value, json};

#[tokio::test]
async fn logs_never_contain_keys() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_binary(&format!("sqlite://{}/log.db?mode=rwc", dir.path().display()));
    let base = server.base.clone();
    let http = http_client();
    let key = sign_up(&http, &base, json!({"customer_name": "Log Co", "email": "ops@log.example"})).await;
    let wrong = format!("{}{}", &key[..19], "0".repeat(48));
    let events = json!({"events": [{"type": "error", "message": "card 4242 declined", "url": "https://shop.example/pay?token=abc"}]});
    for (header, value) in
        [("x-api-key", key.clone()), ("authorization", format!("Bearer {key}")), ("x-api-key", wrong.clone())]
    {
        http.post(format!("{base}/v1/sessions/secret-session/events"))
            .header(header, value)
            .json(&events)
            .send()
            .await
            .unwrap();
    }
    http.delete(format!("{base}/v1/keys/current")).header("x-api-key", &key).send().await.unwrap();
    http.get(format!("{base}/v1/sessions/secret-session/mood")).header("x-api-key", &key).send().await.unwrap();
    let lines = server.stop();

    let log = lines.join("\n");
    for secret in [&key[3..], &wrong[19..], "card 4242", "token=abc", "secret-session", "ops@log.example"] {
        assert!(!log.contains(secret), "the log contains {secret:?}:\n{log}");
    }
    let requests: Vec<Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["message"] == "request")
        .collect();
    assert_eq!(requests.len(), 6, "{log}");
    assert!(requests.iter().all(|r| r["request_id"].as_str().is_some_and(|id| id.starts_with("req_"))));
    let statuses: Vec<u64> = requests.iter().map(|r| r["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, [201, 200, 200, 401, 200, 401]);
}
