use crate::helpers::{T0, spawn};
use futures::StreamExt;
use serde_json::json;

/// 16 writers, 160 batches to one session: every acknowledged event is counted exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_batches_to_one_session_lose_nothing() {
    let app = spawn().await;
    let key = app.key("starter").await;
    let statuses: Vec<u16> = futures::stream::iter(0..160)
        .map(|b: i64| {
            let (app, key) = (&app, &key);
            let events: Vec<_> = (0..5).map(|i| json!({"type": "click", "ts": T0 + b * 5 + i})).collect();
            async move { app.post_events(key, "hot", json!(events)).await.status.as_u16() }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(app.mood(&key, "hot").await.json["event_count"], 800);
    assert_eq!(app.analytics(&key).await.json["total_sessions"], 1);
}

/// The first batches of a new session racing each other create it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_first_batches_create_one_session() {
    let app = spawn().await;
    let key = app.key("starter").await;
    for round in 0..5 {
        let session = format!("new{round}");
        let replies: Vec<_> = futures::future::join_all(
            (0..16).map(|i| app.post_events(&key, &session, json!([{"type": "click", "event_id": format!("e{i}")}]))),
        )
        .await;
        assert!(replies.iter().all(|r| r.status == 200), "{replies:?}");
        assert_eq!(app.mood(&key, &session).await.json["event_count"], 16);
    }
    assert_eq!(app.analytics(&key).await.json["total_sessions"], 5);
}

/// Retries of one batch racing each other store it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_retries_store_a_batch_once() {
    let app = spawn().await;
    let key = app.key("starter").await;
    let batch = json!([{"type": "error", "event_id": "a"}, {"type": "error", "event_id": "b"}]);
    let replies = futures::future::join_all((0..8).map(|_| app.post_events(&key, "s", batch.clone()))).await;
    let stored: i64 = replies.iter().map(|r| r.json["events_stored"].as_i64().unwrap()).sum();
    assert_eq!(stored, 2);
    assert_eq!(app.mood(&key, "s").await.json["event_count"], 2);
}

/// 16 sessions of one person written at once, first batches racing to create the user: the
/// person's state counts every event exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sessions_of_one_user_lose_nothing() {
    let app = spawn().await;
    let key = app.key("starter").await;
    let statuses: Vec<u16> = futures::stream::iter(0..80)
        .map(|b: i64| {
            let (app, key) = (&app, &key);
            let events: Vec<_> = (0..4).map(|i| json!({"type": "click", "ts": T0 + b * 4 + i})).collect();
            let body = json!({"user_id": "u", "events": events});
            let path = format!("/v1/sessions/s{}/events", b % 16);
            async move { app.send(reqwest::Method::POST, &path, Some(key), Some(body)).await.status.as_u16() }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(app.get("/v1/users/u/mood", &key).await.json["event_count"], 320);
    assert_eq!(app.get("/v1/users/u/sessions", &key).await.json["sessions"].as_array().unwrap().len(), 16);
}

/// Batches refused while their neighbours are stored, all sent at once (so they share commit
/// groups): a linked session's batches naming another user get 409 and store nothing, the
/// others are stored and counted exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_batches_leave_their_neighbours_stored() {
    let app = spawn().await;
    let key = app.key("starter").await;
    let link = json!({"user_id": "ann", "events": [{"type": "click", "ts": T0}]});
    assert_eq!(app.send(reqwest::Method::POST, "/v1/sessions/owned/events", Some(&key), Some(link)).await.status, 200);
    let replies: Vec<(i64, u16)> = futures::future::join_all((0..48i64).map(|b| {
        let (app, key) = (&app, &key);
        async move {
            let (path, body) = match b % 3 {
                0 => (
                    "/v1/sessions/owned/events".to_owned(),
                    json!({"user_id": "bob", "events": [{"type": "error", "ts": T0 + b}]}),
                ),
                1 => ("/v1/sessions/owned/events".to_owned(), json!({"events": [{"type": "click", "ts": T0 + b}]})),
                _ => (
                    format!("/v1/sessions/s{b}/events"),
                    json!({"user_id": "ann", "events": [{"type": "click", "ts": T0 + b}]}),
                ),
            };
            (b % 3, app.send(reqwest::Method::POST, &path, Some(key), Some(body)).await.status.as_u16())
        }
    }))
    .await;
    for (kind, status) in &replies {
        assert_eq!(*status, if *kind == 0 { 409 } else { 200 }, "{replies:?}");
    }
    // 1 + the 16 batches without a user; none of bob's errors.
    assert_eq!(app.mood(&key, "owned").await.json["event_count"], 17);
    assert_eq!(app.get("/v1/users/ann/mood", &key).await.json["event_count"], 33);
    assert_eq!(app.analytics(&key).await.json["total_sessions"], 17);
    assert_eq!(app.get("/v1/users/bob/mood", &key).await.status, 404);
}

/// Reads sent all at once (they share queries as they happen to queue together; tests/api/reads.rs
/// mixes tenants in one query for certain): two tenants with the same session ids, sessions that
/// exist for one tenant only, and both tenants' analytics. Each answer is its own tenant's, whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reads_each_get_their_own_tenants_answer() {
    let app = spawn().await;
    let (a, b) = (app.key("starter").await, app.key("starter").await);
    // Tenant a: s0..s7 with 1..8 clicks; tenant b: s0..s3 with 11..14 errors, and s7 never.
    for i in 0..8i64 {
        let clicks: Vec<_> = (0..=i).map(|n| json!({"type": "click", "ts": T0 + n})).collect();
        assert_eq!(app.post_events(&a, &format!("s{i}"), json!(clicks)).await.status, 200);
    }
    for i in 0..4i64 {
        let errors: Vec<_> = (0..11 + i).map(|n| json!({"type": "error", "ts": T0 + n})).collect();
        assert_eq!(app.post_events(&b, &format!("s{i}"), json!(errors)).await.status, 200);
    }
    // One at a time first: each read a batch of its own.
    let (mut expected_a, mut expected_b) = (Vec::new(), Vec::new());
    for i in 0..8 {
        expected_a.push(app.mood(&a, &format!("s{i}")).await);
    }
    for i in 0..4 {
        expected_b.push(app.mood(&b, &format!("s{i}")).await);
    }
    let analytics = [app.analytics(&a).await.json, app.analytics(&b).await.json];
    assert_eq!((analytics[0]["total_sessions"].clone(), analytics[1]["total_sessions"].clone()), (json!(8), json!(4)));
    let replies = futures::future::join_all((0..400usize).map(|n| {
        let (app, a, b) = (&app, &a, &b);
        async move {
            let (tenant, key) = if n % 2 == 0 { (0, a) } else { (1, b) };
            let reply = match n % 10 {
                8 | 9 => app.analytics(key).await,
                _ => app.mood(key, &format!("s{}", n % 8)).await,
            };
            (n, tenant, reply)
        }
    }))
    .await;
    for (n, tenant, reply) in replies {
        let session = n % 8;
        match (n % 10, tenant) {
            (8 | 9, t) => reply.expect(200, analytics[t].clone()),
            (_, 0) => reply.expect(200, expected_a[session].json.clone()),
            (_, _) if session < 4 => reply.expect(200, expected_b[session].json.clone()),
            _ => reply.expect(404, json!({"error": "Session not found", "session_id": format!("s{session}")})),
        }
    }
    assert!(expected_a.iter().chain(&expected_b).all(|r| r.status == 200));
    assert_eq!(expected_b[3].json["event_count"], 14);
}
