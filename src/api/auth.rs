//! Authentication. Three credentials, three reaches:
//! - a secret API key, in `X-Api-Key` or `Authorization: Bearer`, either one: the whole tenant;
//! - a session token (`Authorization: Bearer <JWT>`): posting events to and reading the mood and
//!   state of its own session, from the origins it names;
//! - a publishable key (`X-Publishable-Key`): starting a browser session, from its origins.
//!
//! A missing, malformed, duplicated, unknown, wrong, revoked, expired or tampered credential is
//! the documented 401; a valid one used beyond its reach is 403.

use super::error::ApiError;
use crate::auth::{self, ApiKey, KeyHolder, PublishableKey, SessionGrant};
use crate::domain::{SessionId, Tenant};
use crate::engine::Mood;
use crate::state::AppState;
use crate::store::publishable_keys;
use poem::http::{HeaderMap, StatusCode};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use poem_openapi::SecurityScheme;
use poem_openapi::auth::{ApiKey as HeaderKey, Bearer};
use std::sync::Arc;

/// `X-Api-Key: sm_…` (preferred for server-side calls).
#[derive(SecurityScheme)]
#[oai(rename = "ApiKeyHeader", ty = "api_key", key_name = "X-Api-Key", key_in = "header", checker = "by_header")]
pub struct ApiKeyHeader(KeyHolder);

/// `Authorization: Bearer sm_…`
#[derive(SecurityScheme)]
#[oai(rename = "BearerKey", ty = "bearer", checker = "by_bearer")]
pub struct BearerKey(KeyHolder);

/// `Authorization: Bearer <session token>`: a JWT from `POST /v1/browser/sessions` or
/// `POST /v1/tokens`, for one session.
#[derive(SecurityScheme)]
#[oai(rename = "SessionToken", ty = "bearer", bearer_format = "JWT", checker = "by_token")]
pub struct SessionToken(pub TokenHolder);

/// `X-Publishable-Key: pk_…`, from one of the key's allowed origins.
#[derive(SecurityScheme)]
#[oai(
    rename = "PublishableKey",
    ty = "api_key",
    key_name = "X-Publishable-Key",
    key_in = "header",
    checker = "by_publishable_key"
)]
pub struct PublishableKeyHeader(pub PublishableHolder);

/// `?token=…` in the URL, for `EventSource`, which cannot send headers: a stream token from
/// `POST /v1/stream/tokens`, or (for its own session's stream) a session token. Never a
/// secret key.
#[derive(SecurityScheme)]
#[oai(rename = "StreamToken", ty = "api_key", key_name = "token", key_in = "query", checker = "by_stream_token")]
pub struct StreamToken(pub StreamHolder);

/// What a stream may show: the tenant's changes, or one session's, in some moods.
#[derive(Clone, Debug)]
pub struct StreamHolder {
    pub tenant: Tenant,
    /// `None`: every session.
    pub session: Option<SessionId>,
    /// `None`: every mood.
    pub moods: Option<Vec<Mood>>,
}

impl StreamHolder {
    fn whole_tenant(key: &KeyHolder) -> Self {
        Self { tenant: key.tenant.clone(), session: None, moods: None }
    }
}

/// The credentials the tenant's stream takes: a secret key by either header, or a stream token
/// in the query.
#[derive(SecurityScheme)]
pub enum TenantStreamAuth {
    ApiKey(ApiKeyHeader),
    Query(StreamToken),
    Bearer(BearerKey),
}

impl TenantStreamAuth {
    /// What the caller may stream.
    pub fn holder(&self) -> StreamHolder {
        match self {
            Self::ApiKey(ApiKeyHeader(h)) | Self::Bearer(BearerKey(h)) => StreamHolder::whole_tenant(h),
            Self::Query(StreamToken(holder)) => holder.clone(),
        }
    }
}

/// The credentials a session's stream takes: those of the tenant's stream, or the session's
/// own token as the bearer (or in the query).
#[derive(SecurityScheme)]
pub enum SessionStreamAuth {
    ApiKey(ApiKeyHeader),
    Query(StreamToken),
    Token(SessionToken),
    Bearer(BearerKey),
}

impl SessionStreamAuth {
    /// What the caller may stream.
    pub fn holder(&self) -> StreamHolder {
        match self {
            Self::ApiKey(ApiKeyHeader(h)) | Self::Bearer(BearerKey(h)) => StreamHolder::whole_tenant(h),
            Self::Query(StreamToken(holder)) => holder.clone(),
            Self::Token(SessionToken(t)) => {
                StreamHolder { tenant: t.tenant.clone(), session: Some(t.grant.session.clone()), moods: None }
            }
        }
    }
}

/// A secret API key, by either scheme.
#[derive(SecurityScheme)]
pub enum Auth {
    ApiKey(ApiKeyHeader),
    Bearer(BearerKey),
}

impl Auth {
    pub fn tenant(&self) -> &Tenant {
        &self.holder().tenant
    }

    /// The key the request authenticated with (for revocation).
    pub fn key_id(&self) -> i64 {
        self.holder().key_id
    }

    fn holder(&self) -> &KeyHolder {
        match self {
            Self::ApiKey(ApiKeyHeader(h)) | Self::Bearer(BearerKey(h)) => h,
        }
    }
}

/// A secret API key or a session token: the session endpoints a browser may call.
/// poem-openapi tries the schemes in order: `X-Api-Key` first (a missing header fails at no
/// cost), then the token before the secret-key bearer, which would verify a token only to refuse
/// it. (A bearer secret key costs the token scheme one failed header decode.)
#[derive(SecurityScheme)]
pub enum SessionAuth {
    ApiKey(ApiKeyHeader),
    Token(SessionToken),
    Bearer(BearerKey),
}

impl SessionAuth {
    /// The tenant, if the caller may act on session `id`: any session of its tenant with a secret
    /// key, its own session only with a token (403 otherwise).
    pub fn tenant_for(&self, id: &SessionId) -> Result<&Tenant, ApiError> {
        match self {
            Self::ApiKey(ApiKeyHeader(h)) | Self::Bearer(BearerKey(h)) => Ok(&h.tenant),
            Self::Token(SessionToken(t)) if &t.grant.session == id => Ok(&t.tenant),
            Self::Token(_) => Err(ApiError::Forbidden("This session token grants access to its own session only")),
        }
    }

    /// The token's grant, if the caller holds a token rather than a key.
    pub fn grant(&self) -> Option<&SessionGrant> {
        match self {
            Self::Token(SessionToken(t)) => Some(&t.grant),
            _ => None,
        }
    }
}

/// A verified session token and its tenant.
pub struct TokenHolder {
    pub tenant: Tenant,
    pub grant: SessionGrant,
}

/// A live publishable key used from one of its origins.
pub struct PublishableHolder {
    pub tenant: Tenant,
    pub allowed_origins: Vec<String>,
}

fn state(req: &Request) -> &Arc<AppState> {
    req.data::<Arc<AppState>>().expect("the app state is attached to every request")
}

// The secret-key checkers look at the raw headers, so a request is judged the same whichever
// scheme poem-openapi tries first.
async fn by_header(req: &Request, _: HeaderKey) -> poem::Result<KeyHolder> {
    secret_key(req).await
}

async fn by_bearer(req: &Request, _: Bearer) -> poem::Result<KeyHolder> {
    secret_key(req).await
}

/// The secret key's holder; a valid session token here is used beyond its reach (403).
async fn secret_key(req: &Request) -> poem::Result<KeyHolder> {
    let state = state(req);
    match presented(req.headers()) {
        Presented::Key(key) => match auth::verify(&state.store, &state.keys, &key).await {
            Ok(Some(holder)) => Ok(holder),
            Ok(None) => Err(ApiError::Unauthorized.into()),
            Err(e) => Err(ApiError::from(e).into()),
        },
        // Judged as the token scheme judges it, whichever scheme poem-openapi tried last.
        Presented::Token(token) => match token_holder(req, token).await {
            Ok(_) => {
                Err(ApiError::Forbidden("A session token cannot call this endpoint: use your secret API key").into())
            }
            Err(e) => Err(e),
        },
        Presented::Nothing => Err(ApiError::Unauthorized.into()),
    }
}

async fn by_token(req: &Request, bearer: Bearer) -> poem::Result<TokenHolder> {
    token_holder(req, &bearer.token).await
}

/// The token's grant and tenant, if it verifies and may be used from the request's origin.
async fn token_holder(req: &Request, token: &str) -> poem::Result<TokenHolder> {
    let state = state(req);
    let grant = state.tokens.verify(token, state.clock.now()).await.map_err(|_| ApiError::Unauthorized)?;
    if let Some(origin) = origin(req)
        && !grant.origins.is_empty()
        && !grant.origins.iter().any(|o| o == origin)
    {
        return Err(ApiError::OriginNotAllowed.into());
    }
    let tenant = state.plans.tenant(&state.store, grant.tenant).await.map_err(ApiError::from)?;
    // The tenant may have been deleted since the token was signed.
    let tenant = tenant.ok_or(ApiError::Unauthorized)?;
    Ok(TokenHolder { tenant, grant })
}

/// A stream token, or else a session token (from an allowed origin), in the query.
async fn by_stream_token(req: &Request, query: HeaderKey) -> poem::Result<StreamHolder> {
    let state = state(req);
    let token = query.key.trim();
    let holder = match state.tokens.verify_stream(token, state.clock.now()).await {
        Ok(grant) => {
            let tenant = state.plans.tenant(&state.store, grant.tenant).await.map_err(ApiError::from)?;
            StreamHolder { tenant: tenant.ok_or(ApiError::Unauthorized)?, session: grant.session, moods: grant.moods }
        }
        Err(_) => {
            let t = token_holder(req, token).await?;
            StreamHolder { tenant: t.tenant, session: Some(t.grant.session), moods: None }
        }
    };
    Ok(holder)
}

async fn by_publishable_key(req: &Request, header: HeaderKey) -> poem::Result<PublishableHolder> {
    let state = state(req);
    let key = PublishableKey::parse(header.key.trim()).ok_or(ApiError::Unauthorized)?;
    let found = publishable_keys::find(&state.store, &key).await.map_err(ApiError::from)?;
    let found = found.ok_or(ApiError::Unauthorized)?;
    match origin(req) {
        Some(origin) if found.allowed_origins.iter().any(|o| o == origin) => {}
        _ => return Err(ApiError::OriginNotAllowed.into()),
    }
    Ok(PublishableHolder { tenant: found.tenant, allowed_origins: found.allowed_origins })
}

/// The request's `Origin`, if it has exactly one.
fn origin(req: &Request) -> Option<&str> {
    let mut values = req.headers().get_all("origin").iter();
    match (values.next(), values.next()) {
        (Some(v), None) => v.to_str().ok(),
        _ => None,
    }
}

/// The one credential a request carries in `X-Api-Key` or `Authorization: Bearer`.
enum Presented<'a> {
    Key(ApiKey),
    /// Anything else after `Bearer `: a session token, if it verifies.
    Token(&'a str),
    Nothing,
}

/// A single `X-Api-Key`, a single `Authorization: Bearer`, or both naming the same key. Anything
/// else (repeated or conflicting headers, another scheme) carries nothing.
/// The token of an `Authorization` value of the Bearer scheme (named in any case), trimmed.
pub(crate) fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn presented(headers: &HeaderMap) -> Presented<'_> {
    let single = |name: &str| -> Result<Option<&str>, ()> {
        let mut values = headers.get_all(name).iter();
        match (values.next(), values.next()) {
            (None, _) => Ok(None),
            (Some(v), None) => v.to_str().map(|s| Some(s.trim())).map_err(|_| ()),
            (Some(_), Some(_)) => Err(()),
        }
    };
    let (Ok(header), Ok(authorization)) = (single("x-api-key"), single("authorization")) else {
        return Presented::Nothing;
    };
    let bearer = match authorization {
        Some(value) => match bearer_token(value) {
            Some(token) => Some(token),
            None => return Presented::Nothing,
        },
        None => None,
    };
    let raw = match (header, bearer) {
        (Some(a), None) | (None, Some(a)) => a,
        (Some(a), Some(b)) if a == b => a,
        _ => return Presented::Nothing,
    };
    match ApiKey::parse(raw) {
        Some(key) => Presented::Key(key),
        None if header.is_none() && !raw.starts_with("sm_") && !raw.is_empty() => Presented::Token(raw),
        None => Presented::Nothing,
    }
}

/// Throttles clients that fail to authenticate, but only where checking costs: an address with
/// too many recent failures gets 429 (with `Retry-After`) for requests whose secret key would
/// need a fresh argon2 run. A key this server verified before, a session token and a
/// publishable key cost a lookup or an HMAC at most, and are always answered, so a shared proxy
/// or NAT that one client fills with bad keys locks out nobody whose credential verifies. A
/// middleware rather than part of the checkers: poem-openapi keeps only the last security
/// scheme's error.
pub struct AuthGuard;

/// Endpoints that need no key, and so are never throttled.
const PUBLIC_PATHS: [&str; 4] = ["/health", "/ready", "/v1/keys/generate", "/metrics"];

impl<E: Endpoint> Middleware<E> for AuthGuard {
    type Output = AuthGuardEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        AuthGuardEndpoint(ep)
    }
}

pub struct AuthGuardEndpoint<E>(E);

impl<E: Endpoint> Endpoint for AuthGuardEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let state = req.data::<Arc<AppState>>().cloned();
        let ip = req.remote_addr().as_socket_addr().map(|a| a.ip());
        let headers = req.headers();
        let credentialed = ["x-api-key", "authorization", "x-publishable-key"].iter().any(|h| headers.contains_key(*h));
        let credentialed = credentialed && !PUBLIC_PATHS.contains(&req.uri().path());
        let (Some(state), Some(ip), true) = (state, ip, credentialed) else {
            return self.0.call(req).await.map(IntoResponse::into_response);
        };
        if let Some(wait) = state.throttle.blocked(ip) {
            let costly = match presented(req.headers()) {
                Presented::Key(key) => !state.keys.verified_before(&key),
                Presented::Token(_) | Presented::Nothing => false,
            };
            if costly {
                return Err(ApiError::AuthThrottled(wait.as_secs().max(1)).into());
            }
        }
        let result = self.0.call(req).await.map(IntoResponse::into_response);
        let status = match &result {
            Ok(resp) => resp.status(),
            Err(err) => err.status(),
        };
        if status == StatusCode::UNAUTHORIZED {
            state.throttle.failed(ip);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ApiKey {
        ApiKey::parse(&format!("sm_{}", "ab".repeat(32))).unwrap()
    }

    fn headers(pairs: &[(&str, String)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(poem::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        h
    }

    /// The key a request presents, if it presents one.
    fn credential(h: &HeaderMap) -> Option<ApiKey> {
        match presented(h) {
            Presented::Key(key) => Some(key),
            _ => None,
        }
    }

    #[test]
    fn one_key_by_either_header() {
        let k = key().expose().to_owned();
        assert_eq!(credential(&headers(&[("x-api-key", k.clone())])), Some(key()));
        assert_eq!(credential(&headers(&[("authorization", format!("Bearer {k}"))])), Some(key()));
        assert_eq!(credential(&headers(&[("authorization", format!("bearer  {k}"))])), Some(key()));
        assert_eq!(
            credential(&headers(&[("x-api-key", k.clone()), ("authorization", format!("Bearer {k}"))])),
            Some(key())
        );
    }

    #[test]
    fn anything_else_after_bearer_is_a_token_to_verify() {
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzIn0.c2ln";
        assert!(
            matches!(presented(&headers(&[("authorization", format!("Bearer {token}"))])), Presented::Token(t) if t == token)
        );
        assert!(matches!(presented(&headers(&[("x-api-key", token.into())])), Presented::Nothing), "not in X-Api-Key");
        assert!(matches!(presented(&headers(&[("authorization", "Bearer sm_short".into())])), Presented::Nothing));
    }

    #[test]
    fn ambiguous_or_malformed_credentials_carry_no_key() {
        let k = key().expose().to_owned();
        let other = format!("sm_{}", "cd".repeat(32));
        for h in [
            headers(&[]),
            headers(&[("x-api-key", k.clone()), ("x-api-key", k.clone())]),
            headers(&[("x-api-key", k.clone()), ("authorization", format!("Bearer {other}"))]),
            headers(&[("authorization", format!("Basic {k}"))]),
            headers(&[("authorization", k.clone())]),
            headers(&[("x-api-key", "sm_short".into())]),
        ] {
            assert_eq!(credential(&h), None, "{h:?}");
        }
    }
}
