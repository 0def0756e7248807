//! The load harness's storage limit: the event rows moodring stores in the harness's POST run —
//! the same ten-event batch through the engine, every column as ingest fills it, spread over
//! 1,000 sessions ten rows each — inserted straight through the same driver (sea-orm over sqlx)
//! as multi-row INSERTs of ROWS rows per transaction from WRITERS concurrent writers, for
//! SECONDS. Prints rows per second. With METHOD `copy` (PostgreSQL only) each transaction's rows
//! go in by one binary COPY instead, as the server's ingest writes them.
//!
//! cargo run --release --example storage_probe -- DATABASE_URL [WRITERS] [SECONDS] [ROWS] [insert|copy]

use entity::{event, session};
use futures::future::join_all;
use moodring::auth::ApiKey;
use moodring::bench::{copy_rows, event_row};
use moodring::domain::{NewEvent, Plan, SessionId, Tenant};
use moodring::engine::{AffectState, Event, EventKind as K, Models, apply_batch};
use moodring::ingest::{Committer, Job};
use moodring::interventions::{Choice, Policy};
use moodring::store::tenants::{self, NewTenant};
use moodring::store::{Store, StoreOptions};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, Database, EntityTrait, QueryFilter, QuerySelect, TransactionTrait};
use std::time::{Duration, Instant};

/// Sessions the rows spread over, as the POST run's batches do.
const SESSIONS: i64 = 1_000;

/// The harness's POST batch (`benches/wrk/post_events.lua`), received at `now_ms`.
fn post_batch(now_ms: i64) -> Vec<NewEvent> {
    let kinds =
        [K::PageView, K::Scroll, K::Click, K::Hover, K::Click, K::Scroll, K::Focus, K::Click, K::InputPause, K::Click];
    kinds
        .iter()
        .enumerate()
        .map(|(i, kind)| {
            let mut event = Event::new(*kind, now_ms).at(101.0 + i as f64, 300.0).lasting(1_500.0);
            event.speed = Some(800.0);
            NewEvent { event, event_id: None, url: None, message: None }
        })
        .collect()
}

/// The rows the POST run stores for one batch, on a session that has had a batch every half
/// second for a while, as the run's sessions have (1,000 sessions at ~2,000 batches/s).
fn batch_rows(models: &Models, tenant: i64) -> anyhow::Result<Vec<event::ActiveModel>> {
    let mut state = AffectState::new(&models.session);
    let (mut batch, mut records, mut now_ms) = (Vec::new(), Vec::new(), 1_746_352_800_000);
    // The 40th batch's rows, after 39 half a second apart.
    for _ in 0..40 {
        now_ms += 500;
        batch = post_batch(now_ms);
        let events: Vec<Event> = batch.iter().map(|e| e.event.clone()).collect();
        records = apply_batch(&models.session, &mut state, &events);
    }
    let rows = batch.iter().zip(&records).map(|(e, r)| {
        let choice = Choice { action: r.action, probability: 1.0 };
        event_row(tenant, 0, e, now_ms, r, &choice, &models.session.version)
    });
    Ok(rows.collect::<Result<_, _>>()?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = args.first().cloned().unwrap_or_else(|| "sqlite://probe.db?mode=rwc".into());
    let arg = |i: usize, d: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(d);
    let (writers, seconds, rows) = (arg(1, 4), arg(2, 10), arg(3, 100));
    let copy = match args.get(4).map(String::as_str) {
        None | Some("insert") => false,
        Some("copy") if url.starts_with("postgres") => true,
        Some(other) => anyhow::bail!("METHOD is insert or copy (copy on PostgreSQL only), not {other}"),
    };
    let store =
        Store::connect(&StoreOptions { url: url.clone(), max_connections: 2, sqlite_synchronous_full: false }).await?;
    store.migrate().await?;
    let key = ApiKey::generate();
    let new = NewTenant { name: "Probe", email: None, plan: Plan::Pro, key_lookup: key.lookup(), key_hash: "-" };
    let tenant = Tenant { id: tenants::create(&store, new, chrono::Utc::now()).await?, plan: Plan::Pro };
    // The sessions the rows belong to, created by ingest itself with the run's first batch.
    let models = Models::default();
    let now = chrono::Utc::now();
    let policy = std::sync::Arc::new(Policy::table());
    let jobs: Vec<Job> = (0..SESSIONS)
        .map(|i| Job {
            tenant: tenant.clone(),
            session: SessionId::parse(&format!("probe-{i}")).expect("a valid id"),
            user: None,
            events: post_batch(now.timestamp_millis()),
            now,
            policy: policy.clone(),
        })
        .collect();
    let committer = Committer::start(
        store.clone(),
        std::sync::Arc::new(Models::default()),
        store.ingest_lanes(),
        Default::default(),
    );
    for outcome in join_all(jobs.into_iter().map(|job| committer.submit(job))).await {
        outcome?;
    }
    // SQLite has one writer: concurrent SQLite writers only queue, so they share one connection.
    let sqlite = url.starts_with("sqlite:");
    let pool = Database::connect(
        sea_orm::ConnectOptions::new(url.clone()).max_connections(if sqlite { 1 } else { writers as u32 }).to_owned(),
    )
    .await?;
    let sessions: Vec<i64> = session::Entity::find()
        .select_only()
        .column(session::Column::Id)
        .filter(session::Column::TenantId.eq(tenant.id.get()))
        .into_tuple()
        .all(&pool)
        .await?;
    let template = batch_rows(&models, tenant.id.get())?;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let counts = join_all((0..writers).map(|w| {
        let (pool, template, sessions) = (pool.clone(), &template, &sessions);
        async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                // Batches of ten events for consecutive sessions, the writers spread over them
                // as the server's concurrent groups are (each holds its sessions' locks).
                let batch: Vec<_> = (0..rows)
                    .map(|i| {
                        let at = n + i;
                        let session = (at / 10 + w * SESSIONS as u64 / writers) % SESSIONS as u64;
                        let ts_ms = 1_746_352_800_000 + (w * 1_000_000_000 + at) as i64;
                        let mut row = template[(at % 10) as usize].clone();
                        row.session_id = Set(sessions[session as usize]);
                        row.ts_ms = Set(ts_ms);
                        row.received_at_ms = Set(ts_ms);
                        row
                    })
                    .collect();
                if copy {
                    copy_rows(pool.get_postgres_connection_pool(), batch).await.expect("copy");
                } else {
                    let txn = pool.begin().await.expect("begin");
                    event::Entity::insert_many(batch).exec(&txn).await.expect("insert");
                    txn.commit().await.expect("commit");
                }
                n += rows;
            }
            n
        }
    }))
    .await;
    let total: u64 = counts.iter().sum();
    println!("{:.0}", total as f64 / started.elapsed().as_secs_f64());
    Ok(())
}
