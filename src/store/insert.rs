//! Multi-row `INSERT`s, as few statements as the backends' parameter limits allow.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, Iterable, Statement};

/// Inserts rows as multi-row statements, each under SQLite's limit of 32,766 bound parameters
/// (PostgreSQL allows 65,535): one statement per chunk, not per row; `on_conflict` applies to each.
/// Every row must set the same columns.
pub(crate) async fn insert_chunked<A>(
    db: &impl ConnectionTrait,
    rows: Vec<A>,
    on_conflict: Option<&OnConflict>,
) -> Result<(), DbErr>
where
    A: ActiveModelTrait + Send,
{
    let per_statement = 32_766 / <A::Entity as EntityTrait>::Column::iter().count().max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(per_statement).collect();
        match on_conflict {
            Some(c) => {
                A::Entity::insert_many(chunk).on_conflict(c.clone()).exec_without_returning(db).await?;
            }
            None => {
                db.execute_raw(plain_insert(db.get_database_backend(), chunk)).await?;
            }
        };
    }
    Ok(())
}

/// The multi-row `INSERT` sea-orm builds for `rows`, written directly: sea-orm makes each value
/// an expression, then writes and drops that tree, which for a group's events (~4,000 values)
/// cost more CPU than PostgreSQL spent storing them. `tests::plain_inserts_are_sea_orms` checks
/// that the text and values are sea-orm's.
fn plain_insert<A: ActiveModelTrait>(backend: DbBackend, rows: Vec<A>) -> Statement {
    use std::fmt::Write;
    let (target, columns) = rows.first().map(insert_target).unwrap_or_default();
    let mut sql = format!("INSERT INTO {target} VALUES ");
    let mut values = Vec::with_capacity(rows.len() * columns.len());
    for (i, mut row) in rows.into_iter().enumerate() {
        sql.push_str(if i == 0 { "(" } else { ", (" });
        for (j, column) in columns.iter().enumerate() {
            values.push(row.take(*column).into_value().expect("every row sets the same columns"));
            let _ = match backend {
                DbBackend::Postgres => write!(sql, "{}${}", if j == 0 { "" } else { ", " }, values.len()),
                _ => write!(sql, "{}?", if j == 0 { "" } else { ", " }),
            };
        }
        sql.push(')');
    }
    Statement::from_sql_and_values(backend, sql, values)
}

/// Where rows like `first` go, as an `INSERT` or a `COPY` names it — `"table" ("column", …)`,
/// the columns `first` sets — and those columns, in that order.
pub(crate) fn insert_target<A: ActiveModelTrait>(first: &A) -> (String, Vec<<A::Entity as EntityTrait>::Column>) {
    use sea_orm::{EntityName, IdenStatic};
    let columns: Vec<_> = <A::Entity as EntityTrait>::Column::iter().filter(|c| first.get(*c).is_set()).collect();
    let names: Vec<String> = columns.iter().map(|c| format!("\"{}\"", c.as_str())).collect();
    (format!("\"{}\" ({})", A::Entity::default().table_name(), names.join(", ")), columns)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use entity::event;
    use sea_orm::ActiveValue::Set;
    use sea_orm::QueryTrait;

    /// An event row that sets every column but the id (text with quotes, NULLs, a negative
    /// float), for the tests of the statements that insert rows.
    pub(crate) fn event(id: Option<&str>, x: Option<f64>, tenant_id: i64) -> event::ActiveModel {
        event::ActiveModel {
            tenant_id: Set(tenant_id),
            session_id: Set(9),
            event_id: Set(id.map(str::to_owned)),
            ts_ms: Set(1_700_000_000_000),
            received_at_ms: Set(1_700_000_000_500),
            kind: Set("click".into()),
            x: Set(x),
            y: Set(Some(-2.5)),
            duration_ms: Set(None),
            speed: Set(None),
            direction: Set(Some("down".into())),
            url: Set(None),
            message: Set(Some("it's \"broken\"".into())),
            valence: Set(0.1),
            arousal: Set(0.2),
            tension: Set(0.3),
            affiliation: Set(0.4),
            delta_valence: Set(-0.1),
            delta_arousal: Set(0.0),
            delta_tension: Set(0.05),
            delta_affiliation: Set(0.0),
            label: Set("browsing".into()),
            confidence: Set(0.5),
            signals: Set("[]".into()),
            trigger_reason: Set("click".into()),
            model_version: Set("v1".into()),
            action: Set(Some("show_recommendations".into())),
            action_probability: Set(Some(0.95)),
            ..Default::default()
        }
    }

    #[test]
    fn plain_inserts_are_sea_orms() {
        let rows = vec![event(Some("e1"), Some(3.0), 1), event(None, None, 2), event(Some("é"), Some(-0.0), 3)];
        for backend in [DbBackend::Sqlite, DbBackend::Postgres] {
            let ours = plain_insert(backend, rows.clone());
            let theirs = backend.build(&event::Entity::insert_many(rows.clone()).into_query());
            assert_eq!((ours.sql, ours.values), (theirs.sql, theirs.values), "{backend:?}");
        }
    }
}
