//! Parameter policies: Expiration, ExpirationNotification, NoChangeNotification; the events they
//! raise and the housekeeping that applies them.
//! <https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-policies.html>
//!
//! An expired parameter is deleted lazily, by the first read that finds it past its time, and by
//! [`Ssm::housekeeping`], which the server calls periodically; both compare-and-set on the
//! parameter's `row_version`, so a parameter overwritten meanwhile (with new policies) survives.
//! Notifications are events handed to a [`ParameterEvents`] sink — on AWS they go to EventBridge;
//! by default coffer writes them to the log.

use super::names::arn_in;
use super::{Ssm, SsmError};
use coffer_store::{ParameterId, ParameterRecord, StoreError, StoredParameter};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// AWS's limit of policies per parameter.
pub const MAX_POLICIES: usize = 10;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

const PENDING: &str = "Pending";
const FINISHED: &str = "Finished";

/// A policy as stored and as DescribeParameters / GetParameterHistory show it
/// (`ParameterInlinePolicy`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InlinePolicy {
    pub policy_text: String,
    pub policy_type: String,
    pub policy_status: String,
}

/// What a policy asks for, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    Expiration { at: i64 },
    ExpirationNotification { before: i64 },
    NoChangeNotification { after: i64 },
}

fn invalid_attr(m: impl Into<String>) -> SsmError {
    SsmError::InvalidPolicyAttribute(m.into())
}

fn attr<'a>(attrs: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a Value> {
    attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// `Before`/`After` with `Unit` (`Days` or `Hours`), as milliseconds.
fn period(attrs: &serde_json::Map<String, Value>, name: &str, kind: &str) -> Result<i64, SsmError> {
    let amount = match attr(attrs, name) {
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        Some(Value::Number(n)) => n.as_i64(),
        _ => None,
    }
    .filter(|n| *n >= 1)
    .ok_or_else(|| {
        invalid_attr(format!(
            "A policy of type {kind} needs a positive whole number in the attribute {name}."
        ))
    })?;
    let unit = match attr(attrs, "Unit").and_then(Value::as_str) {
        Some(u) if u.eq_ignore_ascii_case("Days") => DAY_MS,
        Some(u) if u.eq_ignore_ascii_case("Hours") => HOUR_MS,
        _ => {
            return Err(invalid_attr(format!(
                "A policy of type {kind} needs the attribute Unit, with the value Days or Hours."
            )));
        }
    };
    amount
        .checked_mul(unit)
        .ok_or_else(|| invalid_attr(format!("The {name} attribute is too large.")))
}

fn timestamp(text: &str) -> Option<i64> {
    use time::format_description::well_known::{Iso8601, Rfc3339};
    let t = time::OffsetDateTime::parse(text, &Rfc3339)
        .or_else(|_| time::OffsetDateTime::parse(text, &Iso8601::DEFAULT))
        .ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

fn rule_of(text: &str) -> Result<Rule, SsmError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|_| SsmError::InvalidPolicyType("The policy is not valid JSON.".to_owned()))?;
    let obj = value
        .as_object()
        .ok_or_else(|| SsmError::InvalidPolicyType("A policy must be a JSON object.".to_owned()))?;
    let kind = obj.get("Type").and_then(Value::as_str).unwrap_or("");
    if let Some(v) = obj.get("Version")
        && v.as_str() != Some("1.0")
    {
        return Err(invalid_attr("The policy Version must be 1.0."));
    }
    let empty = serde_json::Map::new();
    let attrs = match obj.get("Attributes") {
        Some(Value::Object(a)) => a,
        None => &empty,
        Some(_) => return Err(invalid_attr("The policy Attributes must be a JSON object.")),
    };
    match kind {
        "Expiration" => {
            let at = attr(attrs, "Timestamp")
                .and_then(Value::as_str)
                .and_then(timestamp)
                .ok_or_else(|| {
                    invalid_attr(
                        "A policy of type Expiration needs the attribute Timestamp, an ISO 8601 date and time such as 2030-05-13T00:00:00.000Z.",
                    )
                })?;
            Ok(Rule::Expiration { at })
        }
        "ExpirationNotification" => Ok(Rule::ExpirationNotification {
            before: period(attrs, "Before", kind)?,
        }),
        "NoChangeNotification" => Ok(Rule::NoChangeNotification {
            after: period(attrs, "After", kind)?,
        }),
        other => Err(SsmError::InvalidPolicyType(format!(
            "The policy type {other:?} is not supported. Parameter Store supports the following policy types: Expiration, ExpirationNotification, and NoChangeNotification."
        ))),
    }
}

/// Check PutParameter's `Policies` and return them as stored (all `Pending`). `[]` clears them.
pub fn parse(input: &str, now: i64) -> Result<Vec<InlinePolicy>, SsmError> {
    let value: Value = serde_json::from_str(input).map_err(|_| {
        SsmError::Validation("Invalid policies input: the policies are not valid JSON.".to_owned())
    })?;
    let list = match value {
        Value::Array(items) => items,
        obj @ Value::Object(_) => vec![obj],
        _ => {
            return Err(SsmError::Validation(
                "Invalid policies input: expected a JSON array of policies.".to_owned(),
            ));
        }
    };
    if list.len() > MAX_POLICIES {
        return Err(SsmError::PoliciesLimitExceeded(format!(
            "You specified more than the maximum number of allowed policies for the parameter. The maximum is {MAX_POLICIES}."
        )));
    }
    let mut out: Vec<InlinePolicy> = Vec::with_capacity(list.len());
    let mut has_expiration = false;
    for item in list {
        let text = item.to_string();
        let rule = rule_of(&text)?;
        let kind = item
            .get("Type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if out.iter().any(|p| p.policy_type == kind) {
            return Err(incompatible());
        }
        if let Rule::Expiration { at } = rule {
            if at <= now {
                return Err(invalid_attr(
                    "The Expiration policy's Timestamp must be in the future.",
                ));
            }
            has_expiration = true;
        }
        out.push(InlinePolicy {
            policy_text: text,
            policy_type: kind,
            policy_status: PENDING.to_owned(),
        });
    }
    // A notification before an expiration needs the expiration.
    if !has_expiration
        && out
            .iter()
            .any(|p| p.policy_type == "ExpirationNotification")
    {
        return Err(incompatible());
    }
    Ok(out)
}

fn incompatible() -> SsmError {
    SsmError::IncompatiblePolicy(
        "There is a conflict in the policies specified for this parameter. You can't, for example, specify two Expiration policies for a parameter. Review your policies, and try again."
            .to_owned(),
    )
}

/// Stored policies from their JSON form (empty when none).
pub fn stored(json: Option<&str>) -> Vec<InlinePolicy> {
    json.and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_default()
}

pub fn to_json(policies: &[InlinePolicy]) -> Option<String> {
    (!policies.is_empty())
        .then(|| serde_json::to_string(policies).ok())
        .flatten()
}

/// A new version resets the no-change clock: its notification is pending again.
pub fn after_change(mut policies: Vec<InlinePolicy>) -> Vec<InlinePolicy> {
    for p in &mut policies {
        if p.policy_type == "NoChangeNotification" {
            p.policy_status = PENDING.to_owned();
        }
    }
    policies
}

/// When each pending policy falls due, given the parameter's last modification.
fn due_times(policies: &[InlinePolicy], last_modified: i64) -> Vec<(usize, i64)> {
    let expires = expiry(policies);
    policies
        .iter()
        .enumerate()
        .filter(|(_, p)| p.policy_status == PENDING)
        .filter_map(|(i, p)| {
            let at = match rule_of(&p.policy_text).ok()? {
                Rule::Expiration { at } => at,
                Rule::ExpirationNotification { before } => expires?.saturating_sub(before),
                Rule::NoChangeNotification { after } => last_modified.saturating_add(after),
            };
            Some((i, at))
        })
        .collect()
}

/// The time the Expiration policy deletes the parameter.
pub fn expiry(policies: &[InlinePolicy]) -> Option<i64> {
    policies.iter().find_map(|p| match rule_of(&p.policy_text) {
        Ok(Rule::Expiration { at }) => Some(at),
        _ => None,
    })
}

/// `(expires_at, next_event_at)` for a parameter with these policies.
pub fn schedule(policies: &[InlinePolicy], last_modified: i64) -> (Option<i64>, Option<i64>) {
    let next = due_times(policies, last_modified)
        .into_iter()
        .map(|(_, at)| at)
        .min();
    (expiry(policies), next)
}

/// Which policy raised an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ParameterEventKind {
    /// The Expiration policy deleted the parameter.
    Expired,
    ExpirationNotification,
    NoChangeNotification,
}

/// A parameter policy event, as AWS sends "Parameter Store Policy Action" events to EventBridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterEvent {
    pub kind: ParameterEventKind,
    pub account_id: String,
    pub region: String,
    pub name: String,
    pub arn: String,
    pub version: i64,
    /// When the policy fell due (unix millis).
    pub due_at: i64,
    pub expires_at: Option<i64>,
    pub last_modified_at: i64,
}

/// Where parameter policy events go. Later work routes them (EventBridge, webhooks, audit).
pub trait ParameterEvents: Send + Sync + std::fmt::Debug {
    fn emit(&self, event: &ParameterEvent);
}

/// The default sink: one structured `tracing` event per policy event.
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingEvents;

impl ParameterEvents for TracingEvents {
    fn emit(&self, e: &ParameterEvent) {
        tracing::info!(
            target: "coffer::ssm::policy",
            kind = ?e.kind,
            account_id = %e.account_id,
            region = %e.region,
            name = %e.name,
            arn = %e.arn,
            version = e.version,
            due_at = e.due_at,
            expires_at = ?e.expires_at,
            last_modified_at = e.last_modified_at,
            "parameter policy event"
        );
    }
}

fn event(kind: ParameterEventKind, p: &ParameterRecord, due_at: i64) -> ParameterEvent {
    ParameterEvent {
        kind,
        account_id: p.account_id.clone(),
        region: p.region.clone(),
        name: p.name.clone(),
        arn: arn_in(&p.region, &p.account_id, &p.name),
        version: p.version,
        due_at,
        expires_at: p.expires_at,
        last_modified_at: p.last_modified_at,
    }
}

/// Parameters looked at per store query in a sweep, and the most queries per sweep.
const BATCH: usize = 100;
const MAX_BATCHES: usize = 100;

impl Ssm {
    /// Perform what parameter policies have made due by `now_millis`: delete expired parameters,
    /// send expiration and no-change notifications. The server calls this periodically; calling
    /// it twice does nothing twice.
    pub async fn housekeeping(&self, now_millis: i64) -> Result<(), SsmError> {
        for _ in 0..MAX_BATCHES {
            let due = self.store.parameters_due(now_millis, BATCH).await?;
            let mut progressed = 0;
            for id in &due {
                if self.apply_policies(id, now_millis).await? {
                    progressed += 1;
                }
            }
            if due.len() < BATCH || progressed == 0 {
                break;
            }
        }
        Ok(())
    }

    /// Apply one parameter's due policies. True when it needs nothing more until its next event.
    async fn apply_policies(&self, id: &ParameterId, now: i64) -> Result<bool, SsmError> {
        let Some(stored) = self
            .store
            .get_parameter(&id.account_id, &id.region, &id.key)
            .await?
        else {
            return Ok(true);
        };
        let Some(stored) = self.expire_if_due(stored, now).await? else {
            return Ok(true);
        };
        let mut p = stored.parameter;
        let mut policies = stored_policies(&p);
        let mut events = Vec::new();
        for (i, at) in due_times(&policies, p.last_modified_at) {
            if at > now {
                continue;
            }
            let kind = match policies[i].policy_type.as_str() {
                "ExpirationNotification" => ParameterEventKind::ExpirationNotification,
                "NoChangeNotification" => ParameterEventKind::NoChangeNotification,
                // The expiration itself is handled above, when it is due.
                _ => continue,
            };
            policies[i].policy_status = FINISHED.to_owned();
            events.push(event(kind, &p, at));
        }
        let (expires_at, next) = schedule(&policies, p.last_modified_at);
        p.policies = to_json(&policies);
        p.expires_at = expires_at;
        p.next_event_at = next;
        match self.store.update_parameter(&p).await {
            Ok(()) => {
                // Sent once the new state is stored, so a lost race never sends twice.
                for e in &events {
                    self.events.emit(e);
                }
                Ok(true)
            }
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The parameter, unless its Expiration policy has passed: then it is deleted (if nobody
    /// changed it meanwhile), the event sent, and `None` returned.
    pub(super) async fn expire_if_due(
        &self,
        stored: StoredParameter,
        now: i64,
    ) -> Result<Option<StoredParameter>, SsmError> {
        let p = &stored.parameter;
        let Some(at) = p.expires_at.filter(|at| *at <= now) else {
            return Ok(Some(stored));
        };
        let deleted = self
            .store
            .delete_parameter(
                &p.account_id,
                &p.region,
                coffer_store::parameter_key(&p.name),
                Some(p.row_version),
            )
            .await?;
        if deleted {
            self.events.emit(&event(ParameterEventKind::Expired, p, at));
            return Ok(None);
        }
        // Changed meanwhile: what is there now decides.
        match self
            .store
            .get_parameter(
                &p.account_id,
                &p.region,
                coffer_store::parameter_key(&p.name),
            )
            .await?
        {
            Some(now_there) if now_there.parameter.expires_at.is_none_or(|t| t > now) => {
                Ok(Some(now_there))
            }
            _ => Ok(None),
        }
    }
}

fn stored_policies(p: &ParameterRecord) -> Vec<InlinePolicy> {
    stored(p.policies.as_deref())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const NOW: i64 = 1_700_000_000_000;

    #[test]
    fn policies_parse_and_schedule() {
        let p = parse(
            r#"[{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2030-01-01T00:00:00.000Z"}},
                {"Type":"ExpirationNotification","Version":"1.0","Attributes":{"Before":"2","Unit":"Days"}},
                {"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"3","Unit":"Hours"}}]"#,
            NOW,
        )
        .unwrap();
        assert_eq!(p.len(), 3);
        assert!(p.iter().all(|x| x.policy_status == "Pending"));
        let exp = 1_893_456_000_000;
        let (expires, next) = schedule(&p, NOW);
        assert_eq!(expires, Some(exp));
        assert_eq!(next, Some(NOW + 3 * HOUR_MS));
        let due = due_times(&p, NOW);
        assert!(due.contains(&(1, exp - 2 * DAY_MS)));
    }

    #[test]
    fn bad_policies_get_aws_errors() {
        let cases: &[(&str, &str)] = &[
            ("not json", "ValidationException"),
            (r#"[{"Type":"Rotate"}]"#, "InvalidPolicyTypeException"),
            (
                r#"[{"Type":"Expiration","Attributes":{"Timestamp":"yesterday"}}]"#,
                "InvalidPolicyAttributeException",
            ),
            (
                r#"[{"Type":"Expiration","Attributes":{"Timestamp":"2001-01-01T00:00:00Z"}}]"#,
                "InvalidPolicyAttributeException",
            ),
            (
                r#"[{"Type":"NoChangeNotification","Attributes":{"After":"0","Unit":"Days"}}]"#,
                "InvalidPolicyAttributeException",
            ),
            (
                r#"[{"Type":"NoChangeNotification","Attributes":{"After":"1","Unit":"Weeks"}}]"#,
                "InvalidPolicyAttributeException",
            ),
            (
                r#"[{"Type":"ExpirationNotification","Attributes":{"Before":"1","Unit":"Days"}}]"#,
                "IncompatiblePolicyException",
            ),
            (
                r#"[{"Type":"NoChangeNotification","Attributes":{"After":"1","Unit":"Days"}},{"Type":"NoChangeNotification","Attributes":{"After":"2","Unit":"Days"}}]"#,
                "IncompatiblePolicyException",
            ),
        ];
        for (input, code) in cases {
            let e = parse(input, NOW).unwrap_err();
            assert_eq!(crate::ServiceError::code(&e), *code, "{input}");
        }
        let eleven = format!(
            "[{}]",
            [r#"{"Type":"NoChangeNotification","Attributes":{"After":"1","Unit":"Days"}}"#; 11]
                .join(",")
        );
        assert_eq!(
            crate::ServiceError::code(&parse(&eleven, NOW).unwrap_err()),
            "PoliciesLimitExceededException"
        );
        assert!(parse("[]", NOW).unwrap().is_empty());
    }
}
