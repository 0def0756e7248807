use crate::helpers::{T0, distribution, meltdown, spawn};
use serde_json::json;

#[tokio::test]
async fn an_empty_tenant_has_all_seven_moods_at_zero() {
    let app = spawn().await;
    let key = app.key("starter").await;
    app.analytics(&key).await.expect(200, distribution(0, 0, &[]));
}

#[tokio::test]
async fn counts_follow_each_sessions_latest_label() {
    let app = spawn().await;
    let key = app.key("starter").await;
    for s in ["f1", "f2"] {
        app.post_events(&key, s, meltdown()).await;
    }
    app.post_events(&key, "n1", json!([{"type": "click", "ts": T0}])).await;
    app.feedback(&key, "f1", json!({"action_taken": "show_live_chat"})).await;
    app.feedback(&key, "f1", json!({"action_taken": "show_live_chat", "was_helpful": false})).await;
    app.analytics(&key).await.expect(200, distribution(3, 1, &[("frustrated", 2), ("neutral", 1)]));

    // An hour of calm browsing later, f2 is no longer frustrated: it moves, it is not added.
    let browsing: Vec<_> = (0..60)
        .flat_map(|m| {
            let t = T0 + 60 + m * 60;
            [
                json!({"type": "page_view", "url": format!("/catalogue/{}", m % 7), "ts": t}),
                json!({"type": "scroll", "speed": 600, "direction": "down", "ts": t + 15}),
                json!({"type": "scroll", "speed": 500, "direction": "down", "ts": t + 30}),
                json!({"type": "click", "x": 300, "y": 400, "ts": t + 45}),
            ]
        })
        .collect();
    let r = app.post_events(&key, "f2", json!(browsing)).await;
    assert_eq!(r.json["current_mood"], "browsing");
    app.analytics(&key).await.expect(200, distribution(3, 1, &[("frustrated", 1), ("browsing", 1), ("neutral", 1)]));
}

#[tokio::test]
async fn percentages_have_one_decimal() {
    let app = spawn().await;
    let key = app.key("starter").await;
    app.post_events(&key, "a", meltdown()).await;
    for s in ["b", "c"] {
        app.post_events(&key, s, json!([{"type": "click"}])).await;
    }
    let r = app.analytics(&key).await;
    assert_eq!(r.json["mood_distribution"][0], json!({"mood": "neutral", "count": 2, "percentage": 66.7}));
    assert_eq!(r.json["mood_distribution"][1], json!({"mood": "frustrated", "count": 1, "percentage": 33.3}));
}
