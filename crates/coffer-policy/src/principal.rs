//! Who is asking, and how a `Principal` / `NotPrincipal` element names them.
//!
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html>
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html>

use serde_json::Value;

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    arn: String,
    account: String,
    kind: PrincipalKind,
    user_id: Option<String>,
    /// Principal tags (`aws:PrincipalTag/...`): IAM tags of the user or role, overridden by
    /// session tags as STS documents. Keys keep their case; lookups ignore it.
    tags: Vec<(String, String)>,
}

/// What kind of principal, with what each kind needs for matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalKind {
    /// The account itself (`arn:aws:iam::ACCOUNT:root`); coffer's account administrator.
    Root,
    /// An IAM user.
    User {
        /// The friendly name (`aws:username`).
        name: String,
    },
    /// A role session: `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
    AssumedRole {
        /// The role's own ARN, with its path (`aws:PrincipalArn` for the session).
        role_arn: String,
        /// The role session name.
        session_name: String,
    },
    /// A `GetFederationToken` session: `arn:aws:sts::ACCOUNT:federated-user/NAME`.
    FederatedUser {
        /// The name given to GetFederationToken.
        name: String,
    },
    /// A web-identity or SAML caller as a role trust policy sees it during
    /// `AssumeRoleWithWebIdentity`: matched by `"Federated"` (the provider's ARN or name).
    WebIdentity {
        /// The identity provider, e.g. `arn:aws:iam::111122223333:oidc-provider/issuer.example`.
        provider: String,
    },
    /// An AWS service principal such as `secretsmanager.amazonaws.com`.
    Service {
        /// The service principal name.
        name: String,
    },
}

/// The part of an ARN after `arn:PARTITION:SERVICE:REGION:ACCOUNT:`.
fn arn_parts(arn: &str) -> Option<(&str, &str, &str, &str)> {
    let mut it = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(_region), Some(account), Some(resource)) = (
        it.next(),
        it.next(),
        it.next(),
        it.next(),
        it.next(),
        it.next(),
    ) else {
        return None;
    };
    Some((partition, service, account, resource))
}

impl Principal {
    fn new(arn: String, account: &str, kind: PrincipalKind) -> Self {
        Principal {
            arn,
            account: account.to_owned(),
            kind,
            user_id: None,
            tags: Vec::new(),
        }
    }

    /// The account's root principal (`arn:aws:iam::ACCOUNT:root`).
    pub fn root(account: &str) -> Self {
        Self::new(
            format!("arn:aws:iam::{account}:root"),
            account,
            PrincipalKind::Root,
        )
    }

    /// An IAM user from its ARN (`arn:aws:iam::ACCOUNT:user/PATH/NAME`).
    pub fn user(arn: &str) -> Option<Self> {
        let (_, "iam", account, resource) = arn_parts(arn)? else {
            return None;
        };
        let name = resource
            .strip_prefix("user/")?
            .rsplit('/')
            .next()?
            .to_owned();
        Some(Self::new(
            arn.to_owned(),
            account,
            PrincipalKind::User { name },
        ))
    }

    /// A session of the role `role_arn` (`arn:aws:iam::ACCOUNT:role/PATH/NAME`); its ARN is
    /// `arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION` (the path is not part of it).
    pub fn assumed_role(role_arn: &str, session_name: &str) -> Option<Self> {
        let (partition, "iam", account, resource) = arn_parts(role_arn)? else {
            return None;
        };
        let role_name = resource.strip_prefix("role/")?.rsplit('/').next()?;
        let arn = format!("arn:{partition}:sts::{account}:assumed-role/{role_name}/{session_name}");
        Some(Self::new(
            arn,
            account,
            PrincipalKind::AssumedRole {
                role_arn: role_arn.to_owned(),
                session_name: session_name.to_owned(),
            },
        ))
    }

    /// A federated user session (`arn:aws:sts::ACCOUNT:federated-user/NAME`).
    pub fn federated_user(account: &str, name: &str) -> Self {
        Self::new(
            format!("arn:aws:sts::{account}:federated-user/{name}"),
            account,
            PrincipalKind::FederatedUser {
                name: name.to_owned(),
            },
        )
    }

    /// A web-identity caller of `AssumeRoleWithWebIdentity`, named by its provider.
    pub fn web_identity(provider: &str) -> Self {
        let account = arn_parts(provider).map_or("", |(_, _, a, _)| a);
        Self::new(
            provider.to_owned(),
            account,
            PrincipalKind::WebIdentity {
                provider: provider.to_owned(),
            },
        )
    }

    /// An AWS service principal (`secretsmanager.amazonaws.com`). It belongs to no account.
    pub fn service(name: &str) -> Self {
        Self::new(
            name.to_owned(),
            "",
            PrincipalKind::Service {
                name: name.to_owned(),
            },
        )
    }

    /// Parse a caller ARN as `GetCallerIdentity` prints it: root, user, federated user. (An
    /// assumed-role ARN lacks the role's path; use [`Principal::assumed_role`] for those.)
    pub fn from_arn(arn: &str) -> Option<Self> {
        let (_, service, account, resource) = arn_parts(arn)?;
        match (service, resource) {
            ("iam", "root") => Some(Self::root(account)),
            ("iam", r) if r.starts_with("user/") => Self::user(arn),
            ("sts", r) => r
                .strip_prefix("federated-user/")
                .map(|name| Self::federated_user(account, name)),
            _ => None,
        }
    }

    /// Set the unique id (`aws:userid`): `AIDA...` for users, `AROA...:SESSION` for sessions.
    pub fn with_user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// Set the principal tags (`aws:PrincipalTag/KEY`).
    pub fn with_tags<K: Into<String>, V: Into<String>>(
        mut self,
        tags: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.tags = tags
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self
    }

    /// The caller's ARN, as error messages and `GetCallerIdentity` show it.
    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// The caller's account id (empty for service principals).
    pub fn account(&self) -> &str {
        &self.account
    }

    pub fn kind(&self) -> &PrincipalKind {
        &self.kind
    }

    pub fn user_id(&self) -> Option<&str> {
        self.user_id.as_deref()
    }

    pub fn tags(&self) -> &[(String, String)] {
        &self.tags
    }

    /// `aws:PrincipalArn`: the role's ARN for a role session, the caller's ARN otherwise.
    /// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn>
    pub fn principal_arn(&self) -> &str {
        match &self.kind {
            PrincipalKind::AssumedRole { role_arn, .. } => role_arn,
            _ => &self.arn,
        }
    }

    /// `aws:PrincipalType`.
    pub fn principal_type(&self) -> &'static str {
        match self.kind {
            PrincipalKind::Root => "Account",
            PrincipalKind::User { .. } => "User",
            PrincipalKind::AssumedRole { .. } => "AssumedRole",
            PrincipalKind::FederatedUser { .. } | PrincipalKind::WebIdentity { .. } => {
                "FederatedUser"
            }
            PrincipalKind::Service { .. } => "Service",
        }
    }

    /// Whether the caller lives in an account and so has identity-based policies (or, for
    /// root, full rights of its own): users, roles, root. Services and web identities do not.
    pub(crate) fn has_identity_side(&self) -> bool {
        !matches!(
            self.kind,
            PrincipalKind::Service { .. } | PrincipalKind::WebIdentity { .. }
        )
    }
}

/// How a statement's `Principal` element names the caller; the strongest form found wins.
/// The order matters: a direct grant is not limited by implicit denies elsewhere in the same
/// account, a role grant is limited by boundaries and session policies, an account grant only
/// delegates to the account's own identity policies.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html#policy-eval-denyallow>
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Named {
    /// `arn:aws:iam::ACCOUNT:root` or `ACCOUNT`: the whole account, by delegation.
    Account,
    /// The ARN of the role whose session is calling.
    Role,
    /// `*`, the caller's own ARN (user, session, federated user), or its service/provider.
    Direct,
}

/// A parsed `Principal` or `NotPrincipal` element.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PrincipalSet {
    /// `"*"` or `{"AWS": "*"}`.
    everyone: bool,
    aws: Vec<String>,
    service: Vec<String>,
    federated: Vec<String>,
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

impl PrincipalSet {
    /// From the element's JSON (shape already checked by the grammar).
    pub(crate) fn from_json(v: &Value) -> PrincipalSet {
        let mut set = PrincipalSet::default();
        match v {
            Value::String(s) if s == "*" => set.everyone = true,
            Value::Object(m) => {
                for (k, v) in m {
                    let values = strings(v);
                    match k.as_str() {
                        "AWS" => {
                            set.everyone |= values.iter().any(|s| s == "*");
                            set.aws.extend(values.into_iter().filter(|s| s != "*"));
                        }
                        "Service" => set.service.extend(values),
                        "Federated" => set.federated.extend(values),
                        // CanonicalUser is an S3 notion: it names no coffer principal.
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        set
    }

    /// Whether `value` (from the `AWS` list) names the caller's account.
    fn names_account(value: &str, p: &Principal) -> bool {
        if p.account.is_empty() {
            return false;
        }
        value == p.account
            || arn_parts(value).is_some_and(|(_, service, account, resource)| {
                service == "iam" && resource == "root" && account == p.account
            })
    }

    /// How this element names the caller, if it does (the strongest form).
    pub(crate) fn names(&self, p: &Principal) -> Option<Named> {
        if self.everyone {
            return Some(Named::Direct);
        }
        match &p.kind {
            PrincipalKind::Service { name } => self
                .service
                .iter()
                .any(|s| s.eq_ignore_ascii_case(name))
                .then_some(Named::Direct),
            PrincipalKind::WebIdentity { provider } => self
                .federated
                .iter()
                .any(|f| f == provider)
                .then_some(Named::Direct),
            kind => {
                if self.aws.contains(&p.arn) {
                    return Some(Named::Direct);
                }
                if let PrincipalKind::AssumedRole { role_arn, .. } = kind
                    && self.aws.iter().any(|a| a == role_arn)
                {
                    return Some(Named::Role);
                }
                if self.aws.iter().any(|a| Self::names_account(a, p)) {
                    // The root principal *is* its account: naming the account names it directly.
                    return Some(if *kind == PrincipalKind::Root {
                        Named::Direct
                    } else {
                        Named::Account
                    });
                }
                None
            }
        }
    }

    /// `NotPrincipal`: which levels of the caller's chain (account, role, session/user) the
    /// element lists. AWS may check the account, then the role, then the session, so a
    /// `Deny` exempts the caller only if every level is listed, while an `Allow` skips the
    /// caller if any level is.
    /// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html#specifying-notprincipal>
    pub(crate) fn lists(&self, p: &Principal) -> (bool, bool) {
        let levels: Vec<bool> = if self.everyone {
            vec![true]
        } else {
            match &p.kind {
                PrincipalKind::Service { name } => {
                    vec![self.service.iter().any(|s| s.eq_ignore_ascii_case(name))]
                }
                PrincipalKind::WebIdentity { provider } => {
                    vec![self.federated.iter().any(|f| f == provider)]
                }
                PrincipalKind::Root => vec![self.aws.iter().any(|a| Self::names_account(a, p))],
                kind => {
                    let mut levels = vec![
                        self.aws.iter().any(|a| Self::names_account(a, p)),
                        self.aws.contains(&p.arn),
                    ];
                    if let PrincipalKind::AssumedRole { role_arn, .. } = kind {
                        levels.push(self.aws.iter().any(|a| a == role_arn));
                    }
                    levels
                }
            }
        };
        (levels.iter().all(|l| *l), levels.iter().any(|l| *l))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn constructors() {
        let s =
            Principal::assumed_role("arn:aws:iam::111122223333:role/team/Reader", "s1").unwrap();
        assert_eq!(s.arn(), "arn:aws:sts::111122223333:assumed-role/Reader/s1");
        assert_eq!(
            s.principal_arn(),
            "arn:aws:iam::111122223333:role/team/Reader"
        );
        assert_eq!(s.account(), "111122223333");
        let u = Principal::from_arn("arn:aws:iam::111122223333:user/ops/alice").unwrap();
        assert_eq!(
            u.kind(),
            &PrincipalKind::User {
                name: "alice".into()
            }
        );
        assert_eq!(
            Principal::from_arn("arn:aws:iam::111122223333:root")
                .unwrap()
                .kind(),
            &PrincipalKind::Root
        );
        assert!(Principal::from_arn("arn:aws:sts::111122223333:assumed-role/R/s").is_none());
        assert!(Principal::user("arn:aws:iam::111122223333:role/R").is_none());
    }

    #[test]
    fn naming_strength() {
        let s = Principal::assumed_role("arn:aws:iam::111122223333:role/R", "s").unwrap();
        let set = |v| PrincipalSet::from_json(&v);
        assert_eq!(
            set(json!({"AWS": "111122223333"})).names(&s),
            Some(Named::Account)
        );
        assert_eq!(
            set(json!({"AWS": "arn:aws:iam::111122223333:root"})).names(&s),
            Some(Named::Account)
        );
        assert_eq!(
            set(json!({"AWS": "arn:aws:iam::111122223333:role/R"})).names(&s),
            Some(Named::Role)
        );
        assert_eq!(set(json!({"AWS": s.arn()})).names(&s), Some(Named::Direct));
        assert_eq!(set(json!("*")).names(&s), Some(Named::Direct));
        assert_eq!(set(json!({"AWS": "444455556666"})).names(&s), None);
        assert_eq!(set(json!({"Service": "kms.amazonaws.com"})).names(&s), None);
    }
}
