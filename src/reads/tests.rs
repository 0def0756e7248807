//! The coalesced reads on the suite's database: one query answers many keys, and each key gets
//! exactly what a query of its own would return — across tenants that use the same session
//! ids — and what the reads the API serves (in process on an SQLite file, coalesced on
//! PostgreSQL) return.

use super::Reads;
use crate::auth::ApiKey;
use crate::domain::{NewEvent, Plan, SessionId, Tenant};
use crate::engine::{Event, EventKind, Models};
use crate::ingest::tests::table;
use crate::ingest::{Job, SessionStates, write_one};
use crate::store::tenants::{self, NewTenant};
use crate::store::{Store, StoreOptions, analytics, sessions};
use crate::telemetry::Metrics;
use crate::testing::fresh_database;
use chrono::DateTime;

/// A Unix time the tests' events start from.
const T0: i64 = 1_746_352_800;

async fn tenant(store: &Store, name: &str) -> Tenant {
    let key = ApiKey::generate();
    let new = NewTenant { name, email: None, plan: Plan::Starter, key_lookup: key.lookup(), key_hash: "-" };
    let now = DateTime::from_timestamp(T0, 0).unwrap();
    Tenant { id: tenants::create(store, new, now).await.unwrap(), plan: Plan::Starter }
}

async fn write(store: &Store, models: &Models, tenant: &Tenant, session: &str, kind: EventKind, n: i64) {
    let events = (0..n)
        .map(|i| NewEvent { event: Event::new(kind, (T0 + i) * 1000), event_id: None, url: None, message: None })
        .collect();
    let now = DateTime::from_timestamp(T0 + 60, 0).unwrap();
    let job = Job {
        tenant: tenant.clone(),
        session: SessionId::parse(session).unwrap(),
        user: None,
        events,
        now,
        policy: table(),
    };
    write_one(store, models, &job, &mut SessionStates::default()).await.unwrap();
}

#[tokio::test]
async fn one_query_answers_each_key_as_its_own_would() {
    let database = fresh_database().await;
    let options = StoreOptions { url: database.url.clone(), max_connections: 4, sqlite_synchronous_full: false };
    let store = Store::connect(&options).await.unwrap();
    store.migrate().await.unwrap();
    let models = Models::default();
    let (a, b, c) = (tenant(&store, "a").await, tenant(&store, "b").await, tenant(&store, "c").await);
    write(&store, &models, &a, "s0", EventKind::Click, 3).await;
    write(&store, &models, &a, "s1", EventKind::Scroll, 5).await;
    write(&store, &models, &b, "s0", EventKind::Error, 4).await;
    write(&store, &models, &b, "s2", EventKind::RageClick, 2).await;
    let id = |s: &str| SessionId::parse(s).unwrap();

    let wanted = [(a.id, id("s0")), (b.id, id("s0")), (a.id, id("s1")), (b.id, id("s1")), (c.id, id("s0"))];
    let wanted = [&wanted[..], &[(a.id, id("s2")), (b.id, id("s2")), (a.id, id("s0"))]].concat();
    let together = sessions::current_moods(&store, &wanted).await.unwrap();
    let reads = Reads::start(&store, &Metrics::default()).await.unwrap();
    let tenant_of = |id| [&a, &b, &c].into_iter().find(|t| t.id == id).unwrap();
    let mut found = 0;
    for key in &wanted {
        let alone = sessions::current_moods(&store, std::slice::from_ref(key)).await.unwrap();
        assert_eq!(together.get(key), alone.get(key), "{key:?}");
        let served = reads.current_mood(tenant_of(key.0), &key.1).await.unwrap();
        assert_eq!(served.as_ref(), alone.get(key), "{key:?}");
        found += usize::from(alone.contains_key(key));
    }
    // a/s0 twice, a/s1, b/s0, b/s2; not b/s1, c/s0 or a/s2.
    assert_eq!((together.len(), found), (4, 5));
    let counts = |t: &Tenant, s: &str| together[&(t.id, id(s))].event_count;
    assert_eq!([counts(&a, "s0"), counts(&a, "s1"), counts(&b, "s0"), counts(&b, "s2")], [3, 5, 4, 2]);

    let tenants = [c.id, a.id, b.id];
    let together = analytics::mood_counts(&store, &tenants).await.unwrap();
    for t in tenants {
        let alone = analytics::mood_counts(&store, &[t]).await.unwrap();
        assert_eq!(together[&t], alone[&t]);
        assert_eq!(reads.mood_counts(tenant_of(t)).await.unwrap(), alone[&t]);
    }
    assert_eq!([together[&a.id].total(), together[&b.id].total(), together[&c.id].total()], [2, 2, 0]);
}
