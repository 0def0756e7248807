//! The throttle on failed authentications, per client address.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed authentications per client address: after `limit` failures (default
/// [`AuthThrottle::MAX_FAILURES`]) within [`AuthThrottle::WINDOW`], the address gets 429 until
/// the window ends. Guessing keys
/// costs a round trip and an argon2 run each; this caps both.
pub struct AuthThrottle {
    /// Failures allowed per window; 0 turns the throttle off.
    limit: u32,
    failures: Mutex<HashMap<std::net::IpAddr, (Instant, u32)>>,
}

impl Default for AuthThrottle {
    fn default() -> Self {
        Self::new(Self::MAX_FAILURES)
    }
}

impl AuthThrottle {
    pub const MAX_FAILURES: u32 = 20;
    pub const WINDOW: Duration = Duration::from_secs(60);

    pub fn new(limit: u32) -> Self {
        Self { limit, failures: Mutex::default() }
    }
    const MAX_ADDRESSES: usize = 100_000;

    /// How long `ip` must wait, if it is blocked.
    pub fn blocked(&self, ip: std::net::IpAddr) -> Option<Duration> {
        if self.limit == 0 {
            return None;
        }
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let (since, count) = failures.get(&ip)?;
        let left = Self::WINDOW.checked_sub(since.elapsed())?;
        (*count >= self.limit).then_some(left)
    }

    pub fn failed(&self, ip: std::net::IpAddr) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if failures.len() >= Self::MAX_ADDRESSES {
            failures.retain(|_, (since, _)| since.elapsed() < Self::WINDOW);
        }
        let entry = failures.entry(ip).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= Self::WINDOW {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }
}
