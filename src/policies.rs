//! Each tenant's intervention policy ([`crate::interventions::Policy`]), built from its
//! settings and counts and cached for [`Policies::TTL`].
//!
//! How stale a suggestion may be: a replica builds a tenant's policy at most [`Policies::TTL`]
//! after the feedback or settings it reflects were committed. The replica that records
//! feedback or a settings change drops its copy at once, so its next suggestion uses them; the
//! other replicas catch up within the TTL. The learning state itself is never cached: the
//! counts are summed in the database, in the feedback's transaction.

use crate::domain::{Tenant, TenantId};
use crate::engine::{Model, Projection, SuggestedAction};
use crate::interventions::{Arm, Context, Policy, Reading};
use crate::store::{Store, StoreError, interventions};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Entry {
    policy: Arc<Policy>,
    built: Instant,
    /// A request is building its successor: the others keep using this one meanwhile, so that
    /// the requests that find it expired do not all query the database at once.
    refreshing: bool,
}

#[derive(Default)]
pub struct Policies {
    entries: Mutex<HashMap<TenantId, Entry>>,
    /// Bumped by every [`Self::forget`]: a policy whose build began before one is not cached,
    /// as it may have read the counts from before the change.
    forgotten: AtomicU64,
}

impl Policies {
    pub const TTL: Duration = Duration::from_secs(5);
    const MAX_ENTRIES: usize = 100_000;

    /// The tenant's policy, built at most [`Self::TTL`] ago (or while one request rebuilds it).
    pub async fn get(&self, store: &Store, tenant: &Tenant) -> Result<Arc<Policy>, StoreError> {
        if let Some(entry) = self.entries.lock().unwrap_or_else(|p| p.into_inner()).get_mut(&tenant.id) {
            if entry.built.elapsed() < Self::TTL || entry.refreshing {
                return Ok(entry.policy.clone());
            }
            entry.refreshing = true;
        }
        let built = self.build(store, tenant).await;
        if built.is_err()
            && let Some(entry) = self.entries.lock().unwrap_or_else(|p| p.into_inner()).get_mut(&tenant.id)
        {
            entry.refreshing = false;
        }
        built
    }

    async fn build(&self, store: &Store, tenant: &Tenant) -> Result<Arc<Policy>, StoreError> {
        let epoch = self.forgotten.load(Ordering::Acquire);
        let settings = interventions::settings(store, tenant).await?;
        let counts = interventions::counts(store, tenant).await?;
        let arms = counts.into_iter().map(|c| {
            let arm = Arm { helpful: c.helpful.max(0) as u64, unhelpful: c.unhelpful.max(0) as u64 };
            (c.context, c.action, arm)
        });
        let policy = Arc::new(Policy::new(settings, arms));
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if self.forgotten.load(Ordering::Acquire) != epoch {
            entries.remove(&tenant.id);
            return Ok(policy);
        }
        if entries.len() >= Self::MAX_ENTRIES {
            entries.retain(|_, e| e.built.elapsed() < Self::TTL);
        }
        entries.insert(tenant.id, Entry { policy: policy.clone(), built: Instant::now(), refreshing: false });
        Ok(policy)
    }

    /// The suggestion for `projection`, a reading under `model` made at request time (a state
    /// at a later instant, a person's mood) of `subject`: drawn as ingest draws a stored state's.
    pub async fn suggest(
        &self,
        store: &Store,
        tenant: &Tenant,
        subject: &str,
        model: &Model,
        projection: &Projection,
    ) -> Result<SuggestedAction, StoreError> {
        let policy = self.get(store, tenant).await?;
        let context = Context::of(projection.label, &projection.signals);
        let reading = Reading { context, confidence: projection.confidence };
        Ok(policy.draw(model, tenant.id.get(), subject, reading).action)
    }

    /// The suggestion stored for a state of session `subject`, unless the tenant's settings
    /// changed since so that it may no longer be made (an action disabled, a minimum raised):
    /// then the one the current policy draws for it.
    pub async fn revise(
        &self,
        store: &Store,
        tenant: &Tenant,
        subject: &str,
        model: &Model,
        reading: Reading,
        stored: SuggestedAction,
    ) -> Result<SuggestedAction, StoreError> {
        Ok(self.get(store, tenant).await?.revise(model, tenant.id.get(), subject, reading, stored))
    }

    /// Drops the tenant's cached policy: its feedback or settings just changed.
    pub fn forget(&self, tenant: TenantId) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        self.forgotten.fetch_add(1, Ordering::AcqRel);
        entries.remove(&tenant);
    }
}
