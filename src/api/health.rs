use super::Tag;
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
}
