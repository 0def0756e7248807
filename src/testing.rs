//! Fresh databases for the test suites (the crate's own and `tests/api`): an SQLite file in a
//! directory of its own by default; with `TEST_DATABASE_URL` set to a PostgreSQL URL, a fresh
//! schema on that server instead. Not part of the service.

use sea_orm::{ConnectionTrait, Database};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::OnceCell;

/// A database nobody else uses; an SQLite one is deleted when this is dropped.
#[derive(Debug)]
pub struct FreshDatabase {
    pub url: String,
    dir: Option<PathBuf>,
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

static FRESH: AtomicUsize = AtomicUsize::new(0);
static CLEANED: OnceCell<()> = OnceCell::const_new();

/// A new database: see the module's doc.
pub async fn fresh_database() -> FreshDatabase {
    let n = FRESH.fetch_add(1, Ordering::SeqCst);
    match std::env::var("TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => {
            clean_old_schemas(&base).await;
            let schema = format!("mrt_{}_{n}", std::process::id());
            let db = Database::connect(&base).await.expect("TEST_DATABASE_URL connects");
            db.execute_unprepared(&format!("CREATE SCHEMA \"{schema}\"")).await.expect("a schema is created");
            let sep = if base.contains('?') { '&' } else { '?' };
            FreshDatabase { url: format!("{base}{sep}options[search_path]={schema}"), dir: None }
        }
        _ => {
            let dir = std::env::temp_dir().join(format!("moodring-test-{}-{n}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("a temporary directory is created");
            FreshDatabase { url: format!("sqlite://{}/moodring.db?mode=rwc", dir.display()), dir: Some(dir) }
        }
    }
}

/// Drops the schemas earlier runs left behind, once per test binary. Each binary names its
/// schemas after its process id, so two binaries running at once never drop each other's live
/// ones: only those of processes that are gone.
async fn clean_old_schemas(base: &str) {
    CLEANED
        .get_or_init(|| async {
            let db = Database::connect(base).await.expect("TEST_DATABASE_URL connects");
            let rows = db
                .query_all_raw(sea_orm::Statement::from_string(
                    db.get_database_backend(),
                    "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'mrt\\_%'",
                ))
                .await
                .expect("schemas are listed");
            for row in rows {
                let name: String = row.try_get("", "nspname").expect("a schema name");
                let pid = name.split('_').nth(1).and_then(|p| p.parse::<u32>().ok());
                if pid.is_some_and(|pid| pid != std::process::id() && !process_alive(pid)) {
                    db.execute_unprepared(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE")).await.ok();
                }
            }
        })
        .await;
}

fn process_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}
