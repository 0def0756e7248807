use crate::helpers::spawn;
use chrono::{Datelike, TimeZone, Utc};
use futures::StreamExt;
use serde_json::json;

/// Exactly the plan's allowance of new sessions is admitted, however many arrive at once; a
/// rejected first batch (every 50th here) takes nothing from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_starter_tenant_gets_exactly_5000_new_sessions_a_month() {
    let app = spawn().await;
    let key = app.key("starter").await;
    let attempts = 5_120;
    let statuses: Vec<u16> = futures::stream::iter(0..attempts)
        .map(|i| {
            let (app, key) = (&app, &key);
            let kind = if i % 50 == 49 { "nope" } else { "click" };
            async move { app.post_events(key, &format!("s{i}"), json!([{"type": kind}])).await.status.as_u16() }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let count = |status: u16| statuses.iter().filter(|s| **s == status).count();
    let invalid = attempts / 50;
    assert_eq!((count(200), count(400), count(429)), (5_000, invalid, attempts - invalid - 5_000));
    assert_eq!(app.analytics(&key).await.json["total_sessions"], 5_000);

    let now = Utc::now();
    let reset = if now.month() == 12 {
        Utc.with_ymd_and_hms(now.year() + 1, 1, 1, 0, 0, 0)
    } else {
        Utc.with_ymd_and_hms(now.year(), now.month() + 1, 1, 0, 0, 0)
    }
    .unwrap();
    let r = app.post_events(&key, "one-more", json!([{"type": "click"}])).await;
    r.expect(
        429,
        json!({"error": "Rate limit exceeded", "plan": "starter", "limit": 5000, "reset_at": reset.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()}),
    );
    let retry_after: i64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((retry_after - (reset - now).num_seconds()).abs() < 60, "{retry_after}");
    assert_eq!(app.mood(&key, "one-more").await.status, 404, "the refused session was not created");

    // Existing sessions keep taking events, reads continue, and other tenants are unaffected.
    assert_eq!(app.post_events(&key, "s1", json!([{"type": "click"}])).await.status, 200);
    assert_eq!(app.mood(&key, "s1").await.status, 200);
    let other = app.key("starter").await;
    assert_eq!(app.post_events(&other, "s1", json!([{"type": "click"}])).await.status, 200);
}
