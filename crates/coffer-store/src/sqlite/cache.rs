//! The SQLite backend's read cache: the records every GetSecretValue, GetParameter and KMS
//! Decrypt reads (the secret, its version, the KMS key and its material, the alias, the
//! parameter), kept in memory so that a hot read costs no database round trip.
//!
//! It is exact, not eventually consistent: one process owns a SQLite file (`coffer server` locks
//! it; the offline tools only read it), so every write goes through this store, and every write
//! invalidates the whole cache once it has committed. A reader fills the cache only if no write committed since it started
//! reading ([`ReadCache::generation`]), so a value read before a commit is never stored after it.
//! A reader running concurrently with a write may see the value from just before it, as it would
//! from the database. PostgreSQL deployments do not use it: other nodes write there.
//!
//! Entries hold what the database holds (ciphertext and wrapped keys, never plaintext), bounded
//! by an approximate byte budget: when it is exceeded the cache starts over.

use crate::parameters::{StoredParameter, StoredValue};
use crate::records::{AliasRecord, KeyMaterialRecord, KeyRecord};
use crate::secrets::{SecretRecord, SecretVersionRecord};
use std::collections::HashMap;
use std::sync::Mutex;

/// The most the cache holds, approximately.
const BUDGET_BYTES: usize = 32 * 1024 * 1024;

/// What a cached record is found by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Lookup {
    SecretByArn(String),
    /// Account, region, name.
    SecretByName(String, String, String),
    /// Secret ARN, version id.
    Version(String, String),
    /// Secret ARN, staging label.
    VersionByStage(String, String),
    /// Account, region, key id.
    KmsKey(String, String, String),
    /// Account, region, key id, material version.
    Material(String, String, String, u32),
    /// Account, region, alias name.
    Alias(String, String, String),
    /// Account, region, parameter key.
    Parameter(String, String, String),
}

/// A cached record. (Unboxed: every variant is a few hundred bytes, and boxing would cost an
/// allocation per fill for no gain in a map bounded by bytes.)
#[derive(Clone)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum Entry {
    Secret(SecretRecord),
    Version(SecretVersionRecord),
    KmsKey(KeyRecord),
    Material(KeyMaterialRecord),
    Alias(AliasRecord),
    Parameter(StoredParameter),
}

/// A record type the cache holds.
pub(crate) trait Cached: Clone + Sized {
    fn wrap(self) -> Entry;
    fn unwrap(entry: &Entry) -> Option<Self>;
    /// Roughly the memory the record takes.
    fn weight(&self) -> usize;
}

macro_rules! cached {
    ($t:ty, $variant:ident, |$r:ident| $weight:expr) => {
        impl Cached for $t {
            fn wrap(self) -> Entry {
                Entry::$variant(self)
            }
            fn unwrap(entry: &Entry) -> Option<Self> {
                match entry {
                    Entry::$variant(r) => Some(r.clone()),
                    _ => None,
                }
            }
            fn weight(&self) -> usize {
                let $r = self;
                256 + $weight
            }
        }
    };
}

cached!(SecretRecord, Secret, |s| s.arn.len() * 2
    + s.policy.as_ref().map_or(0, String::len)
    + s.description.as_ref().map_or(0, String::len)
    + s.tags
        .iter()
        .map(|t| t.key.len() + t.value.len() + 48)
        .sum::<usize>());
cached!(SecretVersionRecord, Version, |v| v.ciphertext.len()
    + v.data_key.len()
    + v.kms_key_arn.len()
    + v.stages.iter().map(|s| s.len() + 24).sum::<usize>());
cached!(KeyRecord, KmsKey, |k| k.policy.len() + k.description.len());
cached!(KeyMaterialRecord, Material, |m| m.wrapped.len());
cached!(AliasRecord, Alias, |a| a.alias_name.len() + a.key_id.len());
cached!(StoredParameter, Parameter, |p| stored_len(&p.current.value)
    + p.parameter.name.len()
    + p.parameter.policies.as_ref().map_or(0, String::len)
    + p.labels.iter().map(|(l, _)| l.len() + 32).sum::<usize>());

fn stored_len(v: &StoredValue) -> usize {
    match v {
        StoredValue::Plain(s) => s.len(),
        StoredValue::Sealed {
            key_arn,
            data_key,
            ciphertext,
        } => key_arn.len() + data_key.len() + ciphertext.len(),
    }
}

#[derive(Default)]
struct State {
    generation: u64,
    bytes: usize,
    entries: HashMap<Lookup, (Entry, usize)>,
    /// The version entries of each secret (by ARN), so one secret's can go without a scan.
    versions: HashMap<String, Vec<Lookup>>,
}

impl State {
    fn clear(&mut self) {
        self.entries.clear();
        self.versions.clear();
        self.bytes = 0;
    }

    fn remove(&mut self, key: &Lookup) {
        if let Some((_, weight)) = self.entries.remove(key) {
            self.bytes -= weight;
        }
    }
}

#[derive(Default)]
pub(crate) struct ReadCache {
    state: Mutex<State>,
}

impl std::fmt::Debug for ReadCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadCache").finish_non_exhaustive()
    }
}

impl ReadCache {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves a map that is still valid: keep using it.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The number of invalidations so far; read it before reading the database.
    pub(crate) fn generation(&self) -> u64 {
        self.state().generation
    }

    pub(crate) fn get<T: Cached>(&self, key: &Lookup) -> Option<T> {
        self.state()
            .entries
            .get(key)
            .and_then(|(e, _)| T::unwrap(e))
    }

    /// Keep `record`, read from the database since `generation` was taken, unless a write has
    /// committed in between.
    pub(crate) fn put<T: Cached>(&self, generation: u64, key: Lookup, record: T) {
        let weight = record.weight();
        let mut s = self.state();
        if s.generation != generation {
            return;
        }
        if s.bytes + weight > BUDGET_BYTES {
            s.clear();
        }
        s.bytes += weight;
        if let Lookup::Version(arn, _) | Lookup::VersionByStage(arn, _) = &key {
            let keys = s.versions.entry(arn.clone()).or_default();
            if !keys.contains(&key) {
                keys.push(key.clone());
            }
        }
        if let Some((_, old)) = s.entries.insert(key, (record.wrap(), weight)) {
            s.bytes -= old;
        }
    }

    /// Forget everything: a write committed (or may have).
    pub(crate) fn invalidate(&self) {
        let mut s = self.state();
        s.generation += 1;
        s.clear();
    }

    /// Forget one secret — its record by ARN and by name, its versions by id and by label —
    /// after a write that changed that secret's rows and nothing else. Reads in flight store
    /// nothing (the generation moves, as for [`ReadCache::invalidate`]).
    pub(crate) fn invalidate_secret(&self, arn: &str, account: &str, region: &str, name: &str) {
        let mut s = self.state();
        s.generation += 1;
        s.remove(&Lookup::SecretByArn(arn.to_owned()));
        s.remove(&Lookup::SecretByName(
            account.to_owned(),
            region.to_owned(),
            name.to_owned(),
        ));
        for key in s.versions.remove(arn).unwrap_or_default() {
            s.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alias(target: &str) -> AliasRecord {
        AliasRecord {
            account_id: "1".into(),
            region: "r".into(),
            alias_name: "alias/a".into(),
            key_id: target.into(),
            created_at: 0,
            updated_at: 0,
        }
    }

    fn key() -> Lookup {
        Lookup::Alias("1".into(), "r".into(), "alias/a".into())
    }

    #[test]
    fn a_read_that_overlapped_a_write_is_not_kept() {
        let c = ReadCache::default();
        let before = c.generation();
        c.invalidate();
        c.put(before, key(), alias("old"));
        assert!(c.get::<AliasRecord>(&key()).is_none());
        let now = c.generation();
        c.put(now, key(), alias("new"));
        assert_eq!(c.get::<AliasRecord>(&key()).expect("kept").key_id, "new");
        c.invalidate();
        assert!(c.get::<AliasRecord>(&key()).is_none());
    }

    fn secret(arn: &str) -> SecretRecord {
        SecretRecord {
            arn: arn.into(),
            account_id: "1".into(),
            region: "r".into(),
            name: arn.into(),
            description: None,
            kms_key_id: None,
            tags: vec![],
            tags_listed: false,
            policy: None,
            owning_service: None,
            primary_region: None,
            replication: None,
            replication_due_at: None,
            created_at: 0,
            last_changed_at: 0,
            last_accessed_at: None,
            deleted_at: None,
            purge_at: None,
            rotation_enabled: false,
            rotation_lambda_arn: None,
            rotation_rules: None,
            last_rotated_at: None,
            next_rotation_at: None,
            row_version: 0,
        }
    }

    fn version(id: &str) -> SecretVersionRecord {
        SecretVersionRecord {
            version_id: id.into(),
            created_at: 0,
            last_accessed_at: None,
            kms_key_arn: "k".into(),
            data_key: vec![1],
            ciphertext: vec![2],
            binary: false,
            stages: vec!["AWSCURRENT".into()],
        }
    }

    #[test]
    fn a_secret_write_forgets_that_secret_only() {
        let c = ReadCache::default();
        for arn in ["a", "b"] {
            let g = c.generation();
            c.put(g, Lookup::SecretByArn(arn.into()), secret(arn));
            c.put(
                g,
                Lookup::SecretByName("1".into(), "r".into(), arn.into()),
                secret(arn),
            );
            c.put(g, Lookup::Version(arn.into(), "v".into()), version("v"));
            c.put(
                g,
                Lookup::VersionByStage(arn.into(), "AWSCURRENT".into()),
                version("v"),
            );
        }
        c.put(c.generation(), key(), alias("k"));
        let before = c.generation();
        c.invalidate_secret("a", "1", "r", "a");
        let gone = [
            Lookup::SecretByArn("a".into()),
            Lookup::SecretByName("1".into(), "r".into(), "a".into()),
            Lookup::Version("a".into(), "v".into()),
            Lookup::VersionByStage("a".into(), "AWSCURRENT".into()),
        ];
        assert!(gone.iter().all(|k| !c.state().entries.contains_key(k)));
        assert_eq!(
            c.state().entries.len(),
            5,
            "b's four entries and the alias stay"
        );
        assert!(c.get::<AliasRecord>(&key()).is_some());
        assert!(
            c.get::<SecretVersionRecord>(&Lookup::VersionByStage("b".into(), "AWSCURRENT".into()))
                .is_some()
        );
        // A read that began before the write stores nothing.
        c.put(before, Lookup::SecretByArn("a".into()), secret("a"));
        assert!(
            c.get::<SecretRecord>(&Lookup::SecretByArn("a".into()))
                .is_none()
        );
        let weights: usize = c.state().entries.values().map(|(_, w)| *w).sum();
        assert_eq!(c.state().bytes, weights);
    }

    #[test]
    fn the_budget_bounds_the_cache() {
        let c = ReadCache::default();
        let big = KeyMaterialRecord {
            version: 1,
            wrapped: vec![0; 1024 * 1024],
            created_at: 0,
            on_demand: false,
        };
        for i in 0..100 {
            let g = c.generation();
            c.put(
                g,
                Lookup::Material("1".into(), "r".into(), "k".into(), i),
                big.clone(),
            );
        }
        assert!(c.state().bytes <= BUDGET_BYTES);
        assert!(
            c.get::<KeyMaterialRecord>(&Lookup::Material("1".into(), "r".into(), "k".into(), 99))
                .is_some()
        );
    }
}
