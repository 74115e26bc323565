//! The harness of the table-driven policy-evaluation suites: a case is one compact row —
//! the AWS documentation rule it checks, the policies as JSON, the request, the expected
//! verdict — and a runner that reports every failing row at once.
#![allow(clippy::unwrap_used, dead_code)]

use coffer_policy::{Policy, PolicySet, Principal, Request, ResourceMode, Verdict, evaluate_with};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The caller's usual account, and another one.
pub const A: &str = "111122223333";
pub const B: &str = "444455556666";
/// A secret in account A, and one in account B.
pub const SECRET: &str = "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-AbCdEf";
pub const SECRET_B: &str = "arn:aws:secretsmanager:us-east-1:444455556666:secret:shared/api-XyZ123";
/// The request time when a case does not set `aws:CurrentTime`.
pub const NOW: &str = "2025-06-01T12:00:00Z";

// Documentation pages the rows cite (under https://docs.aws.amazon.com/IAM/latest/UserGuide/).
pub const EVAL: &str = "reference_policies_evaluation-logic.html";
pub const CROSS: &str = "reference_policies_evaluation-logic-cross-account.html";
pub const OPS: &str = "reference_policies_elements_condition_operators.html";
pub const MULTI: &str = "reference_policies_condition-logic-multiple-context-keys-or-values.html";
pub const SETS: &str = "reference_policies_condition-single-vs-multi-valued-context-keys.html";
pub const VARS: &str = "reference_policies_variables.html";
pub const ACTION: &str = "reference_policies_elements_action.html";
pub const NOTACTION: &str = "reference_policies_elements_notaction.html";
pub const RESOURCE: &str = "reference_policies_elements_resource.html";
pub const NOTRESOURCE: &str = "reference_policies_elements_notresource.html";
pub const PRINCIPAL: &str = "reference_policies_elements_principal.html";
pub const NOTPRINCIPAL: &str = "reference_policies_elements_notprincipal.html";
pub const CONDITION: &str = "reference_policies_elements_condition.html";
pub const BOUNDARIES: &str = "access_policies_boundaries.html";
pub const SESSION: &str = "access_policies.html#policies_session";
pub const KEYS: &str = "reference_policies_condition-keys.html";
pub const KMS: &str =
    "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html";
pub const GRAMMAR: &str = "reference_policies_grammar.html";

/// One row of a table.
#[derive(Debug, Clone)]
pub struct Case {
    /// The documentation page and rule the row checks.
    pub rule: String,
    pub who: &'static str,
    pub tags: Vec<(&'static str, &'static str)>,
    pub action: &'static str,
    pub resource: &'static str,
    pub resource_account: &'static str,
    pub identity: Vec<String>,
    pub resource_policy: Option<String>,
    pub boundary: Option<String>,
    pub session: Option<Vec<String>>,
    pub mode: ResourceMode,
    pub ctx: Vec<(&'static str, Vec<&'static str>)>,
    pub expect: Verdict,
}

/// A row with the defaults: user `alice` of account A reading [`SECRET`], no policies.
pub fn case(page: &str, rule: &str, expect: Verdict) -> Case {
    Case {
        rule: format!("{page}: {rule}"),
        who: "user/alice",
        tags: Vec::new(),
        action: "secretsmanager:GetSecretValue",
        resource: SECRET,
        resource_account: A,
        identity: Vec::new(),
        resource_policy: None,
        boundary: None,
        session: None,
        mode: ResourceMode::Additive,
        ctx: Vec::new(),
        expect,
    }
}

impl Case {
    /// The caller: `[B:]user/NAME`, `[B:]role/NAME/SESSION`, `[B:]root`, `[B:]fed/NAME`,
    /// `service:NAME`, `web:PROVIDER`.
    pub fn who(mut self, who: &'static str) -> Self {
        self.who = who;
        self
    }
    pub fn tag(mut self, k: &'static str, v: &'static str) -> Self {
        self.tags.push((k, v));
        self
    }
    pub fn action(mut self, action: &'static str) -> Self {
        self.action = action;
        self
    }
    pub fn on(mut self, resource: &'static str, account: &'static str) -> Self {
        self.resource = resource;
        self.resource_account = account;
        self
    }
    pub fn id(mut self, policy: impl Into<String>) -> Self {
        self.identity.push(policy.into());
        self
    }
    pub fn res(mut self, policy: impl Into<String>) -> Self {
        self.resource_policy = Some(policy.into());
        self
    }
    pub fn boundary(mut self, policy: impl Into<String>) -> Self {
        self.boundary = Some(policy.into());
        self
    }
    pub fn session(mut self, policies: &[String]) -> Self {
        self.session = Some(policies.to_vec());
        self
    }
    /// Key policy / trust policy semantics.
    pub fn required(mut self) -> Self {
        self.mode = ResourceMode::Required;
        self
    }
    pub fn ctx(mut self, key: &'static str, values: &[&'static str]) -> Self {
        self.ctx.push((key, values.to_vec()));
        self
    }
}

pub fn principal(spec: &str, tags: &[(&str, &str)]) -> Principal {
    let (account, rest) = match spec.split_once(':') {
        Some(("B", rest)) => (B, rest),
        Some(("service", name)) => return Principal::service(name),
        Some(("web", provider)) => return Principal::web_identity(provider),
        _ => (A, spec),
    };
    let p = if rest == "root" {
        Principal::root(account)
    } else if let Some(name) = rest.strip_prefix("user/") {
        Principal::user(&format!("arn:aws:iam::{account}:user/{name}")).unwrap()
    } else if let Some(name) = rest.strip_prefix("fed/") {
        Principal::federated_user(account, name)
    } else if let Some(role) = rest.strip_prefix("role/") {
        let (role, session) = role.rsplit_once('/').unwrap();
        Principal::assumed_role(&format!("arn:aws:iam::{account}:role/{role}"), session).unwrap()
    } else {
        panic!("unknown principal spec {spec}")
    };
    p.with_tags(tags.iter().copied())
}

fn time(s: &str) -> OffsetDateTime {
    OffsetDateTime::parse(s, &Rfc3339).unwrap()
}

/// Build the request a row describes. The typed keys go through their typed setters.
pub fn request(c: &Case) -> Request {
    let mut r = Request::new(principal(c.who, &c.tags), c.action, c.resource).at(time(NOW));
    for (k, vs) in &c.ctx {
        match k.to_ascii_lowercase().as_str() {
            "aws:sourceip" => r = r.from_ip(vs[0].parse().unwrap()),
            "aws:currenttime" => r = r.at(time(vs[0])),
            "aws:securetransport" => r = r.secure_transport(vs[0] == "true"),
            _ => r.insert(k, vs.iter().map(|v| (*v).to_owned()).collect()),
        }
    }
    r
}

fn parse(rule: &str, text: &str) -> Result<Policy, String> {
    Policy::parse(text).map_err(|e| format!("{rule}\n    policy does not parse: {e}\n    {text}"))
}

/// Evaluate one row.
pub fn run(c: &Case) -> Result<Verdict, String> {
    let identity = c
        .identity
        .iter()
        .map(|t| parse(&c.rule, t))
        .collect::<Result<Vec<_>, _>>()?;
    let resource = c
        .resource_policy
        .as_deref()
        .map(|t| parse(&c.rule, t))
        .transpose()?;
    let boundary = c
        .boundary
        .as_deref()
        .map(|t| parse(&c.rule, t))
        .transpose()?;
    let session = c
        .session
        .as_ref()
        .map(|list| {
            list.iter()
                .map(|t| parse(&c.rule, t))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let identity_refs: Vec<&Policy> = identity.iter().collect();
    let session_refs: Option<Vec<&Policy>> = session.as_ref().map(|s| s.iter().collect());
    let set = PolicySet {
        identity: &identity_refs,
        resource: resource.as_ref(),
        resource_mode: c.mode,
        boundary: boundary.as_ref(),
        session: session_refs.as_deref(),
    };
    Ok(evaluate_with(&request(c), &set, c.resource_account).verdict())
}

/// Run a whole table; fail once, listing every row that did not give its expected verdict.
pub fn run_table(name: &str, cases: &[Case]) {
    let failures: Vec<String> = cases
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match run(c) {
            Ok(v) if v == c.expect => None,
            Ok(v) => Some(format!(
                "#{i} {}\n    expected {:?}, got {v:?}",
                c.rule, c.expect
            )),
            Err(e) => Some(format!("#{i} {e}")),
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{name}: {} of {} rows failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// A policy document from statement objects.
pub fn doc(statements: &[&str]) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        statements.join(",")
    )
}

pub fn allow(action: &str, resource: &str) -> String {
    doc(&[&format!(
        r#"{{"Effect":"Allow","Action":"{action}","Resource":"{resource}"}}"#
    )])
}

pub fn deny(action: &str, resource: &str) -> String {
    doc(&[&format!(
        r#"{{"Effect":"Deny","Action":"{action}","Resource":"{resource}"}}"#
    )])
}

/// A resource policy statement list: one statement with the given principal JSON.
pub fn grant(principal: &str, action: &str) -> String {
    doc(&[&format!(
        r#"{{"Effect":"Allow","Principal":{principal},"Action":"{action}","Resource":"*"}}"#
    )])
}

pub fn refuse(principal: &str, action: &str) -> String {
    doc(&[&format!(
        r#"{{"Effect":"Deny","Principal":{principal},"Action":"{action}","Resource":"*"}}"#
    )])
}
