//! The group-commit path on the suite's database (SQLite, or PostgreSQL with
//! `TEST_DATABASE_URL`): a group stores exactly what its batches would have stored one by one,
//! each batch keeps its own outcome, and a batch that fails never fails its neighbours.

use super::checked::{self, Checked};
use super::committer::{Committer, commit_group};
use super::{Ingested, Job, SessionStates, write_one};
use crate::auth::ApiKey;
use crate::domain::{NewEvent, Plan, QuotaMonth, SessionId, Tenant, UserId};
use crate::engine::{AffectState, Event, EventKind, Models, apply_batch};
use crate::interventions::Policy;
use crate::store::tenants::{self, NewTenant};
use crate::store::{Store, StoreError, StoreOptions};
use crate::telemetry::Metrics;
use crate::testing::{FreshDatabase, fresh_database};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use proptest::prelude::*;
use sea_orm::{ConnectionTrait, Database, FromQueryResult, JsonValue, Statement};
use std::sync::Arc;

pub(crate) fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(T0 + 600, 0).unwrap()
}

/// A Unix time the tests' events start from.
pub(crate) const T0: i64 = 1_746_352_800;

pub(crate) async fn store() -> (Store, String, FreshDatabase) {
    let database = fresh_database().await;
    let url = database.url.clone();
    (migrated(&url).await, url, database)
}

/// A store on `url`, migrated.
async fn migrated(url: &str) -> Store {
    let options = StoreOptions { url: url.to_owned(), max_connections: 4, sqlite_synchronous_full: false };
    let store = Store::connect(&options).await.unwrap();
    store.migrate().await.unwrap();
    store
}

pub(crate) async fn tenant(store: &Store, name: &str) -> Tenant {
    let key = ApiKey::generate();
    let new = NewTenant { name, email: None, plan: Plan::Starter, key_lookup: key.lookup(), key_hash: "-" };
    Tenant { id: tenants::create(store, new, now()).await.unwrap(), plan: Plan::Starter }
}

/// Leaves the tenant `left` new sessions this month.
async fn use_quota_but(url: &str, tenant: &Tenant, left: i64) {
    let db = Database::connect(url).await.unwrap();
    let used = tenant.plan.monthly_sessions() - left;
    let month = QuotaMonth::containing(now()).key();
    db.execute_unprepared(&format!(
        "INSERT INTO quota_usage (tenant_id, month, used) VALUES ({}, '{month}', {used})",
        tenant.id.get()
    ))
    .await
    .unwrap();
}

pub(crate) fn event(kind: EventKind, ts_s: i64, event_id: Option<&str>) -> NewEvent {
    NewEvent { event: Event::new(kind, ts_s * 1000), event_id: event_id.map(str::to_owned), url: None, message: None }
}

/// The contract's table: the policy of a tenant without feedback.
pub(crate) fn table() -> Arc<Policy> {
    Arc::new(Policy::table())
}

pub(crate) fn job(tenant: &Tenant, session: &str, user: Option<&str>, events: Vec<NewEvent>) -> Job {
    Job {
        policy: table(),
        tenant: tenant.clone(),
        session: SessionId::parse(session).unwrap(),
        user: user.map(|u| UserId::parse(u).unwrap()),
        events,
        now: now(),
    }
}

/// Everything ingest writes, without surrogate row ids (rows refer to sessions and users by
/// their client ids), in a stable order.
async fn dump(url: &str) -> Vec<JsonValue> {
    let db = Database::connect(url).await.unwrap();
    let queries = [
        "SELECT s.tenant_id, s.external_id, s.created_at_ms, s.updated_at_ms, s.event_count, s.label, s.confidence, \
         s.action, s.valence, s.arousal, s.tension, s.affiliation, s.signals, s.state, s.model_version, s.has_feedback, \
         u.external_id AS user_external_id \
         FROM sessions s LEFT JOIN users u ON u.id = s.user_id ORDER BY s.tenant_id, s.external_id",
        "SELECT s.tenant_id, s.external_id, e.event_id, e.ts_ms, e.received_at_ms, e.kind, e.valence, e.arousal, \
         e.tension, e.affiliation, e.delta_valence, e.label, e.confidence, e.signals, e.trigger_reason \
         FROM events e JOIN sessions s ON s.id = e.session_id ORDER BY s.tenant_id, s.external_id, e.id",
        "SELECT s.tenant_id, s.external_id, t.slot_ms, t.next_slot_ms, t.events, t.label, t.valence, t.affiliation \
         FROM session_slots t JOIN sessions s ON s.id = t.session_id ORDER BY s.tenant_id, s.external_id, t.slot_ms",
        "SELECT tenant_id, external_id, created_at_ms, updated_at_ms, event_count, state FROM users \
         ORDER BY tenant_id, external_id",
        "SELECT u.external_id AS user_external_id, s.external_id, h.ts_ms, h.kind, h.valence, h.tension, h.label, \
         h.signals FROM user_history h JOIN users u ON u.id = h.user_id JOIN sessions s ON s.id = h.session_id \
         ORDER BY u.tenant_id, u.external_id, h.id",
        "SELECT tenant_id, CAST(SUM(frustrated) AS BIGINT) AS frustrated, CAST(SUM(confused) AS BIGINT) AS confused, \
         CAST(SUM(decisive) AS BIGINT) AS decisive, CAST(SUM(browsing) AS BIGINT) AS browsing, \
         CAST(SUM(disengaged) AS BIGINT) AS disengaged, CAST(SUM(focused) AS BIGINT) AS focused, \
         CAST(SUM(neutral) AS BIGINT) AS neutral FROM mood_rollup GROUP BY tenant_id ORDER BY tenant_id",
        "SELECT tenant_id, month, used FROM quota_usage ORDER BY tenant_id, month",
        // The messages: the same changes, however the batches were grouped.
        "SELECT s.tenant_id, s.external_id, o.kind, o.mood, o.payload, o.created_at_ms FROM outbox o \
         JOIN sessions s ON s.id = o.session_pk ORDER BY s.tenant_id, s.external_id, o.id",
    ];
    let mut out = Vec::new();
    for sql in queries {
        let rows = JsonValue::find_by_statement(Statement::from_string(db.get_database_backend(), sql))
            .all(&db)
            .await
            .unwrap();
        out.push(JsonValue::Array(rows));
    }
    out
}

/// An outcome as comparable text.
fn outcome(o: &Result<Ingested, StoreError>) -> String {
    match o {
        Ok(i) => format!("{i:?}"),
        Err(e) => format!("error: {e}"),
    }
}

#[derive(Clone, Debug)]
struct Spec {
    tenant: usize,
    session: u8,
    user: Option<u8>,
    /// (kind, seconds after T0, event id)
    events: Vec<(usize, i64, Option<u8>)>,
}

fn spec() -> impl Strategy<Value = Spec> {
    let event = (0..EventKind::COUNT, 0..7200i64, proptest::option::weighted(0.4, 0..6u8));
    (0..2usize, 0..5u8, proptest::option::weighted(0.4, 0..3u8), proptest::collection::vec(event, 1..6))
        .prop_map(|(tenant, session, user, events)| Spec { tenant, session, user, events })
}

fn build(spec: &Spec, tenants: &[Tenant]) -> Job {
    let user = spec.user.map(|u| format!("u{u}"));
    let events = spec
        .events
        .iter()
        .map(|(kind, ts, id)| event(EventKind::ALL[*kind], T0 + ts, id.map(|i| format!("e{i}")).as_deref()))
        .collect();
    job(&tenants[spec.tenant], &format!("s{}", spec.session), user.as_deref(), events)
}

/// Two databases, each with two tenants (the second with room for two new sessions only).
async fn twin() -> ([(Store, String, FreshDatabase); 2], Vec<Tenant>) {
    let stores = [store().await, store().await];
    let mut tenants = Vec::new();
    for (s, url, _) in &stores {
        tenants = vec![tenant(s, "A").await, tenant(s, "B").await];
        use_quota_but(url, &tenants[1], 2).await;
    }
    (stores, tenants)
}

// Any batches — sessions old and new, repeated in the group, event ids seen before or within
// the group, users named and conflicting, events out of order, a tenant running out of quota —
// written as one group leave the database exactly as writing them one by one does, with the
// same outcome for each.
proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn a_group_stores_what_its_batches_store_one_by_one(
        before in proptest::collection::vec(spec(), 0..6),
        group in proptest::collection::vec(spec(), 1..12),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let models = Models::default();
            let ([(grouped, grouped_url, _g), (single, single_url, _s)], tenants) = twin().await;
            // The grouped side keeps the sessions it wrote, as a lane does (so that on
            // PostgreSQL the batches of those go the checked way); the single side reads every
            // state from its row.
            let mut kept = SessionStates::default();
            let unkept = SessionStates::default;
            let metrics = Metrics::default();
            for spec in &before {
                let job = build(spec, &tenants);
                let mut a = commit_group(&grouped, &models, &[&job], &mut kept, &metrics).await;
                let b = write_one(&single, &models, &job, &mut unkept()).await;
                assert_eq!(outcome(&a.pop().unwrap()), outcome(&b));
            }
            let jobs: Vec<Job> = group.iter().map(|s| build(s, &tenants)).collect();
            let refs: Vec<&Job> = jobs.iter().collect();
            let as_group = commit_group(&grouped, &models, &refs, &mut kept, &metrics).await;
            assert_eq!(metrics.ingest_groups_split.get(), 0, "the group commits");
            for (job, in_group) in jobs.iter().zip(&as_group) {
                let alone = write_one(&single, &models, job, &mut unkept()).await;
                assert_eq!(outcome(in_group), outcome(&alone), "{job:?}");
            }
            assert_eq!(dump(&grouped_url).await, dump(&single_url).await);
        });
    }
}

/// Refusals inside a group (another user's session, no quota left) and a batch that fails the
/// whole group (its tenant was deleted meanwhile: a foreign-key error) leave every other batch
/// of the group stored.
#[tokio::test]
async fn a_failing_batch_does_not_fail_its_neighbours() {
    let (store, url, _dir) = store().await;
    let models = Models::default();
    let (a, b, gone) = (tenant(&store, "A").await, tenant(&store, "B").await, tenant(&store, "Gone").await);
    use_quota_but(&url, &b, 0).await;
    let db = Database::connect(&url).await.unwrap();
    for table in ["api_keys", "mood_rollup", "tenants"] {
        let column = if table == "tenants" { "id" } else { "tenant_id" };
        db.execute_unprepared(&format!("DELETE FROM {table} WHERE {column} = {}", gone.id.get())).await.unwrap();
    }
    let click = |ts: i64| vec![event(EventKind::Click, T0 + ts, None)];
    let mut states = SessionStates::default();
    write_one(&store, &models, &job(&a, "owned", Some("ann"), click(1)), &mut states).await.unwrap();
    for (round, with_gone) in [false, true].into_iter().enumerate() {
        let mut jobs = vec![
            job(&a, "owned", None, click(2)),
            job(&a, "owned", Some("bob"), click(3)),
            job(&b, "new", None, click(4)),
            job(&a, &format!("fresh-{round}"), Some("ann"), click(5)),
        ];
        if with_gone {
            jobs.push(job(&gone, "anywhere", None, click(6)));
        }
        let refs: Vec<&Job> = jobs.iter().collect();
        let outcomes = commit_group(&store, &models, &refs, &mut states, &Metrics::default()).await;
        let total = |o: &Result<Ingested, StoreError>| o.as_ref().ok().map(|i| (i.events_stored, i.total_events));
        assert_eq!(total(&outcomes[0]), Some((1, 2 + round as i64)), "{outcomes:?}");
        assert!(matches!(outcomes[1], Err(StoreError::UserConflict)), "{outcomes:?}");
        assert!(matches!(outcomes[2], Err(StoreError::QuotaExceeded { .. })), "{outcomes:?}");
        assert_eq!(total(&outcomes[3]), Some((1, 1)), "{outcomes:?}");
        if with_gone {
            assert!(matches!(outcomes[4], Err(StoreError::Db(_))), "{outcomes:?}");
        }
    }
    let rows = dump(&url).await;
    let sessions: Vec<(&str, i64, Option<&str>)> = rows[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (r["external_id"].as_str().unwrap(), r["event_count"].as_i64().unwrap(), r["user_external_id"].as_str())
        })
        .collect();
    assert_eq!(sessions, [("fresh-0", 1, Some("ann")), ("fresh-1", 1, Some("ann")), ("owned", 3, Some("ann"))]);
    let users: Vec<(&str, i64)> = rows[3]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["external_id"].as_str().unwrap(), r["event_count"].as_i64().unwrap()))
        .collect();
    assert_eq!(users, [("ann", 5)]);
}

/// 400 batches from 64 concurrent submitters through the committer, to 40 sessions and to one
/// hot session: every batch is acknowledged once, every event stored once, and each session's
/// state is exactly the replay of its events in the order they were applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_submitters_lose_nothing_and_keep_order() {
    let (store, url, _dir) = store().await;
    let models = Arc::new(Models::default());
    let a = tenant(&store, "A").await;
    let committer = Committer::start(store.clone(), models.clone(), store.ingest_lanes(), Default::default());
    let outcomes: Vec<Result<Ingested, StoreError>> = futures::stream::iter(0..400i64)
        .map(|b| {
            let session = if b % 2 == 0 { "hot".to_owned() } else { format!("s{}", b % 40) };
            let events = (0..3)
                .map(|i| event(EventKind::ALL[((b + i) % 5) as usize], T0 + b, Some(&format!("e{b}-{i}"))))
                .collect();
            committer.submit(job(&a, &session, None, events))
        })
        .buffer_unordered(64)
        .collect()
        .await;
    assert!(outcomes.iter().all(|o| matches!(o, Ok(Ingested { events_stored: 3, duplicates: 0, .. }))), "{outcomes:?}");
    let rows = dump(&url).await;
    let counts: Vec<(String, i64)> = rows[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["external_id"].as_str().unwrap().to_owned(), r["event_count"].as_i64().unwrap()))
        .collect();
    assert_eq!(counts.len(), 21);
    assert!(counts.iter().all(|(s, n)| *n == if s == "hot" { 600 } else { 30 }), "{counts:?}");
    // Replaying each session's stored events, in the order they were applied, gives its state.
    let model = &models.session;
    for session in rows[0].as_array().unwrap() {
        let id = session["external_id"].as_str().unwrap();
        let mut replay = AffectState::new(model);
        for e in rows[1].as_array().unwrap().iter().filter(|e| e["external_id"] == id) {
            let kind: EventKind = e["kind"].as_str().unwrap().parse().unwrap();
            apply_batch(model, &mut replay, &[Event::new(kind, e["ts_ms"].as_i64().unwrap())]);
        }
        let stored: AffectState = serde_json::from_str(session["state"].as_str().unwrap()).unwrap();
        assert_eq!(stored, replay, "{id}");
    }
}

/// On PostgreSQL the batches of sessions a lane kept are stored by one checked statement; it
/// stands down, storing nothing, when another writer moved a session on or a batch repeats an
/// event id the session has, and the locked way then stores them as if it never ran. SQLite
/// always writes the locked way.
#[tokio::test]
async fn the_checked_way_stands_down_when_a_kept_session_moved_on() {
    // On PostgreSQL its connections carry a name of their own, so that the test can end them
    // without touching the other tests' (each test has a schema, not a database, of its own).
    let database = fresh_database().await;
    let postgres = database.url.starts_with("postgres");
    let url = if postgres { format!("{}&application_name=mr_checked_way", database.url) } else { database.url.clone() };
    let store = migrated(&url).await;
    let models = Models::default();
    let a = tenant(&store, "A").await;
    let click = |ts: i64, id: &str| job(&a, "s", None, vec![event(EventKind::Click, T0 + ts, Some(id))]);
    let (mut lane, mut other_lane) = (SessionStates::default(), SessionStates::default());
    let metrics = Metrics::default();
    let totals = |o: &Result<Ingested, StoreError>| {
        let i = o.as_ref().expect("stored");
        (i.events_stored, i.duplicates, i.total_events)
    };
    let stood_down = if postgres { "stood down" } else { "not tried" };
    let said = |c: Checked| match c {
        Checked::NotTried => "not tried".to_owned(),
        Checked::StoodDown => "stood down".to_owned(),
        Checked::Wrote(outcomes) => format!("{:?}", outcomes.iter().map(|(i, o)| (*i, totals(o))).collect::<Vec<_>>()),
    };

    // Unknown to the lane: nothing to check against.
    let first = click(1, "e1");
    assert_eq!(said(checked::write(&store, &models, &[&first], &mut lane).await), "not tried");
    assert_eq!(totals(&write_one(&store, &models, &first, &mut lane).await), (1, 0, 1));

    // Kept: written by one statement on PostgreSQL.
    let second = click(2, "e2");
    let wrote = said(checked::write(&store, &models, &[&second], &mut lane).await);
    if postgres {
        assert_eq!(wrote, "[(0, (1, 0, 2))]");
    } else {
        assert_eq!(wrote, "not tried");
        write_one(&store, &models, &second, &mut lane).await.unwrap();
    }

    // Another lane (or replica) moves the session on: the lane's kept state is stale.
    let mut o = commit_group(&store, &models, &[&click(3, "e3")], &mut other_lane, &metrics).await;
    assert_eq!(totals(&o.pop().unwrap()), (1, 0, 3));
    let fourth = click(4, "e4");
    assert_eq!(said(checked::write(&store, &models, &[&fourth], &mut lane).await), stood_down, "moved on");
    let mut o = commit_group(&store, &models, &[&fourth], &mut lane, &metrics).await;
    assert_eq!(totals(&o.pop().unwrap()), (1, 0, 4), "the locked way read the row afresh");

    // A repeated event id: the kept count is right but the session has the id.
    let again = click(5, "e4");
    assert_eq!(said(checked::write(&store, &models, &[&again], &mut lane).await), stood_down, "e4 is stored");
    let mut o = commit_group(&store, &models, &[&again], &mut lane, &metrics).await;
    assert_eq!(totals(&o.pop().unwrap()), (0, 1, 4));
    assert_eq!(metrics.ingest_groups_split.get(), 0);

    // Every connection of the store dies (a restart): the checked write stands down, the locked
    // way stores the batch, and the next checked write opens a connection afresh.
    if postgres {
        let admin = Database::connect(&database.url).await.unwrap();
        let terminate = "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity \
                         WHERE application_name = 'mr_checked_way' AND pid <> pg_backend_pid()";
        admin.execute_unprepared(terminate).await.unwrap();
        let sixth = click(6, "e6");
        assert_eq!(said(checked::write(&store, &models, &[&sixth], &mut lane).await), "stood down");
        let mut o = commit_group(&store, &models, &[&sixth], &mut lane, &metrics).await;
        assert_eq!(totals(&o.pop().unwrap()), (1, 0, 5));
        let seventh = click(7, "e7");
        assert_eq!(said(checked::write(&store, &models, &[&seventh], &mut lane).await), "[(0, (1, 0, 6))]");
    }

    // What was stored is what writing every batch the locked way stores.
    let rows = dump(&url).await;
    let events: Vec<(&str, i64)> = rows[1]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["event_id"].as_str().unwrap(), e["ts_ms"].as_i64().unwrap() / 1000 - T0))
        .collect();
    // The batch at 5 s repeated e4; 6 and 7 only on PostgreSQL.
    let stored_at: Vec<i64> = if postgres { vec![1, 2, 3, 4, 6, 7] } else { vec![1, 2, 3, 4] };
    let expected: Vec<(String, i64)> = stored_at.iter().map(|i| (format!("e{i}"), *i)).collect();
    let events: Vec<(String, i64)> = events.into_iter().map(|(id, ts)| (id.to_owned(), ts)).collect();
    assert_eq!(events, expected);
    let session = &rows[0].as_array().unwrap()[0];
    assert_eq!(session["event_count"], stored_at.len());
    let model = &models.session;
    let mut replay = AffectState::new(model);
    for ts in stored_at {
        apply_batch(model, &mut replay, &[Event::new(EventKind::Click, (T0 + ts) * 1000)]);
    }
    let state: AffectState = serde_json::from_str(session["state"].as_str().unwrap()).unwrap();
    assert_eq!(state, replay);
}
