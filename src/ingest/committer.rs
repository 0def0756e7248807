//! Group commit for ingest. Requests hand their batches to a committer task and wait; the task
//! takes every batch queued meanwhile as one group and writes it in one transaction
//! ([`super::write_group`]), then answers each request — after the commit, so a 200 always
//! means stored. Under load the groups grow by themselves: the slower a commit, the more batches
//! queue behind it for the next one (see [`crate::gather`]). A group that fails as a whole (a
//! row another replica created first, a database error) is rolled back and its batches retried
//! one by one, so one bad batch never fails its neighbours.
//!
//! Batches of one session always go to the same lane, so they are applied in arrival order, and
//! the lane keeps the states it wrote last for its next groups ([`super::states`]).

use super::checked::{self, Checked};
use super::states::SessionStates;
use super::{Ingested, Job, Outcomes, write_group, write_one};
use crate::engine::Models;
use crate::gather::gather;
use crate::store::{Store, StoreError};
use crate::telemetry::Metrics;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

/// A group closes at this many batches or once it holds this many events.
const MAX_GROUP_BATCHES: usize = 128;
const MAX_GROUP_EVENTS: usize = 10_000;
/// Batches waiting per lane before submitters wait for room.
const QUEUE: usize = 1024;

struct Pending {
    job: Job,
    reply: oneshot::Sender<Result<Ingested, StoreError>>,
}

/// How the lanes stand: how many there are, how many stopped (a lane's task ends only when it
/// panics), and the batches waiting in their queues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LaneHealth {
    pub lanes: usize,
    pub stopped: usize,
    pub queued: usize,
}

/// The handle requests submit batches through; the lanes stop when it is dropped.
pub struct Committer {
    lanes: Vec<mpsc::Sender<Pending>>,
    hasher: std::collections::hash_map::RandomState,
}

impl Committer {
    /// Starts `lanes` committer tasks (at least one) on the current tokio runtime, counting
    /// their groups in `metrics`.
    pub fn start(store: Store, models: Arc<Models>, lanes: usize, metrics: Arc<Metrics>) -> Self {
        let lanes = (0..lanes.max(1))
            .map(|_| {
                let (tx, rx) = mpsc::channel(QUEUE);
                tokio::spawn(run(store.clone(), models.clone(), rx, metrics.clone()));
                tx
            })
            .collect();
        Self { lanes, hasher: Default::default() }
    }

    /// How the lanes stand now (for `GET /ready`).
    pub fn health(&self) -> LaneHealth {
        LaneHealth {
            lanes: self.lanes.len(),
            stopped: self.lanes.iter().filter(|lane| lane.is_closed()).count(),
            queued: self.queued_per_lane().iter().sum(),
        }
    }

    /// The batches waiting in each lane's queue.
    pub fn queued_per_lane(&self) -> Vec<usize> {
        self.lanes.iter().map(|lane| lane.max_capacity() - lane.capacity()).collect()
    }

    /// Stores the batch with the next group its lane commits; returns once that group committed.
    pub async fn submit(&self, job: Job) -> Result<Ingested, StoreError> {
        let hash = self.hasher.hash_one((job.tenant.id.get(), job.session.as_str()));
        let lane = &self.lanes[hash as usize % self.lanes.len()];
        let (reply, answer) = oneshot::channel();
        lane.send(Pending { job, reply }).await.map_err(|_| StoreError::Unavailable)?;
        answer.await.map_err(|_| StoreError::Unavailable)?
    }
}

async fn run(store: Store, models: Arc<Models>, mut queue: mpsc::Receiver<Pending>, metrics: Arc<Metrics>) {
    let mut states = SessionStates::default();
    while let Some(first) = queue.recv().await {
        let group = gather(&mut queue, first, |group| {
            group.len() == MAX_GROUP_BATCHES
                || group.iter().map(|p| p.job.events.len()).sum::<usize>() >= MAX_GROUP_EVENTS
        })
        .await;
        // In a task of its own, so that a panic (a bug) fails this group's requests, not the
        // lane, which then starts again with no states kept.
        let (store, models, mut lane_states) = (store.clone(), models.clone(), std::mem::take(&mut states));
        let metrics = metrics.clone();
        states = tokio::spawn(async move {
            commit(&store, &models, group, &mut lane_states, &metrics).await;
            lane_states
        })
        .await
        .unwrap_or_default();
    }
}

async fn commit(store: &Store, models: &Models, group: Vec<Pending>, states: &mut SessionStates, metrics: &Metrics) {
    let jobs: Vec<&Job> = group.iter().map(|p| &p.job).collect();
    let started = Instant::now();
    let outcomes = commit_group(store, models, &jobs, states, metrics).await;
    metrics.ingest_commit_seconds.observe(started.elapsed().as_secs_f64());
    metrics.ingest_group_batches.observe(jobs.len() as f64);
    metrics.ingest_group_events.observe(jobs.iter().map(|j| j.events.len()).sum::<usize>() as f64);
    for (pending, outcome) in group.into_iter().zip(outcomes) {
        // The request may be gone (client disconnected); its batch is stored all the same.
        let _ = pending.reply.send(outcome);
    }
}

/// Writes the batches: those of sessions the lane kept by one checked statement where it can
/// ([`checked`]; not for a while after it stood down: [`super::states::Backoff`]), the rest as
/// one group; if that group fails as a whole, rolls it back and writes
/// its batches one by one, so that each gets its own outcome. Outcomes in the order given.
pub(super) async fn commit_group(
    store: &Store,
    models: &Models,
    jobs: &[&Job],
    states: &mut SessionStates,
    metrics: &Metrics,
) -> Outcomes {
    let mut outcomes: Vec<Option<Result<Ingested, StoreError>>> = jobs.iter().map(|_| None).collect();
    let checked =
        if states.backoff.try_now() { checked::write(store, models, jobs, states).await } else { Checked::NotTried };
    match checked {
        Checked::NotTried => {}
        Checked::StoodDown => {
            states.backoff.stood_down();
            metrics.ingest_checked_stood_down.inc();
        }
        Checked::Wrote(written) => {
            states.backoff.wrote();
            metrics.ingest_checked_written.inc();
            for (i, outcome) in written {
                outcomes[i] = Some(outcome);
            }
        }
    }
    let rest: Vec<&Job> = jobs.iter().zip(&outcomes).filter(|(_, o)| o.is_none()).map(|(job, _)| *job).collect();
    let (rest, split) = commit_locked(store, models, &rest, states).await;
    if split {
        metrics.ingest_groups_split.inc();
    }
    let mut rest = rest.into_iter();
    outcomes.into_iter().map(|o| o.unwrap_or_else(|| rest.next().expect("an outcome per batch"))).collect()
}

/// The locked way: one transaction for the group, or one per batch if the group fails.
async fn commit_locked(store: &Store, models: &Models, jobs: &[&Job], states: &mut SessionStates) -> (Outcomes, bool) {
    match jobs {
        [] => (Vec::new(), false),
        [job] => (vec![write_one(store, models, job, states).await], false),
        _ => match write_group(store, models, jobs, states).await {
            Ok(outcomes) => (outcomes, false),
            Err(e) => {
                tracing::debug!(error = %e, batches = jobs.len(), "group commit failed; writing its batches one by one");
                let mut outcomes = Vec::with_capacity(jobs.len());
                for job in jobs {
                    outcomes.push(write_one(store, models, job, states).await);
                }
                (outcomes, true)
            }
        },
    }
}
