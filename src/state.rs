//! What every request handler shares: the store, the engine's models, the ingest committer,
//! the key cache and throttle, and the clock. The API reads it; the server builds it.

use crate::auth::{AuthThrottle, KeyCache};
use crate::engine::Models;
use crate::ingest::Committer;
use crate::store::Store;
use chrono::{DateTime, Utc};
use std::sync::Arc;

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
