//! Groups written without reading first, on PostgreSQL. A lane keeps the sessions it wrote last
//! ([`super::states`]); a batch for one of them (with no person named, the session owned by
//! nobody) needs nothing from the database to be applied. Such batches are applied to the kept
//! sessions and stored by one statement, run on its own: it updates each session only where the
//! row still has the event count the lane kept and none of the batch's event ids, and the whole
//! statement fails — nothing stored — unless every session was updated so. The batches then go
//! the locked way with the rest of the group, which reads every row afresh.
//!
//! A group the locked way makes seven round trips to PostgreSQL (taking a connection, `BEGIN`,
//! the locked read, `COPY` ×2, the updates, `COMMIT`), each a wake-up of a process on a busy core
//! whatever its size; a one-event request paid all of them (benches/RESULTS.md, session 27).
//! This way makes one, on a connection kept outside the pool, which no ping precedes.

use super::group::Group;
use super::states::SessionStates;
use super::{Ingested, Job};
use crate::engine::Models;
use crate::store::bulk::BulkTxn;
use crate::store::{Store, StoreError};
use std::collections::HashMap;

/// Above this many events a group goes the locked way: its new rows by `COPY` cost PostgreSQL
/// less than by one multi-row `INSERT` enough to outweigh the round trips saved
/// (benches/RESULTS.md, session 27).
const MAX_EVENTS: usize = 64;

/// What the checked path did with a group's batches.
pub(super) enum Checked {
    /// None could go this way.
    NotTried,
    /// Its statement failed, storing nothing (most often: a session had moved on).
    StoodDown,
    /// It wrote these, by their index in the group, with their outcomes.
    Wrote(Vec<(usize, Result<Ingested, StoreError>)>),
}

/// Applies and stores the batches of `jobs` whose sessions the lane kept, as one checked
/// statement. The kept sessions it uses are taken out of `states`, and put back as the group
/// left them once it is stored.
pub(super) async fn write(store: &Store, models: &Models, jobs: &[&Job], states: &mut SessionStates) -> Checked {
    let Some(txn) = BulkTxn::checked(store) else { return Checked::NotTried };
    let chosen = eligible(jobs, states);
    if chosen.is_empty() || chosen.iter().map(|&i| jobs[i].events.len()).sum::<usize>() > MAX_EVENTS {
        return Checked::NotTried;
    }
    let mut group = Group::default();
    for &i in &chosen {
        let job = jobs[i];
        let (tenant, session) = (job.tenant.id.get(), job.session.as_str());
        if group.by_session.contains_key(&(tenant, session)) {
            continue;
        }
        let kept = states.take_kept(tenant, session).expect("eligible sessions are kept");
        if let Err(e) = group.add_session(models, &job.tenant, session, Some(kept.row), kept.state) {
            tracing::warn!(error = %e, "a kept session could not be read back");
            return Checked::StoodDown;
        }
    }
    let outcomes: Vec<_> = chosen.iter().map(|&i| (i, group.apply(models, jobs[i]))).collect();
    let stored = async {
        let announced = group.write(&txn).await?;
        txn.commit().await?;
        Ok::<_, StoreError>(announced)
    };
    match stored.await {
        Ok(announced) => {
            if announced > 0 {
                store.announce_outbox();
            }
            for (tenant_id, kept) in group.into_kept() {
                states.keep(tenant_id, kept);
            }
            Checked::Wrote(outcomes)
        }
        Err(e) => {
            // Most often another writer moved a session on: the locked way reads it afresh.
            tracing::debug!(error = %e, batches = chosen.len(), "checked write stood down; writing the locked way");
            Checked::StoodDown
        }
    }
}

/// The indexes of the batches whose session the lane kept, owned by nobody, and that name no
/// person (a person's state is not kept): all of a session's batches or none.
fn eligible(jobs: &[&Job], states: &SessionStates) -> Vec<usize> {
    let mut by_session: HashMap<(i64, &str), bool> = HashMap::new();
    for job in jobs {
        let key = (job.tenant.id.get(), job.session.as_str());
        let ok = by_session
            .entry(key)
            .or_insert_with(|| states.get(key.0, key.1).is_some_and(|kept| kept.row.user_id.is_none()));
        *ok &= job.user.is_none();
    }
    (0..jobs.len()).filter(|&i| by_session[&(jobs[i].tenant.id.get(), jobs[i].session.as_str())]).collect()
}
