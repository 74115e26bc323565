//! Request quotas: a token bucket per account and operation (or per group of operations that
//! share one of AWS's quotas), refilled continuously at the quota's rate and holding at most one
//! second of it. A request past its quota is answered `ThrottlingException` "Rate exceeded"
//! (HTTP 400; `Throttling` in the query protocol), which every AWS SDK retries with backoff.
//!
//! The defaults are AWS's published request quotas per account and Region
//! (<https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html>,
//! <https://docs.aws.amazon.com/general/latest/gr/ssm.html#limits_ssm>,
//! <https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html>). As in AWS,
//! a cross-account call counts against the caller's account. Buckets are per node: N nodes on
//! one PostgreSQL admit up to N times the quota.
//!
//! Configuration (`[throttle]`):
//! - `enabled`: default true, except with `--dev`.
//! - `default_rps`: the quota of every operation not listed under `[throttle.operations]`;
//!   giving it replaces AWS's table.
//! - `[throttle.operations]`: `Operation = rps`, or `"service:Operation" = rps` for one
//!   service's operation (`"kms:TagResource"`); each listed operation gets a bucket of its own.
//!   0 means unlimited.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `[throttle]` as written in the config file.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleConfig {
    pub enabled: Option<bool>,
    pub default_rps: Option<f64>,
    #[serde(default)]
    pub operations: BTreeMap<String, f64>,
}

/// Which bucket a request draws from, and its rate.
#[derive(Debug, Clone, PartialEq)]
struct Quota {
    /// The operation, or the name of the group sharing AWS's quota.
    bucket: String,
    rps: f64,
}

/// AWS's quotas: (signing name, operation group, requests per second, operations).
/// Operations of a line share one bucket.
const AWS_QUOTAS: &[(&str, &str, f64, &[&str])] = &[
    // Secrets Manager: every quota in its table.
    (
        "secretsmanager",
        "read",
        10_000.0,
        &["GetSecretValue", "DescribeSecret"],
    ),
    (
        "secretsmanager",
        "BatchGetSecretValue",
        100.0,
        &["BatchGetSecretValue"],
    ),
    ("secretsmanager", "ListSecrets", 100.0, &["ListSecrets"]),
    ("secretsmanager", "CreateSecret", 50.0, &["CreateSecret"]),
    ("secretsmanager", "DeleteSecret", 50.0, &["DeleteSecret"]),
    ("secretsmanager", "RestoreSecret", 50.0, &["RestoreSecret"]),
    (
        "secretsmanager",
        "GetRandomPassword",
        50.0,
        &["GetRandomPassword"],
    ),
    (
        "secretsmanager",
        "ListSecretVersionIds",
        50.0,
        &["ListSecretVersionIds"],
    ),
    (
        "secretsmanager",
        "policy",
        50.0,
        &[
            "DeleteResourcePolicy",
            "GetResourcePolicy",
            "PutResourcePolicy",
            "ValidateResourcePolicy",
        ],
    ),
    (
        "secretsmanager",
        "write",
        50.0,
        &[
            "PutSecretValue",
            "RemoveRegionsFromReplication",
            "ReplicateSecretToRegions",
            "StopReplicationToReplica",
            "UpdateSecret",
            "UpdateSecretVersionStage",
        ],
    ),
    (
        "secretsmanager",
        "rotation",
        50.0,
        &["RotateSecret", "CancelRotateSecret"],
    ),
    (
        "secretsmanager",
        "tags",
        50.0,
        &["TagResource", "UntagResource"],
    ),
    // Parameter Store, standard throughput.
    (
        "ssm",
        "get",
        40.0,
        &["GetParameter", "GetParameters", "GetParametersByPath"],
    ),
    ("ssm", "PutParameter", 3.0, &["PutParameter"]),
    // KMS: the shared quota of symmetric cryptographic operations, and the management ones.
    (
        "kms",
        "cryptographic",
        5_500.0,
        &[
            "Decrypt",
            "Encrypt",
            "GenerateDataKey",
            "GenerateDataKeyWithoutPlaintext",
            "GenerateRandom",
            "ReEncrypt",
        ],
    ),
    ("kms", "DescribeKey", 2_000.0, &["DescribeKey"]),
    ("kms", "GetKeyPolicy", 1_000.0, &["GetKeyPolicy"]),
    (
        "kms",
        "GetKeyRotationStatus",
        1_000.0,
        &["GetKeyRotationStatus"],
    ),
    ("kms", "ListAliases", 100.0, &["ListAliases"]),
    ("kms", "ListKeys", 100.0, &["ListKeys"]),
    (
        "kms",
        "ListGrants",
        100.0,
        &["ListGrants", "ListRetirableGrants"],
    ),
    (
        "kms",
        "grants",
        50.0,
        &["CreateGrant", "RetireGrant", "RevokeGrant"],
    ),
    ("kms", "CreateKey", 5.0, &["CreateKey"]),
    ("kms", "ReplicateKey", 5.0, &["ReplicateKey"]),
    ("kms", "UpdatePrimaryRegion", 5.0, &["UpdatePrimaryRegion"]),
    (
        "kms",
        "aliases",
        5.0,
        &["CreateAlias", "DeleteAlias", "UpdateAlias"],
    ),
    // STS: the AssumeRole family shares one quota.
    (
        "sts",
        "assume",
        600.0,
        &[
            "AssumeRole",
            "AssumeRoleWithWebIdentity",
            "AssumeRoleWithSAML",
        ],
    ),
];

/// The quotas in force.
#[derive(Debug, Clone)]
pub struct Quotas {
    enabled: bool,
    default_rps: Option<f64>,
    operations: BTreeMap<String, f64>,
}

impl Quotas {
    /// From `[throttle]`; `dev` turns throttling off unless `enabled = true` is explicit.
    pub fn new(cfg: &ThrottleConfig, dev: bool) -> anyhow::Result<Self> {
        for (op, rps) in cfg
            .default_rps
            .iter()
            .map(|r| ("default_rps", r))
            .chain(cfg.operations.iter().map(|(k, v)| (k.as_str(), v)))
        {
            anyhow::ensure!(
                rps.is_finite() && *rps >= 0.0,
                "[throttle] {op} = {rps}: a quota is a number of requests per second, 0 or more (0 = unlimited)"
            );
        }
        Ok(Self {
            enabled: cfg.enabled.unwrap_or(!dev),
            default_rps: cfg.default_rps,
            operations: cfg.operations.clone(),
        })
    }

    fn quota(&self, service: &str, operation: &str) -> Option<Quota> {
        let own = self
            .operations
            .get(&format!("{service}:{operation}"))
            .or_else(|| self.operations.get(operation));
        let quota = match (own.copied(), self.default_rps) {
            (Some(rps), _) | (None, Some(rps)) => Quota {
                bucket: operation.to_owned(),
                rps,
            },
            (None, None) => AWS_QUOTAS
                .iter()
                .find(|(s, _, _, ops)| *s == service && ops.contains(&operation))
                .map(|(_, group, rps, _)| Quota {
                    bucket: (*group).to_owned(),
                    rps: *rps,
                })?,
        };
        (quota.rps > 0.0).then_some(quota)
    }
}

/// A token bucket: up to `rps` tokens, refilled at `rps` per second.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn take(&mut self, rps: f64, now: Instant) -> bool {
        let capacity = rps.max(1.0);
        let refill = now.saturating_duration_since(self.at).as_secs_f64() * rps;
        self.tokens = (self.tokens + refill).min(capacity);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The buckets of one node.
pub struct Throttle {
    quotas: Quotas,
    /// By (account, service, bucket); idle buckets are full, so forgetting them is exact.
    buckets: moka::sync::Cache<(String, &'static str, String), Arc<Mutex<Bucket>>>,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle")
            .field("quotas", &self.quotas)
            .finish_non_exhaustive()
    }
}

impl Throttle {
    pub fn new(quotas: Quotas) -> Self {
        Self {
            quotas,
            // A bucket idle for a second has refilled to its capacity: dropping it changes
            // nothing, and it bounds memory by the accounts active in the last seconds.
            buckets: moka::sync::Cache::builder()
                .max_capacity(1_000_000)
                .time_to_idle(Duration::from_secs(2))
                .build(),
        }
    }

    /// Whether `account` may call `service`'s `operation` now (and if so, take a token).
    pub fn admit(&self, account: &str, service: &'static str, operation: &str) -> bool {
        if !self.quotas.enabled {
            return true;
        }
        let Some(quota) = self.quotas.quota(service, operation) else {
            return true;
        };
        let now = Instant::now();
        let bucket = self
            .buckets
            .get_with((account.to_owned(), service, quota.bucket), || {
                Arc::new(Mutex::new(Bucket {
                    tokens: quota.rps.max(1.0),
                    at: now,
                }))
            });
        let mut b = bucket
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        b.take(quota.rps, now)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn quotas(toml: &str, dev: bool) -> Quotas {
        Quotas::new(&toml::from_str(toml).unwrap(), dev).unwrap()
    }

    #[test]
    fn aws_table_groups_operations_that_share_a_quota() {
        let q = quotas("", false);
        let get = q.quota("secretsmanager", "GetSecretValue").unwrap();
        let describe = q.quota("secretsmanager", "DescribeSecret").unwrap();
        assert_eq!(get, describe);
        assert!((get.rps - 10_000.0).abs() < f64::EPSILON);
        assert_eq!(q.quota("ssm", "GetParameters").unwrap().bucket, "get");
        // TagResource of KMS is not Secrets Manager's.
        assert_eq!(q.quota("kms", "TagResource"), None);
    }

    #[test]
    fn configured_operations_and_default_replace_the_table() {
        let q = quotas(
            "default_rps = 7\n[operations]\nGetSecretValue = 3\n\"kms:Decrypt\" = 0\n",
            false,
        );
        assert_eq!(
            q.quota("secretsmanager", "GetSecretValue"),
            Some(Quota {
                bucket: "GetSecretValue".into(),
                rps: 3.0
            })
        );
        assert_eq!(
            q.quota("secretsmanager", "DescribeSecret").unwrap().rps,
            7.0
        );
        assert_eq!(q.quota("kms", "Decrypt"), None, "0 is unlimited");
    }

    #[test]
    fn dev_mode_is_unthrottled_unless_asked() {
        let t = Throttle::new(quotas("default_rps = 1", true));
        assert!((0..100).all(|_| t.admit("1", "ssm", "GetParameter")));
        let t = Throttle::new(quotas("enabled = true\ndefault_rps = 1", true));
        assert!(t.admit("1", "ssm", "GetParameter"));
        assert!(!t.admit("1", "ssm", "GetParameter"));
        assert!(
            t.admit("2", "ssm", "GetParameter"),
            "accounts have their own buckets"
        );
    }

    #[test]
    fn a_bucket_holds_one_second_and_refills_at_the_rate() {
        let start = Instant::now();
        let mut b = Bucket {
            tokens: 10.0,
            at: start,
        };
        assert_eq!((0..20).filter(|_| b.take(10.0, start)).count(), 10);
        let later = start + Duration::from_millis(500);
        assert_eq!((0..20).filter(|_| b.take(10.0, later)).count(), 5);
        let much_later = later + Duration::from_secs(60);
        assert_eq!((0..20).filter(|_| b.take(10.0, much_later)).count(), 10);
    }

    #[test]
    fn negative_or_nan_quotas_are_refused() {
        let cfg: ThrottleConfig = toml::from_str("default_rps = -1").unwrap();
        assert!(Quotas::new(&cfg, false).is_err());
        let cfg: ThrottleConfig = toml::from_str("[operations]\nGetParameter = nan").unwrap();
        assert!(Quotas::new(&cfg, false).is_err());
    }
}
