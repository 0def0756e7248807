//! The HTTP workers (src/workers.rs): each connection is served by one of them, in turn, with
//! reads of its own; none may answer from anything a write on another worker could contradict.

use crate::helpers::{TestApp, distribution, fresh_database, http_client, options, spawn};
use moodring::server::Bound;
use serde_json::{Value, json};

/// Four clients, four connections, taken by the two workers in turn: after each write through
/// one of them, all four read the same mood and the same counts, the write included.
#[tokio::test]
async fn every_worker_reads_every_write() {
    let app = spawn().await;
    let key = app.key("starter").await;
    let clients: Vec<TestApp> = (0..4).map(|_| app.another_client()).collect();
    let kinds = ["rage_click", "error", "click", "scroll"];
    for (n, writer) in clients.iter().enumerate() {
        let events: Vec<Value> =
            (0..3).map(|i| json!({"type": kinds[(n + i) % 4], "ts": 1_700_000_000 + 10 * n + i})).collect();
        let posted = writer.post_events(&key, "shared", json!(events)).await;
        assert_eq!(posted.status, 200, "{:?}", posted.json);
        let first = clients[0].mood(&key, "shared").await;
        assert_eq!(first.status, 200);
        assert_eq!(first.json["event_count"], 3 * (n + 1));
        assert_eq!(first.json["mood"], posted.json["current_mood"]);
        let counts = distribution(1, 0, &[(first.json["mood"].as_str().unwrap(), 1)]);
        for reader in &clients {
            reader.mood(&key, "shared").await.expect(200, first.json.clone());
            reader.analytics(&key).await.expect(200, counts.clone());
        }
    }
}

/// Stopping ends every worker: `run_until` returns, the connections they kept open are closed,
/// and the address takes no new connection.
#[tokio::test]
async fn a_stopped_server_stops_every_worker() {
    let database = fresh_database().await;
    let url = database.url.clone();
    let bound = Bound::new(&options(&url), "127.0.0.1:0").await.unwrap();
    let addr = bound.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(bound.run_until(async {
        let _ = stopped.await;
    }));
    // Two connections, one per worker, left open.
    let (a, b) = (http_client(), http_client());
    for client in [&a, &b] {
        assert_eq!(client.get(format!("http://{addr}/health")).send().await.unwrap().status(), 200);
    }
    stop.send(()).unwrap();
    server.await.unwrap().expect("every worker stops cleanly");
    for client in [&a, &b] {
        assert!(client.get(format!("http://{addr}/health")).send().await.is_err(), "nobody answers");
    }
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
