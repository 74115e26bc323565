//! The request context: who asks to do what to which resource, and the condition keys.
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html#AccessPolicyLanguage_RequestContext>

use crate::principal::{Principal, PrincipalKind};
use std::collections::BTreeMap;
use std::net::IpAddr;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// One authorization question. Condition keys are case-insensitive; values keep their case.
///
/// Keys derived from the typed fields (`aws:PrincipalArn`, `aws:PrincipalAccount`,
/// `aws:PrincipalType`, `aws:username`, `aws:userid`, `aws:PrincipalTag/*`,
/// `aws:PrincipalServiceName`, `aws:PrincipalIsAWSService`, `aws:CurrentTime`, `aws:EpochTime`,
/// `aws:SourceIp`, `aws:SecureTransport`, and `aws:ResourceAccount` from the evaluation's
/// resource account) take precedence over the same keys set by hand, so a
/// caller cannot contradict the authenticated principal. Everything else (`aws:RequestTag/*`,
/// `aws:ResourceTag/*`, `aws:TagKeys`, `aws:RequestedRegion`, `secretsmanager:Name`,
/// `kms:ViaService`, `kms:EncryptionContext:*`, ...) comes from [`Request::with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    principal: Principal,
    action: String,
    resource: String,
    time: Option<OffsetDateTime>,
    source_ip: Option<IpAddr>,
    secure_transport: Option<bool>,
    context: BTreeMap<String, Vec<String>>,
}

impl Request {
    /// `action` as `service:Action`; `resource` an ARN, or `*` for actions on no resource.
    pub fn new(
        principal: Principal,
        action: impl Into<String>,
        resource: impl Into<String>,
    ) -> Self {
        Request {
            principal,
            action: action.into(),
            resource: resource.into(),
            time: None,
            source_ip: None,
            secure_transport: None,
            context: BTreeMap::new(),
        }
    }

    /// The request time (`aws:CurrentTime`, `aws:EpochTime`). The crate never reads a clock.
    pub fn at(mut self, time: OffsetDateTime) -> Self {
        self.time = Some(time);
        self
    }

    /// The caller's address (`aws:SourceIp`).
    pub fn from_ip(mut self, ip: IpAddr) -> Self {
        self.source_ip = Some(ip);
        self
    }

    /// Whether the request came over TLS (`aws:SecureTransport`).
    pub fn secure_transport(mut self, secure: bool) -> Self {
        self.secure_transport = Some(secure);
        self
    }

    /// A single-valued condition key.
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.insert(key, vec![value.into()]);
        self
    }

    /// A multivalued condition key (`aws:TagKeys`, `aws:CalledVia`, ...).
    pub fn with_values<V: Into<String>>(
        mut self,
        key: &str,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        self.insert(key, values.into_iter().map(Into::into).collect());
        self
    }

    /// Set a condition key (any number of values; none means absent).
    pub fn insert(&mut self, key: &str, values: Vec<String>) {
        self.context.insert(key.to_ascii_lowercase(), values);
    }

    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    pub fn action(&self) -> &str {
        &self.action
    }

    pub fn resource(&self) -> &str {
        &self.resource
    }
}

/// The keys [`Env`] derives from typed fields (lower-cased), besides `aws:principaltag/*`.
const DERIVED: &[&str] = &[
    "aws:principalarn",
    "aws:principalaccount",
    "aws:principaltype",
    "aws:principalisawsservice",
    "aws:principalservicename",
    "aws:username",
    "aws:userid",
    "aws:currenttime",
    "aws:epochtime",
    "aws:sourceip",
    "aws:securetransport",
    "aws:resourceaccount",
];

/// The request as the evaluator reads it: explicit keys plus those derived from typed fields.
#[derive(Debug)]
pub(crate) struct Env<'a> {
    req: &'a Request,
    resource_account: &'a str,
    /// Made on the first key read: most evaluations (statements without conditions or
    /// variables) read none, and making them is a dozen allocations and a time formatting.
    derived: std::cell::OnceCell<BTreeMap<String, Vec<String>>>,
}

impl<'a> Env<'a> {
    /// `resource_account` is the resource owner's account (`aws:ResourceAccount`).
    pub(crate) fn new(req: &'a Request, resource_account: &'a str) -> Self {
        Env {
            req,
            resource_account,
            derived: std::cell::OnceCell::new(),
        }
    }

    fn derive(req: &Request, resource_account: &str) -> BTreeMap<String, Vec<String>> {
        let p = &req.principal;
        let mut d: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut put = |k: &str, v: String| {
            d.insert(k.to_owned(), vec![v]);
        };
        // Principal keys: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principal-properties
        match p.kind() {
            PrincipalKind::Service { name } => {
                put("aws:principalservicename", name.clone());
                put("aws:principalisawsservice", "true".into());
            }
            PrincipalKind::WebIdentity { .. } => {}
            kind => {
                put("aws:principalarn", p.principal_arn().to_owned());
                put("aws:principalaccount", p.account().to_owned());
                put("aws:principaltype", p.principal_type().to_owned());
                put("aws:principalisawsservice", "false".into());
                match kind {
                    PrincipalKind::User { name } => put("aws:username", name.clone()),
                    // Root's aws:userid is its account id.
                    PrincipalKind::Root => put("aws:userid", p.account().to_owned()),
                    _ => {}
                }
            }
        }
        if let Some(id) = p.user_id() {
            put("aws:userid", id.to_owned());
        }
        if let Some(t) = req.time {
            put("aws:epochtime", t.unix_timestamp().to_string());
            if let Ok(s) = t.to_offset(time::UtcOffset::UTC).format(&Rfc3339) {
                put("aws:currenttime", s);
            }
        }
        if let Some(ip) = req.source_ip {
            put("aws:sourceip", ip.to_string());
        }
        if let Some(s) = req.secure_transport {
            put("aws:securetransport", s.to_string());
        }
        for (k, v) in p.tags() {
            d.insert(
                format!("aws:principaltag/{}", k.to_ascii_lowercase()),
                vec![v.clone()],
            );
        }
        if !resource_account.is_empty() {
            d.insert(
                "aws:resourceaccount".to_owned(),
                vec![resource_account.to_owned()],
            );
        }
        d
    }

    pub(crate) fn request(&self) -> &'a Request {
        self.req
    }

    /// The values of a (lower-cased) key; `None` if absent or empty. Keys derived from the
    /// typed fields are never read from the hand-set context, even when the typed field is
    /// unset (a session without tags has no `aws:PrincipalTag/x`, whatever the context says).
    pub(crate) fn get(&self, key: &str) -> Option<&[String]> {
        // Only a derived key makes the derived keys (a service's own keys, `kms:ViaService`
        // of the AWS managed keys' policies, say, are read from the context alone).
        let values = if DERIVED.contains(&key) || key.starts_with("aws:principaltag/") {
            self.derived
                .get_or_init(|| Self::derive(self.req, self.resource_account))
                .get(key)
        } else {
            self.req.context.get(key)
        };
        values.map(Vec::as_slice).filter(|v| !v.is_empty())
    }

    /// A key's value for a policy variable: it must have exactly one value.
    pub(crate) fn single(&self, key: &str) -> Option<String> {
        match self.get(key)? {
            [one] => Some(one.clone()),
            _ => None,
        }
    }
}
