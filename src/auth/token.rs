//! Session tokens: short-lived JWTs that let their holder post events to and read the mood of
//! one session, and nothing else. HS256 only (the algorithm is pinned: a token naming another,
//! `none` included, is refused), with `iss`, `aud`, `sub` (the session), `tid` (the tenant),
//! `scope`, `iat`, `exp`, `jti`, and the origins a browser may use it from. Signed with keys kept
//! in the database ([`crate::store::signing_keys`]), so that any replica verifies any token;
//! expiry is judged by the server's [`crate::state::Clock`], not by the library's.

use crate::domain::{SessionId, TenantId};
use crate::engine::Mood;
use crate::store::signing_keys::{self, SigningKey};
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};
use std::time::{Duration, Instant};

const ISSUER: &str = "moodring";
const AUDIENCE: &str = "moodring-session";
const SCOPE: &str = "session:events session:mood";
/// Stream tokens: another audience, so neither kind is ever taken for the other.
const STREAM_AUDIENCE: &str = "moodring-stream";
const STREAM_SCOPE_TENANT: &str = "stream:tenant";
const STREAM_SCOPE_SESSION: &str = "stream:session";
/// A tenant-wide stream token's `sub`.
const WHOLE_TENANT: &str = "*";

/// Lifetimes a token may be given, in seconds.
pub const DEFAULT_TTL_S: i64 = 15 * 60;
pub const MIN_TTL_S: i64 = 60;
pub const MAX_TTL_S: i64 = 24 * 60 * 60;

/// How often a replica reads the signing keys again, to sign with the newest one.
const RELOAD: Duration = Duration::from_secs(60);
/// Tokens naming an unknown `kid` make the keys be read again at most this often.
const RELOAD_UNKNOWN: Duration = Duration::from_secs(1);

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    tid: i64,
    scope: String,
    iat: i64,
    exp: i64,
    jti: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    origins: Vec<String>,
    /// Stream tokens: the moods streamed (absent: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    moods: Option<Vec<String>>,
}

/// What a valid stream token grants: reading the tenant's changes (or one session's), in
/// these moods, until it expires.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamGrant {
    pub tenant: TenantId,
    /// `None`: every session of the tenant.
    pub session: Option<SessionId>,
    /// `None`: every mood.
    pub moods: Option<Vec<Mood>>,
    pub expires_at: DateTime<Utc>,
}

/// What a valid token grants.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionGrant {
    pub tenant: TenantId,
    pub session: SessionId,
    /// The origins a browser may send it from; empty: any.
    pub origins: Vec<String>,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Why a token was refused: all of them answer the same 401.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed, tampered with, signed otherwise or not for this service")]
    Invalid,
    #[error("the token has expired")]
    Expired,
}

/// The signing keys as this replica knows them.
struct Keys {
    signing: Arc<(String, EncodingKey)>,
    verifying: HashMap<String, DecodingKey>,
    read_at: Instant,
}

/// Signs and verifies session tokens with the deployment's signing keys.
pub struct TokenKeys {
    store: Store,
    keys: RwLock<Keys>,
    reload: tokio::sync::Mutex<()>,
    /// When a token with an unknown `kid` last made the keys be read.
    unknown_reload: std::sync::Mutex<Option<Instant>>,
}

impl TokenKeys {
    /// Reads the signing keys, creating the first one on a new database.
    pub async fn load(store: &Store, now: DateTime<Utc>) -> Result<Self, StoreError> {
        let keys = keys_of(signing_keys::all(store, now).await?, now);
        Ok(Self {
            store: store.clone(),
            keys: RwLock::new(keys),
            reload: Default::default(),
            unknown_reload: Default::default(),
        })
    }

    /// A token for `session` of `tenant`, valid for `ttl_s` seconds from `now`.
    pub async fn issue(
        &self,
        tenant: TenantId,
        session: &SessionId,
        ttl_s: i64,
        origins: Vec<String>,
        now: DateTime<Utc>,
    ) -> Result<(String, DateTime<Utc>), StoreError> {
        let claims = |iat, exp, jti| Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: session.as_str().to_owned(),
            tid: tenant.get(),
            scope: SCOPE.into(),
            iat,
            exp,
            jti,
            origins,
            moods: None,
        };
        self.sign(ttl_s, now, claims).await
    }

    /// A stream token: reading `grant`'s changes for `ttl_s` seconds from `now` (the grant's
    /// own expiry is ignored).
    pub async fn issue_stream(
        &self,
        grant: &StreamGrant,
        ttl_s: i64,
        now: DateTime<Utc>,
    ) -> Result<(String, DateTime<Utc>), StoreError> {
        let claims = |iat, exp, jti| Claims {
            iss: ISSUER.into(),
            aud: STREAM_AUDIENCE.into(),
            sub: grant.session.as_ref().map_or(WHOLE_TENANT, |s| s.as_str()).to_owned(),
            tid: grant.tenant.get(),
            scope: if grant.session.is_some() { STREAM_SCOPE_SESSION } else { STREAM_SCOPE_TENANT }.into(),
            iat,
            exp,
            jti,
            origins: Vec::new(),
            moods: grant.moods.as_ref().map(|m| m.iter().map(|m| m.as_str().to_owned()).collect()),
        };
        self.sign(ttl_s, now, claims).await
    }

    /// Signs the claims `claims(iat, exp, jti)` builds with the newest key.
    async fn sign(
        &self,
        ttl_s: i64,
        now: DateTime<Utc>,
        claims: impl FnOnce(i64, i64, String) -> Claims,
    ) -> Result<(String, DateTime<Utc>), StoreError> {
        self.reload_if_older(RELOAD, now).await?;
        let signing = self.keys.read().unwrap_or_else(|p| p.into_inner()).signing.clone();
        let mut jti = [0u8; 16];
        rand::rng().fill_bytes(&mut jti);
        let expires_at = now + chrono::Duration::seconds(ttl_s.clamp(MIN_TTL_S, MAX_TTL_S));
        let claims = claims(now.timestamp(), expires_at.timestamp(), hex::encode(jti));
        let header = Header { kid: Some(signing.0.clone()), ..Header::new(Algorithm::HS256) };
        let token = jsonwebtoken::encode(&header, &claims, &signing.1)
            .map_err(|e| StoreError::Corrupt(format!("signing a token: {e}")))?;
        Ok((token, DateTime::from_timestamp(claims.exp, 0).unwrap_or(expires_at)))
    }

    /// What the session token grants, if it is one of ours, untampered and unexpired at `now`.
    pub async fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<SessionGrant, TokenError> {
        let (claims, expires_at) = self.decode(token, &VALIDATION, now).await?;
        if claims.scope != SCOPE {
            return Err(TokenError::Invalid);
        }
        let session = SessionId::parse(&claims.sub).map_err(|_| TokenError::Invalid)?;
        let issued_at = DateTime::from_timestamp(claims.iat, 0).ok_or(TokenError::Invalid)?;
        Ok(SessionGrant { tenant: TenantId(claims.tid), session, origins: claims.origins, issued_at, expires_at })
    }

    /// What the stream token grants, as [`Self::verify`] judges a session token.
    pub async fn verify_stream(&self, token: &str, now: DateTime<Utc>) -> Result<StreamGrant, TokenError> {
        let (claims, expires_at) = self.decode(token, &STREAM_VALIDATION, now).await?;
        let session = match claims.scope.as_str() {
            STREAM_SCOPE_TENANT if claims.sub == WHOLE_TENANT => None,
            STREAM_SCOPE_SESSION => Some(SessionId::parse(&claims.sub).map_err(|_| TokenError::Invalid)?),
            _ => return Err(TokenError::Invalid),
        };
        let moods = match claims.moods {
            Some(moods) => {
                Some(moods.iter().map(|m| m.parse().map_err(|()| TokenError::Invalid)).collect::<Result<_, _>>()?)
            }
            None => None,
        };
        Ok(StreamGrant { tenant: TenantId(claims.tid), session, moods, expires_at })
    }

    /// The claims of a token of ours that `validation` accepts, and its expiry, if unexpired
    /// at `now`.
    async fn decode(
        &self,
        token: &str,
        validation: &Validation,
        now: DateTime<Utc>,
    ) -> Result<(Claims, DateTime<Utc>), TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        let kid = header.kid.ok_or(TokenError::Invalid)?;
        if !self.knows(&kid) {
            // Signed by a key another replica created since this one read them, or forged: read
            // them again, at most once a second however many forged tokens arrive.
            let due = {
                let mut last = self.unknown_reload.lock().unwrap_or_else(|p| p.into_inner());
                let due = last.is_none_or(|at| at.elapsed() >= RELOAD_UNKNOWN);
                if due {
                    *last = Some(Instant::now());
                }
                due
            };
            if due {
                self.reload_if_older(Duration::ZERO, now).await.map_err(|_| TokenError::Invalid)?;
            }
        }
        let claims = {
            let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
            let key = keys.verifying.get(&kid).ok_or(TokenError::Invalid)?;
            jsonwebtoken::decode::<Claims>(token, key, validation).map_err(|_| TokenError::Invalid)?.claims
        };
        let expires_at = DateTime::from_timestamp(claims.exp, 0).ok_or(TokenError::Invalid)?;
        if now >= expires_at {
            return Err(TokenError::Expired);
        }
        Ok((claims, expires_at))
    }

    fn knows(&self, kid: &str) -> bool {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).verifying.contains_key(kid)
    }

    /// Reads the keys again if the last read is older than `age` (one reader at a time).
    async fn reload_if_older(&self, age: Duration, now: DateTime<Utc>) -> Result<(), StoreError> {
        let stale = || self.keys.read().unwrap_or_else(|p| p.into_inner()).read_at.elapsed() >= age;
        if !stale() {
            return Ok(());
        }
        let _one = self.reload.lock().await;
        if stale() {
            let keys = keys_of(signing_keys::all(&self.store, now).await?, now);
            *self.keys.write().unwrap_or_else(|p| p.into_inner()) = keys;
        }
        Ok(())
    }
}

/// The newest key signs; a key verifies until every token it may have signed has expired: the
/// longest lifetime after the next key appeared, plus the time replicas take to switch.
fn keys_of(all: Vec<SigningKey>, now: DateTime<Utc>) -> Keys {
    let newest = all.last().expect("signing_keys::all creates the first key");
    let signing = Arc::new((newest.kid.clone(), EncodingKey::from_secret(&newest.secret)));
    let retire_after_ms = (MAX_TTL_S * 1000) + RELOAD.as_millis() as i64;
    let verifying = all
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            all.get(i + 1).is_none_or(|next| now.timestamp_millis() - next.created_at_ms < retire_after_ms)
        })
        .map(|(_, k)| (k.kid.clone(), DecodingKey::from_secret(&k.secret)))
        .collect();
    Keys { signing, verifying, read_at: Instant::now() }
}

/// What a session token must be: HS256 only, ours, for sessions. Built once (it holds sets).
static VALIDATION: LazyLock<Validation> = LazyLock::new(|| validation(AUDIENCE));
/// What a stream token must be: as a session token, for streams.
static STREAM_VALIDATION: LazyLock<Validation> = LazyLock::new(|| validation(STREAM_AUDIENCE));

fn validation(audience: &str) -> Validation {
    let mut v = Validation::new(Algorithm::HS256);
    v.set_issuer(&[ISSUER]);
    v.set_audience(&[audience]);
    v.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    // Expiry is checked against the server's clock in `verify`.
    v.validate_exp = false;
    v.leeway = 0;
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    async fn keys() -> (Store, TokenKeys) {
        let options =
            StoreOptions { url: "sqlite::memory:".into(), max_connections: 1, sqlite_synchronous_full: false };
        let store = Store::connect(&options).await.unwrap();
        store.migrate().await.unwrap();
        let keys = TokenKeys::load(&store, Utc::now()).await.unwrap();
        (store, keys)
    }

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_777_888_000 + s, 0).unwrap()
    }

    #[tokio::test]
    async fn a_token_grants_its_session_until_it_expires() {
        let (_, keys) = keys().await;
        let session = SessionId::parse("s-1").unwrap();
        let origins = vec!["https://shop.example".to_owned()];
        let (token, expires_at) = keys.issue(TenantId(7), &session, 900, origins.clone(), at(0)).await.unwrap();
        assert_eq!(expires_at, at(900));
        let grant = keys.verify(&token, at(899)).await.unwrap();
        assert_eq!(grant, SessionGrant { tenant: TenantId(7), session, origins, issued_at: at(0), expires_at });
        assert_eq!(keys.verify(&token, at(900)).await, Err(TokenError::Expired));
    }

    #[tokio::test]
    async fn stream_tokens_grant_streams_only_and_session_tokens_never_stream() {
        let (_, keys) = keys().await;
        let session = SessionId::parse("s-1").unwrap();
        let tenant_wide = StreamGrant { tenant: TenantId(7), session: None, moods: None, expires_at: at(0) };
        let (token, expires_at) = keys.issue_stream(&tenant_wide, 300, at(0)).await.unwrap();
        assert_eq!(keys.verify_stream(&token, at(1)).await, Ok(StreamGrant { expires_at, ..tenant_wide }));
        assert_eq!(keys.verify(&token, at(1)).await, Err(TokenError::Invalid), "not a session token");
        let one = StreamGrant {
            tenant: TenantId(7),
            session: Some(session.clone()),
            moods: Some(vec![Mood::Frustrated, Mood::Confused]),
            expires_at: at(600),
        };
        let (token, _) = keys.issue_stream(&one, 600, at(0)).await.unwrap();
        assert_eq!(keys.verify_stream(&token, at(599)).await, Ok(one));
        assert_eq!(keys.verify_stream(&token, at(600)).await, Err(TokenError::Expired));
        let (session_token, _) = keys.issue(TenantId(7), &session, 900, vec![], at(0)).await.unwrap();
        assert_eq!(keys.verify_stream(&session_token, at(1)).await, Err(TokenError::Invalid));
        let widened = edited(&token, 1, |c| c["scope"] = STREAM_SCOPE_TENANT.into());
        assert_eq!(keys.verify_stream(&widened, at(1)).await, Err(TokenError::Invalid), "tampered");
    }

    #[tokio::test]
    async fn lifetimes_stay_within_bounds() {
        let (_, keys) = keys().await;
        let s = SessionId::parse("s").unwrap();
        assert_eq!(keys.issue(TenantId(1), &s, 5, vec![], at(0)).await.unwrap().1, at(MIN_TTL_S));
        assert_eq!(keys.issue(TenantId(1), &s, 10 * MAX_TTL_S, vec![], at(0)).await.unwrap().1, at(MAX_TTL_S));
    }

    /// Re-encodes a token's part `i` (0 header, 1 claims) after `change`.
    fn edited(token: &str, i: usize, change: impl Fn(&mut serde_json::Value)) -> String {
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut json: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[i]).unwrap()).unwrap();
        change(&mut json);
        parts[i] = URL_SAFE_NO_PAD.encode(json.to_string());
        parts.join(".")
    }

    #[tokio::test]
    async fn tampered_unsigned_or_foreign_tokens_are_refused() {
        let (_, keys) = keys().await;
        let (token, _) = keys.issue(TenantId(7), &SessionId::parse("s").unwrap(), 900, vec![], at(0)).await.unwrap();
        let other_session = edited(&token, 1, |c| c["sub"] = "another".into());
        let other_tenant = edited(&token, 1, |c| c["tid"] = 8.into());
        let longer = edited(&token, 1, |c| c["exp"] = (at(0).timestamp() + 86_400 * 365).into());
        let none = {
            let header = edited(&token, 0, |h| h["alg"] = "none".into());
            let mut parts: Vec<&str> = header.split('.').collect();
            parts[2] = "";
            parts.join(".")
        };
        let hs512 = edited(&token, 0, |h| h["alg"] = "HS512".into());
        let no_kid = edited(&token, 0, |h| h.as_object_mut().unwrap().retain(|k, _| k != "kid"));
        let foreign = {
            let header = Header { kid: Some("k1-0000".into()), ..Header::new(Algorithm::HS256) };
            let claims = jsonwebtoken::dangerous::insecure_decode::<Claims>(&token).unwrap().claims;
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(b"not our key")).unwrap()
        };
        let wrong_aud = {
            let claims = Claims {
                aud: "another-service".into(),
                ..jsonwebtoken::dangerous::insecure_decode(&token).unwrap().claims
            };
            let header = jsonwebtoken::decode_header(&token).unwrap();
            let signing = keys.keys.read().unwrap().signing.clone();
            jsonwebtoken::encode(&header, &claims, &signing.1).unwrap()
        };
        for bad in
            [other_session, other_tenant, longer, none, hs512, no_kid, foreign, wrong_aud, "a.b.c".into(), "".into()]
        {
            assert_eq!(keys.verify(&bad, at(1)).await, Err(TokenError::Invalid), "{bad}");
        }
    }

    #[tokio::test]
    async fn after_a_rotation_the_new_key_signs_and_the_old_one_still_verifies() {
        let (store, keys) = keys().await;
        let s = SessionId::parse("s").unwrap();
        let (old, _) = keys.issue(TenantId(1), &s, 900, vec![], Utc::now()).await.unwrap();
        let rotated = signing_keys::rotate(&store, Utc::now()).await.unwrap();
        assert_eq!(rotated.generation, 2);
        // Another replica: it reads both keys and signs with the new one.
        let other = TokenKeys::load(&store, Utc::now()).await.unwrap();
        let (new, _) = other.issue(TenantId(1), &s, 900, vec![], Utc::now()).await.unwrap();
        assert_eq!(jsonwebtoken::decode_header(&new).unwrap().kid, Some(rotated.kid));
        assert!(other.verify(&old, Utc::now()).await.is_ok(), "the old key verifies its tokens");
        assert!(keys.verify(&new, Utc::now()).await.is_ok(), "an unknown kid makes this replica read the keys again");
        // A day and more after the rotation nothing the old key signed can be alive: it is
        // no longer among the keys that verify.
        let old_kid = jsonwebtoken::decode_header(&old).unwrap().kid.unwrap();
        let all = signing_keys::all(&store, Utc::now()).await.unwrap();
        assert!(keys_of(all.clone(), Utc::now()).verifying.contains_key(&old_kid));
        let later = Utc::now() + chrono::Duration::seconds(MAX_TTL_S + 120);
        let retired = keys_of(all, later);
        assert!(!retired.verifying.contains_key(&old_kid));
        assert_eq!(retired.verifying.len(), 1);
    }
}
