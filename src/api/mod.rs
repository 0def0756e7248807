//! The HTTP API: poem-openapi endpoints (the spec is generated from them), their request and
//! response types, the error type, authentication and the edge middleware.

mod affect;
mod analytics;
mod auth;
pub mod body;
mod edge;
pub mod error;
pub mod events;
mod export;
mod health;
mod keys;
mod sessions;
mod users;
pub mod wire;

pub use auth::AuthGuard;
pub use edge::Edge;

use poem_openapi::{OpenApiService, Tags};

#[derive(Tags)]
enum Tag {
    /// API keys: sign-up.
    Keys,
    /// Sessions: send behavioural events, read the mood, record feedback, erase.
    Sessions,
    /// People across sessions: their current affect, history and sessions, for agents.
    Users,
    /// Aggregates over all sessions of your API key.
    Analytics,
    /// Liveness for monitors and load balancers.
    Health,
}

/// The API and its spec. Needs no database: `moodring openapi` prints the spec from this.
pub fn service() -> OpenApiService<impl poem_openapi::OpenApi, ()> {
    OpenApiService::new(
        (
            health::HealthApi,
            keys::KeysApi,
            sessions::SessionsApi,
            affect::AffectApi,
            users::UsersApi,
            analytics::AnalyticsApi,
            export::ExportApi,
        ),
        "moodring",
        env!("CARGO_PKG_VERSION"),
    )
    .summary("Infers how a person feels from what they do.")
    .description(include_str!("spec_description.md"))
}

/// The committed spec's JSON.
pub fn spec_json() -> String {
    service().spec()
}
