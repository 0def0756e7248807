//! What web pages use: a browser session started with a publishable key, and the session
//! tokens that let the page post its events and read its mood — minted here from a publishable
//! key, by the customer's server with its secret key, or renewed by their holder.

use super::Tag;
use super::auth::{Auth, PublishableKeyHeader, SessionToken};
use super::body::JsonBody;
use super::error::{ApiError, Fails, Failures};
use super::wire::{iso8601, origins, session_id};
use crate::auth::{DEFAULT_TTL_S, MAX_TTL_S, MIN_TTL_S};
use crate::domain::SessionId;
use crate::state::AppState;
use crate::store::sessions;
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi};
use rand::RngCore;
use serde::Deserialize;
use std::sync::Arc;

/// A session and the token that reaches it.
#[derive(Debug, Object)]
#[oai(example)]
pub struct SessionCredential {
    pub session_id: String,
    /// A JWT for `Authorization: Bearer …`: posts events to and reads the mood and state of
    /// this session only.
    pub token: String,
    /// When the token stops working (renew it before: `POST /v1/tokens/renew`).
    pub expires_at: String,
}

impl Example for SessionCredential {
    fn example() -> Self {
        Self {
            session_id: "bs_5f0c8e2a9d4b41c7a3e6f1d2c8b9a0e4".into(),
            token: "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImsxLTNmOWEifQ.eyJpc3MiOiJtb29kcmluZyJ9.c2lnbmF0dXJl"
                .into(),
            expires_at: "2026-05-04T10:15:00.000Z".into(),
        }
    }
}

impl SessionCredential {
    fn new(session: &SessionId, (token, expires_at): (String, DateTime<Utc>)) -> Self {
        Self { session_id: session.to_string(), token, expires_at: iso8601(expires_at.timestamp_millis()) }
    }
}

#[derive(ApiResponse)]
pub enum Minted {
    #[oai(status = 201)]
    Credential(Json<SessionCredential>),
}

/// A token for one of your sessions, for a page or an app to use.
#[derive(Debug, Deserialize, Object)]
#[oai(example)]
pub struct MintTokenRequest {
    /// Your session identifier (the session need not exist yet: the token's first batch
    /// creates it, counted against your quota then).
    #[oai(validator(min_length = 1, max_length = 256, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"))]
    pub session_id: String,
    /// Lifetime in seconds, 60–86400 (default 900).
    #[oai(validator(minimum(value = "60"), maximum(value = "86400")))]
    pub ttl_s: Option<i64>,
    /// Origins (`https://shop.example`) a browser may use the token from; absent or empty: any
    /// (the token still reaches its own session only).
    #[oai(validator(
        max_items = 50,
        pattern = "^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9][A-Za-z0-9.-]{0,252}(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?$"
    ))]
    pub allowed_origins: Option<Vec<String>>,
}

impl Example for MintTokenRequest {
    fn example() -> Self {
        Self {
            session_id: "user_abc".into(),
            ttl_s: Some(900),
            allowed_origins: Some(vec!["https://shop.example".into()]),
        }
    }
}

pub struct OnBrowserSession;
impl Failures for OnBrowserSession {
    const STATUSES: &'static [u16] = &[401, 403, 429, 500];
}

pub struct OnMint;
impl Failures for OnMint {
    const STATUSES: &'static [u16] = &[400, 401, 403, 413, 415, 429, 500];
}

pub struct OnRenew;
impl Failures for OnRenew {
    const STATUSES: &'static [u16] = &[401, 403, 429, 500];
}

/// A fresh session id chosen by the server: `bs_` + 128 random bits. A client-chosen id would
/// let anyone holding the public key reach an existing session.
fn new_session_id() -> SessionId {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    SessionId::parse(&format!("bs_{}", hex::encode(bytes))).expect("a valid id")
}

pub struct BrowserApi;

#[OpenApi(prefix_path = "/v1", tag = "Tag::Browser")]
impl BrowserApi {
    /// Start a browser session
    ///
    /// For web pages, with a publishable key from one of its allowed origins (the tracker,
    /// `/v1/tracker.js`, calls it for you). The server chooses the session id and answers it
    /// with a token for it. Counts against the monthly allowance of new sessions like any new
    /// session.
    #[oai(path = "/browser/sessions", method = "post", operation_id = "startBrowserSession")]
    async fn start(
        &self,
        state: Data<&Arc<AppState>>,
        key: PublishableKeyHeader,
    ) -> Result<Minted, Fails<OnBrowserSession>> {
        let holder = &key.0;
        let now = state.clock.now();
        let id = new_session_id();
        sessions::start(&state.store, &state.models, &holder.tenant, &id, now).await?;
        let issued =
            state.tokens.issue(holder.tenant.id, &id, DEFAULT_TTL_S, holder.allowed_origins.clone(), now).await?;
        Ok(Minted::Credential(Json(SessionCredential::new(&id, issued))))
    }

    /// Mint a session token
    ///
    /// For apps that keep their own session ids: your server mints a token for one session with
    /// your secret key and hands it to the page or app, which then posts that session's events
    /// and reads its mood, and nothing else.
    #[oai(path = "/tokens", method = "post", operation_id = "mintSessionToken")]
    async fn mint(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Auth,
        body: JsonBody<MintTokenRequest>,
    ) -> Result<Minted, Fails<OnMint>> {
        let req = body.0;
        let id = session_id(&req.session_id).map_err(|e| match e {
            ApiError::InvalidSessionId(why) => ApiError::invalid("session_id", format!("session id {why}")),
            other => other,
        })?;
        let ttl_s = req.ttl_s.unwrap_or(DEFAULT_TTL_S);
        if !(MIN_TTL_S..=MAX_TTL_S).contains(&ttl_s) {
            return Err(
                ApiError::invalid("ttl_s", format!("must be between {MIN_TTL_S} and {MAX_TTL_S} seconds")).into()
            );
        }
        let origins = origins("allowed_origins", req.allowed_origins.as_deref().unwrap_or_default())?;
        let origins = origins.iter().map(|o| o.as_str().to_owned()).collect();
        let issued = state.tokens.issue(auth.tenant().id, &id, ttl_s, origins, state.clock.now()).await?;
        Ok(Minted::Credential(Json(SessionCredential::new(&id, issued))))
    }

    /// Renew a session token
    ///
    /// A new token for the same session, origins and lifetime, for the token in
    /// `Authorization: Bearer` while it is still valid.
    #[oai(path = "/tokens/renew", method = "post", operation_id = "renewSessionToken")]
    async fn renew(&self, state: Data<&Arc<AppState>>, token: SessionToken) -> Result<Minted, Fails<OnRenew>> {
        let grant = &token.0.grant;
        let ttl_s = (grant.expires_at - grant.issued_at).num_seconds();
        let issued =
            state.tokens.issue(grant.tenant, &grant.session, ttl_s, grant.origins.clone(), state.clock.now()).await?;
        Ok(Minted::Credential(Json(SessionCredential::new(&grant.session, issued))))
    }
}
