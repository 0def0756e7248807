//! Each replica's relay between the outbox and its streams (see [`crate::push`]): publishes committed
//! messages when told some were written here, or when it looks on its own (messages written
//! through another replica), then hands what was placed since its last look to the hub.

use crate::push::Hub;
use crate::state::Clock;
use crate::store::{Store, outbox};
use crate::telemetry::Metrics;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// How often a relay looks without being told: the longest a change written through another
/// replica (or whose place waited for another transaction) takes to be seen here.
const POLL: Duration = Duration::from_millis(200);
/// After publishing, the relay waits this long before publishing again.
const GATHER: Duration = Duration::from_millis(50);
/// Messages read from the outbox at a time.
const READ_BATCH: u64 = 1000;
/// After a failure (the database away, say), the next look comes this much later.
const RETRY: Duration = Duration::from_secs(2);

/// Runs the relay until the handle is aborted; `deliveries` is told when webhook deliveries
/// were created.
pub fn spawn(
    store: Store,
    hub: Arc<Hub>,
    deliveries: Arc<Notify>,
    clock: Clock,
    metrics: Arc<Metrics>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut cursor = None;
        loop {
            match step(&store, &hub, &deliveries, clock, &metrics, &mut cursor).await {
                Ok(published) => {
                    if published {
                        // Lets the commits meanwhile gather into the next step's one transaction
                        // instead of each making one (SQLite has a single writer).
                        tokio::time::sleep(GATHER).await;
                    }
                    tokio::select! {
                        () = store.outbox_written().notified() => {}
                        () = tokio::time::sleep(POLL) => {}
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "relaying outbox messages failed; trying again soon");
                    tokio::time::sleep(RETRY).await;
                }
            }
        }
    })
}

async fn step(
    store: &Store,
    hub: &Hub,
    deliveries: &Notify,
    clock: Clock,
    metrics: &Metrics,
    cursor: &mut Option<i64>,
) -> Result<bool, crate::store::StoreError> {
    let seen = match cursor {
        Some(seen) => seen,
        // Streams that start later read what came before them from the outbox themselves.
        None => cursor.insert(outbox::head(store).await?),
    };
    let mut placed = false;
    while outbox::unpublished(store).await? {
        let Some(published) = outbox::publish(store, clock.now().timestamp_millis()).await? else {
            break; // another replica is publishing
        };
        placed |= published.published > 0;
        metrics.outbox_published.inc_by(published.published as u64);
        if published.deliveries > 0 {
            deliveries.notify_one();
        }
        if published.published == 0 {
            break; // another replica published them since
        }
    }
    if hub.is_idle() {
        *seen = outbox::head(store).await?;
        return Ok(placed);
    }
    loop {
        let messages = outbox::after(store, *seen, READ_BATCH).await?;
        let full = messages.len() as u64 == READ_BATCH;
        for message in messages {
            *seen = message.seq;
            hub.publish(Arc::new(message));
        }
        if !full {
            return Ok(placed);
        }
    }
}
