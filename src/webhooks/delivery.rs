//! The delivery worker: claims due deliveries ([`crate::store::webhooks::claim`]), sends them
//! signed, records each attempt and schedules the next after a failure — immediately, then
//! [`SCHEDULE`] with ±10 % jitter, eight attempts in all over about 28 hours. An endpoint whose
//! every attempt has failed for [`DISABLE_AFTER`] is disabled; its owner enables it again with
//! `PATCH /v1/webhooks/{id}`. Deliveries of one session to one endpoint go one after another,
//! in order; others go at once, up to the replica's concurrency, of which an endpoint holds a
//! quarter at most unless its last attempt succeeded within [`FAST`]: a receiver that hangs
//! delays its own deliveries, not other endpoints'.

use super::address::Policy;
use super::client::{self, Answer, KEPT_BODY_BYTES};
use super::signature::{Secret, sign};
use crate::state::Clock;
use crate::store::webhooks::{self as store, Claimed, LEASE_MS, Outcome};
use crate::store::{Store, StoreError};
use crate::telemetry::Metrics;
use rand::Rng;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, Semaphore, mpsc};
use tokio::task::JoinHandle;

/// The wait before each attempt after the first (immediate) one: the Standard Webhooks
/// reference schedule.
pub const SCHEDULE: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];
/// An endpoint failing for this long without a success is disabled.
pub const DISABLE_AFTER: Duration = Duration::from_secs(5 * 24 * 3600);
/// How often the worker looks for due deliveries without being told (retries come due so).
const POLL: Duration = Duration::from_secs(1);
/// After a failure to reach the database, the next look comes this much later.
const RETRY: Duration = Duration::from_secs(2);
/// How often the backlog gauge is counted.
const BACKLOG_EVERY: Duration = Duration::from_secs(5);
/// An endpoint whose last attempt succeeded within this may hold every slot; others a quarter.
const FAST: Duration = Duration::from_secs(1);
/// Attempts recorded in one transaction at most.
const RECORD_BATCH: usize = 256;

/// When to try again after attempt `attempt` (from 1) failed at `now_ms`: `None` once all
/// attempts are used. `unit` in [0, 1) picks the jitter.
pub fn retry_at(attempt: i32, now_ms: i64, unit: f64) -> Option<i64> {
    let wait = SCHEDULE.get(usize::try_from(attempt).ok()?.checked_sub(1)?)?;
    Some(now_ms + (wait.as_millis() as f64 * (0.9 + 0.2 * unit)).round() as i64)
}

/// Runs the worker until the handle is aborted, sending up to `concurrency` deliveries at once
/// to receivers `policy` allows, at most a quarter of them to an endpoint not known to answer
/// quickly; `wake` is told when deliveries may be due.
pub fn spawn(
    store: Store,
    policy: Policy,
    clock: Clock,
    metrics: Arc<Metrics>,
    wake: Arc<Notify>,
    concurrency: usize,
) -> JoinHandle<()> {
    let (outcomes, to_record) = mpsc::unbounded_channel();
    tokio::spawn(record_attempts(store.clone(), to_record));
    let worker = Arc::new(Worker {
        store,
        outcomes,
        client: client::build(policy),
        policy,
        clock,
        metrics,
        slots: Arc::new(Semaphore::new(concurrency)),
        quarter: (concurrency / 4).max(1),
        endpoints: Mutex::default(),
        freed: Notify::new(),
    });
    tokio::spawn(async move {
        let mut last_count: Option<Instant> = None;
        let mut woken = Woken::Due;
        loop {
            // Counted now and then, busy or not: the count costs the backlog's rows.
            if last_count.is_none_or(|at| at.elapsed() >= BACKLOG_EVERY)
                && let Ok(backlog) = store::backlog(&worker.store).await
            {
                worker.metrics.webhook_backlog.set(backlog);
                last_count = Some(Instant::now());
            }
            let wait = match worker.claim_and_send(woken).await {
                Ok(true) => {
                    woken = Woken::Due;
                    continue;
                }
                Ok(false) => POLL,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming webhook deliveries failed; trying again soon");
                    RETRY
                }
            };
            woken = tokio::select! {
                () = wake.notified() => Woken::Due,
                () = worker.freed.notified() => Woken::Freed,
                () = tokio::time::sleep(wait) => Woken::Due,
            };
        }
    })
}

/// The endpoints this worker sends to.
#[derive(Default)]
struct Endpoints {
    /// Slots held per endpoint.
    held: HashMap<i64, usize>,
    /// Those whose last attempt here succeeded within [`FAST`]: they may hold every slot.
    fast: HashSet<i64>,
}

impl Endpoints {
    fn full(&self, webhook: i64, per_endpoint: usize) -> bool {
        !self.fast.contains(&webhook) && self.held.get(&webhook).is_some_and(|&n| n >= per_endpoint)
    }

    fn release(&mut self, webhook: i64) {
        if let Some(held) = self.held.get_mut(&webhook) {
            *held -= 1;
            if *held == 0 {
                self.held.remove(&webhook);
            }
        }
    }

    fn answered(&mut self, webhook: i64, fast: bool) {
        if fast {
            self.fast.insert(webhook);
        } else {
            self.fast.remove(&webhook);
        }
    }
}

/// Why the worker looks for deliveries.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Woken {
    /// Some may have come due (new messages, a retry's time, a poll).
    Due,
    /// A slot freed: worth a claim once [`Worker::quarter`] are free.
    Freed,
}

struct Worker {
    store: Store,
    /// To [`record_attempts`].
    outcomes: mpsc::UnboundedSender<(Claimed, Outcome)>,
    client: reqwest::Client,
    policy: Policy,
    clock: Clock,
    metrics: Arc<Metrics>,
    /// One per delivery (or run of one session's deliveries) in flight.
    slots: Arc<Semaphore>,
    /// A quarter of the slots: as many as must be free before a claim after a slot freed (a
    /// claim per freed slot cost a statement per delivery, benches/RESULTS.md, session 25), and
    /// as many as an endpoint not known to answer quickly may hold, so a slow or dead receiver
    /// leaves the others theirs.
    quarter: usize,
    endpoints: Mutex<Endpoints>,
    /// Told when a slot frees.
    freed: Notify,
}

impl Worker {
    /// Claims as many due deliveries as there are free slots and starts sending them; whether
    /// it claimed any (then there may be more).
    async fn claim_and_send(self: &Arc<Self>, woken: Woken) -> Result<bool, StoreError> {
        let free = self.slots.available_permits();
        if free == 0 || (woken == Woken::Freed && free < self.quarter) {
            return Ok(false);
        }
        let full: Vec<i64> = {
            let endpoints = self.endpoints.lock().expect("never poisoned");
            endpoints.held.keys().copied().filter(|&id| endpoints.full(id, self.quarter)).collect()
        };
        let claimed_at_ms = self.clock.now().timestamp_millis();
        let claimed = store::claim(&self.store, claimed_at_ms, free as u64, &full).await?;
        if claimed.is_empty() {
            return Ok(false);
        }
        // A session's deliveries to one endpoint, in order (claims come in `seq` order).
        let mut runs: BTreeMap<(i64, i64), Vec<Claimed>> = BTreeMap::new();
        for c in claimed {
            runs.entry((c.webhook_id, c.session_pk)).or_default().push(c);
        }
        // Runs beyond their endpoint's share go back.
        let mut spare = Vec::new();
        let mut started = Vec::new();
        {
            let mut endpoints = self.endpoints.lock().expect("never poisoned");
            for ((webhook, _), run) in runs {
                if endpoints.full(webhook, self.quarter) {
                    spare.extend(run.iter().map(|c| c.delivery_id));
                } else {
                    *endpoints.held.entry(webhook).or_default() += 1;
                    started.push((webhook, run));
                }
            }
        }
        self.give_back(&spare, claimed_at_ms).await;
        for (webhook, run) in started {
            let slot = self.slots.clone().acquire_owned().await.expect("the semaphore is never closed");
            let worker = self.clone();
            tokio::spawn(async move {
                let mut run = run.into_iter();
                for c in run.by_ref() {
                    // One whose claim would run out before its attempt could end goes back.
                    let now_ms = worker.clock.now().timestamp_millis();
                    if now_ms + client::TIMEOUT.as_millis() as i64 > claimed_at_ms + LEASE_MS {
                        let rest: Vec<i64> = std::iter::once(&c).chain(run.as_slice()).map(|c| c.delivery_id).collect();
                        worker.give_back(&rest, claimed_at_ms).await;
                        break;
                    }
                    worker.deliver(c).await;
                }
                worker.endpoints.lock().expect("never poisoned").release(webhook);
                drop(slot);
                worker.freed.notify_one();
            });
        }
        Ok(true)
    }

    /// Releases claimed deliveries this worker will not attempt; if that fails, their claim
    /// expires and they are taken again then.
    async fn give_back(&self, deliveries: &[i64], claimed_at_ms: i64) {
        if let Err(e) = store::release(&self.store, deliveries, claimed_at_ms).await {
            tracing::warn!(error = %e, deliveries = deliveries.len(), "giving webhook deliveries back failed");
        }
    }

    /// Makes one attempt and hands it to be recorded.
    async fn deliver(&self, c: Claimed) {
        let outcome = self.attempt(&c).await;
        let fast = outcome.succeeded && outcome.duration_ms <= FAST.as_millis() as i64;
        self.endpoints.lock().expect("never poisoned").answered(c.webhook_id, fast);
        if outcome.succeeded {
            self.metrics.webhook_succeeded.inc();
        } else {
            self.metrics.webhook_failed.inc();
        }
        let _ = self.outcomes.send((c, outcome));
    }

    async fn attempt(&self, c: &Claimed) -> Outcome {
        let now = self.clock.now();
        let started = Instant::now();
        let answer = match self.policy.check_url(&c.url) {
            // Saved under another policy, or a literal address: checked again now.
            Err(refusal) => Answer::Error(format!("the URL is not allowed: it {refusal}")),
            Ok(_) => {
                let secrets: Vec<Secret> = c.secrets.iter().filter_map(|s| Secret::parse(s)).collect();
                let id = c.message.seq.to_string();
                let body = c.message.body();
                let signature = sign(&secrets, &id, now.timestamp(), body.as_bytes());
                client::post(&self.client, &c.url, &id, now.timestamp(), &signature, body).await
            }
        };
        let duration_ms = started.elapsed().as_millis() as i64;
        let at_ms = now.timestamp_millis();
        let failed = |response_status, response_body, error| Outcome {
            at_ms,
            duration_ms,
            succeeded: false,
            response_status,
            response_body,
            error,
            retry_at_ms: retry_at(c.attempt, at_ms + duration_ms, rand::rng().random()),
        };
        match answer {
            Answer::Response { status, body } if (200..300).contains(&status) => Outcome {
                at_ms,
                duration_ms,
                succeeded: true,
                response_status: Some(i32::from(status)),
                response_body: Some(body),
                error: None,
                retry_at_ms: None,
            },
            Answer::Response { status, body } => {
                debug_assert!(body.len() <= KEPT_BODY_BYTES);
                failed(Some(i32::from(status)), Some(body), None)
            }
            Answer::Error(error) => failed(None, None, Some(error)),
        }
    }
}

/// Records the attempts as they end, as many as have ended in one transaction: on SQLite each
/// transaction takes the one writer from ingest, and one per attempt halved ingest when every
/// request was a delivery (benches/RESULTS.md, session 24). Ends once the worker is gone and
/// every attempt is recorded. An attempt whose record cannot be kept is logged; its claim then
/// expires and the delivery is attempted again.
async fn record_attempts(store: Store, mut outcomes: mpsc::UnboundedReceiver<(Claimed, Outcome)>) {
    let mut ended = Vec::with_capacity(RECORD_BATCH);
    while outcomes.recv_many(&mut ended, RECORD_BATCH).await > 0 {
        let attempts: Vec<(&Claimed, &Outcome)> = ended.iter().map(|(c, o)| (c, o)).collect();
        if let Err(e) = store::record(&store, &attempts, DISABLE_AFTER.as_millis() as i64).await {
            tracing::warn!(error = %e, attempts = attempts.len(), "recording webhook attempts failed");
        }
        ended.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_follow_the_schedule_with_jitter_then_stop() {
        assert_eq!(retry_at(1, 0, 0.5), Some(5_000));
        assert_eq!(retry_at(1, 0, 0.0), Some(4_500));
        assert_eq!(retry_at(2, 1_000, 0.999_999), Some(1_000 + 330_000));
        assert_eq!(retry_at(7, 0, 0.5), Some(36_000_000));
        assert_eq!(retry_at(8, 0, 0.5), None, "eight attempts in all");
        assert_eq!(retry_at(0, 0, 0.5), None);
        let total: Duration = SCHEDULE.iter().sum();
        assert_eq!(total.as_secs(), 5 + 300 + 1800 + 7200 + 18_000 + 36_000 + 36_000, "about 28 hours");
    }
}
