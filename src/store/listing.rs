//! Lists for browsing a tenant's data page by page: its sessions, most recently active first,
//! and a session's feedback.

use super::history::trim_page;
use super::sessions::{self, parse_action, parse_label, signal_ids};
use super::{Store, StoreError};
use crate::domain::{SessionId, Tenant};
use crate::engine::{Mood, SignalId, SuggestedAction};
use entity::{feedback, session, user};
use sea_orm::{ColumnTrait, Condition, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;

/// Which sessions to list.
#[derive(Clone, Debug, Default)]
pub struct SessionFilter {
    pub mood: Option<Mood>,
    /// Latest event at or after this time (ms).
    pub active_from_ms: Option<i64>,
    /// Latest event before this time (ms).
    pub active_to_ms: Option<i64>,
}

/// Where a page of sessions ends: the last session's activity time and row id. The next page
/// starts strictly after it in the listing's order, so a walk never repeats a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionCursor {
    pub updated_at_ms: i64,
    pub pk: i64,
}

impl SessionCursor {
    /// `<updated_at_ms>_<pk>`, as the API hands it out.
    pub fn encode(&self) -> String {
        format!("{}_{}", self.updated_at_ms, self.pk)
    }

    pub fn decode(raw: &str) -> Option<Self> {
        let (t, pk) = raw.split_once('_')?;
        let digits = |s: &str| !s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit());
        if !(digits(t) && digits(pk)) {
            return None;
        }
        Some(Self { updated_at_ms: t.parse().ok()?, pk: pk.parse().ok()? })
    }
}

/// One session as listed.
#[derive(Clone, Debug, PartialEq)]
pub struct ListedSession {
    pub session_id: String,
    pub user_id: Option<String>,
    pub label: Mood,
    pub confidence: f64,
    /// The strongest signal first.
    pub signals: Vec<SignalId>,
    /// The suggestion stored with the state (see [`crate::policies::Policies::revise`]).
    pub action: SuggestedAction,
    pub event_count: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub has_feedback: bool,
    /// The session model its state runs under.
    pub model_version: String,
}

#[derive(FromQueryResult)]
struct SessionRow {
    id: i64,
    external_id: String,
    user_id: Option<i64>,
    label: String,
    confidence: f64,
    signals: String,
    action: String,
    event_count: i64,
    created_at_ms: i64,
    updated_at_ms: i64,
    has_feedback: bool,
    model_version: String,
}

/// Up to `limit` of the tenant's sessions matching `filter`, latest activity first (ties by
/// newest row), starting after `after`; and the cursor of the next page when there may be one.
/// Reads the `(tenant, updated_at)` index from its newest end.
pub async fn sessions(
    store: &Store,
    tenant: &Tenant,
    filter: &SessionFilter,
    after: Option<SessionCursor>,
    limit: u64,
) -> Result<(Vec<ListedSession>, Option<SessionCursor>), StoreError> {
    use session::Column as C;
    let mut query = session::Entity::find()
        .select_only()
        .columns([C::Id, C::ExternalId, C::UserId, C::Label, C::Confidence, C::Signals, C::Action])
        .columns([C::EventCount, C::CreatedAtMs, C::UpdatedAtMs, C::HasFeedback, C::ModelVersion])
        .filter(C::TenantId.eq(tenant.id.get()));
    if let Some(mood) = filter.mood {
        query = query.filter(C::Label.eq(mood.as_str()));
    }
    if let Some(from) = filter.active_from_ms {
        query = query.filter(C::UpdatedAtMs.gte(from));
    }
    if let Some(to) = filter.active_to_ms {
        query = query.filter(C::UpdatedAtMs.lt(to));
    }
    if let Some(c) = after {
        query = query.filter(C::UpdatedAtMs.lte(c.updated_at_ms)).filter(
            Condition::any()
                .add(C::UpdatedAtMs.lt(c.updated_at_ms))
                .add(Condition::all().add(C::UpdatedAtMs.eq(c.updated_at_ms)).add(C::Id.lt(c.pk))),
        );
    }
    let mut rows = query
        .order_by_desc(C::UpdatedAtMs)
        .order_by_desc(C::Id)
        .limit(limit + 1)
        .into_model::<SessionRow>()
        .all(store.reader())
        .await?;
    let more = trim_page(&mut rows, limit);
    let next = rows.last().filter(|_| more).map(|r| SessionCursor { updated_at_ms: r.updated_at_ms, pk: r.id });
    let users = user_ids(store, rows.iter().filter_map(|r| r.user_id)).await?;
    let listed = rows
        .into_iter()
        .map(|r| {
            Ok(ListedSession {
                user_id: r.user_id.and_then(|pk| users.get(&pk).cloned()),
                label: parse_label(&r.label)?,
                confidence: r.confidence,
                signals: signal_ids(&r.signals)?,
                action: parse_action(&r.action)?,
                session_id: r.external_id,
                event_count: r.event_count,
                created_at_ms: r.created_at_ms,
                updated_at_ms: r.updated_at_ms,
                has_feedback: r.has_feedback,
                model_version: r.model_version,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok((listed, next))
}

/// The client ids of these users, by row id.
async fn user_ids(store: &Store, pks: impl Iterator<Item = i64>) -> Result<HashMap<i64, String>, StoreError> {
    let mut pks: Vec<i64> = pks.collect();
    pks.sort_unstable();
    pks.dedup();
    if pks.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, String)> = user::Entity::find()
        .select_only()
        .columns([user::Column::Id, user::Column::ExternalId])
        .filter(user::Column::Id.is_in(pks))
        .into_tuple()
        .all(store.reader())
        .await?;
    Ok(rows.into_iter().collect())
}

/// One feedback record as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct ListedFeedback {
    pub action_taken: String,
    pub was_helpful: Option<bool>,
    pub notes: Option<String>,
    /// The mood and confidence the feedback answered.
    pub mood: Mood,
    pub confidence: f64,
    pub created_at_ms: i64,
}

/// A page of a session's feedback, newest first: `None` when the tenant has no such session.
/// Pages as history does: `before` is the previous page's cursor (a row id).
pub async fn feedback(
    store: &Store,
    tenant: &Tenant,
    id: &SessionId,
    limit: u64,
    before: Option<i64>,
) -> Result<Option<(Vec<ListedFeedback>, Option<i64>)>, StoreError> {
    use feedback::Column as F;
    let Some(session) = sessions::pk(store, tenant, id).await? else { return Ok(None) };
    let mut query = feedback::Entity::find().filter(F::TenantId.eq(tenant.id.get())).filter(F::SessionId.eq(session));
    if let Some(before) = before {
        query = query.filter(F::Id.lt(before));
    }
    let mut rows = query.order_by_desc(F::Id).limit(limit + 1).all(store.reader()).await?;
    let more = trim_page(&mut rows, limit);
    let next = rows.last().filter(|_| more).map(|r| r.id);
    let listed = rows
        .into_iter()
        .map(|r| {
            Ok(ListedFeedback {
                mood: parse_label(&r.mood)?,
                action_taken: r.action_taken,
                was_helpful: r.was_helpful,
                notes: r.notes,
                confidence: r.confidence,
                created_at_ms: r.created_at_ms,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(Some((listed, next)))
}

#[cfg(test)]
mod tests {
    use super::SessionCursor;

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        let c = SessionCursor { updated_at_ms: 1_777_888_800_123, pk: 42 };
        assert_eq!(SessionCursor::decode(&c.encode()), Some(c));
        for bad in ["", "_", "1_", "_1", "1-2", "a_1", "1_2_3", "-1_2", "1234567890123456789_1", " 1_2"] {
            assert_eq!(SessionCursor::decode(bad), None, "{bad:?}");
        }
    }
}
