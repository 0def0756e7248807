//! The reads every client makes all the time — a session's mood, the tenant's mood counts. On
//! PostgreSQL they are coalesced: concurrent requests share one query (see [`batcher`]); each
//! HTTP worker has its own, on its own connections ([`crate::server`]).
//! On an SQLite file each runs by itself in process, with a statement text built once. Neither
//! caches anything: every answer comes from a query that started after its request arrived.

mod batcher;
#[cfg(test)]
mod tests;

use crate::domain::{SessionId, Tenant, TenantId};
use crate::store::analytics::{self, MoodCounts};
use crate::store::sessions::{self, CurrentMood};
use crate::store::{Store, StoreError};
use crate::telemetry::Metrics;
use batcher::{BatchRead, Batcher};
use sea_orm::DbErr;
use std::collections::HashMap;

/// Keys read by one query at most.
const MAX_BATCH: usize = 64;
/// Queries of one kind running at once: while one runs, the next batch forms. More made smaller
/// batches and fewer requests per second on both backends (benches/RESULTS.md).
const RUNNERS: usize = 2;
/// Queries the reads may run at once: the connections they need.
const CONNECTIONS: u32 = 2 * RUNNERS as u32;

pub struct Reads(Inner);

enum Inner {
    /// On an SQLite file each read runs by itself, on the request's own thread (see
    /// [`crate::store`]'s in-process reader): a query costs no round trip there, so sharing one saves
    /// nothing, while handing keys to a runner and answers back cost more than the read.
    Direct(Store),
    /// Where a query is a round trip to a server, concurrent requests share one.
    Coalesced { moods: Batcher<(TenantId, SessionId), CurrentMood>, counts: Batcher<TenantId, MoodCounts> },
}

impl Reads {
    /// Opens the reads' own connections, if the store reads through a server, and starts their
    /// runners, on the current tokio runtime: its thread then serves their I/O, and each HTTP
    /// worker reads on the thread whose requests wait for the reads.
    pub async fn start(store: &Store, metrics: &Metrics) -> Result<Self, DbErr> {
        if store.reads_in_process() {
            return Ok(Self(Inner::Direct(store.clone())));
        }
        let store = store.with_own_reads(CONNECTIONS).await?;
        let sizes = |read: &str| metrics.read_batch_keys.with_label_values(&[read]);
        Ok(Self(Inner::Coalesced {
            moods: Batcher::start(Moods(store.clone()), RUNNERS, MAX_BATCH, sizes("current_mood")),
            counts: Batcher::start(Counts(store), RUNNERS, MAX_BATCH, sizes("mood_counts")),
        }))
    }

    /// The session's mood at its latest event, or `None` if the tenant has no such session.
    pub async fn current_mood(&self, tenant: &Tenant, id: &SessionId) -> Result<Option<CurrentMood>, StoreError> {
        match &self.0 {
            Inner::Direct(store) => sessions::current_mood(store, tenant.id, id).await,
            Inner::Coalesced { moods, .. } => moods.get((tenant.id, id.clone())).await,
        }
    }

    /// Sessions per current label, and sessions with feedback.
    pub async fn mood_counts(&self, tenant: &Tenant) -> Result<MoodCounts, StoreError> {
        match &self.0 {
            Inner::Direct(store) => analytics::tenant_mood_counts(store, tenant.id).await,
            Inner::Coalesced { counts, .. } => {
                Ok(counts.get(tenant.id).await?.expect("every tenant asked for has counts"))
            }
        }
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
