//! A group of batches in memory: the sessions and users they touch as stored before the group,
//! the rules each batch is accepted or refused by, and the engine run in arrival order. Pure:
//! [`super::load`] fills a group from the database and [`super::write`] stores what it did, so
//! the rules are tested here without one.

use super::states::Kept;
use super::{Ingested, Job};
use crate::domain::{NewEvent, QuotaMonth, Tenant, UserId};
use crate::engine::{AffectState, HistoryRecord, Models, Mood, SuggestedAction, apply_batch};
use crate::interventions::{Choice, Context, Reading};
use crate::store::{StoreError, sessions::parse_label};
use chrono::{DateTime, Utc};
use entity::user;
use sea_orm::FromQueryResult;
use std::collections::{BTreeMap, HashMap, HashSet};

/// A session as the group sees it: as stored before the group, then as its batches leave it.
pub(super) struct SessionWork<'a> {
    pub(super) tenant: &'a Tenant,
    pub(super) external_id: &'a str,
    pub(super) stored: Option<StoredSession>,
    /// Row id: stored, or given when the group inserts the session.
    pub(super) pk: Option<i64>,
    pub(super) state: AffectState,
    /// The model the state runs under: the one it was stored with, the current one if new.
    pub(super) model_version: String,
    /// The label before the group (`None`: a new session).
    pub(super) label_before: Option<Mood>,
    /// The suggestion before the group, in its context (`None`: a new session).
    pub(super) suggestion_before: Option<(Context, SuggestedAction)>,
    /// The latest event time before the group.
    pub(super) latest_before_ms: Option<i64>,
    /// Client event ids the session has, stored or added by the group.
    pub(super) seen: HashSet<String>,
    pub(super) owner: Option<usize>,
    /// The first of `records` made with `owner` linked (a batch of the group may link it).
    pub(super) owner_from: usize,
    /// The new events in the order applied, each with its receipt time; `records` holds the
    /// state after each, the last one the session's as the group leaves it.
    pub(super) events: Vec<(&'a NewEvent, i64)>,
    pub(super) records: Vec<HistoryRecord>,
    /// The suggestion for each record's state (its `action`), with its context and probability.
    pub(super) choices: Vec<(Context, Choice)>,
    /// When the group's first accepted batch arrived (a new session's creation time).
    pub(super) first_now_ms: Option<i64>,
    pub(super) last_now_ms: i64,
}

/// What a group reads of a stored session: the columns a write keeps or starts from (not, say,
/// the signals it replaces). The state comes from the lane's kept sessions
/// ([`super::states::SessionStates`]) if it has the one with `event_count` events, from the row
/// otherwise; the checked path takes all of it from there ([`super::checked`]).
#[derive(Clone, Debug, PartialEq, FromQueryResult)]
pub(crate) struct StoredSession {
    pub(super) id: i64,
    pub(super) external_id: String,
    pub(super) created_at_ms: i64,
    pub(super) event_count: i64,
    pub(super) label: String,
    pub(super) action: String,
    pub(super) top_signal: String,
    pub(super) has_feedback: bool,
    pub(super) user_id: Option<i64>,
    pub(super) model_version: String,
}

impl SessionWork<'_> {
    /// The record of the last event the group applied, if any.
    pub(super) fn latest(&self) -> Option<&HistoryRecord> {
        self.records.last()
    }

    /// Each time the group changed the session's suggestion or its context: a new suggestion.
    pub(super) fn new_suggestions(&self) -> impl Iterator<Item = (Context, SuggestedAction)> + '_ {
        let mut previous = self.suggestion_before;
        self.choices.iter().filter_map(move |(context, choice)| {
            let now = Some((*context, choice.action));
            (now != previous).then(|| {
                previous = now;
                (*context, choice.action)
            })
        })
    }
}

/// A user as the group sees it.
pub(super) struct UserWork {
    pub(super) tenant_id: i64,
    pub(super) external_id: String,
    pub(super) stored: Option<user::Model>,
    pub(super) pk: Option<i64>,
    pub(super) state: AffectState,
    /// As [`SessionWork::model_version`].
    pub(super) model_version: String,
    pub(super) created_at_ms: i64,
    /// The user's new history: (session in the group, record), in the order applied.
    pub(super) history: Vec<(usize, HistoryRecord)>,
}

#[derive(Default)]
pub(super) struct Group<'a> {
    pub(super) sessions: Vec<SessionWork<'a>>,
    pub(super) by_session: HashMap<(i64, &'a str), usize>,
    pub(super) users: Vec<UserWork>,
    pub(super) by_user: HashMap<(i64, String), usize>,
    /// New sessions each tenant may still create, per month; then how many the group creates.
    allowance: HashMap<(i64, QuotaMonth), i64>,
    pub(super) taken: BTreeMap<(i64, QuotaMonth), (&'a Tenant, i64)>,
}

impl<'a> Group<'a> {
    /// Adds a session in `state`: a stored one (its row), or a new one.
    pub(super) fn add_session(
        &mut self,
        models: &Models,
        tenant: &'a Tenant,
        external_id: &'a str,
        stored: Option<StoredSession>,
        state: AffectState,
    ) -> Result<usize, StoreError> {
        let label_before = stored.as_ref().map(|row| parse_label(&row.label)).transpose()?;
        let suggestion_before = match &stored {
            Some(row) => {
                let corrupt = || StoreError::Corrupt(format!("session {} suggestion", row.id));
                let context = Context::parse(&row.label, &row.top_signal).ok_or_else(corrupt)?;
                Some((context, row.action.parse().map_err(|()| corrupt())?))
            }
            None => None,
        };
        let model = stored.as_ref().map_or(&models.session, |row| models.session_for(&row.model_version));
        let index = self.sessions.len();
        self.by_session.insert((tenant.id.get(), external_id), index);
        self.sessions.push(SessionWork {
            tenant,
            external_id,
            pk: stored.as_ref().map(|r| r.id),
            latest_before_ms: state.last_interaction_at_ms,
            state,
            model_version: model.version.clone(),
            label_before,
            suggestion_before,
            stored,
            seen: HashSet::new(),
            owner: None,
            owner_from: 0,
            events: Vec::new(),
            records: Vec::new(),
            choices: Vec::new(),
            first_now_ms: None,
            last_now_ms: 0,
        });
        Ok(index)
    }

    /// Adds a stored user (its row).
    pub(super) fn add_stored_user(
        &mut self,
        models: &Models,
        tenant_id: i64,
        row: user::Model,
    ) -> Result<(), StoreError> {
        self.by_user.insert((tenant_id, row.external_id.clone()), self.users.len());
        self.users.push(UserWork {
            tenant_id,
            external_id: row.external_id.clone(),
            pk: Some(row.id),
            created_at_ms: row.created_at_ms,
            state: serde_json::from_str(&row.state)?,
            model_version: models.user_for(&row.model_version).version.clone(),
            stored: Some(row),
            history: Vec::new(),
        });
        Ok(())
    }

    /// Links each stored session to its stored owner, once both are added.
    pub(super) fn link_owners(&mut self) {
        for s in &mut self.sessions {
            let owner_pk = s.stored.as_ref().and_then(|r| r.user_id);
            s.owner = owner_pk.and_then(|pk| self.users.iter().position(|u| u.pk == Some(pk)));
        }
    }

    /// Whether the batch creates a session whose tenant's allowance for its month is not known
    /// yet.
    pub(super) fn needs_allowance(&self, job: &Job) -> bool {
        let tenant = job.tenant.id.get();
        !self.by_session.contains_key(&(tenant, job.session.as_str()))
            && !self.allowance.contains_key(&(tenant, QuotaMonth::containing(job.now)))
    }

    /// How many new sessions the tenant may still create in `month`.
    pub(super) fn allow(&mut self, tenant: &Tenant, month: QuotaMonth, left: i64) {
        self.allowance.insert((tenant.id.get(), month), left);
    }

    /// Applies one batch in memory, or refuses it without touching anything: event ids the
    /// session has (stored, or earlier in the group or the batch) are skipped as duplicates; a
    /// new session takes one of its tenant's allowance, refused once none is left; a batch that
    /// names another user than the session's owner is refused.
    pub(super) fn apply(&mut self, models: &Models, job: &'a Job) -> Result<Ingested, StoreError> {
        let key = (job.tenant.id.get(), job.session.as_str());
        let index = match self.by_session.get(&key) {
            Some(&i) => i,
            None => {
                let state = AffectState::new(&models.session);
                self.add_session(models, &job.tenant, job.session.as_str(), None, state)?
            }
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
        if s.owner.is_none() && owner.is_some() {
            s.owner_from = s.records.len();
        }
        s.owner = owner;
        let now_ms = job.now.timestamp_millis();
        s.first_now_ms.get_or_insert(now_ms);
        s.last_now_ms = now_ms;
        // Stable sort: apply_batch keeps this order, so records line up with `fresh`.
        fresh.sort_by_key(|e| e.event.ts_ms);
        let engine_events: Vec<_> = fresh.iter().map(|e| e.event.clone()).collect();
        let model = models.session_for(&s.model_version);
        for mut record in apply_batch(model, &mut s.state, &engine_events) {
            let context = Context::of(record.label, &record.signals);
            let choice =
                job.policy.draw(model, key.0, s.external_id, Reading { context, confidence: record.confidence });
            record.action = choice.action;
            s.records.push(record);
            s.choices.push((context, choice));
        }
        s.events.extend(fresh.iter().map(|e| (*e, now_ms)));
        let outcome = Ingested {
            events_stored: fresh.len(),
            duplicates,
            total_events: s.state.event_count as i64,
            mood: s.latest().expect("applied events").label,
        };
        if let Some(owner) = owner {
            let u = &mut self.users[owner];
            let records = apply_batch(models.user_for(&u.model_version), &mut u.state, &engine_events);
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
            model_version: models.user.version.clone(),
            created_at_ms: now.timestamp_millis(),
            history: Vec::new(),
        });
        self.by_user.insert(key, self.users.len() - 1);
        self.users.len() - 1
    }

    /// Each stored or written session as the group leaves it, by tenant, for the lane to keep
    /// once the group committed.
    pub(super) fn into_kept(self) -> Vec<(i64, Kept)> {
        let owners: Vec<Option<i64>> = self.sessions.iter().map(|s| s.owner.and_then(|u| self.users[u].pk)).collect();
        self.sessions
            .into_iter()
            .zip(owners)
            .filter_map(|(s, user_id)| {
                let row = match (s.pk, s.latest(), s.choices.last()) {
                    (Some(id), Some(record), Some((context, choice))) => StoredSession {
                        id,
                        external_id: s.external_id.to_owned(),
                        created_at_ms: s.stored.as_ref().map_or(s.first_now_ms?, |r| r.created_at_ms),
                        event_count: s.state.event_count as i64,
                        label: record.label.as_str().to_owned(),
                        action: choice.action.as_str().to_owned(),
                        top_signal: context.signal_str().to_owned(),
                        has_feedback: s.stored.as_ref().is_some_and(|r| r.has_feedback),
                        user_id,
                        model_version: s.model_version.clone(),
                    },
                    _ => s.stored?,
                };
                Some((s.tenant.id.get(), Kept { row, state: s.state }))
            })
            .collect()
    }

    /// The sessions the group moved, in key order.
    pub(super) fn moved_sessions(&self) -> Vec<&SessionWork<'a>> {
        let mut moved: Vec<&SessionWork> = self.sessions.iter().filter(|s| s.latest().is_some()).collect();
        moved.sort_by_key(|s| (s.tenant.id.get(), s.external_id));
        moved
    }
}

/// The rules a batch is accepted or refused by, on groups built in memory.
#[cfg(test)]
mod tests {
    use super::super::tests::{T0, event, now};
    use super::*;
    use crate::domain::{Plan, TenantId};
    use crate::engine::EventKind;

    fn tenant(id: i64) -> Tenant {
        Tenant { id: TenantId(id), plan: Plan::Starter }
    }

    /// A batch of clicks with these event ids, one second apart.
    fn job(tenant: &Tenant, session: &str, user: Option<&str>, ids: &[Option<&str>]) -> Job {
        let events = ids.iter().enumerate().map(|(i, id)| event(EventKind::Click, T0 + i as i64, *id)).collect();
        super::super::tests::job(tenant, session, user, events)
    }

    /// A stored session with `events` events at `label`, owned by the user row `owner`.
    fn stored(
        pk: i64,
        external_id: &str,
        events: u64,
        label: &str,
        owner: Option<i64>,
    ) -> (StoredSession, AffectState) {
        let row = StoredSession {
            id: pk,
            external_id: external_id.to_owned(),
            created_at_ms: 0,
            event_count: events as i64,
            label: label.to_owned(),
            action: label.parse::<Mood>().unwrap().action().as_str().to_owned(),
            top_signal: "none".to_owned(),
            has_feedback: false,
            user_id: owner,
            model_version: Models::default().session.version,
        };
        let state = AffectState { event_count: events, ..AffectState::new(&Models::default().session) };
        (row, state)
    }

    fn stored_user(pk: i64, tenant_id: i64, external_id: &str) -> user::Model {
        let state = AffectState::new(&Models::default().user);
        user::Model {
            id: pk,
            tenant_id,
            external_id: external_id.to_owned(),
            created_at_ms: 0,
            updated_at_ms: 0,
            event_count: 0,
            state: state.to_json(),
            model_version: Models::default().user.version,
        }
    }

    fn stored_counts(outcome: &Result<Ingested, StoreError>) -> (usize, usize, i64) {
        let i = outcome.as_ref().expect("accepted");
        (i.events_stored, i.duplicates, i.total_events)
    }

    #[test]
    fn event_ids_the_session_has_are_skipped_as_duplicates() {
        let (models, t) = (Models::default(), tenant(1));
        let (row, state) = stored(10, "s", 4, "browsing", None);
        let jobs = [
            job(&t, "s", None, &[Some("e1"), Some("e2"), Some("e2"), None]),
            job(&t, "s", None, &[Some("e2"), Some("e3")]),
            job(&t, "s", None, &[Some("e1"), Some("e3")]),
        ];
        let mut group = Group::default();
        let s = group.add_session(&models, &t, "s", Some(row), state).unwrap();
        group.sessions[s].seen.insert("e1".into());
        let outcomes: Vec<_> = jobs.iter().map(|j| group.apply(&models, j)).collect();
        assert_eq!(stored_counts(&outcomes[0]), (2, 2, 6), "e1 stored before, e2 twice in the batch");
        assert_eq!(stored_counts(&outcomes[1]), (1, 1, 7), "e2 earlier in the group");
        let all_known = outcomes[2].as_ref().unwrap();
        assert_eq!((all_known.events_stored, all_known.duplicates, all_known.total_events), (0, 2, 7));
        assert_eq!(all_known.mood, outcomes[1].as_ref().unwrap().mood, "the mood the group left it at");
        assert_eq!(group.sessions[s].events.len(), 3);
    }

    #[test]
    fn a_batch_of_known_events_answers_the_stored_mood() {
        let (models, t) = (Models::default(), tenant(1));
        let (row, state) = stored(10, "s", 9, "focused", None);
        let repeat = job(&t, "s", None, &[Some("e1")]);
        let mut group = Group::default();
        let s = group.add_session(&models, &t, "s", Some(row), state).unwrap();
        group.sessions[s].seen.insert("e1".into());
        let outcome = group.apply(&models, &repeat).unwrap();
        assert_eq!(outcome, Ingested { events_stored: 0, duplicates: 1, total_events: 9, mood: Mood::Focused });
        assert!(group.moved_sessions().is_empty(), "nothing to write");
    }

    #[test]
    fn new_sessions_take_the_allowance_once_each_until_none_is_left() {
        let (models, t) = (Models::default(), tenant(1));
        let (row, state) = stored(10, "old", 3, "neutral", None);
        let jobs = [
            job(&t, "a", None, &[None]),
            job(&t, "a", None, &[None]),
            job(&t, "b", None, &[None]),
            job(&t, "old", None, &[None]),
        ];
        let mut group = Group::default();
        group.add_session(&models, &t, "old", Some(row), state).unwrap();
        assert!(group.needs_allowance(&jobs[0]) && !group.needs_allowance(&jobs[3]));
        let month = QuotaMonth::containing(now());
        group.allow(&t, month, 1);
        assert!(!group.needs_allowance(&jobs[2]), "known for the tenant's month");
        let outcomes: Vec<_> = jobs.iter().map(|j| group.apply(&models, j)).collect();
        assert_eq!(stored_counts(&outcomes[0]), (1, 0, 1));
        assert_eq!(stored_counts(&outcomes[1]), (1, 0, 2), "the same new session again: no second take");
        match &outcomes[2] {
            Err(StoreError::QuotaExceeded { plan, limit, reset_at }) => {
                assert_eq!((*plan, *limit, *reset_at), (Plan::Starter, 5_000, month.reset_at()));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(stored_counts(&outcomes[3]), (1, 0, 4), "a stored session needs no allowance");
        assert_eq!(group.taken.values().map(|(_, n)| *n).collect::<Vec<_>>(), [1]);
        let moved: Vec<&str> = group.moved_sessions().iter().map(|s| s.external_id).collect();
        assert_eq!(moved, ["a", "old"], "the refused session is not written");
    }

    #[test]
    fn a_session_stays_with_its_user() {
        let (models, t) = (Models::default(), tenant(1));
        let (row, state) = stored(10, "owned", 3, "neutral", Some(7));
        let jobs = [
            job(&t, "owned", Some("bob"), &[None]),
            job(&t, "owned", Some("ann"), &[None]),
            job(&t, "owned", None, &[None]),
        ];
        let mut group = Group::default();
        group.add_session(&models, &t, "owned", Some(row), state).unwrap();
        group.add_stored_user(&models, 1, stored_user(7, 1, "ann")).unwrap();
        group.link_owners();
        let outcomes: Vec<_> = jobs.iter().map(|j| group.apply(&models, j)).collect();
        assert!(matches!(outcomes[0], Err(StoreError::UserConflict)), "{:?}", outcomes[0]);
        assert_eq!(stored_counts(&outcomes[1]), (1, 0, 4));
        assert_eq!(stored_counts(&outcomes[2]), (1, 0, 5), "a batch naming nobody goes to the owner too");
        assert_eq!(group.users.len(), 1);
        assert_eq!(group.users[0].history.len(), 2, "the refused batch reached nobody");
    }

    #[test]
    fn new_sessions_naming_a_new_user_share_them() {
        let (models, t, u) = (Models::default(), tenant(1), tenant(2));
        let jobs = [
            job(&t, "a", Some("zoe"), &[None, None]),
            job(&t, "b", Some("zoe"), &[None]),
            job(&u, "a", Some("zoe"), &[None]),
        ];
        let mut group = Group::default();
        for tenant in [&t, &u] {
            group.allow(tenant, QuotaMonth::containing(now()), 10);
        }
        for j in &jobs {
            group.apply(&models, j).unwrap();
        }
        let users: Vec<(i64, &str, bool, usize)> = group
            .users
            .iter()
            .map(|u| (u.tenant_id, u.external_id.as_str(), u.stored.is_none(), u.history.len()))
            .collect();
        assert_eq!(users, [(1, "zoe", true, 3), (2, "zoe", true, 1)], "one person per tenant");
    }
}
