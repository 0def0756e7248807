//! Ingesting event batches, set-wise. Batches from concurrent requests reach the store in groups
//! (see [`super::committer`]); a group is written in one transaction: one read of its sessions (and
//! users), the engine in memory in arrival order, then a few multi-row statements for all of it
//! (new event and history rows by `COPY` on PostgreSQL: see [`super::pg_writer`]). Each batch keeps
//! its own semantics and outcome: it is applied whole or not at all, event ids the session already
//! has are skipped, the quota counts each new session once, and a batch refused for its quota or
//! its user leaves the rest of its group untouched.

use super::pg_writer::PgTxn;
use super::rollup::{self, Change};
use super::states::SessionStates;
use super::timeline::{self, SlotUpdate};
use super::{Store, StoreError, insert_chunked, quota, sessions::parse_label};
use crate::domain::{NewEvent, QuotaMonth, SessionId, Tenant, UserId};
use crate::engine::{AffectState, HistoryRecord, Models, Mood, ScrollDirection, apply_batch};
use chrono::{DateTime, Utc};
use entity::{event, session, user, user_history};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::prelude::async_trait::async_trait;
use sea_orm::sea_query::{Alias, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, EntityTrait,
    ExecResult, FromQueryResult, QueryFilter, QueryOrder, QueryResult, QuerySelect, QueryTrait, Statement,
};
use std::collections::{BTreeMap, HashMap, HashSet};

/// A validated batch for one session, received at `now`, optionally naming its person.
#[derive(Clone, Debug)]
pub struct Job {
    pub tenant: Tenant,
    pub session: SessionId,
    pub user: Option<UserId>,
    pub events: Vec<NewEvent>,
    pub now: DateTime<Utc>,
}

/// What a batch did.
#[derive(Clone, Debug, PartialEq)]
pub struct Ingested {
    pub events_stored: usize,
    /// Events whose `event_id` the session already had (or that repeated one in the batch).
    pub duplicates: usize,
    pub total_events: i64,
    pub mood: Mood,
}

/// Each batch's outcome, in the order given.
pub type Outcomes = Vec<Result<Ingested, StoreError>>;

/// Writes one batch in its own transaction, once more if it lost a race to create the same
/// session or user (the retry finds the row the other created).
pub async fn write_one(
    store: &Store,
    models: &Models,
    job: &Job,
    states: &mut SessionStates,
) -> Result<Ingested, StoreError> {
    let mut outcomes = match write_group(store, models, &[job], states).await {
        Err(e) if e.is_unique_violation() => write_group(store, models, &[job], states).await,
        other => other,
    }?;
    outcomes.pop().expect("one outcome per batch")
}

/// Writes a group of batches in one transaction and returns each one's outcome. `Err` means the
/// group as a whole failed (a database error, a row another writer created first, a quota
/// another replica took meanwhile) and nothing was stored: the caller retries batch by batch.
/// `states` are the ones this caller's earlier groups left (see [`super::states`]); those this
/// group leaves are kept there once it committed.
pub async fn write_group(
    store: &Store,
    models: &Models,
    jobs: &[&Job],
    states: &mut SessionStates,
) -> Result<Outcomes, StoreError> {
    let txn = IngestTxn::begin(store).await?;
    let mut group = Group::load(&txn, jobs, states).await?;
    let outcomes = jobs.iter().map(|job| group.apply(models, job)).collect();
    group.write(&txn, models).await?;
    txn.commit().await?;
    for s in group.sessions {
        if let Some(pk) = s.pk {
            states.keep(pk, s.state);
        }
    }
    Ok(outcomes)
}

/// A session as the group sees it: as stored before the group, then as its batches leave it.
struct SessionWork<'a> {
    tenant: &'a Tenant,
    external_id: &'a str,
    stored: Option<StoredSession>,
    /// Row id: stored, or given when the group inserts the session.
    pk: Option<i64>,
    state: AffectState,
    /// The label before the group (`None`: a new session).
    label_before: Option<Mood>,
    /// The latest event time before the group.
    latest_before_ms: Option<i64>,
    /// Client event ids the session has, stored or added by the group.
    seen: HashSet<String>,
    owner: Option<usize>,
    /// The new events in the order applied, each with its receipt time; `records` holds the
    /// state after each, the last one the session's as the group leaves it.
    events: Vec<(&'a NewEvent, i64)>,
    records: Vec<HistoryRecord>,
    /// When the group's first accepted batch arrived (a new session's creation time).
    first_now_ms: Option<i64>,
    last_now_ms: i64,
}

/// What a group reads of a stored session: the columns a write keeps or starts from (not, say,
/// the signals it replaces). The state comes from the lane's [`SessionStates`] if it has the
/// one with `event_count` events, from the row otherwise.
#[derive(Debug, FromQueryResult)]
struct StoredSession {
    id: i64,
    external_id: String,
    created_at_ms: i64,
    event_count: i64,
    label: String,
    has_feedback: bool,
    user_id: Option<i64>,
}

impl SessionWork<'_> {
    /// The record of the last event the group applied, if any.
    fn latest(&self) -> Option<&HistoryRecord> {
        self.records.last()
    }
}

/// A user as the group sees it.
struct UserWork {
    tenant_id: i64,
    external_id: String,
    stored: Option<user::Model>,
    pk: Option<i64>,
    state: AffectState,
    created_at_ms: i64,
    /// The user's new history: (session in the group, record), in the order applied.
    history: Vec<(usize, HistoryRecord)>,
}

struct Group<'a> {
    sessions: Vec<SessionWork<'a>>,
    by_session: HashMap<(i64, &'a str), usize>,
    users: Vec<UserWork>,
    by_user: HashMap<(i64, String), usize>,
    /// New sessions each tenant may still create, per month; then how many the group creates.
    allowance: HashMap<(i64, QuotaMonth), i64>,
    taken: BTreeMap<(i64, QuotaMonth), (&'a Tenant, i64)>,
}

impl<'a> Group<'a> {
    /// Reads and locks what the group touches: its sessions, their known event ids, the users
    /// they belong to or name, and the quota left to tenants that create sessions. Locks are
    /// taken tenant by tenant in row-id order, sessions before users, as every writer does.
    async fn load(db: &impl ConnectionTrait, jobs: &[&'a Job], states: &mut SessionStates) -> Result<Self, StoreError> {
        let mut by_tenant: BTreeMap<i64, (&'a Tenant, Vec<&'a str>, Vec<&'a str>)> = BTreeMap::new();
        for job in jobs {
            let entry = by_tenant.entry(job.tenant.id.get()).or_insert_with(|| (&job.tenant, vec![], vec![]));
            entry.1.push(job.session.as_str());
            entry.2.extend(job.user.as_ref().map(|u| u.as_str()));
        }
        let mut group = Group {
            sessions: Vec::new(),
            by_session: HashMap::new(),
            users: Vec::new(),
            by_user: HashMap::new(),
            allowance: HashMap::new(),
            taken: BTreeMap::new(),
        };
        let mut owners: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        let mut stored = Vec::new();
        for (&tenant_id, (tenant, ids, _)) in &by_tenant {
            use session::Column as C;
            let rows = session::Entity::find()
                .select_only()
                .columns([C::Id, C::ExternalId, C::CreatedAtMs, C::EventCount, C::Label, C::HasFeedback, C::UserId])
                .filter(C::TenantId.eq(tenant_id))
                .filter(C::ExternalId.is_in(ids.iter().copied()))
                .order_by_asc(C::Id)
                .lock_exclusive()
                .into_model::<StoredSession>()
                .all(db)
                .await?;
            for row in rows {
                owners.entry(tenant_id).or_default().extend(row.user_id);
                let external_id = ids.iter().copied().find(|id| *id == row.external_id).expect("selected by these ids");
                let kept = states.take(row.id, row.event_count);
                stored.push((*tenant, external_id, row, kept));
            }
        }
        let unkept: Vec<i64> = stored.iter().filter(|s| s.3.is_none()).map(|s| s.2.id).collect();
        let mut read = read_states(db, unkept).await?;
        for (tenant, external_id, row, kept) in stored {
            let state = kept.or_else(|| read.remove(&row.id)).expect("read every state not kept");
            group.add_session(tenant, external_id, Some(row), state)?;
        }
        group.load_event_ids(db, jobs).await?;
        for (&tenant_id, (_, _, names)) in &by_tenant {
            let pks = owners.remove(&tenant_id).unwrap_or_default();
            if names.is_empty() && pks.is_empty() {
                continue;
            }
            let rows = user::Entity::find()
                .filter(user::Column::TenantId.eq(tenant_id))
                .filter(
                    Condition::any()
                        .add(user::Column::ExternalId.is_in(names.iter().copied()))
                        .add(user::Column::Id.is_in(pks)),
                )
                .order_by_asc(user::Column::Id)
                .lock_exclusive()
                .all(db)
                .await?;
            for row in rows {
                let state = serde_json::from_str(&row.state)?;
                group.by_user.insert((tenant_id, row.external_id.clone()), group.users.len());
                group.users.push(UserWork {
                    tenant_id,
                    external_id: row.external_id.clone(),
                    pk: Some(row.id),
                    created_at_ms: row.created_at_ms,
                    state,
                    stored: Some(row),
                    history: Vec::new(),
                });
            }
        }
        for s in &mut group.sessions {
            let owner_pk = s.stored.as_ref().and_then(|r| r.user_id);
            s.owner = owner_pk.and_then(|pk| group.users.iter().position(|u| u.pk == Some(pk)));
        }
        for job in jobs {
            let key = (job.tenant.id.get(), QuotaMonth::containing(job.now));
            if !group.by_session.contains_key(&(key.0, job.session.as_str())) && !group.allowance.contains_key(&key) {
                let left = quota::remaining(db, &job.tenant, key.1).await?;
                group.allowance.insert(key, left);
            }
        }
        Ok(group)
    }

    /// Adds a session in `state`: a stored one (its row), or a new one.
    fn add_session(
        &mut self,
        tenant: &'a Tenant,
        external_id: &'a str,
        stored: Option<StoredSession>,
        state: AffectState,
    ) -> Result<usize, StoreError> {
        let label_before = stored.as_ref().map(|row| parse_label(&row.label)).transpose()?;
        let index = self.sessions.len();
        self.by_session.insert((tenant.id.get(), external_id), index);
        self.sessions.push(SessionWork {
            tenant,
            external_id,
            pk: stored.as_ref().map(|r| r.id),
            latest_before_ms: state.last_interaction_at_ms,
            state,
            label_before,
            stored,
            seen: HashSet::new(),
            owner: None,
            events: Vec::new(),
            records: Vec::new(),
            first_now_ms: None,
            last_now_ms: 0,
        });
        Ok(index)
    }

    /// Which of the group's client event ids its stored sessions already have: one query.
    async fn load_event_ids(&mut self, db: &impl ConnectionTrait, jobs: &[&Job]) -> Result<(), StoreError> {
        let ids: HashSet<&str> =
            jobs.iter().flat_map(|j| j.events.iter().filter_map(|e| e.event_id.as_deref())).collect();
        let pks: HashMap<i64, usize> =
            self.sessions.iter().enumerate().filter_map(|(i, s)| s.pk.map(|pk| (pk, i))).collect();
        if ids.is_empty() || pks.is_empty() {
            return Ok(());
        }
        let known: Vec<(i64, Option<String>)> = event::Entity::find()
            .select_only()
            .columns([event::Column::SessionId, event::Column::EventId])
            .filter(event::Column::SessionId.is_in(pks.keys().copied()))
            .filter(event::Column::EventId.is_in(ids))
            .into_tuple()
            .all(db)
            .await?;
        for (session_pk, event_id) in known {
            self.sessions[pks[&session_pk]].seen.extend(event_id);
        }
        Ok(())
    }

    /// Applies one batch in memory, or refuses it without touching anything.
    fn apply(&mut self, models: &Models, job: &'a Job) -> Result<Ingested, StoreError> {
        let key = (job.tenant.id.get(), job.session.as_str());
        let index = match self.by_session.get(&key) {
            Some(&i) => i,
            None => self.add_session(&job.tenant, job.session.as_str(), None, AffectState::new(&models.session))?,
        };
        let s = &self.sessions[index];
        if let (Some(owner), Some(requested)) = (s.owner, &job.user)
            && self.users[owner].external_id != requested.as_str()
        {
            return Err(StoreError::UserConflict);
        }
        let mut fresh_ids = HashSet::new();
        let mut fresh: Vec<&'a NewEvent> = job
            .events
            .iter()
            .filter(|e| e.event_id.as_deref().is_none_or(|id| !s.seen.contains(id) && fresh_ids.insert(id)))
            .collect();
        let duplicates = job.events.len() - fresh.len();
        if fresh.is_empty() {
            // Only a session that has events can have them all already.
            return Ok(Ingested {
                events_stored: 0,
                duplicates,
                total_events: s.state.event_count as i64,
                mood: s.latest().map(|r| r.label).or(s.label_before).expect("a session with events"),
            });
        }
        if s.pk.is_none() && s.first_now_ms.is_none() {
            let month = QuotaMonth::containing(job.now);
            let left = self.allowance.get_mut(&(key.0, month)).expect("loaded for every new session");
            if *left == 0 {
                let limit = job.tenant.plan.monthly_sessions();
                return Err(StoreError::QuotaExceeded { plan: job.tenant.plan, limit, reset_at: month.reset_at() });
            }
            *left -= 1;
            self.taken.entry((key.0, month)).or_insert((&job.tenant, 0)).1 += 1;
        }
        let fresh_ids: Vec<String> = fresh_ids.into_iter().map(str::to_owned).collect();
        let owner = match (self.sessions[index].owner, &job.user) {
            (Some(owner), _) => Some(owner),
            (None, Some(requested)) => Some(self.user(models, &job.tenant, requested, job.now)),
            (None, None) => None,
        };
        let s = &mut self.sessions[index];
        s.seen.extend(fresh_ids);
        s.owner = owner;
        let now_ms = job.now.timestamp_millis();
        s.first_now_ms.get_or_insert(now_ms);
        s.last_now_ms = now_ms;
        // Stable sort: apply_batch keeps this order, so records line up with `fresh`.
        fresh.sort_by_key(|e| e.event.ts_ms);
        let engine_events: Vec<_> = fresh.iter().map(|e| e.event.clone()).collect();
        s.records.extend(apply_batch(&models.session, &mut s.state, &engine_events));
        s.events.extend(fresh.iter().map(|e| (*e, now_ms)));
        let outcome = Ingested {
            events_stored: fresh.len(),
            duplicates,
            total_events: s.state.event_count as i64,
            mood: s.latest().expect("applied events").label,
        };
        if let Some(owner) = owner {
            let u = &mut self.users[owner];
            let records = apply_batch(&models.user, &mut u.state, &engine_events);
            u.history.extend(records.into_iter().map(|r| (index, r)));
        }
        Ok(outcome)
    }

    /// The group's user with this id, a new one if the tenant has none.
    fn user(&mut self, models: &Models, tenant: &Tenant, id: &UserId, now: DateTime<Utc>) -> usize {
        let key = (tenant.id.get(), id.as_str().to_owned());
        if let Some(&i) = self.by_user.get(&key) {
            return i;
        }
        self.users.push(UserWork {
            tenant_id: tenant.id.get(),
            external_id: key.1.clone(),
            stored: None,
            pk: None,
            state: AffectState::new(&models.user),
            created_at_ms: now.timestamp_millis(),
            history: Vec::new(),
        });
        self.by_user.insert(key, self.users.len() - 1);
        self.users.len() - 1
    }

    /// Writes what the accepted batches did: new users, sessions, events, user histories, the
    /// updates of stored sessions, slots, users and rollup counts, and quota, each as few
    /// multi-row statements. The updates read nothing back and each touches its own rows, so on
    /// PostgreSQL they go as one statement ([`IngestTxn::updates`]).
    async fn write(&mut self, db: &IngestTxn, models: &Models) -> Result<(), StoreError> {
        self.insert_new_users(db, models).await?;
        self.insert_new_sessions(db, models).await?;
        let moved = self.moved_sessions();
        let mut events = Vec::new();
        for s in &moved {
            let pk = s.pk.expect("written above");
            for ((e, received_at_ms), r) in s.events.iter().zip(&s.records) {
                events.push(event_row(s.tenant.id.get(), pk, e, *received_at_ms, r, &models.session.version)?);
            }
        }
        db.append(events).await?;
        db.append(self.user_history_rows(models)?).await?;

        let updates = db.updates();
        self.update_stored_sessions(&updates, &moved, models).await?;
        let slots: Vec<SlotUpdate> = moved
            .iter()
            .map(|s| SlotUpdate {
                tenant_id: s.tenant.id.get(),
                session_pk: s.pk.expect("written above"),
                previous_latest_ms: s.latest_before_ms,
                records: &s.records,
            })
            .collect();
        timeline::record(&updates, &slots).await?;
        self.update_stored_users(&updates, models).await?;
        rollup::apply_many(
            &updates,
            moved.iter().map(|s| {
                let enter = s.latest().map(|r| r.label);
                (s.tenant.id, s.pk.expect("written above"), Change { leave: s.label_before, enter, feedback: 0 })
            }),
        )
        .await?;
        // The rows every writer for the tenant shares go last, locked for as short a time as
        // possible: rollup counts above, the quota counter here (a refusal rolls all back).
        for ((_, month), (tenant, n)) in &self.taken {
            quota::take(db, tenant, *month, *n).await?;
        }
        Ok(())
    }

    async fn insert_new_users(&mut self, db: &impl ConnectionTrait, models: &Models) -> Result<(), StoreError> {
        // In key order, as every writer inserts them, so that two creating the same users wait
        // for each other instead of deadlocking.
        let mut new: Vec<&UserWork> = self.users.iter().filter(|u| u.stored.is_none()).collect();
        new.sort_by_key(|u| (u.tenant_id, &u.external_id));
        let rows = new.into_iter().map(|u| user_row(u, models)).collect::<Result<Vec<_>, StoreError>>()?;
        for (key, pk) in insert_returning_ids(db, rows).await? {
            self.users[self.by_user[&key]].pk = Some(pk);
        }
        Ok(())
    }

    /// The sessions the group moved, in key order.
    fn moved_sessions(&self) -> Vec<&SessionWork<'a>> {
        let mut moved: Vec<&SessionWork> = self.sessions.iter().filter(|s| s.latest().is_some()).collect();
        moved.sort_by_key(|s| (s.tenant.id.get(), s.external_id));
        moved
    }

    /// The session's row as the group leaves it, with its owner's row id.
    fn row_of(&self, s: &SessionWork, models: &Models) -> Result<session::ActiveModel, StoreError> {
        let owner_pk = s.owner.map(|u| self.users[u].pk.expect("users are written first"));
        session_row(s, owner_pk, models)
    }

    /// Inserts the new sessions, taking their row ids: in key order, as every writer inserts
    /// them, so that two creating the same sessions wait for each other instead of deadlocking.
    async fn insert_new_sessions(&mut self, db: &impl ConnectionTrait, models: &Models) -> Result<(), StoreError> {
        let new = self.moved_sessions().into_iter().filter(|s| s.stored.is_none());
        let rows = new.map(|s| self.row_of(s, models)).collect::<Result<Vec<_>, _>>()?;
        for ((tenant_id, external_id), pk) in insert_returning_ids(db, rows).await? {
            self.sessions[self.by_session[&(tenant_id, external_id.as_str())]].pk = Some(pk);
        }
        Ok(())
    }

    /// Updates the stored sessions among those the group `moved`.
    async fn update_stored_sessions(
        &self,
        db: &impl ConnectionTrait,
        moved: &[&SessionWork<'a>],
        models: &Models,
    ) -> Result<(), StoreError> {
        let stored = moved.iter().filter(|s| s.stored.is_some());
        let rows = stored.map(|s| self.row_of(s, models)).collect::<Result<Vec<_>, _>>()?;
        use session::Column as C;
        let update = OnConflict::column(C::Id)
            .update_columns([
                C::UpdatedAtMs,
                C::EventCount,
                C::Label,
                C::Confidence,
                C::Action,
                C::Valence,
                C::Arousal,
                C::Tension,
                C::Affiliation,
                C::Signals,
                C::State,
                C::ModelVersion,
                C::UserId,
            ])
            .to_owned();
        insert_chunked(db, rows, Some(&update)).await?;
        Ok(())
    }

    /// Updates the stored users the group moved.
    async fn update_stored_users(&self, db: &impl ConnectionTrait, models: &Models) -> Result<(), StoreError> {
        let moved: Vec<user::ActiveModel> = self
            .users
            .iter()
            .filter(|u| u.stored.is_some() && !u.history.is_empty())
            .map(|u| user_row(u, models))
            .collect::<Result<_, _>>()?;
        let update = OnConflict::column(user::Column::Id)
            .update_columns([
                user::Column::UpdatedAtMs,
                user::Column::EventCount,
                user::Column::State,
                user::Column::ModelVersion,
            ])
            .to_owned();
        insert_chunked(db, moved, Some(&update)).await?;
        Ok(())
    }

    /// Every user's new history.
    fn user_history_rows(&self, models: &Models) -> Result<Vec<user_history::ActiveModel>, StoreError> {
        let mut history = Vec::new();
        for u in &self.users {
            let user_pk = u.pk.expect("users are written first");
            for (session, r) in &u.history {
                let session_pk = self.sessions[*session].pk.expect("sessions are written first");
                history.push(user_history_row(u.tenant_id, user_pk, session_pk, r, &models.user.version)?);
            }
        }
        Ok(history)
    }
}

/// The states of the stored sessions `pks` (locked already), read from their rows: one query.
async fn read_states(db: &impl ConnectionTrait, pks: Vec<i64>) -> Result<HashMap<i64, AffectState>, StoreError> {
    if pks.is_empty() {
        return Ok(HashMap::new());
    }
    let wanted = pks.len();
    let rows: Vec<(i64, String)> = session::Entity::find()
        .select_only()
        .columns([session::Column::Id, session::Column::State])
        .filter(session::Column::Id.is_in(pks))
        .into_tuple()
        .all(db)
        .await?;
    if rows.len() != wanted {
        // Locked by this transaction: a row cannot go missing.
        return Err(StoreError::Corrupt(format!("{} of {wanted} locked sessions have no row", wanted - rows.len())));
    }
    rows.into_iter().map(|(pk, state)| Ok((pk, serde_json::from_str(&state)?))).collect()
}

/// A transaction of the ingest path: on PostgreSQL one whose new rows go in with `COPY` (see
/// [`super::pg_writer`]), elsewhere [`Store::begin_write`]'s. Rolled back if dropped uncommitted.
enum IngestTxn {
    Sea(DatabaseTransaction),
    Postgres(PgTxn),
}

impl IngestTxn {
    async fn begin(store: &Store) -> Result<Self, DbErr> {
        Ok(match store.backend() {
            DbBackend::Postgres => Self::Postgres(PgTxn::begin(store.writer.get_postgres_connection_pool()).await?),
            _ => Self::Sea(store.begin_write().await?),
        })
    }

    async fn commit(self) -> Result<(), DbErr> {
        match self {
            Self::Sea(txn) => txn.commit().await,
            Self::Postgres(txn) => txn.commit().await,
        }
    }

    /// The transaction for writes that read nothing back (not even how many rows they changed)
    /// and touch rows no other such write of the group touches: on PostgreSQL they are held
    /// back and sent as one statement with the next statement or the commit
    /// ([`PgTxn::defer`]); elsewhere they run at once. Reads through it run at once, after them.
    fn updates(&self) -> Updates<'_> {
        Updates(self)
    }

    /// Inserts new rows (none may conflict): with `COPY` on PostgreSQL, as [`insert_chunked`]
    /// elsewhere. Every row must set the same columns.
    async fn append<A: ActiveModelTrait + Send>(&self, rows: Vec<A>) -> Result<(), DbErr> {
        match self {
            Self::Sea(txn) => insert_chunked(txn, rows, None).await,
            Self::Postgres(txn) => txn.copy(rows).await,
        }
    }
}

#[async_trait]
impl ConnectionTrait for IngestTxn {
    fn get_database_backend(&self) -> DbBackend {
        match self {
            Self::Sea(txn) => txn.get_database_backend(),
            Self::Postgres(txn) => txn.get_database_backend(),
        }
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        match self {
            Self::Sea(txn) => txn.execute_raw(stmt).await,
            Self::Postgres(txn) => txn.execute_raw(stmt).await,
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        match self {
            Self::Sea(txn) => txn.execute_unprepared(sql).await,
            Self::Postgres(txn) => txn.execute_unprepared(sql).await,
        }
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        match self {
            Self::Sea(txn) => txn.query_one_raw(stmt).await,
            Self::Postgres(txn) => txn.query_one_raw(stmt).await,
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match self {
            Self::Sea(txn) => txn.query_all_raw(stmt).await,
            Self::Postgres(txn) => txn.query_all_raw(stmt).await,
        }
    }
}

/// See [`IngestTxn::updates`].
struct Updates<'t>(&'t IngestTxn);

#[async_trait]
impl ConnectionTrait for Updates<'_> {
    fn get_database_backend(&self) -> DbBackend {
        self.0.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        match self.0 {
            IngestTxn::Postgres(txn) => txn.defer(stmt).await,
            txn => txn.execute_raw(stmt).await,
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.0.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.0.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.0.query_all_raw(stmt).await
    }
}

/// Inserts new rows of a table keyed by `(tenant_id, external_id)` (sessions, users) in one
/// statement and returns each one's row id by that key (RETURNING order is unspecified).
async fn insert_returning_ids<A>(
    db: &impl ConnectionTrait,
    rows: Vec<A>,
) -> Result<Vec<((i64, String), i64)>, StoreError>
where
    A: ActiveModelTrait + Send,
{
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut insert = A::Entity::insert_many(rows).into_query();
    insert.returning(Query::returning().columns(["id", "tenant_id", "external_id"].map(Alias::new)));
    let rows = db.query_all(&insert).await?;
    rows.iter()
        .map(|row| Ok(((row.try_get("", "tenant_id")?, row.try_get("", "external_id")?), row.try_get("", "id")?)))
        .collect()
}

fn session_row(s: &SessionWork, owner_pk: Option<i64>, models: &Models) -> Result<session::ActiveModel, StoreError> {
    // The projection of the state after the session's last event: the session's own.
    let p = s.latest().expect("a session the group moved");
    let created_at_ms = s.stored.as_ref().map_or(s.first_now_ms.expect("accepted a batch"), |r| r.created_at_ms);
    Ok(session::ActiveModel {
        id: s.stored.as_ref().map_or(NotSet, |r| Set(r.id)),
        tenant_id: Set(s.tenant.id.get()),
        external_id: Set(s.external_id.to_owned()),
        created_at_ms: Set(created_at_ms),
        updated_at_ms: Set(s.state.last_interaction_at_ms.unwrap_or(s.last_now_ms)),
        event_count: Set(s.state.event_count as i64),
        label: Set(p.label.as_str().to_owned()),
        confidence: Set(p.confidence),
        action: Set(p.action.as_str().to_owned()),
        valence: Set(s.state.dims[0]),
        arousal: Set(s.state.dims[1]),
        tension: Set(s.state.dims[2]),
        affiliation: Set(s.state.dims[3]),
        signals: Set(serde_json::to_string(&p.signals)?),
        state: Set(serde_json::to_string(&s.state)?),
        model_version: Set(models.session.version.clone()),
        has_feedback: Set(s.stored.as_ref().is_some_and(|r| r.has_feedback)),
        user_id: Set(owner_pk),
    })
}

fn user_row(u: &UserWork, models: &Models) -> Result<user::ActiveModel, StoreError> {
    let updated_at_ms = u.stored.as_ref().map_or(u.created_at_ms, |r| r.updated_at_ms);
    Ok(user::ActiveModel {
        id: u.pk.map_or(NotSet, Set),
        tenant_id: Set(u.tenant_id),
        external_id: Set(u.external_id.clone()),
        created_at_ms: Set(u.created_at_ms),
        updated_at_ms: Set(u.state.last_interaction_at_ms.unwrap_or(updated_at_ms)),
        event_count: Set(u.state.event_count as i64),
        state: Set(serde_json::to_string(&u.state)?),
        model_version: Set(models.user.version.clone()),
    })
}

/// Sets the columns `events` and `user_history` share: the state after an event and why.
macro_rules! set_record_columns {
    ($row:ident, $r:expr, $model_version:expr) => {
        $row.valence = Set($r.dims[0]);
        $row.arousal = Set($r.dims[1]);
        $row.tension = Set($r.dims[2]);
        $row.affiliation = Set($r.dims[3]);
        $row.delta_valence = Set($r.delta[0]);
        $row.delta_arousal = Set($r.delta[1]);
        $row.delta_tension = Set($r.delta[2]);
        $row.delta_affiliation = Set($r.delta[3]);
        $row.label = Set($r.label.as_str().to_owned());
        $row.confidence = Set($r.confidence);
        $row.signals = Set(serde_json::to_string(&$r.signals)?);
        $row.trigger_reason = Set($r.trigger_reason.clone());
        $row.model_version = Set($model_version.to_owned());
    };
}

/// The row ingest stores for an event: the event, and the session's state after it (`r`).
pub fn event_row(
    tenant_id: i64,
    session_pk: i64,
    e: &NewEvent,
    received_at_ms: i64,
    r: &HistoryRecord,
    model_version: &str,
) -> Result<event::ActiveModel, StoreError> {
    let mut row = event::ActiveModel {
        tenant_id: Set(tenant_id),
        session_id: Set(session_pk),
        event_id: Set(e.event_id.clone()),
        ts_ms: Set(e.event.ts_ms),
        received_at_ms: Set(received_at_ms),
        kind: Set(e.event.kind.as_str().to_owned()),
        x: Set(e.event.x),
        y: Set(e.event.y),
        duration_ms: Set(e.event.duration_ms),
        speed: Set(e.event.speed),
        direction: Set(e.event.direction.map(|d| match d {
            ScrollDirection::Up => "up".to_owned(),
            ScrollDirection::Down => "down".to_owned(),
        })),
        url: Set(e.url.clone()),
        message: Set(e.message.clone()),
        ..Default::default()
    };
    set_record_columns!(row, r, model_version);
    Ok(row)
}

fn user_history_row(
    tenant_id: i64,
    user_pk: i64,
    session_pk: i64,
    r: &HistoryRecord,
    model_version: &str,
) -> Result<user_history::ActiveModel, StoreError> {
    let mut row = user_history::ActiveModel {
        tenant_id: Set(tenant_id),
        user_id: Set(user_pk),
        session_id: Set(session_pk),
        ts_ms: Set(r.ts_ms),
        kind: Set(r.trigger.as_str().to_owned()),
        ..Default::default()
    };
    set_record_columns!(row, r, model_version);
    Ok(row)
}
