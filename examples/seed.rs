//! Seeds a store for analytics benchmarks: one `pro` tenant, N sessions of M events each,
//! spread over the last D days, written through the same ingest path as `POST …/events` (so
//! events, slots, rollups and quotas are exactly what production writes). Prints the tenant's
//! API key on the last line.
//!
//! cargo run --release --example seed -- DATABASE_URL [SESSIONS] [EVENTS] [DAYS] [CONCURRENCY]

use chrono::{Duration, Utc};
use futures::StreamExt;
use moodring::auth::ApiKey;
use moodring::domain::{NewEvent, Plan, SessionId, Tenant};
use moodring::engine::{Event, EventKind as K, Models, ScrollDirection};
use moodring::ingest::{Committer, Job};
use moodring::interventions::Policy;
use moodring::store::tenants::{self, NewTenant};
use moodring::store::{Store, StoreOptions};
use sea_orm::{ConnectionTrait, Database};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Six kinds of session, so every mood shows up.
fn pattern(i: usize, start_ms: i64, events: usize) -> Vec<NewEvent> {
    let kinds: &[K] = match i % 6 {
        0 => &[K::PageView, K::Scroll, K::Scroll, K::Click],
        1 => &[K::RageClick, K::Error, K::Click, K::BackNav],
        2 => &[K::Hover, K::Backtrack, K::InputPause, K::Scroll],
        3 => &[K::Focus, K::Click, K::Focus, K::InputPause],
        4 => &[K::Idle, K::Blur, K::Scroll, K::Idle],
        _ => &[K::PageView, K::Click, K::Focus, K::Click],
    };
    (0..events)
        .map(|n| {
            let ts_ms = start_ms + n as i64 * 12_000;
            let mut event = Event::new(kinds[n % kinds.len()], ts_ms).at(200.0 + (n % 3) as f64, 300.0);
            event = match event.kind {
                K::Idle => event.lasting(45_000.0),
                K::Hover | K::InputPause => event.lasting(3_500.0),
                K::Scroll => event.scrolling(600.0, Some(ScrollDirection::Down)),
                _ => event,
            };
            NewEvent { event, event_id: None, url: None, message: None }
        })
        .collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = args.first().cloned().unwrap_or_else(|| "sqlite://bench.db?mode=rwc".into());
    let arg = |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (total, per_session, days, concurrency) = (arg(1, 1_000_000), arg(2, 10), arg(3, 180), arg(4, 8));

    let store = Store::connect(&StoreOptions {
        url: url.clone(),
        max_connections: concurrency as u32 + 2,
        sqlite_synchronous_full: false,
    })
    .await?;
    store.migrate().await?;
    let key = ApiKey::generate();
    let hash = key.hash().await?;
    let now = Utc::now();
    let new = NewTenant { name: "Bench Co", email: None, plan: Plan::Pro, key_lookup: key.lookup(), key_hash: &hash };
    let tenant = Tenant { id: tenants::create(&store, new, now).await?, plan: Plan::Pro };
    let committer =
        Committer::start(store.clone(), Arc::new(Models::default()), store.ingest_lanes(), Default::default());
    // Seeded sessions get the contract's table, as a tenant without feedback does.
    let policy = Arc::new(Policy::table());
    let span_ms = Duration::days(days as i64).num_milliseconds();
    let origin = now.timestamp_millis() - span_ms;
    let done = AtomicUsize::new(0);
    let started = Instant::now();
    futures::stream::iter(0..total)
        .for_each_concurrent(concurrency, |i| {
            let (committer, tenant, done, policy) = (&committer, &tenant, &done, &policy);
            async move {
                let start_ms = origin + (i as i64 * span_ms) / total as i64;
                let received = chrono::DateTime::from_timestamp_millis(start_ms).expect("in range");
                let id = SessionId::parse(&format!("bench-{i}")).expect("a valid id");
                let events = pattern(i, start_ms, per_session);
                let policy = policy.clone();
                let job = Job { tenant: tenant.clone(), session: id, user: None, events, now: received, policy };
                committer.submit(job).await.expect("seeding succeeds");
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if n % 50_000 == 0 {
                    let rate = n as f64 / started.elapsed().as_secs_f64();
                    eprintln!("{n} sessions ({rate:.0}/s, {:.0} events/s)", rate * per_session as f64);
                }
            }
        })
        .await;
    eprintln!("seeded {total} sessions × {per_session} events in {:.0} s", started.elapsed().as_secs_f64());
    // Planner statistics as a store that grew over time has them (PostgreSQL's autovacuum
    // analyzes within a minute of such growth); a benchmark run right after seeding would
    // otherwise be planned for the empty tables.
    let db = Database::connect(&url).await?;
    db.execute_unprepared("ANALYZE").await?;
    println!("{}", key.expose());
    Ok(())
}
