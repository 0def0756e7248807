//! Server-Sent Events: each change once, in commit order, to the streams that want it; resumed
//! after `Last-Event-ID` without loss; opened only with a secret key in a header or a token
//! made for streams in the URL; seen on every replica.

use crate::helpers::{
    T0, TestApp, fresh_database, http_client, meltdown, post_json, sign_up, spawn, start_binary_with,
};
use crate::push_support::{Sse, SseEvent};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);
/// How long a stream must stay quiet for a test to take it that nothing more is coming.
const QUIET: Duration = Duration::from_millis(1500);

/// Calm reading: a session that starts and settles.
fn reading() -> Value {
    json!([
        {"type": "page_view", "url": "/a", "ts": T0},
        {"type": "scroll", "speed": 300, "direction": "down", "ts": T0 + 5},
        {"type": "scroll", "speed": 280, "direction": "down", "ts": T0 + 15}
    ])
}

/// Every message tells of one session's change from the mood the previous one left it in:
/// a `session.started` first, then `mood.changed` from the last mood, at growing event counts.
/// Returns each session's last mood.
pub fn assert_chains(events: &[SseEvent]) -> BTreeMap<String, String> {
    let mut last: BTreeMap<String, (String, i64)> = BTreeMap::new();
    let mut previous_id = 0;
    for e in events {
        let id: i64 = e.id.parse().unwrap();
        assert!(id > previous_id, "ids grow: {events:?}");
        previous_id = id;
        assert_eq!((e.data["id"].as_i64(), e.data["type"].as_str()), (Some(id), Some(e.event.as_str())));
        let d = &e.data["data"];
        let session = d["session_id"].as_str().unwrap().to_owned();
        let count = d["event_count"].as_i64().unwrap();
        match last.get(&session) {
            None => assert_eq!((e.event.as_str(), &d["previous_mood"]), ("session.started", &Value::Null), "{e:?}"),
            Some((mood, at)) => {
                assert_eq!((e.event.as_str(), d["previous_mood"].as_str()), ("mood.changed", Some(mood.as_str())));
                assert!(count > *at, "{e:?}");
                assert_ne!(d["mood"].as_str(), Some(mood.as_str()));
            }
        }
        last.insert(session, (d["mood"].as_str().unwrap().to_owned(), count));
    }
    last.into_iter().map(|(s, (m, _))| (s, m)).collect()
}

fn url(app: &TestApp, path: &str) -> String {
    format!("{}{path}", app.base)
}

#[tokio::test]
async fn a_stream_gets_each_change_in_order_and_resumes_after_the_last_event_id() {
    let app = spawn().await;
    let key = app.key("pro").await;
    let auth = [("x-api-key", key.as_str())];
    let mut all = Sse::open(&app.http, &url(&app, "/v1/stream"), &auth).await;
    assert_eq!(all.status, 200);
    for (name, value) in
        [("content-type", "text/event-stream"), ("cache-control", "no-cache"), ("x-accel-buffering", "no")]
    {
        assert_eq!(all.headers.get(name).and_then(|v| v.to_str().ok()), Some(value), "{name}");
    }
    let mut one = Sse::open(&app.http, &url(&app, "/v1/sessions/s1/mood/stream"), &auth).await;
    let mut frustrated = Sse::open(&app.http, &url(&app, "/v1/stream?mood=frustrated&mood=confused"), &auth).await;

    for (session, events) in [("s1", meltdown()), ("s2", reading()), ("s3", meltdown())] {
        assert_eq!(app.post_events(&key, session, events).await.status, 200);
    }
    // More events to a known session: its later changes only.
    assert_eq!(app.post_events(&key, "s2", meltdown()).await.status, 200);

    let mut events = vec![all.next(WAIT).await.expect("a change reaches the stream")];
    events.extend(all.drain(QUIET).await);
    let last = assert_chains(&events);
    assert_eq!(last.keys().collect::<Vec<_>>(), ["s1", "s2", "s3"]);
    for (session, mood) in &last {
        assert_eq!(app.mood(&key, session).await.json["mood"].as_str(), Some(mood.as_str()), "{session}");
    }
    assert!(events.iter().any(|e| e.event == "mood.changed" && e.data["data"]["mood"] == "frustrated"));

    let of_s1: Vec<SseEvent> = events.iter().filter(|e| e.data["data"]["session_id"] == "s1").cloned().collect();
    assert_eq!(one.drain(QUIET).await, of_s1, "a session's stream: its changes, the same messages");
    let wanted: Vec<SseEvent> = events
        .iter()
        .filter(|e| ["frustrated", "confused"].contains(&e.data["data"]["mood"].as_str().unwrap()))
        .cloned()
        .collect();
    assert!(!wanted.is_empty());
    assert_eq!(frustrated.drain(QUIET).await, wanted, "only changes to the moods asked for");

    // Reconnecting after the second message: the rest, then what comes next.
    let after = events[1].id.clone();
    let mut resumed = Sse::open(&app.http, &url(&app, "/v1/stream"), &[auth[0], ("last-event-id", &after)]).await;
    assert_eq!(resumed.drain(QUIET).await, events[2..].to_vec());
    app.post_events(&key, "s4", reading()).await;
    let next = resumed.next(WAIT).await.expect("the live change after the replay");
    assert_eq!((next.event.as_str(), &next.data["data"]["session_id"]), ("session.started", &json!("s4")));
    assert_eq!(all.next(WAIT).await, Some(next));

    // From the start of the window, as the first stream saw it.
    let mut replay = Sse::open(&app.http, &url(&app, "/v1/stream"), &[auth[0], ("last-event-id", "0")]).await;
    let replayed = replay.drain(QUIET).await;
    assert_eq!(replayed[..events.len()], events[..]);

    // An erased session's messages go with it.
    app.delete(&key, "s1").await;
    let mut after_erasure = Sse::open(&app.http, &url(&app, "/v1/stream"), &[auth[0], ("last-event-id", "0")]).await;
    let kept = after_erasure.drain(QUIET).await;
    assert_eq!(kept, replayed.into_iter().filter(|e| e.data["data"]["session_id"] != "s1").collect::<Vec<_>>());
}

#[tokio::test]
async fn streams_open_with_a_key_in_a_header_or_a_stream_token_in_the_url() {
    let app = spawn().await;
    let key = app.key("pro").await;
    let other = app.key("pro").await;
    let open = |path: &str, headers: Vec<(&'static str, String)>| {
        let (app, path) = (&app, path.to_owned());
        async move {
            let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            Sse::open(&app.http, &url(app, &path), &headers).await
        }
    };
    let unauthorized = json!({"error": "Unauthorized", "message": "Missing or invalid API key"});
    for (path, headers) in [
        ("/v1/stream", vec![]),
        ("/v1/sessions/s1/mood/stream", vec![]),
        (&*format!("/v1/stream?token={key}"), vec![]),
        ("/v1/stream?token=not-a-token", vec![]),
    ] {
        let refused = open(path, headers).await;
        assert_eq!(refused.status, 401, "{path}");
        assert_eq!(refused.error_body().await, unauthorized);
    }

    let token = |body: Value| {
        let (app, key) = (&app, key.clone());
        async move { app.send(Method::POST, "/v1/stream/tokens", Some(&key), Some(body)).await }
    };
    let tenant_wide = token(json!({})).await;
    assert_eq!(tenant_wide.status, 201, "{:?}", tenant_wide.json);
    let t = tenant_wide.json["token"].as_str().unwrap().to_owned();
    assert_eq!(tenant_wide.json["url"], format!("/v1/stream?token={t}"));
    let s1_only = token(json!({"session_id": "s 1", "moods": ["frustrated"], "ttl_seconds": 600})).await;
    let s1 = s1_only.json["token"].as_str().unwrap().to_owned();
    assert_eq!(s1_only.json["url"], format!("/v1/sessions/s%201/mood/stream?token={s1}"));

    let mut by_token = open(&format!("/v1/stream?token={t}"), vec![]).await;
    let mut session_by_token = open(&format!("/v1/sessions/s%201/mood/stream?token={s1}"), vec![]).await;
    let mut widened =
        open(&format!("/v1/sessions/s%201/mood/stream?token={s1}&mood=neutral&mood=frustrated"), vec![]).await;
    let mut others = open("/v1/stream", vec![("x-api-key", other.clone())]).await;
    let session_token = app.send(Method::POST, "/v1/tokens", Some(&key), Some(json!({"session_id": "s 1"}))).await;
    let bearer = session_token.json["token"].as_str().unwrap().to_owned();
    let mut browser = open(&format!("/v1/sessions/s%201/mood/stream?token={bearer}"), vec![]).await;
    let mut browser_header =
        open("/v1/sessions/s%201/mood/stream", vec![("authorization", format!("Bearer {bearer}"))]).await;
    for s in [&by_token, &session_by_token, &widened, &others, &browser, &browser_header] {
        assert_eq!(s.status, 200);
    }
    let forbidden = |message: &str| json!({"error": "Forbidden", "message": message});
    for (path, message) in [
        (format!("/v1/sessions/s2/mood/stream?token={s1}"), "This token grants access to its own session only"),
        (
            format!("/v1/stream?token={s1}"),
            "This token grants one session's stream: use GET /v1/sessions/{id}/mood/stream",
        ),
        (
            format!("/v1/stream?token={bearer}"),
            "This token grants one session's stream: use GET /v1/sessions/{id}/mood/stream",
        ),
        (format!("/v1/sessions/s2/mood/stream?token={bearer}"), "This token grants access to its own session only"),
    ] {
        let refused = open(&path, vec![]).await;
        assert_eq!(refused.status, 403, "{path}");
        assert_eq!(refused.error_body().await, forbidden(message), "{path}");
    }
    // A session token is not a secret key: as the bearer of the tenant's stream it is refused.
    let refused = open("/v1/stream", vec![("authorization", format!("Bearer {bearer}"))]).await;
    assert_eq!(refused.status, 403);

    app.post_events(&key, "s 1", meltdown()).await;
    let all = {
        let mut events = vec![by_token.next(WAIT).await.unwrap()];
        events.extend(by_token.drain(QUIET).await);
        events
    };
    assert!(all.len() >= 2, "{all:?}");
    let frustrated: Vec<SseEvent> = all.iter().filter(|e| e.data["data"]["mood"] == "frustrated").cloned().collect();
    assert_eq!(session_by_token.drain(QUIET).await, frustrated, "the token's moods");
    assert_eq!(widened.drain(QUIET).await, frustrated, "a token's moods cannot be widened");
    assert_eq!(browser.drain(QUIET).await, all);
    assert_eq!(browser_header.drain(QUIET).await, all);
    assert_eq!(others.next(QUIET).await, None, "another customer sees nothing");

    for (body, field) in [
        (json!({"ttl_seconds": 59}), "ttl_seconds"),
        (json!({"ttl_seconds": 86_401}), "ttl_seconds"),
        (json!({"session_id": ""}), "session_id"),
        (json!({"moods": ["grumpy"]}), "moods[0]"),
        (json!({"scope": "all"}), "scope"),
    ] {
        let r = token(body.clone()).await;
        assert_eq!((r.status.as_u16(), r.json["field"].as_str()), (400, Some(field)), "{body}: {:?}", r.json);
    }
    let bad = open("/v1/stream", vec![("x-api-key", key.clone()), ("last-event-id", "seven".into())]).await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.error_body().await,
        json!({"error": "Invalid query parameter", "field": "Last-Event-ID",
               "message": "must be the id of a message (a non-negative integer)"})
    );
}

/// Two real servers on one database: a change ingested through one reaches a stream on the
/// other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_on_one_replica_sees_changes_ingested_through_another() {
    let database = fresh_database().await;
    let a = start_binary_with(&database.url, &["--db-max-connections", "4"]);
    let b = start_binary_with(&database.url, &["--db-max-connections", "4"]);
    let http = http_client();
    let key = sign_up(&http, &a.base, json!({"customer_name": "R", "plan": "pro"})).await;
    let mut on_b = Sse::open(&http, &format!("{}/v1/stream", b.base), &[("x-api-key", &key)]).await;
    let mut on_a = Sse::open(&http, &format!("{}/v1/stream", a.base), &[("x-api-key", &key)]).await;
    for n in 0..6 {
        let base = if n % 2 == 0 { &a.base } else { &b.base };
        let (status, _) =
            post_json(&http, base, &key, &format!("/v1/sessions/r{n}/events"), json!({"events": meltdown()})).await;
        assert_eq!(status, 200);
    }
    let mut seen_b = vec![on_b.next(WAIT).await.expect("a change written through A reaches B")];
    seen_b.extend(on_b.drain(QUIET).await);
    let mut seen_a = vec![on_a.next(WAIT).await.unwrap()];
    seen_a.extend(on_a.drain(QUIET).await);
    assert_eq!(seen_a, seen_b, "both replicas' streams: the same messages, in the same order");
    assert_eq!(assert_chains(&seen_b).len(), 6);
    a.stop();
    b.stop();
}

/// Stopping a server (SIGTERM) ends its open streams at once, so their clients reconnect
/// elsewhere, instead of holding the shutdown for its 30 s grace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_server_ends_its_streams() {
    let database = fresh_database().await;
    let mut server = start_binary_with(&database.url, &["--db-max-connections", "4"]);
    let http = http_client();
    let key = sign_up(&http, &server.base, json!({"customer_name": "S", "plan": "pro"})).await;
    let mut stream = Sse::open(&http, &format!("{}/v1/stream", server.base), &[("x-api-key", &key)]).await;
    assert_eq!(stream.status, 200);
    let pid = server.child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    assert_eq!(stream.next(Duration::from_secs(10)).await, None, "the stream ended");
    let exited = tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = server.child.kill();
        None
    })
    .await
    .unwrap();
    assert!(exited.is_some_and(|s| s.success()), "the server exits promptly: {exited:?}");
}
