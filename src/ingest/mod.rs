//! Ingesting event batches, set-wise. Batches from concurrent requests reach the store in groups
//! (see [`committer`]); a group is written in one transaction: one read of its sessions (and
//! users) ([`load`]), the engine in memory in arrival order ([`group`]), then a few multi-row
//! statements for all of it ([`write`]; new event and history rows by `COPY` on PostgreSQL: see
//! [`crate::store::bulk`]). On PostgreSQL the batches of sessions the lane wrote last skip the
//! read: they go first, as one statement that checks what it assumed ([`checked`]). Each batch keeps its own semantics and outcome: it is applied whole
//! or not at all, event ids the session already has are skipped, the quota counts each new
//! session once, and a batch refused for its quota or its user leaves the rest of its group
//! untouched.

mod checked;
mod committer;
mod group;
mod load;
mod states;
#[cfg(test)]
pub(crate) mod tests;
mod write;

pub use committer::{Committer, LaneHealth};
pub(crate) use states::SessionStates;
pub use write::event_row;

use crate::domain::{NewEvent, SessionId, Tenant, UserId};
use crate::engine::{Models, Mood};
use crate::interventions::Policy;
use crate::store::bulk::BulkTxn;
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use group::Group;
use std::sync::Arc;

/// A validated batch for one session, received at `now`, optionally naming its person, with
/// the tenant's intervention policy that picks the suggestion for each new state.
#[derive(Clone, Debug)]
pub struct Job {
    pub tenant: Tenant,
    pub session: SessionId,
    pub user: Option<UserId>,
    pub events: Vec<NewEvent>,
    pub now: DateTime<Utc>,
    pub policy: Arc<Policy>,
}

/// What a batch did.
#[derive(Clone, Debug, PartialEq)]
pub struct Ingested {
    pub events_stored: usize,
    /// Events whose `event_id` the session already had (or that repeated one in the batch).
    pub duplicates: usize,
    pub total_events: i64,
    pub mood: Mood,
}

/// Each batch's outcome, in the order given.
pub type Outcomes = Vec<Result<Ingested, StoreError>>;

/// Writes one batch in its own transaction, once more if it lost a race to create the same
/// session or user (the retry finds the row the other created).
pub(crate) async fn write_one(
    store: &Store,
    models: &Models,
    job: &Job,
    states: &mut SessionStates,
) -> Result<Ingested, StoreError> {
    let mut outcomes = match write_group(store, models, &[job], states).await {
        Err(e) if e.is_unique_violation() => write_group(store, models, &[job], states).await,
        other => other,
    }?;
    outcomes.pop().expect("one outcome per batch")
}

/// Writes a group of batches in one transaction and returns each one's outcome. `Err` means the
/// group as a whole failed (a database error, a row another writer created first, a quota
/// another replica took meanwhile) and nothing was stored: the caller retries batch by batch.
/// `states` are the ones this caller's earlier groups left (see [`states`]); those this
/// group leaves are kept there once it committed.
pub(crate) async fn write_group(
    store: &Store,
    models: &Models,
    jobs: &[&Job],
    states: &mut SessionStates,
) -> Result<Outcomes, StoreError> {
    let txn = BulkTxn::begin(store).await?;
    let mut group = Group::load(&txn, models, jobs, states).await?;
    let outcomes = jobs.iter().map(|job| group.apply(models, job)).collect();
    let announced = group.write(&txn).await?;
    txn.commit().await?;
    if announced > 0 {
        store.announce_outbox();
    }
    for (tenant_id, kept) in group.into_kept() {
        states.keep(tenant_id, kept);
    }
    Ok(outcomes)
}
