//! Two real servers on one database, started together on an empty store (their migrations
//! race), written to by 32 concurrent clients split across both.

use crate::helpers::{
    T0, assert_state_is_replay, export, fresh_database, get_json, http_client, post_json, sign_up, start_binary,
    start_binary_with,
};
use futures::StreamExt;
use serde_json::{Value, json};

async fn post(http: &reqwest::Client, base: &str, key: &str, session: &str, body: Value) -> (u16, Value) {
    post_json(http, base, key, &format!("/v1/sessions/{session}/events"), body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_lose_nothing_and_share_the_quota() {
    let database = fresh_database().await;
    let url = database.url.clone();
    let (a, b) = {
        let (u1, u2) = (url.clone(), url.clone());
        let (t1, t2) = (std::thread::spawn(move || start_binary(&u1)), std::thread::spawn(move || start_binary(&u2)));
        (t1.join().unwrap(), t2.join().unwrap())
    };
    let bases = [a.base.clone(), b.base.clone()];
    let http = http_client();
    let signup = |plan: &'static str| sign_up(&http, &bases[0], json!({"customer_name": "R", "plan": plan}));

    // 32 writers, alternating replicas: one shared session and fresh ones.
    let key = signup("pro").await;
    let results: Vec<(bool, u16, u64)> = futures::stream::iter(0..320u64)
        .map(|n| {
            let (http, key, base) = (&http, &key, &bases[(n % 2) as usize]);
            let hot = n % 2 == 0;
            let session = if hot { "hot".to_owned() } else { format!("fresh-{n}") };
            let kinds = ["click", "error", "scroll", "hover", "page_view"];
            let events: Vec<Value> = (0..5)
                .map(|k| json!({"type": kinds[k], "ts": T0 + n as i64, "event_id": format!("{n}-{k}")}))
                .collect();
            async move {
                let (status, body) = post(http, base, key, &session, json!({"events": events})).await;
                (hot, status, body["events_stored"].as_u64().unwrap_or(0))
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    assert!(results.iter().all(|r| r.1 == 200), "{:?}", results.iter().filter(|r| r.1 != 200).collect::<Vec<_>>());
    let acked_hot: u64 = results.iter().filter(|r| r.0).map(|r| r.2).sum();
    assert_eq!(acked_hot, 800);

    let state = get_json(&http, &bases[1], &key, "/v1/sessions/hot/state").await;
    assert_eq!(state["mood"]["event_count"], 800, "every acknowledged event counted once");
    assert_state_is_replay(&http, &bases[0], &key, "hot").await;
    let export = export(&http, &bases[0], &key, T0, T0 + 400).await;
    let mut ids: Vec<String> = export
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["event_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1600, "every acknowledged event stored, none twice");

    // A starter tenant gets exactly 5,000 new sessions across both replicas.
    let starter = signup("starter").await;
    let statuses: Vec<u16> = futures::stream::iter(0..5_040u64)
        .map(|n| {
            let (http, key, base) = (&http, &starter, &bases[(n % 2) as usize]);
            async move { post(http, base, key, &format!("q{n}"), json!({"events": [{"type": "click"}]})).await.0 }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let count = |s: u16| statuses.iter().filter(|x| **x == s).count();
    assert_eq!((count(200), count(429)), (5_000, 40));
    a.stop();
    b.stop();
}

/// The coalesced reads keep nothing between requests: a replica reads, another acknowledges a
/// write, and the first replica's next read shows it — round after round, so that the reading
/// replica's connections are reused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_after_another_replicas_acknowledgement_sees_it() {
    let database = fresh_database().await;
    let url = database.url.clone();
    let (writer, reader) = (start_binary(&url), start_binary(&url));
    let http = http_client();
    let key = sign_up(&http, &writer.base, json!({"customer_name": "R", "plan": "pro"})).await;
    for round in 1..=5i64 {
        let click = json!({"events": [{"type": "click", "ts": T0 + round}]});
        assert_eq!(post(&http, &writer.base, &key, "s", click.clone()).await.0, 200);
        assert_eq!(post(&http, &writer.base, &key, &format!("new-{round}"), click).await.0, 200);
        let mood = get_json(&http, &reader.base, &key, "/v1/sessions/s/mood").await;
        assert_eq!(mood["event_count"], round, "{mood}");
        let analytics = get_json(&http, &reader.base, &key, "/v1/analytics/moods").await;
        assert_eq!(analytics["total_sessions"], round + 1, "{analytics}");
    }
    writer.stop();
    reader.stop();
}

/// Replicas starting at once on a new database all migrate it and start: on SQLite those that
/// lose the race to switch the file to WAL mode try again (CI once saw one refused "database
/// is locked"; here about one round in fifteen lost it, so a hundred rounds).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_at_once_on_a_new_database_all_start() {
    let postgres = std::env::var("TEST_DATABASE_URL").is_ok_and(|url| !url.is_empty());
    for _ in 0..if postgres { 10 } else { 100 } {
        let database = fresh_database().await;
        let url = database.url.clone();
        let migrations: Vec<_> = (0..4)
            .map(|_| {
                std::process::Command::new(env!("CARGO_BIN_EXE_moodring"))
                    // Few connections: on PostgreSQL the other tests need theirs.
                    .args(["migrate", "--db-max-connections", "2", "--database-url", &url])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for migration in migrations {
            let done = migration.wait_with_output().unwrap();
            assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
        }
    }
}

/// Tokens need no shared configuration: every replica verifies what any of them signed, also
/// across a rotation of the signing key made while they run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_replica_verifies_every_token_across_a_rotation() {
    let database = fresh_database().await;
    let url = database.url.clone();
    // Small pools and one worker: the suite's other tests share PostgreSQL's connections.
    let small = ["--db-max-connections", "4", "--workers", "1"];
    let a = start_binary_with(&url, &small);
    let http = http_client();
    let key = sign_up(&http, &a.base, json!({"customer_name": "Replicas"})).await;
    let mint = |base: String, session: &'static str| {
        let (http, key) = (http.clone(), key.clone());
        async move {
            let r: Value = http
                .post(format!("{base}/v1/tokens"))
                .header("x-api-key", key)
                .json(&json!({"session_id": session}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            r["token"].as_str().unwrap_or_else(|| panic!("{r}")).to_owned()
        }
    };
    let kid = |token: &str| {
        use base64::Engine;
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap();
        serde_json::from_slice::<Value>(&header).unwrap()["kid"].as_str().unwrap().to_owned()
    };
    let before = mint(a.base.clone(), "s1").await;
    let rotated = std::process::Command::new(env!("CARGO_BIN_EXE_moodring"))
        .args(["rotate-signing-key", "--database-url", &url])
        .output()
        .unwrap();
    assert!(rotated.status.success(), "{}", String::from_utf8_lossy(&rotated.stderr));
    // A replica started now signs with the new key; one running learns of it from its tokens.
    let c = start_binary_with(&url, &small);
    let after = mint(c.base.clone(), "s2").await;
    assert_ne!(kid(&before), kid(&after));
    for base in [&a.base, &c.base] {
        for (token, session) in [(&before, "s1"), (&after, "s2")] {
            let r = http
                .post(format!("{base}/v1/sessions/{session}/events"))
                .bearer_auth(token)
                .json(&json!({"events": [{"type": "click"}]}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{base} {session}");
        }
    }
    for p in [a, c] {
        p.stop();
    }
}
