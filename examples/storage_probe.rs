//! The load harness's storage limit: the same event rows moodring stores (every column), inserted
//! straight through the same driver (sea-orm over sqlx) as multi-row INSERTs of ROWS rows per
//! transaction from WRITERS concurrent writers, for SECONDS. Prints rows per second. With METHOD
//! `copy` (PostgreSQL only) each transaction's rows go in by one binary COPY instead, as the
//! server's ingest writes them.
//!
//! cargo run --release --example storage_probe -- DATABASE_URL [WRITERS] [SECONDS] [ROWS] [insert|copy]

use entity::event;
use futures::future::join_all;
use moodring::domain::{Plan, Tenant};
use moodring::keys::ApiKey;
use moodring::store::tenants::{self, NewTenant};
use moodring::store::{Store, StoreOptions};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ConnectionTrait, Database, EntityTrait, TransactionTrait};
use std::time::{Duration, Instant};

fn row(tenant: i64, session: i64, i: i64) -> event::ActiveModel {
    event::ActiveModel {
        id: NotSet,
        tenant_id: Set(tenant),
        session_id: Set(session),
        event_id: Set(None),
        ts_ms: Set(1_746_352_800_000 + i),
        received_at_ms: Set(1_746_352_800_000 + i),
        kind: Set("click".into()),
        x: Set(Some(240.0)),
        y: Set(Some(580.0)),
        duration_ms: Set(None),
        speed: Set(None),
        direction: Set(None),
        url: Set(None),
        message: Set(None),
        valence: Set(0.1),
        arousal: Set(0.2),
        tension: Set(-0.1),
        affiliation: Set(0.3),
        delta_valence: Set(0.01),
        delta_arousal: Set(0.02),
        delta_tension: Set(-0.01),
        delta_affiliation: Set(0.03),
        label: Set("browsing".into()),
        confidence: Set(0.55),
        signals: Set("[]".into()),
        trigger_reason: Set("A click raised arousal by 0.02.".into()),
        model_version: Set("session-1".into()),
    }
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
    let tenant = Tenant { id: tenants::create(&store, new, chrono::Utc::now()).await?, plan: Plan::Pro, key_id: 0 };
    // One placeholder session the rows belong to (the foreign key needs it).
    let db = Database::connect(&url).await?;
    let session = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!(
                "INSERT INTO sessions (tenant_id, external_id, created_at_ms, updated_at_ms, event_count, label, confidence, action, \
                 valence, arousal, tension, affiliation, signals, state, model_version, has_feedback) \
                 VALUES ({}, 'probe', 0, 0, 0, 'neutral', 0, 'no_action', 0, 0, 0, 0, '[]', '{{}}', 'session-1', false) RETURNING id",
                tenant.id.get()
            ),
        ))
        .await?
        .expect("a row")
        .try_get::<i64>("", "id")?;
    drop(db);
    // SQLite has one writer: concurrent SQLite writers only queue, so they share one connection.
    let sqlite = url.starts_with("sqlite:");
    let pool = Database::connect(
        sea_orm::ConnectOptions::new(url.clone()).max_connections(if sqlite { 1 } else { writers as u32 }).to_owned(),
    )
    .await?;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let counts = join_all((0..writers).map(|w| {
        let pool = pool.clone();
        async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                let batch: Vec<_> =
                    (0..rows).map(|i| row(tenant.id.get(), session, (w * 1_000_000_000 + n + i) as i64)).collect();
                if copy {
                    moodring::store::copy_rows(pool.get_postgres_connection_pool(), batch).await.expect("copy");
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
