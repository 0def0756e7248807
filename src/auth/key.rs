//! API keys: `sm_` + 64 hex digits (256 random bits). The first 16 digits are a non-secret
//! lookup id; the whole key is stored only as an argon2id hash.

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::OnceLock;
use tokio::sync::Semaphore;

pub(super) const PREFIX: &str = "sm_";
pub(super) const HEX_DIGITS: usize = 64;
pub(super) const LOOKUP_DIGITS: usize = 16;

/// A well-formed key. Its `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({PREFIX}{}…)", self.lookup())
    }
}

impl ApiKey {
    /// Accepts exactly `sm_` + 64 lowercase hex digits.
    pub fn parse(raw: &str) -> Option<Self> {
        is_prefixed_hex(raw, PREFIX, HEX_DIGITS).then(|| Self(raw.to_owned()))
    }

    /// A fresh random key.
    pub fn generate() -> Self {
        Self(random_prefixed_hex(PREFIX, HEX_DIGITS))
    }

    /// The non-secret id the key is found by.
    pub fn lookup(&self) -> &str {
        &self.0[PREFIX.len()..PREFIX.len() + LOOKUP_DIGITS]
    }

    /// The key itself, for the one response that shows it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The argon2id hash (PHC string) to store. CPU-heavy: runs on the blocking pool.
    pub async fn hash(&self) -> anyhow::Result<String> {
        let key = self.0.clone();
        let _slot = argon2_slot().await;
        tokio::task::spawn_blocking(move || {
            Argon2::default()
                .hash_password(key.as_bytes())
                .map(|h: PasswordHash| h.to_string())
                .map_err(|e| anyhow::anyhow!("argon2: {e}"))
        })
        .await?
    }

    pub(super) async fn matches(&self, stored_hash: String) -> bool {
        let key = self.0.clone();
        let _slot = argon2_slot().await;
        tokio::task::spawn_blocking(move || {
            PasswordHash::new(&stored_hash).is_ok_and(|h| Argon2::default().verify_password(key.as_bytes(), &h).is_ok())
        })
        .await
        .unwrap_or(false)
    }

    pub(super) fn fingerprint(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }
}

/// Whether `raw` is `prefix` and then exactly `digits` lowercase hex digits (the shape of every
/// key moodring issues).
pub(super) fn is_prefixed_hex(raw: &str, prefix: &str, digits: usize) -> bool {
    raw.strip_prefix(prefix)
        .is_some_and(|hex| hex.len() == digits && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

/// `prefix` and `digits` random hex digits (`digits / 2` random bytes).
pub(super) fn random_prefixed_hex(prefix: &str, digits: usize) -> String {
    let mut bytes = vec![0u8; digits / 2];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

/// A turn to run argon2. Each run takes ~25 ms of a core and 19 MiB; at most one per core runs
/// at once, so a burst (many new connections, guessed keys) queues instead of taking
/// burst × 19 MiB of memory that the allocator then keeps.
async fn argon2_slot() -> tokio::sync::SemaphorePermit<'static> {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    let slots = SLOTS.get_or_init(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())));
    slots.acquire().await.expect("the semaphore is never closed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_the_documented_shape() {
        let key = ApiKey::generate();
        assert!(key.expose().starts_with("sm_"));
        assert_eq!(key.expose().len(), 67);
        assert_eq!(ApiKey::parse(key.expose()), Some(key.clone()));
        assert_eq!(key.lookup(), &key.expose()[3..19]);
        assert!(!format!("{key:?}").contains(&key.expose()[19..]));
        assert_ne!(ApiKey::generate(), key);
    }

    #[test]
    fn malformed_keys_are_refused_before_any_lookup() {
        for bad in
            ["", "sm_", "sm_abc", "SM_0123", &format!("sm_{}", "G".repeat(64)), &format!("sm_{}", "a".repeat(65))]
        {
            assert_eq!(ApiKey::parse(bad), None, "{bad}");
        }
    }

    #[tokio::test]
    async fn a_hash_verifies_only_its_own_key() {
        let key = ApiKey::generate();
        let hash = key.hash().await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(key.matches(hash.clone()).await);
        assert!(!ApiKey::generate().matches(hash).await);
    }
}
