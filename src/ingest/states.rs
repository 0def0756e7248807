//! The engine states an ingest lane wrote last, kept so that its next group need not read them
//! back from the database and parse them: a 3.5 KB JSON state per session per group was half of
//! a group's locked read on the server and most of what PostgreSQL sent back for it.
//!
//! Nothing here is trusted: a group still locks and reads each session's row, and uses a kept
//! state only if the row's `event_count` is the one the state was kept at. Only ingest writes
//! a session's state, every write adds at least one event, and row ids are never reused (an
//! identity on PostgreSQL, `AUTOINCREMENT` on SQLite), so a row id and an event count name
//! exactly one state: a write by another replica or lane, an erasure, a rolled-back group all
//! show as another count (or no row) and the state is read from the row as before.

use crate::engine::AffectState;
use std::collections::HashMap;

/// Sessions kept per lane: a few MB of states (~6 KB each in memory).
const CAPACITY: usize = 1024;

/// States by session row id; each lane of the committer has its own.
#[derive(Debug, Default)]
pub(crate) struct SessionStates(HashMap<i64, AffectState>);

impl SessionStates {
    /// The state kept for the session, if it is the one with `event_count` events; taken out,
    /// since the group that asks will move it on (and [`Self::keep`] what it leaves).
    pub(super) fn take(&mut self, session_pk: i64, event_count: i64) -> Option<AffectState> {
        let state = self.0.remove(&session_pk)?;
        (state.event_count as i64 == event_count).then_some(state)
    }

    /// Keeps the state a committed write left the session in.
    pub(super) fn keep(&mut self, session_pk: i64, state: AffectState) {
        if self.0.len() >= CAPACITY && !self.0.contains_key(&session_pk) {
            // Any one: sessions come back to a lane a few seconds apart or not for long.
            let evicted = *self.0.keys().next().expect("full");
            self.0.remove(&evicted);
        }
        self.0.insert(session_pk, state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Model;

    fn state(event_count: u64) -> AffectState {
        AffectState { event_count, ..AffectState::new(&Model::session_v1()) }
    }

    #[test]
    fn a_state_is_given_only_at_the_count_it_was_kept_at() {
        let mut states = SessionStates::default();
        states.keep(7, state(10));
        assert_eq!(states.take(7, 11), None, "another writer moved the session on");
        assert_eq!(states.take(7, 10), None, "a stale state is dropped, not kept for later");
        states.keep(7, state(10));
        assert_eq!(states.take(7, 10), Some(state(10)));
        assert_eq!(states.take(7, 10), None, "taken once");
        assert_eq!(states.take(8, 0), None);
    }

    #[test]
    fn it_keeps_at_most_its_capacity() {
        let mut states = SessionStates::default();
        for pk in 0..(CAPACITY as i64 + 10) {
            states.keep(pk, state(1));
        }
        assert_eq!(states.0.len(), CAPACITY);
        states.keep(CAPACITY as i64 + 9, state(2));
        assert_eq!(states.0.len(), CAPACITY, "a kept session replaced, not added");
        assert_eq!(states.take(CAPACITY as i64 + 9, 2), Some(state(2)));
    }
}
