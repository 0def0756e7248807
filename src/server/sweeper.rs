//! The retention sweep in the background: at start, then every interval, removes what each
//! tenant keeps no longer ([`crate::store::retention`]). Several replicas may sweep at once:
//! each takes what the others have not locked, and deleting twice deletes nothing.

use crate::state::Clock;
use crate::store::Store;
use crate::store::retention::{self, Swept};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

/// Sweeps `store` every `every`, as `clock` tells the time; stops when the handle is aborted.
pub fn spawn(store: Store, clock: Clock, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match retention::sweep(&store, clock.now().timestamp_millis()).await {
                Ok(swept) if swept != Swept::default() => tracing::info!(
                    sessions = swept.sessions,
                    events = swept.events,
                    slots = swept.slots,
                    user_history = swept.user_history,
                    "retention sweep removed expired data"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "retention sweep failed; the next one tries again"),
            }
        }
    })
}
