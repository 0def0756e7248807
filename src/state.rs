//! What every request handler shares: the store, the engine's models, the ingest committer,
//! the key cache and throttle, and the clock. The API reads it; the server builds it.

use crate::auth::{AuthThrottle, KeyCache, PlanCache, TokenKeys};
use crate::engine::Models;
use crate::ingest::Committer;
use crate::policies::Policies;
use crate::push::Hub;
use crate::store::{Store, StoreError};
use crate::telemetry::Metrics;
use crate::webhooks::address;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use tokio::sync::{Notify, watch};

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

/// What every handler shares, across the HTTP workers ([`crate::server`]).
pub struct AppState {
    pub store: Store,
    pub models: Arc<Models>,
    /// Where event batches go to be stored (group commit).
    pub ingest: Committer,
    pub keys: KeyCache,
    /// Signs and verifies session tokens.
    pub tokens: TokenKeys,
    /// Tenants' plans for session-token callers.
    pub plans: PlanCache,
    /// Tenants' intervention policies, which pick each state's suggested action.
    pub policies: Policies,
    pub throttle: AuthThrottle,
    pub clock: Clock,
    pub metrics: Arc<Metrics>,
    /// The bearer token `GET /metrics` asks for, if any.
    pub metrics_token: Option<String>,
    /// This replica's event streams and the messages handed to them ([`crate::push`]).
    pub hub: Arc<Hub>,
    /// Told when webhook deliveries may be due (created, or re-sent).
    pub deliveries: Arc<Notify>,
    /// Which webhook receivers are allowed.
    pub webhook_policy: address::Policy,
    /// Set when the server stops: open event streams end, so their clients reconnect elsewhere.
    pub draining: watch::Sender<bool>,
}

impl AppState {
    /// Reads the token signing keys (creating the first on a new database) and starts the
    /// ingest committer: call inside a tokio runtime.
    pub async fn new(
        store: Store,
        models: Models,
        clock: Clock,
        auth_failure_limit: u32,
        metrics_token: Option<String>,
        webhook_policy: address::Policy,
    ) -> Result<Self, StoreError> {
        let models = Arc::new(models);
        let metrics = Arc::new(Metrics::new(&models.session.version));
        let policies = Policies::default();
        Ok(Self {
            ingest: Committer::start(store.clone(), models.clone(), store.ingest_lanes(), metrics.clone()),
            tokens: TokenKeys::load(&store, clock.now()).await?,
            store,
            models,
            keys: KeyCache::new(metrics.clone()),
            plans: PlanCache::default(),
            policies,
            throttle: AuthThrottle::new(auth_failure_limit),
            clock,
            metrics,
            metrics_token,
            hub: Default::default(),
            deliveries: Default::default(),
            webhook_policy,
            draining: watch::Sender::new(false),
        })
    }
}
