//! Webhooks: each change once, signed, in order per session; retried on failure; never to a
//! private address unless the server allows it; nothing lost when the server is killed; no
//! message twice across replicas; managed by their own customer only.

use crate::helpers::{
    T0, TestApp, fresh_database, http_client, meltdown, options, post_json, sign_up, spawn, spawn_on, start_binary_with,
};
use crate::push_support::{Received, Receiver, Sse, SseEvent};
use crate::streams::assert_chains;
use moodring::server::ServerOptions;
use moodring::webhooks::address::Policy;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(15);
const QUIET: Duration = Duration::from_millis(1500);

async fn create(app: &TestApp, key: &str, body: Value) -> (String, String) {
    let r = app.send(Method::POST, "/v1/webhooks", Some(key), Some(body)).await;
    assert_eq!(r.status, 201, "{:?}", r.json);
    (r.json["id"].as_str().unwrap().to_owned(), r.json["secret"].as_str().unwrap().to_owned())
}

/// Every message placed so far for the key, as a stream resumed from the start replays them.
async fn messages(http: &reqwest::Client, base: &str, key: &str) -> Vec<SseEvent> {
    let mut replay = Sse::open(http, &format!("{base}/v1/stream"), &[("x-api-key", key), ("last-event-id", "0")]).await;
    replay.drain(QUIET).await
}

/// The receiver got exactly `expected`, once each, signed by `secret`, with the bodies the
/// streams show, in order within each session.
fn assert_delivered(received: &[Received], expected: &[SseEvent], secret: &str) {
    let ids: Vec<&str> = received.iter().map(|r| r.id.as_str()).collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "a message came twice: {ids:?}");
    let expected_ids: BTreeSet<&str> = expected.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(unique, expected_ids);
    let by_id: BTreeMap<&str, &SseEvent> = expected.iter().map(|e| (e.id.as_str(), e)).collect();
    let mut last_per_session: BTreeMap<String, i64> = BTreeMap::new();
    for r in received {
        assert!(r.signed_by(secret), "bad signature on {}", r.id);
        assert_eq!(r.json, by_id[r.id.as_str()].data, "the body is the stream's data");
        let session = r.json["data"]["session_id"].as_str().unwrap().to_owned();
        let id: i64 = r.id.parse().unwrap();
        let previous = last_per_session.insert(session.clone(), id);
        assert!(previous.is_none_or(|p| p < id), "{session}'s messages out of order: {ids:?}");
    }
}

#[tokio::test]
async fn a_receiver_gets_each_change_once_signed_and_in_order_per_session() {
    let app = spawn().await;
    let key = app.key("pro").await;
    let receiver = Receiver::start().await;
    let r = app
        .send(Method::POST, "/v1/webhooks", Some(&key), Some(json!({"url": receiver.url, "description": "CRM"})))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.json);
    let (id, secret) = (r.json["id"].as_str().unwrap(), r.json["secret"].as_str().unwrap().to_owned());
    assert!(id.starts_with("wh_") && id.len() == 35, "{id}");
    assert!(secret.starts_with("whsec_") && secret.len() == 50, "{secret}");
    let created_at = r.json["created_at"].clone();
    assert_eq!(
        r.json,
        json!({"id": id, "url": receiver.url, "event_types": ["mood.changed", "session.started"], "moods": null,
               "description": "CRM", "enabled": true, "disabled_reason": null, "failing_since": null,
               "created_at": created_at, "updated_at": created_at, "secret": secret})
    );
    let shown = app.get(&format!("/v1/webhooks/{id}"), &key).await;
    assert_eq!(shown.json.get("secret"), None, "the secret is shown once");

    let posts: Vec<_> = (0..8)
        .map(|n| {
            let (app, key) = (app.another_client(), key.clone());
            tokio::spawn(async move {
                for chunk in meltdown().as_array().unwrap().chunks(2) {
                    assert_eq!(app.post_events(&key, &format!("s{n}"), json!(chunk)).await.status, 200);
                }
            })
        })
        .collect();
    for p in posts {
        p.await.unwrap();
    }
    let expected = messages(&app.http, &app.base, &key).await;
    assert_eq!(assert_chains(&expected).len(), 8);
    let received = receiver.wait_for(expected.len(), WAIT).await;
    tokio::time::sleep(QUIET).await;
    assert_delivered(&receiver.received(), &expected, &secret);
    assert_eq!(received.len(), expected.len());

    let attempts = app.get(&format!("/v1/webhooks/{id}/attempts?limit=200"), &key).await;
    let attempts = attempts.json["attempts"].as_array().unwrap().clone();
    assert_eq!(attempts.len(), expected.len());
    assert!(attempts.iter().all(|a| a["succeeded"] == true
        && a["attempt"] == 1
        && a["response_status"] == 200
        && a["response_body"] == "ok"
        && a["delivery_status"] == "delivered"
        && a["next_attempt_at"].is_null()));
    let metrics = app.http.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    let line = format!("moodring_webhook_attempts_total{{result=\"succeeded\"}} {}", expected.len());
    assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    // The replaying stream above counts until the server next writes to it and finds it gone.
    assert!(metrics.lines().any(|l| l.starts_with("moodring_stream_subscribers ")), "{metrics}");
    assert!(metrics.lines().any(|l| l.starts_with("moodring_webhook_backlog ")), "{metrics}");
}

#[tokio::test]
async fn a_failing_receiver_is_retried_and_every_attempt_is_listed() {
    let app = spawn().await;
    let key = app.key("pro").await;
    let receiver = Receiver::start().await;
    let long_answer = "x".repeat(3000);
    receiver.answer(&[(500, &long_answer)]);
    let (id, secret) =
        create(&app, &key, json!({"url": receiver.url, "event_types": ["session.started"], "moods": null})).await;
    app.post_events(&key, "s1", json!([{"type": "click", "ts": T0}])).await;
    let received = receiver.wait_for(2, WAIT).await;
    assert_eq!(received.len(), 2, "retried after the 500");
    assert_eq!(received[0].id, received[1].id, "the same message id on a retry");
    assert!(received.iter().all(|r| r.signed_by(&secret)));
    let waited: i64 = received[1].timestamp.parse::<i64>().unwrap() - received[0].timestamp.parse::<i64>().unwrap();
    assert!(waited >= 4, "the first retry comes 5 s (±10 %) later, not {waited} s");

    // The receiver has the retry; its outcome is recorded once the answer is read.
    let page = listed_attempts(&app, &key, &id, 2).await;
    let attempts = page["attempts"].as_array().unwrap();
    let summary: Vec<Value> = attempts
        .iter()
        .map(|a| {
            json!([
                a["message_id"],
                a["attempt"],
                a["succeeded"],
                a["response_status"],
                a["response_body"].as_str().map(str::len),
                a["delivery_status"],
                a["next_attempt_at"]
            ])
        })
        .collect();
    let message: i64 = received[0].id.parse().unwrap();
    assert_eq!(
        summary,
        [
            json!([message, 2, true, 200, 2, "delivered", null]),
            json!([message, 1, false, 500, 1024, "delivered", null]),
        ],
        "newest first; a receiver's answer kept to 1 KiB"
    );
    assert_eq!(page["next_before"], Value::Null);
    let first_page = app.get(&format!("/v1/webhooks/{id}/attempts?limit=1"), &key).await;
    let before = first_page.json["next_before"].as_i64().expect("a next page");
    let second = app.get(&format!("/v1/webhooks/{id}/attempts?limit=1&before={before}"), &key).await;
    assert_eq!(second.json["attempts"][0]["attempt"], 1);
    for bad in ["limit=0", "limit=201"] {
        let r = app.get(&format!("/v1/webhooks/{id}/attempts?{bad}"), &key).await;
        assert_eq!((r.status.as_u16(), r.json["field"].as_str()), (400, Some("limit")));
    }

    // Sent again on request, with the same id.
    let resent =
        app.send(Method::POST, &format!("/v1/webhooks/{id}/messages/{message}/resend"), Some(&key), None).await;
    resent.expect(202, json!({"message_id": message, "delivery_status": "pending"}));
    let received = receiver.wait_for(3, WAIT).await;
    assert_eq!(received.len(), 3);
    assert_eq!(received[2].body, received[1].body);
    let missing = app.send(Method::POST, &format!("/v1/webhooks/{id}/messages/99999/resend"), Some(&key), None).await;
    missing.expect(
        404,
        json!({"error": "Message not found",
               "message": "No message 99999 is kept for this webhook's key (messages are kept 3 days)"}),
    );
}

#[tokio::test]
async fn a_rotated_secret_signs_beside_the_old_one() {
    let app = spawn().await;
    let key = app.key("pro").await;
    let receiver = Receiver::start().await;
    let (id, old) = create(&app, &key, json!({"url": receiver.url, "event_types": ["session.started"]})).await;
    let rotated = app.send(Method::POST, &format!("/v1/webhooks/{id}/secret"), Some(&key), None).await;
    assert_eq!(rotated.status, 200);
    let new = rotated.json["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(rotated.json["previous_secret_expires_at"].is_string());
    app.post_events(&key, "s1", json!([{"type": "click", "ts": T0}])).await;
    let received = receiver.wait_for(1, WAIT).await;
    assert_eq!(received[0].signatures.len(), 2, "{:?}", received[0].signatures);
    assert!(received[0].signed_by(&new) && received[0].signed_by(&old));
}

#[tokio::test]
async fn webhooks_are_their_customers_own_and_checked_on_the_way_in() {
    let app = spawn().await;
    let key = app.key("pro").await;
    let other = app.key("pro").await;
    let receiver = Receiver::start().await;
    let (id, _) = create(&app, &key, json!({"url": receiver.url, "moods": ["frustrated", "frustrated"]})).await;
    let list = app.get("/v1/webhooks", &key).await;
    assert_eq!(list.json["webhooks"].as_array().map(Vec::len), Some(1));
    assert_eq!(list.json["webhooks"][0]["moods"], json!(["frustrated"]));
    assert_eq!(app.get("/v1/webhooks", &other).await.json, json!({"webhooks": []}));
    let not_found = json!({"error": "Webhook not found", "webhook_id": id});
    for (method, path) in [
        (Method::GET, format!("/v1/webhooks/{id}")),
        (Method::PATCH, format!("/v1/webhooks/{id}")),
        (Method::DELETE, format!("/v1/webhooks/{id}")),
        (Method::POST, format!("/v1/webhooks/{id}/secret")),
        (Method::GET, format!("/v1/webhooks/{id}/attempts")),
        (Method::POST, format!("/v1/webhooks/{id}/messages/1/resend")),
    ] {
        let body = (method == Method::PATCH).then(|| json!({"enabled": false}));
        app.send(method.clone(), &path, Some(&other), body).await.expect(404, not_found.clone());
    }
    assert_eq!(app.send(Method::GET, "/v1/webhooks", None, None).await.status, 401);

    let patched = app
        .send(
            Method::PATCH,
            &format!("/v1/webhooks/{id}"),
            Some(&key),
            Some(json!({"moods": null, "description": "x"})),
        )
        .await;
    assert_eq!((patched.json["moods"].clone(), patched.json["description"].clone()), (Value::Null, json!("x")));
    assert_eq!(patched.json["url"], receiver.url.as_str(), "fields left out keep their value");

    // Disabled: what happens meanwhile is not sent, then or later; enabled: what follows is.
    let path = format!("/v1/webhooks/{id}");
    let disabled = app.send(Method::PATCH, &path, Some(&key), Some(json!({"enabled": false}))).await;
    assert_eq!(disabled.json["enabled"], false);
    app.post_events(&key, "s1", json!([{"type": "click", "ts": T0}])).await;
    assert!(receiver.wait_for(1, QUIET).await.is_empty(), "a disabled endpoint gets nothing");
    let enabled = app.send(Method::PATCH, &path, Some(&key), Some(json!({"enabled": true}))).await;
    assert_eq!(enabled.json["enabled"], true);
    assert!(receiver.wait_for(1, QUIET).await.is_empty());
    app.post_events(&key, "s2", json!([{"type": "click", "ts": T0}])).await;
    let received = receiver.wait_for(1, WAIT).await;
    assert_eq!(received.len(), 1, "delivered once enabled");
    assert_eq!(received[0].json["data"]["session_id"], "s2");

    for (body, field) in [
        (json!({}), "url"),
        (json!({"url": "not a url"}), "url"),
        (json!({"url": receiver.url, "event_types": []}), "event_types"),
        (json!({"url": receiver.url, "event_types": ["mood.exploded"]}), "event_types[0]"),
        (json!({"url": receiver.url, "moods": ["grumpy"]}), "moods[0]"),
        (json!({"url": receiver.url, "description": "d".repeat(257)}), "description"),
        (json!({"url": receiver.url, "secret": "mine"}), "secret"),
    ] {
        let r = app.send(Method::POST, "/v1/webhooks", Some(&key), Some(body.clone())).await;
        assert_eq!((r.status.as_u16(), r.json["field"].as_str()), (400, Some(field)), "{body}: {:?}", r.json);
    }
    let r = app.send(Method::PATCH, &format!("/v1/webhooks/{id}"), Some(&key), Some(json!({"enabled": null}))).await;
    assert_eq!((r.status.as_u16(), r.json["field"].as_str()), (400, Some("enabled")));

    for _ in 1..20 {
        create(&app, &key, json!({"url": receiver.url})).await;
    }
    app.send(Method::POST, "/v1/webhooks", Some(&key), Some(json!({"url": receiver.url}))).await.expect(
        409,
        json!({"error": "Too many webhooks", "message": "A key's customer may have 20 webhooks; delete one first"}),
    );
    let deleted = app.send(Method::DELETE, &format!("/v1/webhooks/{id}"), Some(&key), None).await;
    deleted.expect(
        200,
        json!({"webhook_id": id, "deleted": true,
               "message": "The webhook, its pending deliveries and its attempts were deleted."}),
    );
    app.get(&format!("/v1/webhooks/{id}"), &key).await.expect(404, not_found);
}

/// One customer's receiver hangs (every attempt waits out its 15 s): it holds a quarter of the
/// sender's slots at most, and another endpoint's deliveries go out meanwhile.
#[tokio::test]
async fn a_receiver_that_hangs_delays_only_its_own_deliveries() {
    let database = Arc::new(fresh_database().await);
    let app = spawn_on(database.clone(), &ServerOptions { webhook_concurrency: 4, ..options(&database.url) }).await;
    let key = app.key("pro").await;
    let hanging = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hanging_url = format!("http://{}/hook", hanging.local_addr().unwrap());
    let _held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((connection, _)) = hanging.accept().await {
            open.push(connection);
        }
    });
    create(&app, &key, json!({"url": hanging_url})).await;
    let receiver = Receiver::start().await;
    let (_, secret) = create(&app, &key, json!({"url": receiver.url})).await;
    for n in 0..8 {
        assert_eq!(app.post_events(&key, &format!("h{n}"), json!(meltdown())).await.status, 200);
    }
    let expected = messages(&app.http, &app.base, &key).await;
    assert_eq!(assert_chains(&expected).len(), 8);
    // Well before the hanging attempts time out.
    receiver.wait_for(expected.len(), Duration::from_secs(8)).await;
    assert_delivered(&receiver.received(), &expected, &secret);
}

/// A server that does not allow private receivers.
async fn public_only(database: Arc<moodring::testing::FreshDatabase>, concurrency: usize) -> TestApp {
    let options = ServerOptions {
        webhook_policy: Policy { allow_private: false },
        webhook_concurrency: concurrency,
        ..options(&database.url)
    };
    spawn_on(database, &options).await
}

#[tokio::test]
async fn receivers_on_private_networks_are_refused_when_saved_and_when_sent_to() {
    let database = Arc::new(fresh_database().await);
    let strict = public_only(database.clone(), 8).await;
    let key = strict.key("pro").await;
    let receiver = Receiver::start().await;
    let https_receiver = receiver.url.replace("http://", "https://");
    let private = "resolves to a loopback, private, link-local or otherwise non-public address";
    for (url, why) in [
        (receiver.url.as_str(), "must use https"),
        (https_receiver.as_str(), private),
        ("https://localhost/hook", private),
        ("https://10.1.2.3/hook", private),
        ("https://[::ffff:192.168.0.1]/hook", private),
        ("https://169.254.169.254/latest/meta-data", private),
        ("https://user:pw@example.com/hook", "must not carry a user name or password"),
        ("ftp://example.com/hook", "must use https"),
    ] {
        strict
            .send(Method::POST, "/v1/webhooks", Some(&key), Some(json!({"url": url})))
            .await
            .expect(400, json!({"error": "Invalid field value", "field": "url", "message": why}));
    }
    // Allowing private receivers never reaches a cloud's metadata service.
    let lenient = spawn_on(database.clone(), &ServerOptions { webhook_concurrency: 0, ..options(&database.url) }).await;
    let r = lenient
        .send(Method::POST, "/v1/webhooks", Some(&key), Some(json!({"url": "http://169.254.169.254/latest"})))
        .await;
    assert_eq!((r.status.as_u16(), r.json["message"].as_str()), (400, Some(private)));

    // Saved through a lenient replica, sent by a strict one: checked again, never reached.
    let (id, _) = create(&lenient, &key, json!({"url": receiver.url})).await;
    lenient.post_events(&key, "s1", json!([{"type": "click", "ts": T0}])).await;
    let page = listed_attempts(&strict, &key, &id, 1).await;
    let attempts = page["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["error"], "the URL is not allowed: it must use https");
    assert_eq!((attempts[0]["succeeded"].clone(), attempts[0]["response_status"].clone()), (json!(false), Value::Null));
    assert_eq!(attempts[0]["delivery_status"], "pending", "retried later, in case the policy changes");
    assert!(receiver.received().is_empty());
}

/// The real binary killed after acknowledging events, before delivering them (this replica
/// delivers nothing): on restart, every change is delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_delivers_every_acknowledged_change_after_restart() {
    let database = fresh_database().await;
    // Small pools: the suite's servers share PostgreSQL's 100 connections.
    let first = ["--webhook-allow-private", "--webhook-concurrency", "0", "--db-max-connections", "4"];
    let server = start_binary_with(&database.url, &first);
    let http = http_client();
    let key = sign_up(&http, &server.base, json!({"customer_name": "K", "plan": "pro"})).await;
    let receiver = Receiver::start().await;
    let secret = create_on(&http, &server.base, &key, &receiver.url).await;
    for n in 0..6 {
        let (status, _) =
            post_json(&http, &server.base, &key, &format!("/v1/sessions/k{n}/events"), json!({"events": meltdown()}))
                .await;
        assert_eq!(status, 200);
    }
    server.stop();
    assert!(receiver.received().is_empty());

    let server = start_binary_with(&database.url, &["--webhook-allow-private", "--db-max-connections", "4"]);
    let expected = messages(&http, &server.base, &key).await;
    assert_eq!(assert_chains(&expected).len(), 6);
    receiver.wait_for(expected.len(), WAIT).await;
    tokio::time::sleep(QUIET).await;
    assert_delivered(&receiver.received(), &expected, &secret);
    server.stop();
}

/// Two real servers on one database, both delivering: no message twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_never_deliver_a_message_twice() {
    let database = fresh_database().await;
    let args = ["--webhook-allow-private", "--db-max-connections", "4"];
    let (a, b) = (start_binary_with(&database.url, &args), start_binary_with(&database.url, &args));
    let http = http_client();
    let key = sign_up(&http, &a.base, json!({"customer_name": "R", "plan": "pro"})).await;
    let receiver = Receiver::start().await;
    let secret = create_on(&http, &b.base, &key, &receiver.url).await;
    let posts: Vec<_> = (0..16)
        .map(|n| {
            let (http, key, base) =
                (http.clone(), key.clone(), if n % 2 == 0 { a.base.clone() } else { b.base.clone() });
            tokio::spawn(async move {
                for chunk in meltdown().as_array().unwrap().chunks(3) {
                    let path = format!("/v1/sessions/t{n}/events");
                    assert_eq!(post_json(&http, &base, &key, &path, json!({"events": chunk})).await.0, 200);
                }
            })
        })
        .collect();
    for p in posts {
        p.await.unwrap();
    }
    let expected = messages(&http, &a.base, &key).await;
    assert_eq!(assert_chains(&expected).len(), 16);
    receiver.wait_for(expected.len(), WAIT).await;
    tokio::time::sleep(QUIET).await;
    assert_delivered(&receiver.received(), &expected, &secret);
    a.stop();
    b.stop();
}

/// The first page of the endpoint's attempts, once it lists at least `n` (or `WAIT` has passed).
async fn listed_attempts(app: &TestApp, key: &str, id: &str, n: usize) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let page = app.get(&format!("/v1/webhooks/{id}/attempts"), key).await;
        assert_eq!(page.status, 200);
        let listed = page.json["attempts"].as_array().map_or(0, Vec::len);
        if listed >= n || tokio::time::Instant::now() > deadline {
            return page.json;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A webhook to `url` created on a server started as a binary: its signing secret.
async fn create_on(http: &reqwest::Client, base: &str, key: &str, url: &str) -> String {
    let (status, hook) = post_json(http, base, key, "/v1/webhooks", json!({"url": url})).await;
    assert_eq!(status, 201, "{hook}");
    hook["secret"].as_str().unwrap().to_owned()
}
