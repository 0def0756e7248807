//! Tenants' plans for session-token callers: a token names its tenant, and ingest needs the
//! plan for the quota. Cached for [`PlanCache::TTL`], as verified keys are, so that a token
//! request costs no lookup; a plan change reaches token callers within that time.

use crate::domain::{Tenant, TenantId};
use crate::store::{Store, StoreError, tenants};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Default)]
pub struct PlanCache {
    entries: Mutex<HashMap<TenantId, (Tenant, Instant)>>,
}

impl PlanCache {
    pub const TTL: Duration = Duration::from_secs(30);
    const MAX_ENTRIES: usize = 100_000;

    /// The tenant with its plan, or `None` if it no longer exists.
    pub async fn tenant(&self, store: &Store, id: TenantId) -> Result<Option<Tenant>, StoreError> {
        if let Some((tenant, at)) = self.entries.lock().unwrap_or_else(|p| p.into_inner()).get(&id)
            && at.elapsed() < Self::TTL
        {
            return Ok(Some(tenant.clone()));
        }
        let Some(plan) = tenants::plan_of(store, id).await? else { return Ok(None) };
        let tenant = Tenant { id, plan };
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= Self::MAX_ENTRIES {
            entries.retain(|_, (_, at)| at.elapsed() < Self::TTL);
        }
        entries.insert(id, (tenant.clone(), Instant::now()));
        Ok(Some(tenant))
    }
}
