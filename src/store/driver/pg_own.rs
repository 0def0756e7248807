//! PostgreSQL connections kept by the code that uses them rather than by sqlx's pool, which
//! pings a connection when it hands it out (a round trip, waking a PostgreSQL backend and a
//! thread here, around a read or a write that is one itself). Their users only ever run
//! statements to completion on them, so there is nothing a ping would flush; a connection that
//! fails other than with an error from PostgreSQL is dropped instead of kept, and the next use
//! opens a new one.

use sea_orm::sqlx::postgres::{PgConnectOptions, PgDatabaseError, PgSeverity};
use sea_orm::sqlx::{self, ConnectOptions, PgConnection};
use sea_orm::{DbErr, RuntimeErr};
use std::sync::{Arc, Mutex};

pub(crate) struct OwnConnections {
    options: PgConnectOptions,
    idle: Mutex<Vec<PgConnection>>,
}

impl std::fmt::Debug for OwnConnections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnConnections").field("idle", &self.idle.lock().map(|i| i.len()).ok()).finish()
    }
}

impl OwnConnections {
    /// Connections to `options`' database, each opened when first needed. Their I/O is served
    /// by the runtime of the task that opens them.
    pub(crate) fn new(options: PgConnectOptions) -> Self {
        Self { options, idle: Mutex::default() }
    }

    /// As [`Self::new`], with `connections` of them opened now.
    pub(crate) async fn open(options: PgConnectOptions, connections: u32) -> Result<Self, DbErr> {
        let own = Self::new(options);
        for _ in 0..connections {
            let conn = own.connect().await?;
            own.idle.lock().unwrap_or_else(|e| e.into_inner()).push(conn);
        }
        Ok(own)
    }

    /// The options new connections open with.
    pub(crate) fn options(&self) -> &PgConnectOptions {
        &self.options
    }

    /// An idle connection, if one is kept.
    pub(crate) fn kept(&self) -> Option<PgConnection> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }

    /// A new connection.
    pub(crate) async fn connect(&self) -> Result<PgConnection, DbErr> {
        self.options.connect().await.map_err(error)
    }

    /// A kept connection, or a new one.
    pub(crate) async fn take(&self) -> Result<PgConnection, DbErr> {
        match self.kept() {
            Some(conn) => Ok(conn),
            None => self.connect().await,
        }
    }

    /// Keeps `conn` for the next use if `outcome` leaves it sound: a success, or an error
    /// PostgreSQL answered a statement with (not a FATAL one, after which the backend is gone:
    /// a server shutting down, a terminated backend).
    pub(crate) fn give_back<T>(&self, conn: PgConnection, outcome: &Result<T, sqlx::Error>) {
        let sound = match outcome {
            Ok(_) => true,
            Err(sqlx::Error::Database(e)) => e
                .try_downcast_ref::<PgDatabaseError>()
                .is_some_and(|e| !matches!(e.severity(), PgSeverity::Fatal | PgSeverity::Panic)),
            Err(_) => false,
        };
        if sound {
            self.idle.lock().unwrap_or_else(|e| e.into_inner()).push(conn);
        }
    }

    /// How many are idle (for tests).
    #[cfg(test)]
    pub(crate) fn idle(&self) -> usize {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

pub(crate) fn error(e: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(Arc::new(e)))
}
