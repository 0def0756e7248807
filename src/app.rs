//! The running service: shared state, the route tree with its middleware, and the server.

use crate::api::{self, Edge, body::BodyLimit};
use crate::engine::Models;
use crate::keys::{AuthThrottle, KeyCache};
use crate::store::committer::Committer;
use crate::store::reads::Reads;
use crate::store::{Store, StoreOptions};
use crate::workers::Workers;
use chrono::{DateTime, Utc};
use poem::http::Method;
use poem::middleware::Cors;
use poem::{Endpoint, EndpointExt, Route};
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

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

/// What every handler shares, across the HTTP workers ([`crate::workers`]).
pub struct AppState {
    pub store: Store,
    pub models: Arc<Models>,
    /// Where event batches go to be stored (group commit).
    pub ingest: Committer,
    pub keys: KeyCache,
    pub throttle: AuthThrottle,
    pub clock: Clock,
}

impl AppState {
    /// Starts the ingest committer: call inside a tokio runtime.
    pub fn new(store: Store, clock: Clock, auth_failure_limit: u32) -> Self {
        let models = Arc::new(Models::default());
        Self {
            ingest: Committer::start(store.clone(), models.clone(), store.ingest_lanes()),
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
    /// HTTP worker threads ([`crate::workers`]).
    pub workers: NonZeroUsize,
}

/// The whole HTTP surface: the API, `/docs`, `/openapi.json`, CORS, and the edge middleware
/// outermost so that every response, preflights and errors included, is covered. `reads` are
/// the serving worker's own (where the hottest reads go to be answered together).
pub fn routes(state: Arc<AppState>, reads: Arc<Reads>, body_limit: BodyLimit) -> impl Endpoint {
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
        .data(reads)
        .data(body_limit)
        .with(cors)
        .with(Edge)
}

/// A server bound to its address, migrated, its workers started: ready to run.
pub struct Bound {
    listener: TcpListener,
    local_addr: SocketAddr,
    workers: Workers,
}

impl Bound {
    /// Connects to the database, runs pending migrations, binds `addr` (port 0 picks one) and
    /// starts the workers.
    pub async fn new(options: &ServerOptions, addr: &str) -> anyhow::Result<Self> {
        let store = Store::connect(&options.store).await?;
        store.migrate().await?;
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let state = Arc::new(AppState::new(store, options.clock, options.auth_failure_limit));
        let workers = Workers::start(options.workers, local_addr, state, options.body_limit).await?;
        Ok(Self { listener, local_addr, workers })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Accepts connections, each served by one worker in turn, until `shutdown` resolves; then
    /// lets requests in flight finish (up to 30 s).
    pub async fn run_until(mut self, shutdown: impl Future<Output = ()> + Send) -> std::io::Result<()> {
        let mut shutdown = pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, peer)) => self.workers.serve(stream, peer),
                    Err(e) => {
                        // Out of file descriptors, most likely: let connections close first.
                        tracing::warn!(error = %e, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
            }
        }
        tracing::info!("stopping: finishing the requests in flight");
        self.workers.stop().await
    }
}
