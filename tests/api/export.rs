use crate::helpers::{T0, TestApp, meltdown, spawn};
use serde_json::{Value, json};

/// The version new sessions start under.
fn current_model() -> String {
    moodring::engine::Models::default().session.version
}

async fn export(app: &TestApp, key: &str, query: &str) -> (u16, String, String) {
    let resp = app
        .http
        .get(format!("{}/v1/analytics/export?{query}", app.base))
        .header("x-api-key", key)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, ct, resp.text().await.unwrap())
}

fn range(from: i64, to: i64) -> String {
    format!("from={from}&to={to}")
}

#[tokio::test]
async fn ndjson_has_every_event_in_the_range_with_its_state() {
    let app = spawn().await;
    let key = app.key("starter").await;
    app.post_events(&key, "user_abc", meltdown()).await;
    app.post_events(&key, "late", json!([{"type": "click", "ts": T0 + 3600}])).await;
    let (status, ct, body) = export(&app, &key, &range(T0, T0 + 60)).await;
    assert_eq!((status, ct.as_str()), (200, "application/x-ndjson"));
    let lines: Vec<Value> = body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 6);
    let history = app.get("/v1/sessions/user_abc/mood-history", &key).await.json["entries"][0].clone();
    let last = &lines[5];
    assert_eq!(
        *last,
        json!({
            "session_id": "user_abc", "event_id": null, "ts": "2025-05-04T10:00:12.000Z", "received_at": last["received_at"],
            "type": "back_nav", "x": null, "y": null, "duration_ms": null, "speed": null, "direction": null, "url": null, "message": null,
            "valence": history["valence"], "arousal": history["arousal"], "tension": history["tension"], "affiliation": history["affiliation"],
            "delta_valence": history["delta_valence"], "delta_arousal": history["delta_arousal"],
            "delta_tension": history["delta_tension"], "delta_affiliation": history["delta_affiliation"],
            "label": "frustrated", "confidence": last["confidence"], "trigger_reason": history["trigger_reason"], "model_version": current_model(),
            "suggested_action": "show_live_chat", "action_probability": 1.0
        })
    );
    assert_eq!(lines[1]["message"], "Payment failed");
    let times: Vec<&str> = lines.iter().map(|l| l["ts"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "in time order");
}

#[tokio::test]
async fn csv_has_a_header_and_escapes_fields() {
    let app = spawn().await;
    let key = app.key("starter").await;
    app.post_events(&key, "s,1", json!([{"type": "error", "message": "Card \"declined\", retry\nlater", "ts": T0}]))
        .await;
    let (status, ct, body) = export(&app, &key, &format!("{}&format=csv", range(T0, T0 + 1))).await;
    assert_eq!((status, ct.as_str()), (200, "text/csv; charset=utf-8"));
    let (header, rest) = body.split_once('\n').unwrap();
    assert!(header.starts_with("session_id,event_id,ts,received_at,type,"));
    assert!(rest.starts_with("\"s,1\",,2025-05-04T10:00:00.000Z,"), "{rest}");
    assert!(rest.contains(",error,,,,,,,\"Card \"\"declined\"\", retry\nlater\","), "{rest}");
    // One error is not enough for a mood, let alone an action: the table's no_action, surely.
    assert!(rest.ends_with(&format!(",{},no_action,1\n", current_model())), "{rest}");
}

#[tokio::test]
async fn large_ranges_stream_in_pages_without_gaps() {
    let app = spawn().await;
    let key = app.key("growth").await;
    // 2,500 events, many sharing a timestamp, across pages of 1,000.
    for s in 0..5 {
        let events: Vec<Value> =
            (0..500).map(|i| json!({"type": "click", "ts": T0 + i / 3, "event_id": format!("{s}-{i}")})).collect();
        assert_eq!(app.post_events(&key, &format!("s{s}"), json!(events)).await.status, 200);
    }
    let (_, _, body) = export(&app, &key, &range(T0, T0 + 1000)).await;
    let mut ids: Vec<String> = body
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["event_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 2500);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2500, "no event twice");
}

#[tokio::test]
async fn exports_are_tenant_scoped_and_forget_erased_sessions() {
    let app = spawn().await;
    let (a, b) = (app.key("starter").await, app.key("starter").await);
    app.post_events(&a, "x", meltdown()).await;
    app.post_events(&a, "y", json!([{"type": "click", "ts": T0}])).await;
    assert_eq!(export(&app, &b, &range(T0, T0 + 60)).await.2, "");
    app.delete(&a, "x").await;
    let (_, _, body) = export(&app, &a, &range(T0, T0 + 60)).await;
    assert_eq!(body.lines().count(), 1);
}

#[tokio::test]
async fn export_parameters_are_checked() {
    let app = spawn().await;
    let key = app.key("starter").await;
    for (query, field) in [("format=xml", "format"), ("from=10&to=5", "from"), ("to=soon", "to")] {
        let r = app.get(&format!("/v1/analytics/export?{query}"), &key).await;
        assert_eq!((r.status.as_u16(), r.json["field"].as_str()), (400, Some(field)), "{query}");
    }
}
