//! How the ingest committer's groups and the coalesced reads' batches form: a task that takes one item
//! from its queue takes every item queued meanwhile too — and first lets the tasks already
//! runnable go, which under load are mostly requests about to queue theirs. One transaction or
//! query then carries them all, and its fixed costs are shared by that many more. A lone
//! request loses a few µs.

use tokio::sync::mpsc;

/// Times the tasks already runnable are let go first.
const YIELDS: usize = 8;

/// `first` and what follows it in `queue`, until `full` says the batch is complete or the
/// queue stays empty.
pub(crate) async fn gather<T>(queue: &mut mpsc::Receiver<T>, first: T, full: impl Fn(&[T]) -> bool) -> Vec<T> {
    let mut batch = vec![first];
    for round in 0..=YIELDS {
        while !full(&batch) {
            let Ok(next) = queue.try_recv() else { break };
            batch.push(next);
        }
        if round == YIELDS || full(&batch) {
            break;
        }
        tokio::task::yield_now().await;
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Items queued by tasks that became runnable after the first was taken join its batch, up
    /// to what `full` allows; the rest wait for the next.
    #[tokio::test]
    async fn takes_what_runnable_tasks_queue_until_full() {
        let (tx, mut rx) = mpsc::channel(16);
        tx.send(1).await.unwrap();
        for item in 2..=5 {
            let tx = tx.clone();
            tokio::spawn(async move { tx.send(item).await.unwrap() });
        }
        let first = rx.recv().await.unwrap();
        assert_eq!(gather(&mut rx, first, |b| b.len() == 3).await, [1, 2, 3]);
        let first = rx.recv().await.unwrap();
        assert_eq!(gather(&mut rx, first, |b| b.len() == 3).await, [4, 5]);
    }
}
