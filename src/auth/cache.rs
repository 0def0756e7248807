//! Verified keys, cached in memory for [`KeyCache::TTL`], keyed by a SHA-256 of the key, so
//! argon2 (~25 ms of CPU and 19 MiB) does not run per request; a revoked key stops working
//! within that time. After it the key is looked up again, and argon2 runs again only if its
//! stored hash changed.

use super::key::ApiKey;
use crate::domain::Tenant;
use crate::store::{Store, StoreError, tenants};
use crate::telemetry::Metrics;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Who a verified API key speaks for: its tenant, and the key itself (for revocation).
#[derive(Clone, Debug, PartialEq)]
pub struct KeyHolder {
    pub tenant: Tenant,
    pub key_id: i64,
}

/// Recently verified keys.
pub struct KeyCache {
    entries: Mutex<HashMap<[u8; 32], Verified>>,
    /// One verification per key at a time; see [`verify`].
    in_flight: Mutex<HashMap<[u8; 32], Arc<tokio::sync::Mutex<()>>>>,
    /// Where lookups and argon2 runs are counted.
    metrics: Arc<Metrics>,
}

impl KeyCache {
    /// How long a verified key is trusted without asking the database again; also the longest a
    /// revoked key keeps working.
    pub const TTL: Duration = Duration::from_secs(30);
    const MAX_ENTRIES: usize = 100_000;

    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self { entries: Mutex::default(), in_flight: Mutex::default(), metrics }
    }

    /// How many keys were checked with argon2 (cache misses whose lookup id exists).
    pub fn argon2_runs(&self) -> u64 {
        self.metrics.argon2_runs.get()
    }

    /// The key's tenant while its verification is fresh.
    fn get(&self, key: &ApiKey) -> Option<KeyHolder> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(&key.fingerprint()).filter(|v| v.at.elapsed() < Self::TTL).map(|v| v.holder.clone())
    }

    /// Whether this very key verified here before (its verification fresh or not): checking it
    /// again costs a lookup, not argon2, unless its stored hash changed.
    pub fn verified_before(&self, key: &ApiKey) -> bool {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).contains_key(&key.fingerprint())
    }

    /// The stored hash this very key was last verified against, fresh or not.
    fn verified_hash(&self, key: &ApiKey) -> Option<String> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(&key.fingerprint()).map(|v| v.hash.clone())
    }

    /// Forgets every cached key of one key id (after revoking it here; other replicas forget it
    /// within [`Self::TTL`]).
    pub fn forget(&self, key_id: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|_, v| v.holder.key_id != key_id);
    }

    /// The lock that verifying `key` holds; concurrent requests with the same key share it.
    fn flight(&self, key: &ApiKey) -> Arc<tokio::sync::Mutex<()>> {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        in_flight.entry(key.fingerprint()).or_default().clone()
    }

    /// Drops the key's lock from the map once its last holder is done with it.
    fn land(&self, key: &ApiKey, flight: Arc<tokio::sync::Mutex<()>>) {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        // Ours and the map's: nobody else waits on it (new waiters clone under this lock).
        if Arc::strong_count(&flight) == 2 {
            in_flight.remove(&key.fingerprint());
        }
    }

    fn put(&self, key: &ApiKey, holder: KeyHolder, hash: String) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= Self::MAX_ENTRIES {
            entries.retain(|_, v| v.at.elapsed() < Self::TTL);
        }
        if entries.len() < Self::MAX_ENTRIES {
            entries.insert(key.fingerprint(), Verified { holder, hash, at: Instant::now() });
        }
    }

    fn remove(&self, key: &ApiKey) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).remove(&key.fingerprint());
    }

    /// Makes every verification `by` older.
    #[cfg(test)]
    fn age(&self, by: Duration) {
        for v in self.entries.lock().unwrap().values_mut() {
            v.at = v.at.checked_sub(by).expect("the clock runs longer than that");
        }
    }
}

/// A key found valid: whom it speaks for, the stored hash it matched, and when the database said so.
struct Verified {
    holder: KeyHolder,
    hash: String,
    at: Instant,
}

/// Whom a key speaks for, or `None` if the key is unknown, wrong or revoked.
///
/// Timing: a key whose lookup id (the first 16 digits, an identifier, not a secret) matches
/// nothing is refused after one index lookup, without argon2, so guessing costs us little. For
/// a known lookup id, the remaining 192 secret bits are never compared directly: argon2 hashes
/// the whole presented key (fixed cost) and compares the 32-byte outputs in constant time
/// (`subtle::ct_eq` in the `phc` crate), so a wrong key costs the same whether it matches the
/// real one in no secret digit or in 47 of 48.
///
/// Requests carrying the same key while it is not cached (a cold start, every [`KeyCache::TTL`])
/// wait for one verification instead of running argon2 each: measured, 32 connections with one
/// key ran 32 at once every 30 s (600 MB of RSS, p99 850 ms). When a key verified before
/// expires, the database is asked again whether it still holds the hash that key matched: if
/// it does, argon2 would answer as it did, and is not run (it stalled every request with the
/// key for its ~25 ms every 30 s: `GET mood` p99 25–50 ms in the first seconds of a run).
pub async fn verify(store: &Store, cache: &KeyCache, key: &ApiKey) -> Result<Option<KeyHolder>, StoreError> {
    if let Some(tenant) = cache.get(key) {
        cache.metrics.key_hits.inc();
        return Ok(Some(tenant));
    }
    let flight = cache.flight(key);
    let verified = {
        let _turn = flight.lock().await;
        match cache.get(key) {
            Some(tenant) => {
                cache.metrics.key_hits.inc();
                Ok(Some(tenant))
            }
            // Boxed: the database read and argon2 behind it would otherwise make the future of
            // every request's authentication ~1.8 KB, copied whole at each boxing layer.
            None => Box::pin(verify_uncached(store, cache, key)).await,
        }
    };
    cache.land(key, flight);
    verified
}

async fn verify_uncached(store: &Store, cache: &KeyCache, key: &ApiKey) -> Result<Option<KeyHolder>, StoreError> {
    cache.metrics.key_misses.inc();
    let Some(stored) = tenants::find_key(store, key.lookup()).await? else {
        cache.remove(key);
        return Ok(None);
    };
    // The same key (by its SHA-256) matched this very hash before.
    if cache.verified_hash(key).as_ref() != Some(&stored.hash) {
        cache.metrics.argon2_runs.inc();
        if !key.matches(stored.hash.clone()).await {
            cache.remove(key);
            return Ok(None);
        }
    }
    let holder = KeyHolder { tenant: Tenant { id: stored.tenant, plan: stored.plan }, key_id: stored.key_id };
    cache.put(key, holder.clone(), stored.hash);
    Ok(Some(holder))
}

#[cfg(test)]
mod tests {
    use super::super::key::{LOOKUP_DIGITS, PREFIX};
    use super::*;

    /// Every authenticated request carries this future through poem's boxed endpoint layers,
    /// which copy it whole: it stays small while the database read and argon2 sit behind a box.
    #[tokio::test]
    async fn verifying_a_cached_key_takes_a_small_future() {
        let options = crate::store::StoreOptions {
            url: "sqlite::memory:".into(),
            max_connections: 1,
            sqlite_synchronous_full: false,
        };
        let store = Store::connect(&options).await.unwrap();
        let (cache, key) = (KeyCache::new(Arc::default()), ApiKey::generate());
        let verifying = verify(&store, &cache, &key);
        assert!(std::mem::size_of_val(&verifying) <= 256, "{} bytes", std::mem::size_of_val(&verifying));
    }

    /// An in-memory store with one tenant, and that tenant's key.
    async fn store_with_a_key() -> (Store, ApiKey) {
        use crate::domain::Plan;
        use crate::store::StoreOptions;
        let options =
            StoreOptions { url: "sqlite::memory:".into(), max_connections: 1, sqlite_synchronous_full: false };
        let store = Store::connect(&options).await.unwrap();
        store.migrate().await.unwrap();
        let key = ApiKey::generate();
        let hash = key.hash().await.unwrap();
        let new = tenants::NewTenant {
            name: "T",
            email: None,
            plan: Plan::Starter,
            key_lookup: key.lookup(),
            key_hash: &hash,
        };
        tenants::create(&store, new, chrono::Utc::now()).await.unwrap();
        (store, key)
    }

    #[tokio::test]
    async fn a_wrong_key_takes_the_same_steps_however_much_of_it_matches() {
        let (store, key) = store_with_a_key().await;
        let cache = KeyCache::new(Arc::default());
        // The real key with the digit after the first `matched` ones changed.
        let wrong = |matched: usize| {
            let mut digits = key.expose()[PREFIX.len()..].to_owned().into_bytes();
            digits[matched] = if digits[matched] == b'0' { b'1' } else { b'0' };
            ApiKey::parse(&format!("{PREFIX}{}", String::from_utf8(digits).unwrap())).unwrap()
        };
        for matched in [0, 1, 8, 15] {
            let before = cache.argon2_runs();
            assert_eq!(verify(&store, &cache, &wrong(matched)).await.unwrap(), None);
            assert_eq!(cache.argon2_runs(), before, "another lookup id: refused by the index lookup alone");
        }
        for matched in [16, 17, 40, 62, 63] {
            let before = cache.argon2_runs();
            assert_eq!(verify(&store, &cache, &wrong(matched)).await.unwrap(), None);
            assert_eq!(cache.argon2_runs(), before + 1, "{matched} digits matched: one whole argon2 verification");
        }
        assert!(verify(&store, &cache, &key).await.unwrap().is_some());
        assert!(verify(&store, &cache, &key).await.unwrap().is_some());
        assert_eq!(cache.argon2_runs(), 6, "the right key: verified once, then cached");
    }

    #[tokio::test]
    async fn an_expired_key_is_looked_up_again_without_argon2_until_revoked() {
        let (store, key) = store_with_a_key().await;
        let cache = KeyCache::new(Arc::default());
        let tenant = verify(&store, &cache, &key).await.unwrap().expect("the key is valid");
        assert_eq!(cache.argon2_runs(), 1);
        cache.age(KeyCache::TTL);
        assert_eq!(verify(&store, &cache, &key).await.unwrap().as_ref(), Some(&tenant));
        assert_eq!(cache.argon2_runs(), 1, "the stored hash it matched is still there: no argon2");
        tenants::revoke_key(&store, tenant.tenant.id, tenant.key_id, chrono::Utc::now()).await.unwrap();
        assert_eq!(verify(&store, &cache, &key).await.unwrap().as_ref(), Some(&tenant), "trusted until it expires");
        cache.age(KeyCache::TTL);
        assert_eq!(verify(&store, &cache, &key).await.unwrap(), None, "revoked");
        assert_eq!(verify(&store, &cache, &key).await.unwrap(), None, "and not cached");
        assert_eq!(cache.argon2_runs(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_with_one_uncached_key_verify_it_once() {
        let (store, key) = store_with_a_key().await;
        let cache = Arc::new(KeyCache::new(Arc::default()));
        let wrong =
            ApiKey::parse(&format!("{}{}", &key.expose()[..PREFIX.len() + LOOKUP_DIGITS], "0".repeat(48))).unwrap();
        let requests = (0..32).map(|i| {
            let (store, cache) = (store.clone(), cache.clone());
            let key = if i % 2 == 0 { key.clone() } else { wrong.clone() };
            tokio::spawn(async move { verify(&store, &cache, &key).await.unwrap().is_some() })
        });
        let answers = futures_util::future::join_all(requests).await;
        assert!(answers.iter().enumerate().all(|(i, ok)| *ok.as_ref().unwrap() == (i % 2 == 0)));
        // The right key once, then from the cache; a wrong key is never cached, so its requests
        // take turns, each with one verification.
        assert_eq!(cache.argon2_runs(), 1 + 16);
        assert!(cache.in_flight.lock().unwrap().is_empty(), "no lock left behind");
    }
}
