use crate::helpers::{distribution, meltdown, spawn};
use serde_json::json;

#[tokio::test]
async fn another_tenants_session_is_indistinguishable_from_a_missing_one() {
    let app = spawn().await;
    let (alice, mallory) = (app.key("starter").await, app.key("starter").await);
    app.post_events(&alice, "user_abc", meltdown()).await;
    let not_found = json!({"error": "Session not found", "session_id": "user_abc"});
    app.mood(&mallory, "user_abc").await.expect(404, not_found.clone());
    app.feedback(&mallory, "user_abc", json!({"action_taken": "show_live_chat"})).await.expect(404, not_found.clone());
    app.delete(&mallory, "user_abc").await.expect(404, not_found);
    app.analytics(&mallory).await.expect(200, distribution(0, 0, &[]));
    assert_eq!(app.mood(&alice, "user_abc").await.json["event_count"], 6, "untouched by the other tenant");
    app.analytics(&alice).await.expect(200, distribution(1, 0, &[("frustrated", 1)]));
}

#[tokio::test]
async fn the_same_session_id_under_two_tenants_is_two_sessions() {
    let app = spawn().await;
    let (a, b) = (app.key("starter").await, app.key("growth").await);
    app.post_events(&a, "shared", meltdown()).await;
    let r = app.post_events(&b, "shared", json!([{"type": "click"}])).await;
    assert_eq!((r.json["total_events"].clone(), r.json["current_mood"].clone()), (json!(1), json!("neutral")));
    app.delete(&b, "shared").await;
    assert_eq!(app.mood(&a, "shared").await.json["event_count"], 6);
}
