use super::Tag;
use super::auth::Auth;
use super::body::JsonBody;
use super::error::{ApiError, Fails, Failures};
use super::wire::{OpenEnum, Plans, check_text};
use crate::auth::ApiKey;
use crate::domain::Plan;
use crate::state::AppState;
use crate::store::tenants::{self, NewTenant};
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;
use std::sync::Arc;

/// Sign-up: who the key is for.
#[derive(Debug, Deserialize, Object)]
#[oai(example)]
pub struct GenerateKeyRequest {
    /// Name or company of the key owner (1–256 characters, not blank).
    #[serde(default)]
    #[oai(validator(min_length = 1, max_length = 256, pattern = "^[^\\u0000]*\\S[^\\u0000]*$"))]
    pub customer_name: String,
    /// Contact e-mail address for the customer: at most 254 characters, with an `@`, no
    /// control characters.
    #[oai(
        nullable,
        validator(
            max_length = 254,
            pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*@[^\\u0000-\\u001F\\u007F-\\u009F]*$"
        )
    )]
    pub email: Option<String>,
    /// The plan; `starter` when omitted.
    #[serde(default, deserialize_with = "super::body::not_null")]
    pub plan: Option<OpenEnum<Plans>>,
}

impl Example for GenerateKeyRequest {
    fn example() -> Self {
        serde_json::from_value(serde_json::json!({
            "customer_name": "Acme Inc", "email": "dev@acme.com", "plan": "starter"
        }))
        .expect("the example parses")
    }
}

/// A new key, shown this once.
#[derive(Debug, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct GeneratedKey {
    /// The API key. It cannot be retrieved again: store it now.
    pub api_key: String,
    /// The customer name the key was issued to.
    pub customer: String,
    pub email: Option<String>,
    pub plan: OpenEnum<Plans>,
    /// The plan's allowance, e.g. "5,000 sessions/month".
    pub limits: String,
    pub message: String,
}

impl Example for GeneratedKey {
    fn example() -> Self {
        Self {
            api_key: "sm_4c9174cbe8250bb1d09ae779c168a4399e765819da244cbf0e1d2c3b4a596877".into(),
            customer: "Acme Inc".into(),
            email: Some("dev@acme.com".into()),
            plan: OpenEnum::new("starter"),
            limits: "5,000 sessions/month".into(),
            message: KEY_MESSAGE.into(),
        }
    }
}

const KEY_MESSAGE: &str = "Store this key safely - it won't be shown again.";

#[derive(ApiResponse)]
pub enum Created {
    /// The key was created. It is shown only in this response.
    #[oai(status = 201)]
    Key(Json<GeneratedKey>),
}

pub struct OnGenerate;
impl Failures for OnGenerate {
    const STATUSES: &'static [u16] = &[400, 413, 415, 500];
}

/// Another key for the same customer.
#[derive(Debug, Object)]
pub struct IssuedKey {
    /// The new key. It cannot be retrieved again: store it now.
    pub api_key: String,
    pub plan: OpenEnum<Plans>,
    pub limits: String,
    pub message: String,
}

#[derive(ApiResponse)]
pub enum Issued {
    /// The key was created; the calling key keeps working until revoked.
    #[oai(status = 201)]
    Key(Json<IssuedKey>),
}

#[derive(Debug, Object)]
pub struct RevokedKey {
    pub revoked: bool,
    pub message: String,
}

pub struct OnKeyChange;
impl Failures for OnKeyChange {
    const STATUSES: &'static [u16] = &[401, 403, 429, 500];
}

pub struct KeysApi;

#[OpenApi(prefix_path = "/v1", tag = "Tag::Keys")]
impl KeysApi {
    /// Generate a new API key
    ///
    /// No authentication: this is the endpoint a sign-up form calls. Each call creates a new
    /// customer (tenant) with its own sessions and quota. The key is returned once and cannot
    /// be retrieved again.
    #[oai(path = "/keys/generate", method = "post", operation_id = "generateKey")]
    async fn generate(
        &self,
        state: Data<&Arc<AppState>>,
        body: JsonBody<GenerateKeyRequest>,
    ) -> Result<Created, Fails<OnGenerate>> {
        let req = body.0;
        // Exactly the rules the spec states (schemathesis holds us to them); stored trimmed.
        let name = req.customer_name.trim();
        if name.is_empty() {
            return Err(ApiError::CustomerNameRequired.into());
        }
        check_text("customer_name", &req.customer_name, 256)?;
        let email = req.email.as_deref();
        if email.is_some_and(|e| e.chars().count() > 254 || !e.contains('@') || e.chars().any(char::is_control)) {
            return Err(ApiError::invalid("email", "must be an e-mail address of at most 254 characters").into());
        }
        let email = email.map(str::trim);
        let plan = match &req.plan {
            None => Plan::Starter,
            Some(p) => p.value.parse().map_err(|()| ApiError::InvalidPlan)?,
        };
        let key = ApiKey::generate();
        let hash = key.hash().await.map_err(ApiError::Internal)?;
        let new = NewTenant { name, email, plan, key_lookup: key.lookup(), key_hash: &hash };
        tenants::create(&state.store, new, state.clock.now()).await?;
        Ok(Created::Key(Json(GeneratedKey {
            api_key: key.expose().to_owned(),
            customer: name.to_owned(),
            email: email.map(str::to_owned),
            plan: OpenEnum::new(plan.as_str()),
            limits: plan.limits_text(),
            message: KEY_MESSAGE.into(),
        })))
    }

    /// Issue another key
    ///
    /// A new key for the calling key's customer, shown once. For rotation: issue a new key,
    /// move your clients to it, then revoke the old one with `DELETE /v1/keys/current`.
    #[oai(path = "/keys", method = "post", operation_id = "issueKey")]
    async fn issue(&self, state: Data<&Arc<AppState>>, auth: Auth) -> Result<Issued, Fails<OnKeyChange>> {
        let key = ApiKey::generate();
        let hash = key.hash().await.map_err(ApiError::Internal)?;
        let tenant = auth.tenant();
        tenants::add_key(&state.store, tenant.id, key.lookup(), &hash, state.clock.now()).await?;
        Ok(Issued::Key(Json(IssuedKey {
            api_key: key.expose().to_owned(),
            plan: OpenEnum::new(tenant.plan.as_str()),
            limits: tenant.plan.limits_text(),
            message: KEY_MESSAGE.into(),
        })))
    }

    /// Revoke the calling key
    ///
    /// The key used for this request stops working: at once on this server, and within 30
    /// seconds on every server (verified keys are cached that long).
    #[oai(path = "/keys/current", method = "delete", operation_id = "revokeCurrentKey")]
    async fn revoke(&self, state: Data<&Arc<AppState>>, auth: Auth) -> Result<Json<RevokedKey>, Fails<OnKeyChange>> {
        tenants::revoke_key(&state.store, auth.tenant().id, auth.key_id(), state.clock.now()).await?;
        state.keys.forget(auth.key_id());
        Ok(Json(RevokedKey {
            revoked: true,
            message: "This key no longer works; servers that cached it forget it within 30 seconds.".into(),
        }))
    }
}
