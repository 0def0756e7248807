//! Publishable keys: created, listed and revoked with the secret key. They are public — they go
//! in web pages — and can only start browser sessions from the origins they list.

use super::Tag;
use super::auth::Auth;
use super::body::JsonBody;
use super::error::{ApiError, Fails, Failures};
use super::wire::{iso8601, origins};
use crate::auth::PublishableKey;
use crate::state::AppState;
use crate::store::publishable_keys::{self, StoredPublishableKey};
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;
use std::sync::Arc;

#[derive(Debug, Deserialize, Object)]
#[oai(example)]
pub struct NewPublishableKey {
    /// The origins pages may use the key from, each exactly `scheme://host[:port]` (http or
    /// https; no path, no wildcard), 1–50 of them.
    #[oai(validator(
        min_items = 1,
        max_items = 50,
        pattern = "^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9][A-Za-z0-9.-]{0,252}(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?$"
    ))]
    pub allowed_origins: Vec<String>,
}

impl Example for NewPublishableKey {
    fn example() -> Self {
        Self { allowed_origins: vec!["https://shop.example".into(), "https://www.shop.example".into()] }
    }
}

/// A publishable key. It is public: it is shown again in the list.
#[derive(Debug, Object)]
#[oai(example)]
pub struct PublishableKeyOut {
    pub publishable_key: String,
    /// As normalised: lower case, without the scheme's default port.
    pub allowed_origins: Vec<String>,
    pub created_at: String,
}

impl Example for PublishableKeyOut {
    fn example() -> Self {
        Self {
            publishable_key: "pk_3b9f0c2d7e4a18f65c0b9d2e7a4f1c8b3d6e9a0f2c5b8d1e".into(),
            allowed_origins: vec!["https://shop.example".into()],
            created_at: "2026-05-04T10:00:00.000Z".into(),
        }
    }
}

impl From<StoredPublishableKey> for PublishableKeyOut {
    fn from(k: StoredPublishableKey) -> Self {
        Self { publishable_key: k.key, allowed_origins: k.allowed_origins, created_at: iso8601(k.created_at_ms) }
    }
}

#[derive(Debug, Object)]
pub struct PublishableKeyList {
    /// Live keys, newest first.
    pub publishable_keys: Vec<PublishableKeyOut>,
}

#[derive(Debug, Object)]
pub struct RevokedPublishableKey {
    pub publishable_key: String,
    pub revoked: bool,
}

#[derive(ApiResponse)]
pub enum Created {
    #[oai(status = 201)]
    Key(Json<PublishableKeyOut>),
}

pub struct OnCreate;
impl Failures for OnCreate {
    const STATUSES: &'static [u16] = &[400, 401, 403, 413, 415, 429, 500];
}

pub struct OnRead;
impl Failures for OnRead {
    const STATUSES: &'static [u16] = &[401, 403, 429, 500];
}

pub struct OnRevoke;
impl Failures for OnRevoke {
    const STATUSES: &'static [u16] = &[401, 403, 404, 429, 500];
}

pub struct PublishableKeysApi;

#[OpenApi(prefix_path = "/v1/keys/publishable", tag = "Tag::Keys")]
impl PublishableKeysApi {
    /// Create a publishable key
    ///
    /// A key to put in web pages (`<script src=".../v1/tracker.js" data-key="pk_...">`). It can
    /// do one thing: start a browser session, from one of `allowed_origins`.
    #[oai(path = "/", method = "post", operation_id = "createPublishableKey")]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Auth,
        body: JsonBody<NewPublishableKey>,
    ) -> Result<Created, Fails<OnCreate>> {
        let origins = origins("allowed_origins", &body.0.allowed_origins)?;
        if origins.is_empty() {
            return Err(ApiError::invalid("allowed_origins", "must list at least one origin").into());
        }
        let key = PublishableKey::generate();
        let now = state.clock.now();
        publishable_keys::create(&state.store, auth.tenant(), &key, &origins, now).await?;
        Ok(Created::Key(Json(PublishableKeyOut {
            publishable_key: key.as_str().to_owned(),
            allowed_origins: origins.iter().map(|o| o.as_str().to_owned()).collect(),
            created_at: iso8601(now.timestamp_millis()),
        })))
    }

    /// List publishable keys
    #[oai(path = "/", method = "get", operation_id = "listPublishableKeys")]
    async fn list(&self, state: Data<&Arc<AppState>>, auth: Auth) -> Result<Json<PublishableKeyList>, Fails<OnRead>> {
        let keys = publishable_keys::list(&state.store, auth.tenant()).await?;
        Ok(Json(PublishableKeyList { publishable_keys: keys.into_iter().map(Into::into).collect() }))
    }

    /// Revoke a publishable key
    ///
    /// Pages using it can no longer start sessions, at once on every server. Tokens it already
    /// led to keep working until they expire (15 minutes by default).
    #[oai(path = "/:key", method = "delete", operation_id = "revokePublishableKey")]
    async fn revoke(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Auth,
        /// The publishable key.
        key: Path<String>,
    ) -> Result<Json<RevokedPublishableKey>, Fails<OnRevoke>> {
        if !publishable_keys::revoke(&state.store, auth.tenant(), &key, state.clock.now()).await? {
            return Err(ApiError::PublishableKeyNotFound.into());
        }
        Ok(Json(RevokedPublishableKey { publishable_key: key.0, revoked: true }))
    }
}
