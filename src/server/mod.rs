//! The running service: options, the listener, the accept loop and the HTTP workers that
//! serve the routes.

mod compactor;
mod relay;
mod routes;
mod sweeper;
mod workers;

use crate::api::body::BodyLimit;
use crate::engine::Models;
use crate::state::{AppState, Clock};
use crate::store::{Store, StoreOptions};
use crate::webhooks;
use crate::webhooks::address::Policy;
use sea_orm::DbBackend;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use workers::Workers;

/// Everything a server needs besides its listener.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    pub store: StoreOptions,
    pub body_limit: BodyLimit,
    pub clock: Clock,
    /// Failed authentications per address per minute before 429; 0 turns the throttle off.
    pub auth_failure_limit: u32,
    /// HTTP worker threads ([`workers`]).
    pub workers: NonZeroUsize,
    /// The affect models: which one new sessions start under, and the earlier ones.
    pub models: Models,
    /// The bearer token `GET /metrics` asks for; `None`: no token, as Prometheus scrapes by default.
    pub metrics_token: Option<String>,
    /// How often expired data is swept away (see [`crate::store::retention`]); `None`: never.
    pub retention_sweep: Option<Duration>,
    /// How often the time series' rollup is compacted ([`compactor`]); `None`: never (reads
    /// stay exact, and slower as deltas pile up).
    pub compaction: Option<Duration>,
    /// Which webhook receivers may be reached.
    pub webhook_policy: Policy,
    /// Webhook deliveries sent at once; 0: none from this replica.
    pub webhook_concurrency: usize,
}

/// A server bound to its address, migrated, its workers started: ready to run.
pub struct Bound {
    listener: TcpListener,
    local_addr: SocketAddr,
    workers: Workers,
    state: Arc<AppState>,
    /// The retention sweep, the rollup compaction, the outbox relay and the webhook deliveries,
    /// stopped with the server.
    _background: Vec<Stopped>,
}

/// A background task that stops when this is dropped.
struct Stopped(tokio::task::JoinHandle<()>);

impl Drop for Stopped {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Bound {
    /// Connects to the database, runs pending migrations, binds `addr` (port 0 picks one) and
    /// starts the workers.
    pub async fn new(options: &ServerOptions, addr: &str) -> anyhow::Result<Self> {
        webhooks::client::use_ring();
        let store = Store::connect(&options.store).await?;
        store.migrate().await?;
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let state = AppState::new(
            store,
            options.models.clone(),
            options.clock,
            options.auth_failure_limit,
            options.metrics_token.clone(),
            options.webhook_policy,
        );
        let state = Arc::new(state.await?);
        let background = [
            options.retention_sweep.map(|every| sweeper::spawn(state.store.clone(), state.clock, every)),
            // Only PostgreSQL's rollup has deltas to compact (see `store::timeline::compact`).
            options
                .compaction
                .filter(|_| state.store.backend() == DbBackend::Postgres)
                .map(|every| compactor::spawn(state.store.clone(), state.metrics.clone(), every)),
            Some(relay::spawn(
                state.store.clone(),
                state.hub.clone(),
                state.deliveries.clone(),
                state.clock,
                state.metrics.clone(),
            )),
            (options.webhook_concurrency > 0).then(|| {
                webhooks::delivery::spawn(
                    state.store.clone(),
                    state.webhook_policy,
                    state.clock,
                    state.metrics.clone(),
                    state.deliveries.clone(),
                    options.webhook_concurrency,
                )
            }),
        ];
        let background = background.into_iter().flatten().map(Stopped).collect();
        let workers = Workers::start(options.workers, local_addr, state.clone(), options.body_limit).await?;
        Ok(Self { listener, local_addr, workers, state, _background: background })
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
        self.state.draining.send_replace(true);
        self.workers.stop().await
    }
}
