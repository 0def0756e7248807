//! The models a deployment runs, by version.

use super::Model;

/// The models a deployment runs: the current one per session and per person, which new
/// sessions and people get, and the others a stored state may name or `--session-model` may
/// choose. A state keeps the model it started under, so it goes on answering exactly as it did
/// when the current model changes.
#[derive(Clone, Debug, PartialEq)]
pub struct Models {
    pub session: Model,
    pub user: Model,
    /// Session models that are not current: kept for the states written under them, and to be
    /// chosen for new sessions.
    pub other_sessions: Vec<Model>,
    /// Likewise for people.
    pub other_users: Vec<Model>,
}

impl Default for Models {
    fn default() -> Self {
        Self {
            // The first to meet every target on held-out seeds and read every scenario as
            // labelled (benches/MODEL.md); the others answer the states stored under them.
            session: Model::session_v4(),
            user: Model::user_v1(),
            other_sessions: vec![Model::session_v1(), Model::session_v2(), Model::session_v3()],
            other_users: Vec::new(),
        }
    }
}

impl Models {
    /// The session model a stored state names; the current one for a version this build does not
    /// know (a state written by a newer build, read after a rollback).
    pub fn session_for(&self, version: &str) -> &Model {
        find(&self.session, &self.other_sessions, version)
    }

    /// The person-level model a stored state names, as [`Models::session_for`].
    pub fn user_for(&self, version: &str) -> &Model {
        find(&self.user, &self.other_users, version)
    }

    /// Whether `version` names a session model this build knows.
    pub fn knows_session(&self, version: &str) -> bool {
        self.session_for(version).version == version
    }

    /// Every session model, the current one first.
    pub fn sessions(&self) -> impl Iterator<Item = &Model> {
        std::iter::once(&self.session).chain(&self.other_sessions)
    }

    /// These models with new sessions starting under `version`, if it is one of them.
    pub fn with_session(mut self, version: &str) -> Option<Self> {
        if self.session.version == version {
            return Some(self);
        }
        let at = self.other_sessions.iter().position(|m| m.version == version)?;
        let chosen = self.other_sessions.remove(at);
        self.other_sessions.insert(0, std::mem::replace(&mut self.session, chosen));
        Some(self)
    }
}

fn find<'m>(current: &'m Model, earlier: &'m [Model], version: &str) -> &'m Model {
    earlier.iter().find(|m| m.version == version).unwrap_or(current)
}
