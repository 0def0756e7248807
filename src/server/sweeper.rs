//! The retention sweep in the background: at start, then every interval, removes what each
//! tenant keeps no longer ([`crate::store::retention`]). Several replicas may sweep at once:
//! each takes what the others have not locked, and deleting twice deletes nothing.

use crate::state::Clock;
use crate::store::Store;
use crate::store::retention::{self, Swept};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// After a failed sweep (the database away, a lock conflict), the next one comes this soon.
const RETRY: Duration = Duration::from_secs(60);

/// Sweeps `store` at once and then every `every`, as `clock` tells the time; stops when the
/// handle is aborted.
pub fn spawn(store: Store, clock: Clock, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut wait = Duration::ZERO;
        loop {
            tokio::time::sleep(wait).await;
            let started = Instant::now();
            wait = match retention::sweep(&store, clock.now().timestamp_millis()).await {
                Ok(swept) => {
                    if swept != Swept::default() {
                        tracing::info!(
                            duration_ms = started.elapsed().as_millis() as u64,
                            sessions = swept.sessions,
                            events = swept.events,
                            slots = swept.slots,
                            user_history = swept.user_history,
                            messages = swept.messages,
                            "retention sweep removed expired data"
                        );
                    }
                    every
                }
                Err(e) => {
                    tracing::warn!(error = %e, "retention sweep failed; trying again soon");
                    every.min(RETRY)
                }
            };
        }
    })
}
