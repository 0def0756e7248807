//! The time series' rollup compaction in the background ([`crate::store::timeline::compact`]):
//! batch after batch while deltas wait, then a pause. Readers are exact whether it has run or
//! not; it keeps the deltas they add up few.

use crate::store::Store;
use crate::store::timeline::{self, compact};
use crate::telemetry::Metrics;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// After a failed compaction (the database away, say), the next one comes this much later.
const RETRY: Duration = Duration::from_secs(10);

/// Compacts `store` now and then every `every` (continuing at once while full batches come);
/// stops when the handle is aborted.
pub fn spawn(store: Store, metrics: Arc<Metrics>, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let wait = match timeline::compact(&store).await {
                Ok(moved) => {
                    metrics.rollup_deltas_compacted.inc_by(moved);
                    if moved == compact::BATCH { Duration::ZERO } else { every }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "time-series rollup compaction failed; trying again soon");
                    RETRY.max(every)
                }
            };
            tokio::time::sleep(wait).await;
        }
    })
}
