//! Alerts on the audit stream — what the seeds build from CloudWatch alarms: a read of a secret
//! by a principal or from a network not on its list, a burst of AccessDenied, any use of a
//! break-glass role. Rules come from the configuration; every alert goes to the log and to the
//! [`AlertSink`] (the server delivers to a webhook).

use super::Call;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// One rule. Every condition given must hold; an empty list is no condition.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    pub name: String,
    /// The call is one of these operations (`GetSecretValue`).
    #[serde(default)]
    pub event_names: Vec<String>,
    /// A resource the call names starts with one of these (secret names, ARNs, parameter paths).
    #[serde(default)]
    pub resources: Vec<String>,
    /// The caller is one of these principals (ARNs, `*` wildcards): e.g. a break-glass role.
    #[serde(default)]
    pub principals: Vec<String>,
    /// Allow-lists: the rule matches a call from a principal not on `allowed_principals`, or from
    /// a network not on `allowed_networks`.
    #[serde(default)]
    pub allowed_principals: Vec<String>,
    #[serde(default)]
    pub allowed_networks: Vec<String>,
    /// The call failed with one of these codes (`AccessDeniedException`).
    #[serde(default)]
    pub error_codes: Vec<String>,
    /// Fire only when this many matching calls happen within the window.
    pub burst: Option<Burst>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Burst {
    pub count: usize,
    pub window_seconds: u64,
}

/// An alert, as delivered.
#[derive(Debug, Clone, Serialize)]
pub struct Alert {
    pub rule: String,
    /// Matching calls in the burst window (1 without a burst).
    pub count: usize,
    /// The CloudTrail record of the call that fired it.
    pub event: serde_json::Value,
}

/// Where alerts go besides the log.
pub trait AlertSink: Send + Sync + std::fmt::Debug {
    fn deliver(&self, alert: Alert);
}

fn wildcard(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            text.starts_with(head)
                && text.len() >= head.len()
                && (0..=text.len() - head.len()).any(|i| {
                    text.is_char_boundary(head.len() + i) && wildcard(tail, &text[head.len() + i..])
                })
        }
    }
}

fn in_network(ip: IpAddr, cidr: &str) -> bool {
    match cidr.parse::<ipnet::IpNet>() {
        Ok(net) => net.contains(&ip),
        Err(_) => cidr.parse::<IpAddr>().is_ok_and(|one| one == ip),
    }
}

impl AlertRule {
    /// With allow-lists, the call must come from outside one of them: a principal not on its
    /// list, or a network not on its list.
    fn outsider(&self, principal: &str, ip: Option<IpAddr>) -> bool {
        let unknown_principal = !self.allowed_principals.is_empty()
            && !self
                .allowed_principals
                .iter()
                .any(|p| wildcard(p, principal));
        let unknown_network = !self.allowed_networks.is_empty()
            && !ip.is_some_and(|ip| self.allowed_networks.iter().any(|n| in_network(ip, n)));
        (self.allowed_principals.is_empty() && self.allowed_networks.is_empty())
            || unknown_principal
            || unknown_network
    }

    fn matches(&self, call: &Call, resources: &[String]) -> bool {
        let principal = call
            .principal
            .as_ref()
            .map(|p| p.arn.as_str())
            .unwrap_or("");
        let ip: Option<IpAddr> = call.source_ip.parse().ok();
        (self.event_names.is_empty() || self.event_names.contains(&call.operation))
            && (self.resources.is_empty()
                || resources
                    .iter()
                    .any(|r| self.resources.iter().any(|p| r.starts_with(p.as_str()))))
            && (self.principals.is_empty()
                || self.principals.iter().any(|p| wildcard(p, principal)))
            && self.outsider(principal, ip)
            && (self.error_codes.is_empty()
                || call
                    .error
                    .as_ref()
                    .is_some_and(|(code, _)| self.error_codes.contains(code)))
    }
}

/// Evaluates the rules on every recorded call.
#[derive(Debug)]
pub struct AlertEngine {
    rules: Vec<AlertRule>,
    sink: Option<Arc<dyn AlertSink>>,
    /// Times (millis) of recent matches, per rule with a burst.
    windows: Mutex<HashMap<usize, VecDeque<i64>>>,
}

impl AlertEngine {
    pub fn new(rules: Vec<AlertRule>, sink: Option<Arc<dyn AlertSink>>) -> Self {
        Self {
            rules,
            sink,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Deliver an alert no rule needs to ask for (break-glass steps).
    pub fn deliver(&self, rule: &str, event: serde_json::Value) {
        if let Some(sink) = &self.sink {
            sink.deliver(Alert {
                rule: rule.to_owned(),
                count: 1,
                event,
            });
        }
    }

    /// Check a recorded call against every rule; deliver what fires.
    pub fn observe(&self, call: &Call, event_json: &str, resources: &[String]) {
        for (i, rule) in self.rules.iter().enumerate() {
            if !rule.matches(call, resources) {
                continue;
            }
            let count = match rule.burst {
                None => 1,
                Some(b) => {
                    let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
                    let w = windows.entry(i).or_default();
                    let window_ms =
                        i64::try_from(b.window_seconds.saturating_mul(1000)).unwrap_or(i64::MAX);
                    w.push_back(call.time);
                    while w.front().is_some_and(|&t| t <= call.time - window_ms) {
                        w.pop_front();
                    }
                    if w.len() < b.count {
                        continue;
                    }
                    let n = w.len();
                    // One alert per burst: start counting again.
                    w.clear();
                    n
                }
            };
            tracing::warn!(target: "coffer::alert", rule = %rule.name, count, operation = %call.operation, principal = ?call.principal.as_ref().map(|p| &p.arn), source_ip = %call.source_ip, "audit alert");
            if let Some(sink) = &self.sink {
                sink.deliver(Alert {
                    rule: rule.name.clone(),
                    count,
                    event: serde_json::from_str(event_json).unwrap_or(serde_json::Value::Null),
                });
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::Service;

    #[derive(Debug, Default)]
    struct Collect(Mutex<Vec<Alert>>);
    impl AlertSink for Collect {
        fn deliver(&self, alert: Alert) {
            self.0.lock().unwrap().push(alert);
        }
    }

    fn call(op: &str, arn: &str, ip: &str, error: Option<&str>, time: i64) -> Call {
        Call {
            service: Service::SecretsManager,
            operation: op.to_owned(),
            region: "us-east-1".into(),
            source_ip: ip.into(),
            user_agent: None,
            principal: Some(crate::Principal {
                account_id: coffer_types::AccountId::parse("111111111111").unwrap(),
                arn: arn.into(),
                user_id: "x".into(),
                access_key_id: "AKIA".into(),
                session: None,
                tags: Vec::new(),
            }),
            access_key_id: None,
            request_id: "r".into(),
            time,
            input: None,
            output: None,
            error: error.map(|c| (c.to_owned(), String::new())),
        }
    }

    #[test]
    fn rules_fire_as_configured() {
        let sink = Arc::new(Collect::default());
        let engine = AlertEngine::new(
            vec![
                AlertRule {
                    name: "unexpected-reader".into(),
                    event_names: vec!["GetSecretValue".into()],
                    resources: vec!["prod/".into()],
                    allowed_principals: vec!["arn:aws:iam::111111111111:role/app-*".into()],
                    allowed_networks: vec!["10.0.0.0/8".into()],
                    ..Default::default()
                },
                AlertRule {
                    name: "denied-burst".into(),
                    error_codes: vec!["AccessDeniedException".into()],
                    burst: Some(Burst {
                        count: 3,
                        window_seconds: 60,
                    }),
                    ..Default::default()
                },
                AlertRule {
                    name: "break-glass".into(),
                    principals: vec!["arn:aws:sts::111111111111:assumed-role/break-glass/*".into()],
                    ..Default::default()
                },
            ],
            Some(sink.clone()),
        );
        let prod = ["prod/db".to_owned()];
        let app = "arn:aws:iam::111111111111:role/app-payments";
        engine.observe(
            &call("GetSecretValue", app, "10.1.2.3", None, 0),
            "{}",
            &prod,
        );
        engine.observe(
            &call("GetSecretValue", app, "192.168.1.1", None, 0),
            "{}",
            &prod,
        );
        engine.observe(
            &call(
                "GetSecretValue",
                "arn:aws:iam::111111111111:user/eve",
                "10.1.2.3",
                None,
                0,
            ),
            "{}",
            &prod,
        );
        engine.observe(
            &call(
                "GetSecretValue",
                "arn:aws:iam::111111111111:user/eve",
                "10.1.2.3",
                None,
                0,
            ),
            "{}",
            &["dev/db".to_owned()],
        );
        for t in [0, 10_000, 100_000, 110_000, 120_000] {
            engine.observe(
                &call(
                    "GetSecretValue",
                    app,
                    "10.0.0.1",
                    Some("AccessDeniedException"),
                    t,
                ),
                "{}",
                &[],
            );
        }
        engine.observe(
            &call(
                "ListSecrets",
                "arn:aws:sts::111111111111:assumed-role/break-glass/alice",
                "10.0.0.1",
                None,
                0,
            ),
            "{}",
            &[],
        );
        let fired: Vec<(String, usize)> = sink
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|a| (a.rule.clone(), a.count))
            .collect();
        assert_eq!(
            fired,
            [
                ("unexpected-reader".to_owned(), 1),
                ("unexpected-reader".to_owned(), 1),
                ("denied-burst".to_owned(), 3),
                ("break-glass".to_owned(), 1),
            ]
        );
    }
}
