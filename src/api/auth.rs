//! Authentication: an API key in `X-Api-Key` or `Authorization: Bearer`, either one. Every
//! failure — missing, malformed, duplicated, unknown, wrong or revoked — is the same 401.

use super::error::ApiError;
use crate::auth::{self, ApiKey};
use crate::domain::Tenant;
use crate::state::AppState;
use poem::http::HeaderMap;
use poem::http::StatusCode;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use poem_openapi::SecurityScheme;
use poem_openapi::auth::{ApiKey as HeaderKey, Bearer};
use std::sync::Arc;

/// `X-Api-Key: sm_…` (preferred for server-side calls).
#[derive(SecurityScheme)]
#[oai(rename = "ApiKeyHeader", ty = "api_key", key_name = "X-Api-Key", key_in = "header", checker = "by_header")]
pub struct ApiKeyHeader(Tenant);

/// `Authorization: Bearer sm_…`
#[derive(SecurityScheme)]
#[oai(rename = "BearerKey", ty = "bearer", checker = "by_bearer")]
pub struct BearerKey(Tenant);

/// Either scheme authenticates a request.
#[derive(SecurityScheme)]
pub enum Auth {
    ApiKey(ApiKeyHeader),
    Bearer(BearerKey),
}

impl Auth {
    pub fn tenant(&self) -> &Tenant {
        match self {
            Self::ApiKey(ApiKeyHeader(t)) | Self::Bearer(BearerKey(t)) => t,
        }
    }
}

// Both checkers look at the raw headers, so a request is judged the same whichever scheme
// poem-openapi tries first.
async fn by_header(req: &Request, _: HeaderKey) -> poem::Result<Tenant> {
    authenticate(req).await
}

async fn by_bearer(req: &Request, _: Bearer) -> poem::Result<Tenant> {
    authenticate(req).await
}

async fn authenticate(req: &Request) -> poem::Result<Tenant> {
    let state = req.data::<Arc<AppState>>().expect("the app state is attached to every request");
    let key = credential(req.headers()).ok_or(ApiError::Unauthorized)?;
    match auth::verify(&state.store, &state.keys, &key).await {
        Ok(Some(tenant)) => Ok(tenant),
        Ok(None) => Err(ApiError::Unauthorized.into()),
        Err(e) => Err(ApiError::from(e).into()),
    }
}

/// The one key a request carries: a single `X-Api-Key`, a single `Authorization: Bearer`, or
/// both naming the same key. Anything else (repeated or conflicting headers) carries none.
fn credential(headers: &HeaderMap) -> Option<ApiKey> {
    let single = |name: &str| -> Result<Option<&str>, ()> {
        let mut values = headers.get_all(name).iter();
        match (values.next(), values.next()) {
            (None, _) => Ok(None),
            (Some(v), None) => v.to_str().map(|s| Some(s.trim())).map_err(|_| ()),
            (Some(_), Some(_)) => Err(()),
        }
    };
    let header = single("x-api-key").ok()?;
    let bearer = match single("authorization").ok()? {
        Some(value) => {
            let (scheme, token) = value.split_once(' ')?;
            Some(scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())?)
        }
        None => None,
    };
    let raw = match (header, bearer) {
        (Some(a), None) | (None, Some(a)) => a,
        (Some(a), Some(b)) if a == b => a,
        _ => return None,
    };
    ApiKey::parse(raw)
}

/// Throttles clients that fail to authenticate: a request carrying credentials from an address
/// with too many recent failures gets 429 (with `Retry-After`) before it is looked at. A middleware rather than part of
/// the checkers: poem-openapi keeps only the last security scheme's error.
pub struct AuthGuard;

/// Endpoints that need no key, and so are never throttled.
const PUBLIC_PATHS: [&str; 2] = ["/health", "/v1/keys/generate"];

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
        let credentialed = req.headers().contains_key("x-api-key") || req.headers().contains_key("authorization");
        let public = PUBLIC_PATHS.contains(&req.uri().path());
        let credentialed = credentialed && !public;
        let (Some(state), Some(ip), true) = (state, ip, credentialed) else {
            return self.0.call(req).await.map(IntoResponse::into_response);
        };
        if let Some(wait) = state.throttle.blocked(ip) {
            return Err(ApiError::AuthThrottled(wait.as_secs().max(1)).into());
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
