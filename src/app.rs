//! The running service: shared state, the route tree with its middleware, and the server.

use crate::api::{self, Edge, body::BodyLimit};
use crate::engine::Models;
use crate::keys::{AuthThrottle, KeyCache};
use crate::store::committer::Committer;
use crate::store::reads::Reads;
use crate::store::{Store, StoreOptions};
use chrono::{DateTime, Utc};
use poem::http::Method;
use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};
use poem::middleware::Cors;
use poem::{Endpoint, EndpointExt, Route, Server};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Where "now" comes from: the system clock, or a fixed instant in tests.
#[derive(Clone, Copy, Debug, Default)]
pub struct Clock(Option<DateTime<Utc>>);

impl Clock {
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Self(Some(at))
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.0.unwrap_or_else(Utc::now)
    }
}

/// What every handler shares.
pub struct AppState {
    pub store: Store,
    pub models: Arc<Models>,
    /// Where event batches go to be stored (group commit).
    pub ingest: Committer,
    /// Where the hottest reads go to be answered together.
    pub reads: Reads,
    pub keys: KeyCache,
    pub throttle: AuthThrottle,
    pub clock: Clock,
}

impl AppState {
    /// Starts the ingest committer and the read runners: call inside a tokio runtime.
    pub fn new(store: Store, clock: Clock, auth_failure_limit: u32) -> Self {
        let models = Arc::new(Models::default());
        Self {
            ingest: Committer::start(store.clone(), models.clone(), store.ingest_lanes()),
            reads: Reads::start(&store),
            store,
            models,
            keys: KeyCache::default(),
            throttle: AuthThrottle::new(auth_failure_limit),
            clock,
        }
    }
}

/// Everything a server needs besides its listener.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    pub store: StoreOptions,
    pub body_limit: BodyLimit,
    pub clock: Clock,
    /// Failed authentications per address per minute before 429; 0 turns the throttle off.
    pub auth_failure_limit: u32,
}

/// The whole HTTP surface: the API, `/docs`, `/openapi.json`, CORS, and the edge middleware
/// outermost so that every response, preflights and errors included, is covered.
pub fn routes(state: Arc<AppState>, body_limit: BodyLimit) -> impl Endpoint {
    let api = api::service();
    let docs = api.swagger_ui();
    let spec = bytes::Bytes::from(api::spec_json());
    let spec = poem::endpoint::make_sync(move |_| {
        poem::Response::builder().content_type("application/json; charset=utf-8").body(spec.clone())
    });
    let cors = Cors::new()
        .allow_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS])
        .allow_headers(["x-api-key", "authorization", "content-type"])
        .expose_headers(["x-request-id", "retry-after"])
        .max_age(86_400);
    Route::new()
        .nest("/docs", docs)
        .at("/openapi.json", spec)
        .nest("/", api)
        .with(api::AuthGuard)
        .data(state)
        .data(body_limit)
        .with(cors)
        .with(Edge)
}

/// A server bound to its address, migrated and ready to run.
pub struct Bound {
    acceptor: TcpAcceptor,
    state: Arc<AppState>,
    body_limit: BodyLimit,
}

impl Bound {
    /// Connects to the database, runs pending migrations and binds `addr` (port 0 picks one).
    pub async fn new(options: &ServerOptions, addr: &str) -> anyhow::Result<Self> {
        let store = Store::connect(&options.store).await?;
        store.migrate().await?;
        let acceptor = TcpListener::bind(addr).into_acceptor().await?;
        let state = Arc::new(AppState::new(store, options.clock, options.auth_failure_limit));
        Ok(Self { acceptor, state, body_limit: options.body_limit })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.acceptor
            .local_addr()
            .into_iter()
            .find_map(|a| a.as_socket_addr().copied())
            .expect("a TCP listener has a socket address")
    }

    /// Serves until `shutdown` resolves, then lets requests in flight finish (up to 30 s).
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send) -> std::io::Result<()> {
        Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(routes(self.state, self.body_limit), shutdown, Some(Duration::from_secs(30)))
            .await
    }
}
