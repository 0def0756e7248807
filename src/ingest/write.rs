//! Storing what a group did, as few multi-row statements: new users, sessions, events, user
//! histories, then the updates of stored sessions, slots, users and rollup counts, and quota.

use super::group::{Group, SessionWork, UserWork};
use crate::domain::NewEvent;
use crate::engine::{HistoryRecord, ScrollDirection};
use crate::interventions::Choice;
use crate::push;
use crate::store::bulk::BulkTxn;
use crate::store::interventions::{self, Tally};
use crate::store::rollup::{self, Change};
use crate::store::timeline::{self, SlotUpdate};
use crate::store::{StoreError, insert_chunked, outbox, quota};
use entity::{event, session, user, user_history};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::{Alias, ArrayType, OnConflict, Query, Value};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbBackend, EntityTrait, IdenStatic, QueryTrait, Statement};

impl<'a> Group<'a> {
    /// Writes what the accepted batches did, each kind of row as few multi-row statements, with
    /// the outbox messages announcing it. The updates read nothing back and each touches its
    /// own rows, so on PostgreSQL they go as one statement ([`BulkTxn::updates`]). Returns how
    /// many messages were written.
    pub(super) async fn write(&mut self, db: &BulkTxn) -> Result<usize, StoreError> {
        self.insert_new_users(db).await?;
        self.insert_new_sessions(db).await?;
        let moved = self.moved_sessions();
        let mut events = Vec::new();
        for s in &moved {
            let pk = s.pk.expect("written above");
            for (((e, received_at_ms), r), (_, choice)) in s.events.iter().zip(&s.records).zip(&s.choices) {
                events.push(event_row(s.tenant.id.get(), pk, e, *received_at_ms, r, choice, &s.model_version)?);
            }
        }
        db.append(events).await?;
        db.append(self.user_history_rows()?).await?;

        self.update_stored_sessions(db, &moved).await?;
        let updates = db.updates();
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
        self.update_stored_users(&updates).await?;
        rollup::apply_many(
            &updates,
            moved.iter().map(|s| {
                let enter = s.latest().map(|r| r.label);
                (s.tenant.id, s.pk.expect("written above"), Change { leave: s.label_before, enter, feedback: 0 })
            }),
        )
        .await?;
        interventions::add(
            &updates,
            moved.iter().flat_map(|s| {
                let (tenant, pk) = (s.tenant.id, s.pk.expect("written above"));
                s.new_suggestions().map(move |(context, action)| Tally::suggested(tenant, pk, context, action))
            }),
        )
        .await?;
        let announcements = self.announcements(&moved)?;
        let announced = announcements.len();
        outbox::append(&updates, announcements).await?;
        // The rows every writer for the tenant shares go last, locked for as short a time as
        // possible: rollup counts above, the quota counter here (a refusal rolls all back).
        for ((_, month), (tenant, n)) in &self.taken {
            quota::take(db, tenant, *month, *n).await?;
        }
        Ok(announced)
    }

    /// The outbox messages for what the group did: each session's start, and each change of
    /// its label, event by event (so they do not depend on how batches were grouped).
    fn announcements(&self, moved: &[&SessionWork<'a>]) -> Result<Vec<entity::outbox::ActiveModel>, StoreError> {
        let mut rows = Vec::new();
        for s in moved {
            let pk = s.pk.expect("written above");
            let owner = s.owner.map(|u| self.users[u].external_id.as_str());
            let mut before = s.label_before;
            let count_before = s.state.event_count as i64 - s.records.len() as i64;
            for (i, (r, (_, received_at_ms))) in s.records.iter().zip(&s.events).enumerate() {
                let user = owner.filter(|_| i >= s.owner_from);
                if let Some((kind, change)) =
                    push::Change::of(s.external_id, user, before, r, count_before + 1 + i as i64)
                {
                    rows.push(outbox::row(s.tenant.id.get(), pk, kind, &change, *received_at_ms)?);
                }
                before = Some(r.label);
            }
        }
        Ok(rows)
    }

    async fn insert_new_users(&mut self, db: &impl ConnectionTrait) -> Result<(), StoreError> {
        // In key order, as every writer inserts them, so that two creating the same users wait
        // for each other instead of deadlocking.
        let mut new: Vec<&UserWork> = self.users.iter().filter(|u| u.stored.is_none()).collect();
        new.sort_by_key(|u| (u.tenant_id, &u.external_id));
        let rows = new.into_iter().map(user_row).collect::<Result<Vec<_>, StoreError>>()?;
        for (key, pk) in insert_returning_ids(db, rows).await? {
            self.users[self.by_user[&key]].pk = Some(pk);
        }
        Ok(())
    }

    /// The session's row as the group leaves it, with its owner's row id.
    fn row_of(&self, s: &SessionWork) -> Result<session::ActiveModel, StoreError> {
        let owner_pk = s.owner.map(|u| self.users[u].pk.expect("users are written first"));
        session_row(s, owner_pk)
    }

    /// Inserts the new sessions, taking their row ids: in key order, as every writer inserts
    /// them, so that two creating the same sessions wait for each other instead of deadlocking.
    async fn insert_new_sessions(&mut self, db: &impl ConnectionTrait) -> Result<(), StoreError> {
        let new = self.moved_sessions().into_iter().filter(|s| s.stored.is_none());
        let rows = new.map(|s| self.row_of(s)).collect::<Result<Vec<_>, _>>()?;
        for ((tenant_id, external_id), pk) in insert_returning_ids(db, rows).await? {
            self.sessions[self.by_session[&(tenant_id, external_id.as_str())]].pk = Some(pk);
        }
        Ok(())
    }

    /// Updates the stored sessions among those the group `moved`; in a checked write, only
    /// where each row still has the event count the group started from and none of the event
    /// ids it adds ([`BulkTxn::checked`]).
    async fn update_stored_sessions(&self, db: &BulkTxn, moved: &[&SessionWork<'a>]) -> Result<(), StoreError> {
        let stored: Vec<&SessionWork> = moved.iter().copied().filter(|s| s.stored.is_some()).collect();
        let rows = stored.iter().map(|s| self.row_of(s)).collect::<Result<Vec<_>, _>>()?;
        if let Some(one) = db.as_checked() {
            // With nothing to check, the statement refuses whatever else it holds.
            if !rows.is_empty() {
                let n = rows.len();
                one.check(checked_update(stored.iter().zip(rows)), n);
            }
            return Ok(());
        }
        let update = OnConflict::column(session::Column::Id).update_columns(UPDATED).to_owned();
        insert_chunked(&db.updates(), rows, Some(&update)).await?;
        Ok(())
    }

    /// Updates the stored users the group moved.
    async fn update_stored_users(&self, db: &impl ConnectionTrait) -> Result<(), StoreError> {
        let moved: Vec<user::ActiveModel> = self
            .users
            .iter()
            .filter(|u| u.stored.is_some() && !u.history.is_empty())
            .map(user_row)
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
    fn user_history_rows(&self) -> Result<Vec<user_history::ActiveModel>, StoreError> {
        let mut history = Vec::new();
        for u in &self.users {
            let user_pk = u.pk.expect("users are written first");
            for (session, r) in &u.history {
                let session_pk = self.sessions[*session].pk.expect("sessions are written first");
                history.push(user_history_row(u.tenant_id, user_pk, session_pk, r, &u.model_version)?);
            }
        }
        Ok(history)
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

/// The columns of a stored session a group's write changes.
const UPDATED: [session::Column; 14] = {
    use session::Column as C;
    [
        C::UpdatedAtMs,
        C::EventCount,
        C::Label,
        C::Confidence,
        C::Action,
        C::TopSignal,
        C::Valence,
        C::Arousal,
        C::Tension,
        C::Affiliation,
        C::Signals,
        C::State,
        C::ModelVersion,
        C::UserId,
    ]
};

/// The update of stored sessions to `rows` (PostgreSQL) where each row still has the event count
/// its session had before the group and none of the event ids the group adds to it, returning
/// the ids of the rows it changed.
fn checked_update<'s>(rows: impl Iterator<Item = (&'s &'s SessionWork<'s>, session::ActiveModel)>) -> Statement {
    let names: Vec<&str> = UPDATED.iter().map(|c| c.as_str()).collect();
    let mut values: Vec<Value> = Vec::new();
    let mut tuples = Vec::new();
    for (s, row) in rows {
        let stored = s.stored.as_ref().expect("a stored session");
        let ids: Vec<Value> = s.events.iter().filter_map(|(e, _)| e.event_id.clone()).map(Value::from).collect();
        let given = [stored.id.into(), stored.event_count.into(), Value::Array(ArrayType::String, Some(Box::new(ids)))];
        let first = values.len() + 1;
        values.extend(given);
        values.extend(UPDATED.iter().map(|c| row.get(*c).into_value().expect("every updated column is set")));
        let placeholders: Vec<String> = (first..=values.len()).map(|i| format!("${i}")).collect();
        tuples.push(format!("({})", placeholders.join(", ")));
    }
    let set: Vec<String> = names.iter().map(|c| format!("\"{c}\" = v.\"{c}\"")).collect();
    let columns: Vec<String> = names.iter().map(|c| format!("\"{c}\"")).collect();
    let sql = format!(
        "UPDATE \"sessions\" AS s SET {} FROM (VALUES {}) AS v(\"id\", \"expected\", \"event_ids\", {}) \
         WHERE s.\"id\" = v.\"id\" AND s.\"event_count\" = v.\"expected\" AND NOT EXISTS \
         (SELECT 1 FROM \"events\" AS e WHERE e.\"session_id\" = v.\"id\" AND e.\"event_id\" = ANY(v.\"event_ids\")) \
         RETURNING s.\"id\"",
        set.join(", "),
        tuples.join(", "),
        columns.join(", ")
    );
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

fn session_row(s: &SessionWork, owner_pk: Option<i64>) -> Result<session::ActiveModel, StoreError> {
    // The projection of the state after the session's last event: the session's own.
    let p = s.latest().expect("a session the group moved");
    let (context, _) = s.choices.last().expect("a choice per record");
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
        top_signal: Set(context.signal_str().to_owned()),
        valence: Set(s.state.dims[0]),
        arousal: Set(s.state.dims[1]),
        tension: Set(s.state.dims[2]),
        affiliation: Set(s.state.dims[3]),
        signals: Set(serde_json::to_string(&p.signals)?),
        state: Set(s.state.to_json()),
        model_version: Set(s.model_version.clone()),
        has_feedback: Set(s.stored.as_ref().is_some_and(|r| r.has_feedback)),
        user_id: Set(owner_pk),
    })
}

fn user_row(u: &UserWork) -> Result<user::ActiveModel, StoreError> {
    let updated_at_ms = u.stored.as_ref().map_or(u.created_at_ms, |r| r.updated_at_ms);
    Ok(user::ActiveModel {
        id: u.pk.map_or(NotSet, Set),
        tenant_id: Set(u.tenant_id),
        external_id: Set(u.external_id.clone()),
        created_at_ms: Set(u.created_at_ms),
        updated_at_ms: Set(u.state.last_interaction_at_ms.unwrap_or(updated_at_ms)),
        event_count: Set(u.state.event_count as i64),
        state: Set(u.state.to_json()),
        model_version: Set(u.model_version.clone()),
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

/// The row ingest stores for an event: the event, the session's state after it (`r`) and the
/// suggestion for that state.
pub fn event_row(
    tenant_id: i64,
    session_pk: i64,
    e: &NewEvent,
    received_at_ms: i64,
    r: &HistoryRecord,
    choice: &Choice,
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
        action: Set(Some(choice.action.as_str().to_owned())),
        action_probability: Set(Some(choice.probability)),
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
