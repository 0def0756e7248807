//! SQLite's WAL checkpoints on a thread of their own, off the one writer's path.
//!
//! By default SQLite checkpoints inside the commit that takes the WAL past 1,000 pages: that
//! commit copies the pages into the database file and syncs it while every other write waits
//! behind it. Here the pools' connections checkpoint only as a backstop, at
//! [`BACKSTOP_PAGES`], and a thread with a connection of its own runs a passive checkpoint
//! every [`WHILE_WRITING`] while the WAL grows (up to every [`WHILE_IDLE`] otherwise). A passive
//! checkpoint never waits for a lock and never blocks a reader or the writer: it copies the
//! frames no reader still needs, and the next write starts the WAL over once all are copied.
//! Frequent small checkpoints keep the WAL short, and each sync of the database file small.
//! Durability is unchanged: a commit is in the WAL either way.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::time::Duration;

/// The pause after a checkpoint that found new frames in the WAL.
const WHILE_WRITING: Duration = Duration::from_millis(1);

/// The longest pause, after checkpoints that found nothing new.
const WHILE_IDLE: Duration = Duration::from_millis(100);

/// The WAL size, in pages, at which a committing connection checkpoints after all (SQLite's
/// `wal_autocheckpoint`): reached only if the thread falls far behind.
pub(crate) const BACKSTOP_PAGES: u32 = 16_384;

/// The checkpointing thread of one database file; it stops when this is dropped.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    _stop: Sender<()>,
}

impl Checkpointer {
    /// Starts checkpointing the database at `path`.
    pub(crate) fn spawn(path: &Path) -> std::io::Result<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        let path = path.to_owned();
        std::thread::Builder::new().name("sqlite-checkpoint".into()).spawn(move || {
            let (mut conn, mut last, mut pause) = (None, None, WHILE_IDLE);
            // Nothing is ever sent: the channel closes when the `Checkpointer` is dropped.
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(pause) {
                let done = match &conn {
                    Some(conn) => checkpoint(conn).map(|frames| {
                        // Back to the short pause on new frames; twice as long each time there
                        // are none, up to the idle one.
                        pause = if last == Some(frames) { (pause * 2).min(WHILE_IDLE) } else { WHILE_WRITING };
                        last = Some(frames);
                    }),
                    None => open(&path).map(|c| conn = Some(c)),
                };
                if let Err(e) = done {
                    tracing::warn!(error = %e, "WAL checkpoint failed");
                }
            }
        })?;
        Ok(Self { _stop: stop })
    }
}

fn open(path: &Path) -> rusqlite::Result<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    rusqlite::Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
}

/// One passive checkpoint of the database `conn` is open on.
fn checkpoint(conn: &rusqlite::Connection) -> rusqlite::Result<Frames> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok(Frames { busy: row.get::<_, i64>(0)? != 0, in_wal: row.get(1)?, copied: row.get(2)? })
    })
}

/// What a checkpoint found: whether another checkpoint held the lock, the frames in the WAL and
/// how many of them are now in the database file (-1 each when the database is not in WAL mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Frames {
    busy: bool,
    in_wal: i64,
    copied: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn wal_database(dir: &Path) -> (PathBuf, rusqlite::Connection) {
        let path = dir.join("db.sqlite");
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "journal_mode", "wal").unwrap();
        conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        conn.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
        (path, conn)
    }

    /// A checkpoint copies what the writer committed; the next write then starts the WAL over.
    #[test]
    fn a_checkpoint_copies_the_wal_and_the_next_write_starts_it_over() {
        let dir = tempfile::tempdir().unwrap();
        let (path, writer) = wal_database(dir.path());
        let own = rusqlite::Connection::open(&path).unwrap();
        for i in 0..50 {
            writer.execute("INSERT INTO t VALUES (?1)", [i]).unwrap();
        }
        let frames = checkpoint(&own).unwrap();
        assert!(!frames.busy);
        assert!(frames.in_wal >= 50, "{frames:?}");
        assert_eq!(frames.copied, frames.in_wal);
        writer.execute("INSERT INTO t VALUES (50)", []).unwrap();
        let after = checkpoint(&own).unwrap();
        assert!(after.in_wal < frames.in_wal, "the WAL started over: {after:?}");
    }

    /// The thread copies what a writer commits into the database file, with no checkpoint of
    /// the writer's own.
    #[test]
    fn the_thread_checkpoints_what_a_writer_commits() {
        let dir = tempfile::tempdir().unwrap();
        let (path, writer) = wal_database(dir.path());
        let _checkpointer = Checkpointer::spawn(&path).unwrap();
        let size = || std::fs::metadata(&path).unwrap().len();
        let before = size();
        writer
            .execute_batch("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 20000) INSERT INTO t SELECT x FROM n")
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while size() == before {
            assert!(std::time::Instant::now() < deadline, "no checkpoint in 30 s");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A reader's open snapshot keeps the frames it may need, and a passive checkpoint does not
    /// wait for it: it copies what it can and returns.
    #[test]
    fn a_checkpoint_does_not_wait_for_a_reader() {
        let dir = tempfile::tempdir().unwrap();
        let (path, writer) = wal_database(dir.path());
        let own = rusqlite::Connection::open(&path).unwrap();
        writer.execute("INSERT INTO t VALUES (1)", []).unwrap();
        let reader = rusqlite::Connection::open(&path).unwrap();
        reader.execute_batch("BEGIN").unwrap();
        let seen: i64 = reader.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
        writer.execute("INSERT INTO t VALUES (2)", []).unwrap();
        let frames = checkpoint(&own).unwrap();
        assert!(frames.copied < frames.in_wal, "the reader's snapshot holds the last frame back: {frames:?}");
        reader.execute_batch("COMMIT").unwrap();
        assert_eq!(seen, 1);
        let frames = checkpoint(&own).unwrap();
        assert_eq!(frames.copied, frames.in_wal);
    }
}
