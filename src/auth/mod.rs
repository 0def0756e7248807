//! Credentials: API keys (`sm_` + 64 hex digits, stored as argon2id hashes), the cache that
//! keeps argon2 off the request path, and the throttle on failed authentications. Nothing here
//! speaks HTTP: the API's security schemes ([`crate::api`]) call [`verify`].

mod cache;
mod key;
mod throttle;

pub use cache::{KeyCache, verify};
pub use key::ApiKey;
pub use throttle::AuthThrottle;
