//! Prometheus metrics, served by the server at `GET /metrics`.
//!
//! One process-wide set ([`global`]), the way Prometheus clients usually keep their default
//! registry: the request path, the audit writer and the rotation engine each record into it
//! without being handed it. Labels carry only bounded, non-secret values — service and
//! operation names from the dispatch table, HTTP status codes, outcomes — never a secret's
//! name, an ARN, a key id or a value.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use std::sync::OnceLock;

/// A request's service and operation (`unknown` for a name the service does not have).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    pub service: &'static str,
    pub operation: String,
}

/// [`OperationLabels`] and the HTTP status of the answer.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub service: &'static str,
    pub operation: String,
    pub status: u16,
}

/// Which cache, and whether it answered.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabels {
    pub cache: &'static str,
    pub result: &'static str,
}

/// How a background job's run ended.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: &'static str,
}

/// Every metric coffer exports.
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub request_seconds: Family<OperationLabels, Histogram>,
    pub throttled: Family<OperationLabels, Counter>,
    pub connections_open: Gauge,
    pub connections_refused: Counter,
    pub audit_batch_records: Histogram,
    pub audit_commit_seconds: Histogram,
    pub audit_failures: Counter,
    pub cache: Family<CacheLabels, Counter>,
    pub rotations: Family<OutcomeLabels, Counter>,
    pub replications: Family<OutcomeLabels, Counter>,
    pub replication_lag_seconds: Histogram,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// Latency buckets from 100 µs to ~6.5 s.
fn seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.000_1, 2.0, 17))
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("coffer");
        let m = Self {
            requests: Family::default(),
            request_seconds: Family::new_with_constructor(seconds),
            throttled: Family::default(),
            connections_open: Gauge::default(),
            connections_refused: Counter::default(),
            audit_batch_records: Histogram::new(exponential_buckets(1.0, 2.0, 10)),
            audit_commit_seconds: seconds(),
            audit_failures: Counter::default(),
            cache: Family::default(),
            rotations: Family::default(),
            replications: Family::default(),
            replication_lag_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 20)),
            registry: Registry::default(),
        };
        registry.register(
            "build",
            "coffer's version",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
        );
        registry.register(
            "requests",
            "AWS API requests answered, by service, operation and HTTP status",
            m.requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time from a request's arrival to its answer, by service and operation",
            m.request_seconds.clone(),
        );
        registry.register(
            "throttled_requests",
            "Requests refused with ThrottlingException, by service and operation",
            m.throttled.clone(),
        );
        registry.register(
            "connections_open",
            "Client connections being served",
            m.connections_open.clone(),
        );
        registry.register(
            "connections_refused",
            "Connections closed at once because the connection limit was reached",
            m.connections_refused.clone(),
        );
        registry.register(
            "audit_batch_records",
            "Records per audit group commit",
            m.audit_batch_records.clone(),
        );
        registry.register(
            "audit_commit_duration_seconds",
            "Time to make one audit batch durable",
            m.audit_commit_seconds.clone(),
        );
        registry.register(
            "audit_commit_failures",
            "Audit batches that could not be made durable (their requests failed)",
            m.audit_failures.clone(),
        );
        registry.register(
            "cache_lookups",
            "Cache lookups by cache and result (hit or miss)",
            m.cache.clone(),
        );
        registry.register(
            "rotations",
            "Secret rotation runs by outcome (completed, failed, error)",
            m.rotations.clone(),
        );
        registry.register(
            "replications",
            "Pushes of a secret to one replica Region, by outcome (in_sync, failed)",
            m.replications.clone(),
        );
        registry.register(
            "replication_lag_seconds",
            "Time from a change to a replicated secret until a replica Region holds it",
            m.replication_lag_seconds.clone(),
        );
        Self { registry, ..m }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Count a lookup in `cache`.
    pub fn cache_lookup(&self, cache: &'static str, hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        self.cache
            .get_or_create(&CacheLabels { cache, result })
            .inc();
    }

    /// Count one replica update's outcome.
    pub fn replication(&self, outcome: &'static str) {
        self.replications
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// Observe how long a replica took to hold a change, in milliseconds.
    pub fn replication_lag(&self, millis: i64) {
        #[allow(clippy::cast_precision_loss)] // a lag is far below 2^52 ms
        self.replication_lag_seconds
            .observe(millis.max(0) as f64 / 1000.0);
    }

    /// Count one rotation run's outcome.
    pub fn rotation(&self, outcome: &'static str) {
        self.rotations
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }
}

/// The process's metrics.
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_names_every_family_with_the_prefix() {
        let m = Metrics::new();
        m.requests
            .get_or_create(&RequestLabels {
                service: "secretsmanager",
                operation: "GetSecretValue".to_owned(),
                status: 200,
            })
            .inc();
        m.cache_lookup("signing_key", true);
        let text = m.render();
        assert!(text.contains("coffer_build_info{version=\""), "{text}");
        assert!(
            text.contains(
                "coffer_requests_total{service=\"secretsmanager\",operation=\"GetSecretValue\",status=\"200\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("coffer_cache_lookups_total{cache=\"signing_key\",result=\"hit\"} 1"),
            "{text}"
        );
        assert!(text.contains("# TYPE coffer_audit_commit_duration_seconds histogram"));
    }
}
