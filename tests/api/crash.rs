//! The server killed with SIGKILL in the middle of sustained ingest, then restarted: every
//! acknowledged event is there, no batch is half-stored, states equal replays.

use crate::helpers::{
    T0, assert_state_is_replay, export, fresh_database, get_json, http_client, sign_up, start_binary,
};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_keeps_every_acknowledged_batch_whole() {
    let database = fresh_database().await;
    let url = database.url.clone();
    let server = start_binary(&url);
    let base = server.base.clone();
    let http = http_client();
    let key = sign_up(&http, &base, json!({"customer_name": "Crash", "plan": "pro"})).await;

    // 16 writers post 5-event batches to 4 sessions until the server dies.
    let acked: Arc<Mutex<BTreeSet<u64>>> = Arc::default();
    let writers: Vec<_> = (0..16u64)
        .map(|w| {
            let (http, base, key, acked) = (http.clone(), base.clone(), key.clone(), acked.clone());
            tokio::spawn(async move {
                for i in 0.. {
                    let batch = w * 100_000 + i;
                    let kinds = ["click", "error", "scroll", "hover", "focus"];
                    let events: Vec<Value> = (0..5)
                        .map(|k| json!({"type": kinds[k], "ts": T0 + i as i64, "event_id": format!("{batch}-{k}")}))
                        .collect();
                    let sent = http
                        .post(format!("{base}/v1/sessions/s{}/events", batch % 4))
                        .header("x-api-key", &key)
                        .json(&json!({"events": events}))
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status() == 200 => _ = acked.lock().unwrap().insert(batch),
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
            })
        })
        .collect();
    while acked.lock().unwrap().len() < 200 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    server.stop();
    for w in writers {
        w.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();

    let server = start_binary(&url);
    let base = server.base.clone();
    let export = export(&http, &base, &key, T0, T0 + 1_000_000).await;
    let mut stored: BTreeMap<u64, usize> = BTreeMap::new();
    for line in export.lines() {
        let id = serde_json::from_str::<Value>(line).unwrap()["event_id"].as_str().unwrap().to_owned();
        *stored.entry(id.split('-').next().unwrap().parse().unwrap()).or_default() += 1;
    }
    assert!(stored.values().all(|n| *n == 5), "a batch was half-stored: {stored:?}");
    let missing: Vec<_> = acked.iter().filter(|b| !stored.contains_key(b)).collect();
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    let mut counted = 0;
    for s in 0..4 {
        counted +=
            get_json(&http, &base, &key, &format!("/v1/sessions/s{s}/mood")).await["event_count"].as_u64().unwrap();
        assert_state_is_replay(&http, &base, &key, &format!("s{s}")).await;
    }
    assert_eq!(counted as usize, stored.len() * 5, "counts match what is stored");
    server.stop();
}
