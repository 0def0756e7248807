//! Reading what a group touches, under lock: its sessions, their known event ids, the users
//! they belong to or name, and the quota left to tenants that create sessions.

use super::Job;
use super::group::{Group, StoredSession};
use super::states::SessionStates;
use crate::domain::{QuotaMonth, Tenant};
use crate::engine::{AffectState, Models};
use crate::store::{StoreError, quota};
use entity::{event, session, user};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::{BTreeMap, HashMap, HashSet};

impl<'a> Group<'a> {
    /// Reads and locks what the group touches. Locks are taken tenant by tenant in row-id
    /// order, sessions before users, as every writer does.
    pub(super) async fn load(
        db: &impl ConnectionTrait,
        models: &Models,
        jobs: &[&'a Job],
        states: &mut SessionStates,
    ) -> Result<Self, StoreError> {
        let mut by_tenant: BTreeMap<i64, (&'a Tenant, Vec<&'a str>, Vec<&'a str>)> = BTreeMap::new();
        for job in jobs {
            let entry = by_tenant.entry(job.tenant.id.get()).or_insert_with(|| (&job.tenant, vec![], vec![]));
            entry.1.push(job.session.as_str());
            entry.2.extend(job.user.as_ref().map(|u| u.as_str()));
        }
        let mut group = Group::default();
        let mut owners: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        let mut stored = Vec::new();
        for (&tenant_id, (tenant, ids, _)) in &by_tenant {
            use session::Column as C;
            let rows = session::Entity::find()
                .select_only()
                .columns([C::Id, C::ExternalId, C::CreatedAtMs, C::EventCount, C::Label, C::Action, C::TopSignal])
                .columns([C::HasFeedback, C::UserId, C::ModelVersion])
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
                let kept = states.take(tenant_id, external_id, row.id, row.event_count);
                stored.push((*tenant, external_id, row, kept));
            }
        }
        let unkept: Vec<i64> = stored.iter().filter(|s| s.3.is_none()).map(|s| s.2.id).collect();
        let mut read = read_states(db, unkept).await?;
        for (tenant, external_id, row, kept) in stored {
            let state = kept.or_else(|| read.remove(&row.id)).expect("read every state not kept");
            group.add_session(models, tenant, external_id, Some(row), state)?;
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
                group.add_stored_user(models, tenant_id, row)?;
            }
        }
        group.link_owners();
        for job in jobs {
            if group.needs_allowance(job) {
                let month = QuotaMonth::containing(job.now);
                let left = quota::remaining(db, &job.tenant, month).await?;
                group.allow(&job.tenant, month, left);
            }
        }
        Ok(group)
    }

    /// Which of the group's client event ids its stored sessions already have: one query, which
    /// looks up each (session, id) pair the group names, and nothing else (a session's ids
    /// crossed with every other's would be looked up too by `session_id IN (…) AND event_id
    /// IN (…)`).
    async fn load_event_ids(&mut self, db: &impl ConnectionTrait, jobs: &[&Job]) -> Result<(), StoreError> {
        let mut pairs: HashSet<(i64, &str)> = HashSet::new();
        let mut by_pk: HashMap<i64, usize> = HashMap::new();
        for job in jobs {
            // A session not stored yet has none.
            let Some(&i) = self.by_session.get(&(job.tenant.id.get(), job.session.as_str())) else { continue };
            let Some(pk) = self.sessions[i].pk else { continue };
            by_pk.insert(pk, i);
            pairs.extend(job.events.iter().filter_map(|e| e.event_id.as_deref()).map(|id| (pk, id)));
        }
        if pairs.is_empty() {
            return Ok(());
        }
        // A join, not `(session_id, event_id) IN (VALUES …)`, which SQLite answers by scanning.
        use event::Column as C;
        let v = |column: &'static str| Expr::col(("v", column));
        let query = Query::select()
            .columns([(event::Entity, C::SessionId), (event::Entity, C::EventId)])
            .from_values(pairs, "v")
            .inner_join(
                event::Entity,
                Expr::col((event::Entity, C::SessionId))
                    .eq(v("column1"))
                    .and(Expr::col((event::Entity, C::EventId)).eq(v("column2"))),
            )
            .to_owned();
        for row in db.query_all(&query).await? {
            let (session_pk, event_id): (i64, String) = (row.try_get("", "session_id")?, row.try_get("", "event_id")?);
            self.sessions[by_pk[&session_pk]].seen.insert(event_id);
        }
        Ok(())
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
