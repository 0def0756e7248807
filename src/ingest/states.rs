//! The sessions an ingest lane wrote last, as it left them, kept so that its next group need not
//! read them back from the database: a 3.5 KB JSON state per session per group was half of a
//! group's locked read on the server and most of what PostgreSQL sent back for it, and on
//! PostgreSQL a group of kept sessions is written without reading anything (see
//! [`super::checked`]).
//!
//! Nothing here is trusted. The locked path still locks and reads each session's row and uses a
//! kept state only if the row's `event_count` is the one it was kept at; the checked path's one
//! statement changes nothing unless every row still has the count kept. Only ingest writes a
//! session's state, label and suggestion, every write adds at least one event, and row ids are
//! never reused (an identity on PostgreSQL, `AUTOINCREMENT` on SQLite), so a row id and an
//! event count name exactly one state: a write by another replica or lane, an erasure, a
//! rolled-back group all show as another count (or no row). (Feedback sets `has_feedback`
//! without an event; ingest writes that column only when it creates a session.)

use super::group::StoredSession;
use crate::engine::AffectState;
use std::collections::HashMap;

/// Sessions kept per lane: a few MB of states (~6 KB each in memory).
const CAPACITY: usize = 1024;

/// A session as a committed write left it: its row's columns ingest reads, and its state.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Kept {
    pub(super) row: StoredSession,
    pub(super) state: AffectState,
}

/// Kept sessions by tenant and external id, and how the checked way has fared with them; each
/// lane of the committer has its own.
#[derive(Debug, Default)]
pub(crate) struct SessionStates {
    kept: HashMap<(i64, String), Kept>,
    pub(super) backoff: Backoff,
}

/// When a lane tries the checked way ([`super::checked`]). A stand-down costs a round trip and
/// means another writer moved a session on: rare with one replica (a retried batch), the rule
/// where several write the same sessions, as behind a balancer that does not keep a session on
/// one replica. After each stand-down in a row the lane skips the checked way for twice as many
/// groups as before (1, 2, 4, … up to 64); a checked write that succeeds ends the run.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    skip: u32,
    next: u32,
}

impl Backoff {
    const MAX: u32 = 64;

    /// Whether to try the checked way for this group.
    pub(super) fn try_now(&mut self) -> bool {
        if self.skip == 0 {
            return true;
        }
        self.skip -= 1;
        false
    }

    pub(super) fn stood_down(&mut self) {
        self.skip = self.next.max(1);
        self.next = (self.skip * 2).min(Self::MAX);
    }

    pub(super) fn wrote(&mut self) {
        *self = Self::default();
    }
}

impl SessionStates {
    /// The state kept for the session, if it is the one row `pk` has with `event_count` events;
    /// taken out, since the group that asks will move it on (and [`Self::keep`] what it leaves).
    pub(super) fn take(&mut self, tenant_id: i64, external_id: &str, pk: i64, event_count: i64) -> Option<AffectState> {
        let kept = self.kept.remove(&(tenant_id, external_id.to_owned()))?;
        (kept.row.id == pk && kept.row.event_count == event_count).then_some(kept.state)
    }

    /// The session as kept, whatever the database holds now; taken out.
    pub(super) fn take_kept(&mut self, tenant_id: i64, external_id: &str) -> Option<Kept> {
        self.kept.remove(&(tenant_id, external_id.to_owned()))
    }

    /// The session as kept, if it is.
    pub(super) fn get(&self, tenant_id: i64, external_id: &str) -> Option<&Kept> {
        self.kept.get(&(tenant_id, external_id.to_owned()))
    }

    /// Keeps the session as a committed write left it.
    pub(super) fn keep(&mut self, tenant_id: i64, kept: Kept) {
        let key = (tenant_id, kept.row.external_id.clone());
        if self.kept.len() >= CAPACITY && !self.kept.contains_key(&key) {
            // Any one: sessions come back to a lane a few seconds apart or not for long.
            let evicted = self.kept.keys().next().expect("full").clone();
            self.kept.remove(&evicted);
        }
        self.kept.insert(key, kept);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Model;

    fn kept(pk: i64, external_id: &str, event_count: u64) -> Kept {
        let row = StoredSession {
            id: pk,
            external_id: external_id.to_owned(),
            created_at_ms: 0,
            event_count: event_count as i64,
            label: "neutral".into(),
            action: "no_action".into(),
            top_signal: "none".into(),
            has_feedback: false,
            user_id: None,
            model_version: "session-1".into(),
        };
        Kept { row, state: AffectState { event_count, ..AffectState::new(&Model::session_v1()) } }
    }

    #[test]
    fn a_state_is_given_only_for_the_row_and_count_it_was_kept_at() {
        let mut states = SessionStates::default();
        states.keep(1, kept(7, "s", 10));
        assert_eq!(states.take(1, "s", 7, 11), None, "another writer moved the session on");
        assert_eq!(states.take(1, "s", 7, 10), None, "a stale state is dropped, not kept for later");
        states.keep(1, kept(7, "s", 10));
        assert_eq!(states.take(1, "s", 8, 10), None, "the session was erased and made again");
        states.keep(1, kept(7, "s", 10));
        assert_eq!(states.take(2, "s", 7, 10), None, "another tenant's session of that name");
        assert_eq!(states.take(1, "s", 7, 10), Some(kept(7, "s", 10).state));
        assert_eq!(states.take(1, "s", 7, 10), None, "taken once");
    }

    #[test]
    fn stand_downs_in_a_row_skip_the_checked_way_longer_until_one_succeeds() {
        let mut backoff = Backoff::default();
        let tries = |backoff: &mut Backoff, groups: usize| (0..groups).filter(|_| backoff.try_now()).count();
        assert_eq!(tries(&mut backoff, 5), 5);
        let mut skipped = Vec::new();
        for _ in 0..9 {
            backoff.stood_down();
            let mut n = 0;
            while !backoff.try_now() {
                n += 1;
            }
            skipped.push(n);
        }
        assert_eq!(skipped, [1, 2, 4, 8, 16, 32, 64, 64, 64]);
        backoff.wrote();
        assert_eq!(tries(&mut backoff, 3), 3);
        backoff.stood_down();
        assert_eq!(tries(&mut backoff, 2), 1, "one skipped again after a success");
    }

    #[test]
    fn it_keeps_at_most_its_capacity() {
        let mut states = SessionStates::default();
        for pk in 0..(CAPACITY as i64 + 10) {
            states.keep(1, kept(pk, &format!("s{pk}"), 1));
        }
        assert_eq!(states.kept.len(), CAPACITY);
        let last = format!("s{}", CAPACITY + 9);
        states.keep(1, kept(CAPACITY as i64 + 9, &last, 2));
        assert_eq!(states.kept.len(), CAPACITY, "a kept session replaced, not added");
        assert_eq!(states.take_kept(1, &last), Some(kept(CAPACITY as i64 + 9, &last, 2)));
    }
}
