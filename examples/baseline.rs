//! The load harness's baseline: a bare poem-openapi server doing only what every moodring
//! request does before it reaches the store — the same API-key check (header parse, key format,
//! SHA-256 lookup in an in-memory map, as a warm moodring server does) and the same JSON parse
//! and validation of an events batch — and answering a fixed body. Nothing else.
//!
//! cargo run --release --example baseline -- 127.0.0.1:18190
//! Prints its API key on the first line.

use moodring::api::body::JsonBody;
use moodring::api::events::PostEventsRequest;
use moodring::auth::ApiKey;
use poem::listener::TcpListener;
use poem::{EndpointExt, Request, Route, Server};
use poem_openapi::auth::ApiKey as HeaderKey;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi, OpenApiService, SecurityScheme};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::sync::Arc;

struct Keys(HashSet<[u8; 32]>);

#[derive(SecurityScheme)]
#[oai(ty = "api_key", key_name = "X-Api-Key", key_in = "header", checker = "check")]
struct Auth(());

async fn check(req: &Request, key: HeaderKey) -> Option<()> {
    let keys = req.data::<Arc<Keys>>()?;
    let key = ApiKey::parse(&key.key)?;
    keys.0.contains(&<[u8; 32]>::from(Sha256::digest(key.expose().as_bytes()))).then_some(())
}

#[derive(Object)]
struct Accepted {
    session_id: String,
    events_stored: u64,
}

struct Api;

#[OpenApi]
impl Api {
    #[oai(path = "/v1/sessions/:id/events", method = "post")]
    async fn events(
        &self,
        _auth: Auth,
        id: Path<String>,
        body: JsonBody<PostEventsRequest>,
    ) -> poem::Result<Json<Accepted>> {
        let events = body.0.validate(chrono::Utc::now().timestamp_millis())?;
        Ok(Json(Accepted { session_id: id.0, events_stored: events.len() as u64 }))
    }

    #[oai(path = "/v1/sessions/:id/mood", method = "get")]
    async fn mood(&self, _auth: Auth, id: Path<String>) -> Json<Accepted> {
        Json(Accepted { session_id: id.0, events_stored: 0 })
    }

    #[oai(path = "/v1/analytics/moods", method = "get")]
    async fn analytics(&self, _auth: Auth) -> Json<Accepted> {
        Json(Accepted { session_id: String::new(), events_stored: 0 })
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let bind = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:18190".into());
    let key = ApiKey::generate();
    println!("{}", key.expose());
    let keys = Arc::new(Keys(HashSet::from([<[u8; 32]>::from(Sha256::digest(key.expose().as_bytes()))])));
    let api = OpenApiService::new(Api, "baseline", "1");
    Server::new(TcpListener::bind(bind)).run(Route::new().nest("/", api).data(keys)).await
}
