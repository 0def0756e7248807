//! The reads every client makes all the time — a session's mood, the tenant's mood counts —
//! coalesced: concurrent requests share one query (see [`super::batcher`]).

use super::analytics::{self, MoodCounts};
use super::batcher::{BatchRead, Batcher};
use super::sessions::{self, CurrentMood};
use super::{Store, StoreError};
use crate::domain::{SessionId, Tenant, TenantId};
use std::collections::HashMap;

/// Keys read by one query at most.
const MAX_BATCH: usize = 64;
/// Queries of one kind running at once: while one runs, the next batch forms. More made smaller
/// batches and fewer requests per second on both backends (benches/RESULTS.md).
const RUNNERS: usize = 2;
/// Queries the reads may run at once: the connections they need.
pub(super) const CONNECTIONS: u32 = 2 * RUNNERS as u32;

pub struct Reads {
    moods: Batcher<(TenantId, SessionId), CurrentMood>,
    counts: Batcher<TenantId, MoodCounts>,
}

impl Reads {
    /// Starts the runners on the current tokio runtime.
    pub fn start(store: &Store) -> Self {
        Self {
            moods: Batcher::start(Moods(store.clone()), RUNNERS, MAX_BATCH),
            counts: Batcher::start(Counts(store.clone()), RUNNERS, MAX_BATCH),
        }
    }

    /// The session's mood at its latest event, or `None` if the tenant has no such session.
    pub async fn current_mood(&self, tenant: &Tenant, id: &SessionId) -> Result<Option<CurrentMood>, StoreError> {
        self.moods.get((tenant.id, id.clone())).await
    }

    /// Sessions per current label, and sessions with feedback.
    pub async fn mood_counts(&self, tenant: &Tenant) -> Result<MoodCounts, StoreError> {
        let counts = self.counts.get(tenant.id).await?;
        Ok(counts.expect("every tenant asked for has counts"))
    }
}

struct Moods(Store);

impl BatchRead<(TenantId, SessionId), CurrentMood> for Moods {
    async fn read(
        &self,
        keys: Vec<(TenantId, SessionId)>,
    ) -> Result<HashMap<(TenantId, SessionId), CurrentMood>, StoreError> {
        sessions::current_moods(&self.0, &keys).await
    }
}

struct Counts(Store);

impl BatchRead<TenantId, MoodCounts> for Counts {
    async fn read(&self, keys: Vec<TenantId>) -> Result<HashMap<TenantId, MoodCounts>, StoreError> {
        analytics::mood_counts(&self.0, &keys).await
    }
}
