//! Read coalescing: point reads that many requests make at once are answered by one query.
//!
//! A request hands its key to a runner and waits; each runner takes every key queued meanwhile
//! and reads them all with one statement (`… WHERE key IN (…)`), then answers each request.
//! Under load the batches grow by themselves, as the committer's groups do: the slower a read,
//! the more keys queue for the next one (see [`crate::gather`]). Nothing is cached: every answer
//! comes from a query that started after its request arrived, so it sees every write committed
//! before that (on this replica or any other), exactly as a query of its own would.
//!
//! A batch whose query fails is read again key by key, so each request gets its own outcome.

use crate::gather::gather;
use crate::store::StoreError;
use prometheus::Histogram;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc, oneshot};

/// Requests waiting for a runner before submitters wait for room.
const QUEUE: usize = 4096;

type Reply<V> = oneshot::Sender<Result<Option<V>, StoreError>>;
type Queue<K, V> = Arc<Mutex<mpsc::Receiver<(K, Reply<V>)>>>;

/// Reads a set of keys at once: the values found, by key (keys not found are absent).
pub trait BatchRead<K, V>: Send + Sync + 'static {
    fn read(&self, keys: Vec<K>) -> impl Future<Output = Result<HashMap<K, V>, StoreError>> + Send;
}

/// The handle requests read through; its runners stop when it is dropped.
pub struct Batcher<K, V> {
    queue: mpsc::Sender<(K, Reply<V>)>,
}

impl<K, V> Batcher<K, V>
where
    K: Clone + Eq + Hash + Send + Sync + 'static,
    V: Clone + Send + 'static,
{
    /// Starts `runners` runners (at least one), each reading up to `max_batch` keys at a time
    /// and recording how many in `sizes`.
    pub fn start(reader: impl BatchRead<K, V>, runners: usize, max_batch: usize, sizes: Histogram) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        let reader = Arc::new(reader);
        for _ in 0..runners.max(1) {
            tokio::spawn(run(reader.clone(), rx.clone(), max_batch.max(1), sizes.clone()));
        }
        Self { queue }
    }

    /// The value stored under `key`, read together with every key requested meanwhile.
    pub async fn get(&self, key: K) -> Result<Option<V>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue.send((key, reply)).await.map_err(|_| StoreError::Unavailable)?;
        answer.await.map_err(|_| StoreError::Unavailable)?
    }
}

async fn run<K, V, R>(reader: Arc<R>, queue: Queue<K, V>, max_batch: usize, sizes: Histogram)
where
    K: Clone + Eq + Hash + Send + Sync + 'static,
    V: Clone + Send + 'static,
    R: BatchRead<K, V>,
{
    loop {
        let batch = {
            let mut queue = queue.lock().await;
            let Some(first) = queue.recv().await else { return };
            gather(&mut queue, first, |batch| batch.len() == max_batch).await
        };
        sizes.observe(batch.len() as f64);
        // In a task of its own, so that a panic (a bug) fails this batch's requests, not the runner.
        let reader = reader.clone();
        let _ = tokio::spawn(async move { answer(&*reader, batch).await }).await;
    }
}

async fn answer<K, V>(reader: &impl BatchRead<K, V>, batch: Vec<(K, Reply<V>)>)
where
    K: Clone + Eq + Hash,
    V: Clone,
{
    let mut keys: Vec<K> = Vec::with_capacity(batch.len());
    for (key, _) in &batch {
        if !keys.contains(key) {
            keys.push(key.clone());
        }
    }
    match reader.read(keys).await {
        Ok(found) => {
            for (key, reply) in batch {
                // The request may be gone (client disconnected).
                let _ = reply.send(Ok(found.get(&key).cloned()));
            }
        }
        Err(e) if batch.len() == 1 => {
            let (_, reply) = batch.into_iter().next().expect("a batch of one");
            let _ = reply.send(Err(e));
        }
        Err(e) => {
            tracing::debug!(error = %e, keys = batch.len(), "batched read failed; reading its keys one by one");
            for (key, reply) in batch {
                let one = reader.read(vec![key.clone()]).await.map(|mut found| found.remove(&key));
                let _ = reply.send(one);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::sync::Notify;

    fn sizes() -> Histogram {
        Histogram::with_opts(prometheus::HistogramOpts::new("sizes", "unregistered")).unwrap()
    }

    /// Squares keys; fails any batch holding 13 (alone too); records every batch it reads.
    #[derive(Default)]
    struct Squares {
        batches: std::sync::Mutex<Vec<Vec<u32>>>,
        /// While set, reads wait for it: lets a test queue requests behind a read in flight.
        gate: Option<Arc<Notify>>,
        started: AtomicUsize,
    }

    impl BatchRead<u32, u64> for Arc<Squares> {
        async fn read(&self, keys: Vec<u32>) -> Result<HashMap<u32, u64>, StoreError> {
            self.started.fetch_add(1, Ordering::SeqCst);
            if let Some(gate) = &self.gate {
                gate.notified().await;
            }
            self.batches.lock().unwrap().push(keys.clone());
            if keys.contains(&13) {
                return Err(StoreError::Corrupt("unlucky".into()));
            }
            Ok(keys.into_iter().filter(|k| k % 2 == 0).map(|k| (k, u64::from(k) * u64::from(k))).collect())
        }
    }

    #[tokio::test]
    async fn requests_queued_behind_a_read_share_the_next_one() {
        let gate = Arc::new(Notify::new());
        let squares = Arc::new(Squares { gate: Some(gate.clone()), ..Default::default() });
        let batcher = Arc::new(Batcher::start(squares.clone(), 1, 64, sizes()));
        let first = tokio::spawn({
            let b = batcher.clone();
            async move { b.get(2).await.unwrap() }
        });
        while squares.started.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        // The runner is busy with [2]: these queue, 4 twice.
        let rest: Vec<_> = [4, 5, 4, 6]
            .into_iter()
            .map(|k| {
                let b = batcher.clone();
                tokio::spawn(async move { b.get(k).await.unwrap() })
            })
            .collect();
        for _ in 0..50 {
            tokio::task::yield_now().await;
        }
        gate.notify_one();
        assert_eq!(first.await.unwrap(), Some(4));
        while squares.started.load(Ordering::SeqCst) < 2 {
            tokio::task::yield_now().await;
        }
        gate.notify_one();
        let mut answers = Vec::new();
        for r in rest {
            answers.push(r.await.unwrap());
        }
        assert_eq!(answers, [Some(16), None, Some(16), Some(36)]);
        assert_eq!(*squares.batches.lock().unwrap(), [vec![2], vec![4, 5, 6]]);
    }

    /// A runner woken by one request waits for the requests already runnable: here the first
    /// request spawns the others only after it queued its key, so without the runner's yields
    /// it would read [2] alone, then the rest.
    #[tokio::test]
    async fn requests_runnable_when_a_runner_wakes_share_its_query() {
        let squares = Arc::new(Squares::default());
        let batcher = Arc::new(Batcher::start(squares.clone(), 1, 64, sizes()));
        let first = tokio::spawn({
            let batcher = batcher.clone();
            async move {
                let answer = batcher.get(2);
                let mut answer = std::pin::pin!(answer);
                // Queues key 2 (the runner wakes), then makes 4, 6 and 8 runnable.
                assert!(futures_util::poll!(answer.as_mut()).is_pending());
                let rest: Vec<_> = [4, 6, 8]
                    .map(|k| {
                        let b = batcher.clone();
                        tokio::spawn(async move { b.get(k).await.unwrap() })
                    })
                    .into();
                let mut answers = vec![answer.await.unwrap()];
                for r in rest {
                    answers.push(r.await.unwrap());
                }
                answers
            }
        });
        assert_eq!(first.await.unwrap(), [Some(4), Some(16), Some(36), Some(64)]);
        assert_eq!(*squares.batches.lock().unwrap(), [vec![2, 4, 6, 8]]);
    }

    #[tokio::test]
    async fn a_failing_batch_is_read_again_key_by_key() {
        let squares = Arc::new(Squares::default());
        // Queue the requests before the runner starts, so they form one batch.
        let batcher = Batcher::start(squares.clone(), 1, 64, sizes());
        let answers = futures_util::future::join_all([2, 13, 8].map(|k| batcher.get(k))).await;
        assert!(matches!(answers[1], Err(StoreError::Corrupt(_))), "{:?}", answers[1]);
        assert_eq!((answers[0].as_ref().unwrap(), answers[2].as_ref().unwrap()), (&Some(4), &Some(64)));
        assert_eq!(*squares.batches.lock().unwrap(), [vec![2, 13, 8], vec![2], vec![13], vec![8]]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_concurrent_requests_each_get_their_own_answer() {
        let squares = Arc::new(Squares::default());
        let batcher = Arc::new(Batcher::start(squares.clone(), 2, 16, sizes()));
        let tasks: Vec<_> = (0..2_000u32)
            .map(|i| {
                let b = batcher.clone();
                // Even keys below 200 are found, odd ones from 201 are not (and never 13).
                let k = (i % 100) * 2 + if i % 7 == 0 { 201 } else { 0 };
                tokio::spawn(async move { (k, b.get(k).await.unwrap()) })
            })
            .collect();
        for t in tasks {
            let (k, v) = t.await.unwrap();
            assert_eq!(v, (k % 2 == 0).then(|| u64::from(k) * u64::from(k)), "key {k}");
        }
        let batches = squares.batches.lock().unwrap();
        assert!(batches.iter().all(|b| !b.is_empty() && b.len() <= 16));
    }
}
