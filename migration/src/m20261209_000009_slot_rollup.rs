//! The time series' rollup: the session slots summed per tenant, 15-minute slot and gap to each
//! session's next slot, so a range costs its slots, not its sessions.
//!
//! A slot row counts under its session's label at its bucket's end only when its next slot lies
//! in a later bucket; which bucket that is depends on the zone and interval asked for, but only
//! through the gap. Rows with the same (tenant, slot, gap) are therefore interchangeable and
//! are summed: sessions, events, sessions per label, and the dimensions in billionths
//! (integers, so sums are exact whatever order they are added and subtracted in). A gap of
//! [`GAP_CAP`] slots or more (8 days, beyond the longest week with a DST change) or no next slot
//! is stored as [`GAP_CAP`]: the slot is its session's last in any bucket.
//!
//! Triggers on `session_slots` keep the rollup in the writer's own transaction, whatever wrote
//! the slots: ingest, a relink, an erasure, the retention sweep. On SQLite (one writer) each
//! row's change updates the rollup in place. On PostgreSQL concurrent writers would queue on
//! the few rows of the current slot, so each statement appends its changes, summed per key, to
//! `slot_deltas` (no index: it stays small); a background compaction moves them into
//! `slot_rollup`, and readers add the ones not yet moved. The existing slots are summed into
//! `slot_rollup` here.
//!
//! The covering index the series used to scan gives way to a narrow one for the retention
//! sweep, which finds a tenant's oldest slots.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261209_000009_slot_rollup"
    }
}

const SLOT_MS: i64 = 900_000;
const GAP_CAP: i64 = 768;
const MOODS: [&str; 7] = ["frustrated", "confused", "decisive", "browsing", "disengaged", "focused", "neutral"];
const DIMS: [&str; 4] = ["valence", "arousal", "tension", "affiliation"];

#[derive(DeriveIden)]
enum SlotRollup {
    Table,
    TenantId,
    SlotMs,
    GapSlots,
}

#[derive(DeriveIden)]
enum SlotDeltas {
    Table,
    Id,
    TenantId,
    SlotMs,
    GapSlots,
}

#[derive(DeriveIden)]
enum SessionSlots {
    Table,
    TenantId,
    SlotMs,
    NextSlotMs,
    Events,
    Label,
    Valence,
    Arousal,
    Tension,
    Affiliation,
}

/// The summed columns after the key, in order: `sessions`, `events`, one per mood, one per
/// dimension (`valence_e9`, …).
fn measures() -> Vec<String> {
    let mut names = vec!["sessions".to_owned(), "events".to_owned()];
    names.extend(MOODS.iter().map(|m| (*m).to_owned()));
    names.extend(DIMS.iter().map(|d| format!("{d}_e9")));
    names
}

/// The gap key of a `session_slots` row (`row` is `NEW`, `OLD` or a table alias).
fn gap(row: &str) -> String {
    format!(
        "CASE WHEN {row}.next_slot_ms IS NULL OR {row}.next_slot_ms - {row}.slot_ms >= {} THEN {GAP_CAP} \
         ELSE ({row}.next_slot_ms - {row}.slot_ms) / {SLOT_MS} END",
        GAP_CAP * SLOT_MS
    )
}

/// The measures of one `session_slots` row, in [`measures`] order.
fn contribution(row: &str) -> Vec<String> {
    let mut values = vec!["1".to_owned(), format!("{row}.events")];
    values.extend(MOODS.iter().map(|m| format!("CASE WHEN {row}.label = '{m}' THEN 1 ELSE 0 END")));
    values.extend(DIMS.iter().map(|d| format!("CAST(ROUND({row}.{d} * 1000000000.0) AS BIGINT)")));
    values
}

/// The statements of the triggers that keep the rollup on PostgreSQL: per statement, the rows
/// it changed (transition tables), summed per key (new rows added, old ones taken out), appended
/// to `slot_deltas` when anything moved. One delta per key a group commit touched, not per row,
/// and no row shared with another writer.
fn postgres_triggers() -> Vec<(&'static str, String, String)> {
    let keyed = |table: &str, sign: &str| {
        let values: Vec<String> = contribution("r").iter().map(|v| format!("{sign}({v})")).collect();
        format!("SELECT r.tenant_id, r.slot_ms, {} AS gap_slots, {} FROM {table} r", gap("r"), values.join(", "))
    };
    let sums: Vec<String> = measures().iter().map(|m| format!("SUM({m})")).collect();
    let moved: Vec<String> = sums.iter().map(|s| format!("{s} <> 0")).collect();
    let append = |rows: String| {
        format!(
            "INSERT INTO slot_deltas (tenant_id, slot_ms, gap_slots, {}) \
             SELECT tenant_id, slot_ms, gap_slots, {} FROM ({rows}) changed (tenant_id, slot_ms, gap_slots, {}) \
             GROUP BY tenant_id, slot_ms, gap_slots HAVING {};",
            measures().join(", "),
            sums.join(", "),
            measures().join(", "),
            moved.join(" OR ")
        )
    };
    vec![
        ("INSERT", "REFERENCING NEW TABLE AS new_rows".into(), append(keyed("new_rows", ""))),
        (
            "UPDATE",
            "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows".into(),
            append(format!("{} UNION ALL {}", keyed("new_rows", ""), keyed("old_rows", "-"))),
        ),
        ("DELETE", "REFERENCING OLD TABLE AS old_rows".into(), append(keyed("old_rows", "-"))),
    ]
}

/// The statements of the triggers that keep the rollup on SQLite, row by row: there is one
/// writer, so the rollup rows are updated in place (nothing to compact). The new row is added
/// before the old one is taken out, so an update that keeps its key leaves the row standing; a
/// row every slot has left is deleted.
fn sqlite_triggers() -> Vec<(&'static str, String)> {
    let key =
        |row: &str| format!("tenant_id = {row}.tenant_id AND slot_ms = {row}.slot_ms AND gap_slots = {}", gap(row));
    let add = |row: &str, sign: &str| {
        let set: Vec<String> =
            measures().iter().zip(contribution(row)).map(|(m, v)| format!("{m} = {m} {sign} ({v})")).collect();
        format!("UPDATE slot_rollup SET {} WHERE {};", set.join(", "), key(row))
    };
    let zeros = vec!["0"; measures().len()].join(", ");
    // Not `INSERT OR IGNORE`: inside a trigger fired by an upsert, the upsert's conflict
    // handling replaces the trigger's own.
    let insert = format!(
        "INSERT INTO slot_rollup (tenant_id, slot_ms, gap_slots, {}) SELECT NEW.tenant_id, NEW.slot_ms, {}, {zeros} \
         WHERE NOT EXISTS (SELECT 1 FROM slot_rollup WHERE {});\n{}",
        measures().join(", "),
        gap("NEW"),
        key("NEW"),
        add("NEW", "+")
    );
    let all_zero: Vec<String> = measures().iter().map(|m| format!("{m} = 0")).collect();
    let delete =
        format!("{}\nDELETE FROM slot_rollup WHERE {} AND {};", add("OLD", "-"), key("OLD"), all_zero.join(" AND "));
    vec![("INSERT", insert.clone()), ("UPDATE", format!("{insert}\n{delete}")), ("DELETE", delete)]
}

fn trigger_name(op: &str) -> String {
    format!("session_slots_rollup_{}", op.to_lowercase())
}

fn summed_table(
    table: impl IntoIden,
    tenant: impl IntoIden,
    slot: impl IntoIden,
    gap: impl IntoIden,
) -> TableCreateStatement {
    let mut create = Table::create();
    create.table(table).col(big_integer(tenant)).col(big_integer(slot)).col(big_integer(gap));
    for name in measures() {
        create.col(big_integer(Alias::new(name)));
    }
    create.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            summed_table(SlotRollup::Table, SlotRollup::TenantId, SlotRollup::SlotMs, SlotRollup::GapSlots)
                .primary_key(
                    Index::create().col(SlotRollup::TenantId).col(SlotRollup::SlotMs).col(SlotRollup::GapSlots),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            summed_table(SlotDeltas::Table, SlotDeltas::TenantId, SlotDeltas::SlotMs, SlotDeltas::GapSlots)
                .col(big_pk_auto(SlotDeltas::Id))
                .to_owned(),
        )
        .await?;

        let db = m.get_connection();
        let summed: Vec<String> = contribution("s").iter().map(|v| format!("SUM({v})")).collect();
        db.execute_unprepared(&format!(
            "INSERT INTO slot_rollup (tenant_id, slot_ms, gap_slots, {}) \
             SELECT s.tenant_id, s.slot_ms, {}, {} FROM session_slots s GROUP BY s.tenant_id, s.slot_ms, {}",
            measures().join(", "),
            gap("s"),
            summed.join(", "),
            gap("s"),
        ))
        .await?;

        match m.get_database_backend() {
            DbBackend::Postgres => {
                for (op, transitions, body) in postgres_triggers() {
                    let name = trigger_name(op);
                    db.execute_unprepared(&format!(
                        "CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN\n{body}\nRETURN NULL; END $$"
                    ))
                    .await?;
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {name} AFTER {op} ON session_slots {transitions} FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
                    ))
                    .await?;
                }
            }
            _ => {
                for (op, body) in sqlite_triggers() {
                    let name = trigger_name(op);
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {name} AFTER {op} ON session_slots FOR EACH ROW BEGIN\n{body}\nEND"
                    ))
                    .await?;
                }
            }
        }

        m.drop_index(Index::drop().name("session_slots_tenant_time").table(SessionSlots::Table).to_owned()).await?;
        m.create_index(
            Index::create()
                .name("session_slots_tenant_slot")
                .table(SessionSlots::Table)
                .col(SessionSlots::TenantId)
                .col(SessionSlots::SlotMs)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for op in ["INSERT", "UPDATE", "DELETE"] {
            let name = trigger_name(op);
            match m.get_database_backend() {
                DbBackend::Postgres => {
                    db.execute_unprepared(&format!("DROP TRIGGER {name} ON session_slots")).await?;
                    db.execute_unprepared(&format!("DROP FUNCTION {name}()")).await?;
                }
                _ => {
                    db.execute_unprepared(&format!("DROP TRIGGER {name}")).await?;
                }
            }
        }
        m.drop_index(Index::drop().name("session_slots_tenant_slot").table(SessionSlots::Table).to_owned()).await?;
        m.create_index(
            Index::create()
                .name("session_slots_tenant_time")
                .table(SessionSlots::Table)
                .col(SessionSlots::TenantId)
                .col(SessionSlots::SlotMs)
                .col(SessionSlots::NextSlotMs)
                .col(SessionSlots::Events)
                .col(SessionSlots::Label)
                .col(SessionSlots::Valence)
                .col(SessionSlots::Arousal)
                .col(SessionSlots::Tension)
                .col(SessionSlots::Affiliation)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(SlotDeltas::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(SlotRollup::Table).to_owned()).await
    }
}
