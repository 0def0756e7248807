//! What the push tests listen with: a webhook receiver that verifies every signature on its own
//! (Standard Webhooks, written here from the spec, not from the server's code) and answers as
//! told, and a reader of Server-Sent Events.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use futures::StreamExt;
use hmac::{Hmac, Mac};
use poem::web::Data;
use poem::{EndpointExt, Request, Response};
use serde_json::Value;
use sha2::Sha256;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    /// The `v1,…` signatures, in order.
    pub signatures: Vec<String>,
    pub body: String,
    pub json: Value,
}

impl Received {
    /// Whether one of the signatures is this secret's (`whsec_…`) over id, timestamp and body.
    pub fn signed_by(&self, secret: &str) -> bool {
        let key = STANDARD.decode(secret.strip_prefix("whsec_").expect("a whsec_ secret")).unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(format!("{}.{}.{}", self.id, self.timestamp, self.body).as_bytes());
        let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
        self.signatures.contains(&expected)
    }
}

#[derive(Default)]
struct Log {
    received: Mutex<Vec<Received>>,
    /// Answers to give, in order; then 200.
    script: Mutex<VecDeque<(u16, String)>>,
}

/// A webhook receiver on loopback.
pub struct Receiver {
    pub url: String,
    log: Arc<Log>,
    _server: tokio::task::JoinHandle<()>,
}

#[poem::handler]
async fn hook(req: &Request, body: Bytes, log: Data<&Arc<Log>>) -> Response {
    let header = |name: &str| req.header(name).unwrap_or_default().to_owned();
    let body = String::from_utf8(body.to_vec()).expect("UTF-8 JSON");
    let received = Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signatures: header("webhook-signature").split(' ').map(str::to_owned).collect(),
        json: serde_json::from_str(&body).unwrap_or(Value::Null),
        body,
    };
    log.received.lock().unwrap().push(received);
    let (status, answer) = log.script.lock().unwrap().pop_front().unwrap_or((200, "ok".into()));
    Response::builder().status(poem::http::StatusCode::from_u16(status).unwrap()).body(answer)
}

impl Receiver {
    pub async fn start() -> Self {
        use poem::listener::{Acceptor, Listener};
        let acceptor = poem::listener::TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
        let addr = acceptor.local_addr()[0].as_socket_addr().copied().unwrap();
        let log = Arc::new(Log::default());
        let app = poem::Route::new().at("/hook", poem::post(hook)).data(log.clone());
        let server = tokio::spawn(async move {
            let _ = poem::Server::new_with_acceptor(acceptor).run(app).await;
        });
        Self { url: format!("http://{addr}/hook"), log, _server: server }
    }

    /// The next requests get these answers (then 200).
    pub fn answer(&self, answers: &[(u16, &str)]) {
        self.log.script.lock().unwrap().extend(answers.iter().map(|(s, b)| (*s, (*b).to_owned())));
    }

    pub fn received(&self) -> Vec<Received> {
        self.log.received.lock().unwrap().clone()
    }

    /// Waits (up to `within`) until `n` requests came; all that came by then.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let received = self.received();
            if received.len() >= n || tokio::time::Instant::now() >= deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// One Server-Sent Event.
#[derive(Clone, Debug, PartialEq)]
pub struct SseEvent {
    pub id: String,
    pub event: String,
    pub data: Value,
}

/// An open event stream.
pub struct Sse {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    body: Pin<Box<dyn futures::Stream<Item = reqwest::Result<Bytes>> + Send>>,
    buffer: String,
}

impl Sse {
    /// Opens `url` with these headers; returns once the response's headers came (the
    /// subscription exists by then).
    pub async fn open(http: &reqwest::Client, url: &str, headers: &[(&str, &str)]) -> Sse {
        let mut req = http.get(url);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let response = req.send().await.unwrap();
        Sse {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: Box::pin(response.bytes_stream()),
            buffer: String::new(),
        }
    }

    /// The body of a refused stream, as JSON.
    pub async fn error_body(mut self) -> Value {
        let mut text = Vec::new();
        while let Some(Ok(chunk)) = self.body.next().await {
            text.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&text).unwrap_or(Value::Null)
    }

    /// The next event within `within` (comments skipped); `None` if none came or the stream
    /// ended.
    pub async fn next(&mut self, within: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (String::new(), String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        id = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        event = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    }
                }
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                return Some(SseEvent { id, event, data: serde_json::from_str(&data).expect("JSON data") });
            }
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Ok(Some(Ok(chunk))) => self.buffer.push_str(std::str::from_utf8(&chunk).unwrap()),
                _ => return None,
            }
        }
    }

    /// Events until none comes for `quiet`.
    pub async fn drain(&mut self, quiet: Duration) -> Vec<SseEvent> {
        let mut events = Vec::new();
        while let Some(e) = self.next(quiet).await {
            events.push(e);
        }
        events
    }
}
