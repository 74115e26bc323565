//! The agent's cache: bounded (LRU eviction), entries valid for a TTL, then revalidated.
//!
//! Each key has a slot; a slot holds the current entry and a lock that lets one request at a time
//! load or revalidate it, so a burst of requests for a cold or expired key makes one upstream
//! call. Values are `SecretBytes`: zeroed when the last reference to an entry drops (eviction,
//! replacement, invalidation).

use crate::api::SecretSelector;
use coffer_types::SecretBytes;
use moka::policy::EvictionPolicy;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CacheKey {
    Secret(SecretSelector),
    Parameter { name: String, decrypt: bool },
}

/// One cached answer: the response body as received, and the version it is.
pub struct Entry {
    pub body: SecretBytes,
    pub version_id: Option<String>,
    /// Milliseconds since the cache's epoch when the entry was last known to be current.
    checked_at: AtomicU64,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("body", &self.body)
            .field("version_id", &self.version_id)
            .finish_non_exhaustive()
    }
}

/// Lets a response body borrow the cached bytes without copying them.
#[derive(Debug)]
pub struct SharedBody(pub Arc<Entry>);

impl AsRef<[u8]> for SharedBody {
    fn as_ref(&self) -> &[u8] {
        self.0.body.expose()
    }
}

#[derive(Debug, Default)]
pub struct Slot {
    current: RwLock<Option<Arc<Entry>>>,
    /// Held while loading or revalidating.
    pub loading: tokio::sync::Mutex<()>,
}

impl Slot {
    pub fn current(&self) -> Option<Arc<Entry>> {
        self.current.read().map(|g| g.clone()).unwrap_or_default()
    }

    pub fn set(&self, entry: Option<Arc<Entry>>) {
        if let Ok(mut g) = self.current.write() {
            *g = entry;
        }
    }
}

#[derive(Debug)]
pub struct Cache {
    slots: moka::sync::Cache<CacheKey, Arc<Slot>>,
    ttl: Duration,
    epoch: Instant,
}

impl Cache {
    pub fn new(capacity: u64, ttl: Duration) -> Self {
        Self {
            slots: moka::sync::Cache::builder()
                .max_capacity(capacity.max(1))
                .eviction_policy(EvictionPolicy::lru())
                .build(),
            ttl,
            epoch: Instant::now(),
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Milliseconds on the cache's clock. It starts far from zero so that "a TTL ago" is
    /// always representable.
    pub fn now_ms(&self) -> u64 {
        const START: u64 = 1 << 40;
        START.saturating_add(u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    pub fn slot(&self, key: &CacheKey) -> Arc<Slot> {
        self.slots
            .get_with_by_ref(key, || Arc::new(Slot::default()))
    }

    /// Drop a slot that holds nothing (a load that failed), so it does not take a place.
    pub fn forget_if_empty(&self, key: &CacheKey, slot: &Arc<Slot>) {
        if slot.current().is_none() {
            self.slots.invalidate(key);
        }
    }

    pub fn entry(&self, body: SecretBytes, version_id: Option<String>) -> Arc<Entry> {
        Arc::new(Entry {
            body,
            version_id,
            checked_at: AtomicU64::new(self.now_ms()),
        })
    }

    pub fn checked_at(&self, e: &Entry) -> u64 {
        e.checked_at.load(Ordering::Relaxed)
    }

    pub fn is_fresh(&self, e: &Entry) -> bool {
        let ttl = u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX);
        self.now_ms().saturating_sub(self.checked_at(e)) < ttl
    }

    /// The entry was found current just now: a full TTL again.
    pub fn touch(&self, e: &Entry) {
        e.checked_at.store(self.now_ms(), Ordering::Relaxed);
    }

    /// Keep serving `e` for `for_how_long` (at most a TTL) before trying again.
    pub fn extend(&self, e: &Entry, for_how_long: Duration) {
        let ttl = u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX);
        let wait = u64::try_from(for_how_long.as_millis())
            .unwrap_or(u64::MAX)
            .min(ttl);
        e.checked_at
            .store(self.now_ms().saturating_sub(ttl - wait), Ordering::Relaxed);
    }

    pub fn len(&self) -> u64 {
        self.slots.run_pending_tasks();
        self.slots.entry_count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lru_bound_and_freshness() {
        let c = Cache::new(2, Duration::from_secs(60));
        let key = |n: &str| CacheKey::Secret(SecretSelector::current(n));
        for n in ["a", "b", "c", "d"] {
            let s = c.slot(&key(n));
            s.set(Some(c.entry(SecretBytes::from(n.as_bytes()), None)));
        }
        assert!(c.len() <= 2, "{}", c.len());
        let s = c.slot(&key("z"));
        assert!(s.current().is_none());
        c.forget_if_empty(&key("z"), &s);
        let e = c.entry(SecretBytes::from(b"v".as_slice()), Some("v1".into()));
        assert!(c.is_fresh(&e));
        c.extend(&e, Duration::ZERO);
        assert!(!c.is_fresh(&e));
        c.touch(&e);
        assert!(c.is_fresh(&e));
    }
}
