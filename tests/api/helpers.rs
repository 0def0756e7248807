//! Spawning the app on a fresh database and talking to it over HTTP.
//!
//! SQLite by default (a file in a temporary directory per test). With `TEST_DATABASE_URL` set
//! to a PostgreSQL URL, each test gets a fresh schema on that server instead.

use moodring::api::body::BodyLimit;
use moodring::engine::{AffectState, Event, EventKind, HistoryRecord, Model, Models, apply_batch};
use moodring::server::{Bound, ServerOptions};
use moodring::state::Clock;
use moodring::store::StoreOptions;
pub use moodring::testing::{FreshDatabase, fresh_database};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub database_url: String,
    /// Kept while any client of the server lives: an SQLite file is deleted with it.
    _database: Arc<FreshDatabase>,
}

/// A response: status, headers and the body parsed as JSON (`Value::Null` when it is not).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub json: Value,
}

impl Reply {
    /// Asserts status and the whole body at once, so a failure shows both.
    #[track_caller]
    pub fn expect(&self, status: u16, body: Value) {
        assert_eq!((self.status.as_u16(), &self.json), (status, &body));
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A test server's options on this database.
pub fn options(database_url: &str) -> ServerOptions {
    ServerOptions {
        store: StoreOptions { url: database_url.to_owned(), max_connections: 4, sqlite_synchronous_full: false },
        body_limit: BodyLimit::default(),
        clock: Clock::default(),
        auth_failure_limit: moodring::auth::AuthThrottle::MAX_FAILURES,
        // Two, whatever the machine: consecutive connections go to different workers.
        workers: std::num::NonZeroUsize::new(2).unwrap(),
        models: Default::default(),
        metrics_token: None,
        // Tests write events of 2025 under today's clock: only the retention tests sweep.
        retention_sweep: None,
        // The time-series tests compact when they choose to (reads are exact either way).
        compaction: None,
        // Test receivers listen on loopback.
        webhook_policy: moodring::webhooks::address::Policy { allow_private: true },
        webhook_concurrency: 8,
    }
}

pub async fn spawn() -> TestApp {
    spawn_with(Clock::default()).await
}

pub async fn spawn_with(clock: Clock) -> TestApp {
    let database = Arc::new(fresh_database().await);
    let options = ServerOptions { clock, ..options(&database.url) };
    spawn_on(database, &options).await
}

/// A server with these options on `database` (which may have others already).
pub async fn spawn_on(database: Arc<FreshDatabase>, options: &ServerOptions) -> TestApp {
    let bound = Bound::new(options, "127.0.0.1:0").await.expect("the app starts");
    let addr = bound.local_addr();
    tokio::spawn(bound.run_until(std::future::pending()));
    let database_url = database.url.clone();
    TestApp { base: format!("http://{addr}"), http: http_client(), database_url, _database: database }
}

impl TestApp {
    /// A client of the same server on connections of its own.
    pub fn another_client(&self) -> TestApp {
        TestApp {
            base: self.base.clone(),
            http: http_client(),
            database_url: self.database_url.clone(),
            _database: self._database.clone(),
        }
    }

    /// Compacts the time series' rollup as the server's background task would, until no delta
    /// is left (the server itself runs without it: see [`options`]).
    pub async fn compact(&self) {
        let options =
            StoreOptions { url: self.database_url.clone(), max_connections: 1, sqlite_synchronous_full: false };
        let store = moodring::store::Store::connect(&options).await.expect("the test database opens");
        while moodring::store::timeline::compact(&store).await.expect("compaction succeeds") > 0 {}
    }

    /// The time series' rollup (compacted rows and deltas) holds exactly the sums of the slots
    /// as they are: recomputed here from `session_slots`, independently of the triggers.
    pub async fn assert_rollup_matches_slots(&self) {
        use sea_orm::{ConnectionTrait, Database, Statement};
        let db = Database::connect(&self.database_url).await.expect("the test database opens");
        let gap = "CASE WHEN next_slot_ms IS NULL OR next_slot_ms - slot_ms >= 691200000 THEN 768 \
                   ELSE (next_slot_ms - slot_ms) / 900000 END";
        let moods = ["frustrated", "confused", "decisive", "browsing", "disengaged", "focused", "neutral"];
        let dims = ["valence", "arousal", "tension", "affiliation"];
        let mut from_slots = vec!["COUNT(*)".to_owned(), "SUM(events)".to_owned()];
        from_slots.extend(moods.iter().map(|m| format!("SUM(CASE WHEN label = '{m}' THEN 1 ELSE 0 END)")));
        from_slots.extend(dims.iter().map(|d| format!("SUM(CAST(ROUND({d} * 1000000000.0) AS BIGINT))")));
        let mut columns = vec!["sessions".to_owned(), "events".to_owned()];
        columns.extend(moods.iter().map(|m| m.to_string()));
        columns.extend(dims.iter().map(|d| format!("{d}_e9")));
        let from_rollup: Vec<String> = columns.iter().map(|c| format!("SUM({c})")).collect();
        let text =
            |sums: &[String]| sums.iter().map(|s| format!("CAST({s} AS TEXT)")).collect::<Vec<_>>().join(" || ',' || ");
        let rows = |sql: String| {
            let db = &db;
            async move {
                let statement = Statement::from_string(db.get_database_backend(), sql);
                let mut rows: Vec<String> = db
                    .query_all_raw(statement)
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| r.try_get::<String>("", "row").unwrap())
                    .collect();
                rows.sort();
                rows
            }
        };
        let expected = rows(format!(
            "SELECT CAST(tenant_id AS TEXT) || ',' || CAST(slot_ms AS TEXT) || ',' || CAST(gap AS TEXT) || ',' || {} AS row \
             FROM (SELECT *, {gap} AS gap FROM session_slots) s GROUP BY tenant_id, slot_ms, gap",
            text(&from_slots)
        ))
        .await;
        let all_zero: Vec<String> = from_rollup.iter().map(|s| format!("{s} = 0")).collect();
        let actual = rows(format!(
            "SELECT CAST(tenant_id AS TEXT) || ',' || CAST(slot_ms AS TEXT) || ',' || CAST(gap_slots AS TEXT) || ',' || {} AS row \
             FROM (SELECT tenant_id, slot_ms, gap_slots, {cols} FROM slot_rollup \
                   UNION ALL SELECT tenant_id, slot_ms, gap_slots, {cols} FROM slot_deltas) r \
             GROUP BY tenant_id, slot_ms, gap_slots HAVING NOT ({})",
            text(&from_rollup),
            all_zero.join(" AND "),
            cols = columns.join(", ")
        ))
        .await;
        assert!(!expected.is_empty() || actual.is_empty());
        assert_eq!(actual, expected, "the rollup and the slots disagree");
    }

    /// `GET path`, then the same after compacting: the answers must be the same.
    pub async fn get_compacted_too(&self, path: &str, key: &str) -> Reply {
        let before = self.get(path, key).await;
        self.compact().await;
        let after = self.get(path, key).await;
        assert_eq!((before.status, &before.json), (after.status, &after.json), "{path}: compaction changed the answer");
        after
    }

    pub async fn send(&self, method: Method, path: &str, key: Option<&str>, body: Option<Value>) -> Reply {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(key) = key {
            req = req.header("x-api-key", key);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        Self::read(req).await
    }

    pub async fn read(req: reqwest::RequestBuilder) -> Reply {
        let resp = req.send().await.expect("the server answers");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.unwrap();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply { status, headers, json }
    }

    /// POSTs events declaring a body of `length` bytes and sends none: an oversized body is
    /// refused from its declared length before it is read (the server answers 413 and closes; a
    /// client still writing would see its pipe break before reading the answer).
    pub async fn declare_body(&self, key: &str, length: usize) -> (u16, Value) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.base.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "POST /v1/sessions/s/events HTTP/1.1\r\nHost: {addr}\r\nX-Api-Key: {key}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            length
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        let text = String::from_utf8_lossy(&raw);
        let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let body = text.split("\r\n\r\n").nth(1).and_then(|b| serde_json::from_str(b).ok()).unwrap_or(Value::Null);
        (status, body)
    }

    pub async fn get(&self, path: &str, key: &str) -> Reply {
        self.send(Method::GET, path, Some(key), None).await
    }

    /// A new tenant's key.
    pub async fn key(&self, plan: &str) -> String {
        let r = self
            .send(Method::POST, "/v1/keys/generate", None, Some(json!({"customer_name": "Test Co", "plan": plan})))
            .await;
        assert_eq!(r.status, 201, "{:?}", r.json);
        r.json["api_key"].as_str().unwrap().to_owned()
    }

    pub async fn post_events(&self, key: &str, session: &str, events: Value) -> Reply {
        self.send(
            Method::POST,
            &format!("/v1/sessions/{}/events", enc(session)),
            Some(key),
            Some(json!({"events": events})),
        )
        .await
    }

    pub async fn mood(&self, key: &str, session: &str) -> Reply {
        self.get(&format!("/v1/sessions/{}/mood", enc(session)), key).await
    }

    pub async fn feedback(&self, key: &str, session: &str, body: Value) -> Reply {
        self.send(Method::POST, &format!("/v1/sessions/{}/feedback", enc(session)), Some(key), Some(body)).await
    }

    pub async fn delete(&self, key: &str, session: &str) -> Reply {
        self.send(Method::DELETE, &format!("/v1/sessions/{}", enc(session)), Some(key), None).await
    }

    pub async fn analytics(&self, key: &str) -> Reply {
        self.get("/v1/analytics/moods", key).await
    }
}

/// Percent-encodes a session id for a path segment.
pub fn enc(id: &str) -> String {
    percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC).to_string()
}

pub const T0: i64 = 1_746_352_800;

/// The contract's checkout example: rage clicks and errors, then idle.
pub fn meltdown() -> Value {
    json!([
        {"type": "rage_click", "x": 240, "y": 580, "ts": T0},
        {"type": "error", "message": "Payment failed", "ts": T0 + 2},
        {"type": "idle", "duration_ms": 4500, "ts": T0 + 7},
        {"type": "rage_click", "x": 240, "y": 580, "ts": T0 + 8},
        {"type": "error", "message": "Payment failed", "ts": T0 + 10},
        {"type": "back_nav", "ts": T0 + 12}
    ])
}

/// [`meltdown`] as engine events.
pub fn meltdown_events() -> Vec<Event> {
    let ev = |k, s: i64| Event::new(k, (T0 + s) * 1000);
    vec![
        ev(EventKind::RageClick, 0).at(240.0, 580.0),
        ev(EventKind::Error, 2),
        ev(EventKind::Idle, 7).lasting(4500.0),
        ev(EventKind::RageClick, 8).at(240.0, 580.0),
        ev(EventKind::Error, 10),
        ev(EventKind::BackNav, 12),
    ]
}

/// [`meltdown`] applied to a fresh session state.
pub fn engine_meltdown() -> (Model, AffectState, Vec<HistoryRecord>) {
    let model = Models::default().session;
    let mut state = AffectState::new(&model);
    let records = apply_batch(&model, &mut state, &meltdown_events());
    (model, state, records)
}

/// The API's 4-decimal rounding.
pub fn r4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

/// The distribution body with the given counts, in the documented order rules.
pub fn distribution(total: i64, feedback: i64, counts: &[(&str, i64)]) -> Value {
    let order = ["frustrated", "confused", "decisive", "browsing", "disengaged", "focused", "neutral"];
    let mut rows: Vec<(usize, &str, i64)> =
        order.iter().enumerate().map(|(i, m)| (i, *m, counts.iter().find(|c| c.0 == *m).map_or(0, |c| c.1))).collect();
    rows.sort_by_key(|r| (std::cmp::Reverse(r.2), r.0));
    let pct = |n: i64| if total == 0 { 0.0 } else { (n as f64 * 1000.0 / total as f64).round() / 10.0 };
    json!({
        "total_sessions": total,
        "feedback_count": feedback,
        "mood_distribution": rows.iter().map(|(_, m, n)| json!({"mood": m, "count": n, "percentage": pct(*n)})).collect::<Vec<_>>()
    })
}

/// The real `moodring` binary, running: its address and every line it logs (stdout and stderr).
pub struct Process {
    pub child: std::process::Child,
    pub base: String,
    pub lines: std::sync::mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

/// Starts `moodring serve` on `database_url` with JSON logs and waits until it listens.
pub fn start_binary(database_url: &str) -> Process {
    start_binary_with(database_url, &[])
}

/// [`start_binary`] with more options (a small pool, when several servers share PostgreSQL's
/// connections with the rest of the suite).
pub fn start_binary_with(database_url: &str, options: &[&str]) -> Process {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_moodring"))
        .args(["serve", "--bind", "127.0.0.1:0", "--log-format", "json", "--database-url", database_url])
        // Tests write events of 2025: a sweep at start would erase what a restarted server must find.
        .args(["--retention-sweep-secs", "0"])
        .args(options)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let (tx, lines) = std::sync::mpsc::channel::<String>();
    let out: Box<dyn std::io::Read + Send> = Box::new(child.stdout.take().unwrap());
    let err: Box<dyn std::io::Read + Send> = Box::new(child.stderr.take().unwrap());
    for pipe in [out, err] {
        let tx = tx.clone();
        std::thread::spawn(move || BufReader::new(pipe).lines().map_while(Result::ok).for_each(|l| _ = tx.send(l)));
    }
    let mut seen = Vec::new();
    let base = loop {
        let line = lines
            .recv_timeout(std::time::Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("no listen line: {seen:?}"));
        seen.push(line.clone());
        if let Ok(v) = serde_json::from_str::<Value>(&line)
            && v["message"] == "moodring listening"
        {
            break format!("http://{}", v["addr"].as_str().unwrap());
        }
    };
    Process { child, base, lines, seen }
}

impl Process {
    /// Stops the server and returns everything it logged.
    pub fn stop(mut self) -> Vec<String> {
        _ = self.child.kill();
        _ = self.child.wait();
        self.seen.extend(self.lines.try_iter());
        self.seen
    }
}

/// An HTTP client for the tests. reqwest is built without a TLS provider of its own (the
/// server's webhook client brings ring), so the process's default is set first: a test that
/// starts no server in-process would otherwise panic building it.
pub fn http_client() -> reqwest::Client {
    moodring::webhooks::client::use_ring();
    reqwest::Client::new()
}

/// Signs up on a server (`POST /v1/keys/generate` with `body`) and returns the new key.
pub async fn sign_up(http: &reqwest::Client, base: &str, body: Value) -> String {
    let r: Value =
        http.post(format!("{base}/v1/keys/generate")).json(&body).send().await.unwrap().json().await.unwrap();
    r["api_key"].as_str().unwrap_or_else(|| panic!("no key: {r}")).to_owned()
}

/// The NDJSON export of `[from, to)` (Unix seconds).
pub async fn export(http: &reqwest::Client, base: &str, key: &str, from: i64, to: i64) -> String {
    let url = format!("{base}/v1/analytics/export?from={from}&to={to}");
    http.get(url).header("x-api-key", key).send().await.unwrap().text().await.unwrap()
}

/// POSTs JSON to a server with a key: the status and the JSON answer (`null` if none).
pub async fn post_json(http: &reqwest::Client, base: &str, key: &str, path: &str, body: Value) -> (u16, Value) {
    let r = http.post(format!("{base}{path}")).header("x-api-key", key).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// GETs JSON from a server with a key.
pub async fn get_json(http: &reqwest::Client, base: &str, key: &str, path: &str) -> Value {
    http.get(format!("{base}{path}")).header("x-api-key", key).send().await.unwrap().json().await.unwrap()
}

/// Asserts that a session's stored state equals a replay, through the engine, of its stored
/// history in the order it was applied (events sent with `type` and `ts` only).
pub async fn assert_state_is_replay(http: &reqwest::Client, base: &str, key: &str, session: &str) {
    let mut entries: Vec<Value> = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = get_json(http, base, key, &format!("/v1/sessions/{session}/mood-history?limit=500{cursor}")).await;
        entries.extend(page["entries"].as_array().unwrap().iter().cloned());
        match page.get("next_cursor") {
            Some(c) => cursor = format!("&before={}", c.as_str().unwrap()),
            None => break,
        }
    }
    entries.reverse();
    let model = Models::default().session;
    let mut replay = AffectState::new(&model);
    for e in &entries {
        let ts = chrono::DateTime::parse_from_rfc3339(e["timestamp"].as_str().unwrap()).unwrap().timestamp_millis();
        apply_batch(&model, &mut replay, &[Event::new(e["trigger_type"].as_str().unwrap().parse().unwrap(), ts)]);
    }
    let state = get_json(http, base, key, &format!("/v1/sessions/{session}/state")).await;
    assert_eq!(state["mood"]["event_count"].as_u64(), Some(entries.len() as u64), "{session}");
    for (i, d) in ["valence", "arousal", "tension", "affiliation"].iter().enumerate() {
        assert_eq!(state["mood"][d].as_f64().unwrap(), replay.dims[i], "{session}: {d}");
    }
}
