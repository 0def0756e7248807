//! A session's mood history: its events, each with the state right after it, newest first.

use super::{Store, StoreError, sessions};
use crate::domain::{SessionId, Tenant};
use crate::engine::Signal;
use entity::event::{self, Column};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// The state after one event and what the event did.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryEntry {
    /// Position in the session's log; pages continue before it.
    pub cursor: i64,
    pub ts_ms: i64,
    pub trigger_type: String,
    pub trigger_reason: String,
    /// (valence, arousal, tension, affiliation) after the event.
    pub dims: [f64; 4],
    pub delta: [f64; 4],
    pub label: String,
    pub confidence: f64,
    pub signals: Vec<Signal>,
}

/// A [`HistoryEntry`] from a row of `events` or `user_history`, which share these columns.
macro_rules! history_entry {
    ($r:expr) => {{
        let r = $r;
        Ok(HistoryEntry {
            cursor: r.id,
            ts_ms: r.ts_ms,
            trigger_type: r.kind,
            trigger_reason: r.trigger_reason,
            dims: [r.valence, r.arousal, r.tension, r.affiliation],
            delta: [r.delta_valence, r.delta_arousal, r.delta_tension, r.delta_affiliation],
            label: r.label,
            confidence: r.confidence,
            signals: serde_json::from_str(&r.signals)?,
        })
    }};
}
pub(super) use history_entry;

/// One page of history, and where the next (older) page starts.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryPage {
    pub entries: Vec<HistoryEntry>,
    pub next: Option<i64>,
}

/// Up to `limit` entries in the order events were applied, newest first, strictly before the
/// cursor `before`. Walking by position means new events never shift a page: nothing is
/// skipped or repeated while a session keeps receiving events. `None`: no such session.
pub async fn page(
    store: &Store,
    tenant: &Tenant,
    id: &SessionId,
    limit: u64,
    before: Option<i64>,
) -> Result<Option<HistoryPage>, StoreError> {
    let Some(session_pk) = sessions::pk(store, tenant, id).await? else { return Ok(None) };
    let mut query = event::Entity::find().filter(Column::SessionId.eq(session_pk));
    if let Some(before) = before {
        query = query.filter(Column::Id.lt(before));
    }
    let rows = query.order_by_desc(Column::Id).limit(limit + 1).all(store.reader()).await?;
    page_of(rows, limit, |r| history_entry!(r)).map(Some)
}

/// Cuts `limit + 1` rows read for a page of `limit` to the page; whether there is more.
pub(super) fn trim_page<R>(rows: &mut Vec<R>, limit: u64) -> bool {
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    more
}

/// A page from up to `limit + 1` rows read newest first: the extra row only says there is more.
pub(super) fn page_of<R>(
    mut rows: Vec<R>,
    limit: u64,
    entry: impl Fn(R) -> Result<HistoryEntry, StoreError>,
) -> Result<HistoryPage, StoreError> {
    let more = trim_page(&mut rows, limit);
    let entries: Vec<HistoryEntry> = rows.into_iter().map(entry).collect::<Result<_, _>>()?;
    let next = if more { entries.last().map(|e| e.cursor) } else { None };
    Ok(HistoryPage { entries, next })
}
