use super::Tag;
use crate::ingest::LaneHealth;
use crate::state::AppState;
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum HealthStatus {
    Ok,
    Degraded,
    Down,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct Health {
    /// `ok` when the database answers, `degraded` when it does not.
    pub status: HealthStatus,
    /// The server's version (semver).
    pub version: String,
}

impl Example for Health {
    fn example() -> Self {
        Self { status: HealthStatus::Ok, version: "1.0.0".into() }
    }
}

#[derive(ApiResponse)]
pub enum HealthReply {
    /// The service and its database are up.
    #[oai(status = 200)]
    Ok(Json<Health>),
    /// The database does not answer.
    #[oai(status = 503)]
    Degraded(Json<Health>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ReadyStatus {
    Ready,
    NotReady,
}

/// Whether this server should be sent traffic, and what it checked.
#[derive(Debug, PartialEq, Object)]
#[oai(example)]
pub struct Readiness {
    /// `ready` when the database answers and every ingest lane runs.
    pub status: ReadyStatus,
    /// Why the server is not ready, one sentence per failed check; empty when ready.
    pub reasons: Vec<String>,
    /// Whether the database answered a ping.
    pub database: bool,
    /// Ingest lanes (committer tasks) this server runs.
    pub ingest_lanes: u32,
    /// Lanes whose task has stopped: their sessions' batches cannot be stored.
    pub stopped_lanes: u32,
    /// Batches waiting in the lanes' queues.
    pub queued_batches: u32,
}

impl Example for Readiness {
    fn example() -> Self {
        readiness(true, LaneHealth { lanes: 2, stopped: 0, queued: 3 })
    }
}

/// What the checks add up to: ready only when the database answers and no lane has stopped.
fn readiness(database: bool, lanes: LaneHealth) -> Readiness {
    let mut reasons = Vec::new();
    if !database {
        reasons.push("the database does not answer".to_owned());
    }
    if lanes.stopped > 0 {
        reasons.push(format!("{} of {} ingest lanes have stopped", lanes.stopped, lanes.lanes));
    }
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Readiness {
        status: if reasons.is_empty() { ReadyStatus::Ready } else { ReadyStatus::NotReady },
        reasons,
        database,
        ingest_lanes: count(lanes.lanes),
        stopped_lanes: count(lanes.stopped),
        queued_batches: count(lanes.queued),
    }
}

#[derive(ApiResponse)]
pub enum ReadyReply {
    /// The server can serve every request.
    #[oai(status = 200)]
    Ready(Json<Readiness>),
    /// A check failed: `reasons` says which.
    #[oai(status = 503)]
    NotReady(Json<Readiness>),
}

pub struct HealthApi;

#[OpenApi(tag = "Tag::Health")]
impl HealthApi {
    /// Health check
    ///
    /// No authentication. Answers 200 only when the database is reachable.
    #[oai(path = "/health", method = "get", operation_id = "getHealth")]
    async fn health(&self, state: Data<&Arc<AppState>>) -> HealthReply {
        let version = env!("CARGO_PKG_VERSION").to_owned();
        if state.store.ping().await {
            HealthReply::Ok(Json(Health { status: HealthStatus::Ok, version }))
        } else {
            HealthReply::Degraded(Json(Health { status: HealthStatus::Degraded, version }))
        }
    }

    /// Readiness check
    ///
    /// No authentication. For load balancers and orchestrators: 200 when this server can serve
    /// every request (the database answers, every ingest lane runs), 503 with the reasons
    /// otherwise. `GET /health` stays the contract's liveness answer.
    #[oai(path = "/ready", method = "get", operation_id = "getReady")]
    async fn ready(&self, state: Data<&Arc<AppState>>) -> ReadyReply {
        let readiness = readiness(state.store.ping().await, state.ingest.health());
        match readiness.status {
            ReadyStatus::Ready => ReadyReply::Ready(Json(readiness)),
            ReadyStatus::NotReady => ReadyReply::NotReady(Json(readiness)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_when_the_database_answers_and_no_lane_stopped() {
        let lanes = |stopped| LaneHealth { lanes: 4, stopped, queued: 7 };
        assert_eq!(readiness(true, lanes(0)).status, ReadyStatus::Ready);
        assert!(readiness(true, lanes(0)).reasons.is_empty());
        let down = readiness(false, lanes(1));
        assert_eq!(down.status, ReadyStatus::NotReady);
        assert_eq!(down.reasons, ["the database does not answer", "1 of 4 ingest lanes have stopped"]);
        assert_eq!((down.ingest_lanes, down.stopped_lanes, down.queued_batches), (4, 1, 7));
    }
}
