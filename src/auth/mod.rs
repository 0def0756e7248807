//! Credentials: secret API keys (`sm_` + 64 hex digits, stored as argon2id hashes) with the
//! cache that keeps argon2 off the request path; publishable keys (`pk_`, public, bound to
//! origins) and the session tokens (JWTs) that browsers hold; and the throttle on failed
//! authentications. Nothing here speaks HTTP: the API's security schemes ([`crate::api`]) call
//! these.

mod cache;
mod key;
mod plans;
mod publishable;
mod throttle;
mod token;

pub use cache::{KeyCache, KeyHolder, verify};
pub use key::ApiKey;
pub use plans::PlanCache;
pub use publishable::{MAX_ORIGINS, Origin, PublishableKey};
pub use throttle::AuthThrottle;
pub use token::{DEFAULT_TTL_S, MAX_TTL_S, MIN_TTL_S, SessionGrant, StreamGrant, TokenError, TokenKeys};
