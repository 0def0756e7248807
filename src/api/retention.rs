//! How long a tenant's events and history are kept: `/v1/settings/retention`. The sweep that
//! removes what is older is [`crate::store::retention`]'s, run by [`crate::server`].

use super::Tag;
use super::auth::Auth;
use super::body::JsonBody;
use super::error::{ApiError, Fails};
use super::interventions::{OnSettingsRead, OnSettingsUpdate};
use crate::state::AppState;
use crate::store::retention::{self, MAX_DAYS, MIN_DAYS};
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{Object, OpenApi};
use serde::Deserialize;
use std::sync::Arc;

/// How long your events and history are kept.
#[derive(Debug, Object)]
#[oai(example)]
pub struct RetentionSettings {
    /// Days of events, time-series slots and user history kept (1–3650; 90 unless set). Older
    /// ones are removed in the background at the next sweep (hourly by default); a session
    /// whose latest event is older is erased whole and leaves the mood distribution.
    pub days: i32,
}

impl Example for RetentionSettings {
    fn example() -> Self {
        Self { days: 90 }
    }
}

/// The retention to set.
#[derive(Debug, Deserialize, Object)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct RetentionUpdate {
    /// Days to keep, 1–3650.
    #[oai(validator(minimum(value = "1"), maximum(value = "3650")))]
    pub days: i64,
}

impl Example for RetentionUpdate {
    fn example() -> Self {
        Self { days: 30 }
    }
}

pub struct RetentionApi;

#[OpenApi(tag = "Tag::Settings")]
impl RetentionApi {
    /// Get the retention
    ///
    /// How many days of your events and history are kept.
    #[oai(path = "/v1/settings/retention", method = "get", operation_id = "getRetention")]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Auth,
    ) -> Result<Json<RetentionSettings>, Fails<OnSettingsRead>> {
        Ok(Json(RetentionSettings { days: retention::days(&state.store, auth.tenant().id).await? }))
    }

    /// Set the retention
    ///
    /// Events, time-series slots and user history older than this many days are removed in the
    /// background; a session whose latest event is older is erased whole, as `DELETE` erases
    /// it. Shortening it removes data for good at the next sweep; lengthening it brings nothing
    /// back. Out of 1–3650: 400 naming the field, and nothing changes.
    #[oai(path = "/v1/settings/retention", method = "put", operation_id = "putRetention")]
    async fn put(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Auth,
        body: JsonBody<RetentionUpdate>,
    ) -> Result<Json<RetentionSettings>, Fails<OnSettingsUpdate>> {
        let days = body.0.days;
        let days = i32::try_from(days)
            .ok()
            .filter(|d| (MIN_DAYS..=MAX_DAYS).contains(d))
            .ok_or_else(|| ApiError::invalid("days", format!("must be between {MIN_DAYS} and {MAX_DAYS}")))?;
        retention::set_days(&state.store, auth.tenant().id, days).await?;
        Ok(Json(RetentionSettings { days }))
    }
}
