//! AWS's policy evaluation logic.
//!
//! Within one account:
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html#policy-eval-denyallow>
//! 1. An explicit `Deny` in any applicable policy (identity-based, resource-based, permissions
//!    boundary, session) decides: denied.
//! 2. A resource-based policy that names the caller *directly* (its user ARN, its role-session
//!    ARN, `*`) allows on its own: implicit denies in identity policies, boundaries and session
//!    policies do not limit it. One that names the caller's *role* ARN allows too, but is limited
//!    by the boundary and the session policy. One that names the *account* only delegates to the
//!    account's identity-based policies.
//! 3. Otherwise an identity-based `Allow` is needed, and then the permissions boundary (if any)
//!    and a session policy (if any) must allow too: they only ever narrow.
//! 4. The account root has every permission no policy denies.
//!
//! Across accounts both sides must allow: the caller's account (identity policies, narrowed by
//! boundary and session policy) and the resource's account (its resource-based policy naming
//! the caller in any form).
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html>
//!
//! KMS key policies and role trust policies are stricter: they must allow even within the
//! account, and naming the account in them is what lets IAM policies grant access
//! ([`ResourceMode::Required`]).
//! <https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html>

use crate::policy::{Effect, Policy, Statement};
use crate::principal::{Named, PrincipalKind};
use crate::request::{Env, Request};

/// The kinds of policy a decision can point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyType {
    /// User, group and role policies (inline or managed).
    Identity,
    /// The resource's own policy: secret or parameter resource policy, key policy, trust policy.
    Resource,
    /// The permissions boundary of the calling user or role.
    PermissionsBoundary,
    /// The session policies passed to `AssumeRole*` / `GetFederationToken`.
    Session,
}

/// How a resource's policy combines with identity-based policies in the resource's own account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResourceMode {
    /// Secrets, parameters: an identity-based or a resource-based `Allow` suffices.
    #[default]
    Additive,
    /// KMS key policies and IAM role trust policies: the resource policy must allow; a statement
    /// naming the account (`arn:aws:iam::ACCOUNT:root`) lets that account's IAM policies grant.
    Required,
}

/// The statement that decided, for messages and audit records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRef {
    pub policy_type: PolicyType,
    /// Position of the policy in its list (identity and session policies); 0 otherwise.
    pub policy_index: usize,
    /// The label given with [`Policy::named`].
    pub policy_name: Option<String>,
    /// Position of the statement in its policy, from 0.
    pub statement_index: usize,
    pub sid: Option<String>,
}

/// The outcome of an evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Allowed by `statement`; `None` when the account root needs no statement.
    Allow { statement: Option<StatementRef> },
    /// Denied by an applicable `Deny` statement.
    ExplicitDeny { statement: StatementRef },
    /// Nothing allowed it; `missing` is the policy type whose `Allow` was lacking.
    ImplicitDeny { missing: PolicyType },
}

/// The three outcomes without their details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow { .. })
    }

    pub fn verdict(&self) -> Verdict {
        match self {
            Decision::Allow { .. } => Verdict::Allow,
            Decision::ExplicitDeny { .. } => Verdict::ExplicitDeny,
            Decision::ImplicitDeny { .. } => Verdict::ImplicitDeny,
        }
    }

    /// The deciding statement, if one did.
    pub fn statement(&self) -> Option<&StatementRef> {
        match self {
            Decision::Allow { statement } => statement.as_ref(),
            Decision::ExplicitDeny { statement } => Some(statement),
            Decision::ImplicitDeny { .. } => None,
        }
    }
}

/// Every policy that bears on one request.
#[derive(Debug, Clone, Copy, Default)]
pub struct PolicySet<'a> {
    /// The caller's identity-based policies (user + groups, or role).
    pub identity: &'a [&'a Policy],
    /// The resource's policy, if it has one.
    pub resource: Option<&'a Policy>,
    pub resource_mode: ResourceMode,
    /// The caller's permissions boundary, if it has one.
    pub boundary: Option<&'a Policy>,
    /// The session policies, if the session was created with any (`None`: no session policy;
    /// an empty list would allow nothing).
    pub session: Option<&'a [&'a Policy]>,
}

/// Evaluate with identity policies and an optional resource policy (the common case); see
/// [`evaluate_with`] for boundaries, session policies and key policies.
pub fn evaluate(
    request: &Request,
    identity: &[&Policy],
    resource: Option<&Policy>,
    resource_account: &str,
) -> Decision {
    evaluate_with(
        request,
        &PolicySet {
            identity,
            resource,
            ..PolicySet::default()
        },
        resource_account,
    )
}

fn reference(
    policy_type: PolicyType,
    policy_index: usize,
    policy: &Policy,
    statement_index: usize,
    s: &Statement,
) -> StatementRef {
    StatementRef {
        policy_type,
        policy_index,
        policy_name: policy.name().map(str::to_owned),
        statement_index,
        sid: s.sid.clone(),
    }
}

/// The first statement of `effect` that applies (identity-side policies: no `Principal`).
fn first(
    policy_type: PolicyType,
    list: &[&Policy],
    effect: Effect,
    env: &Env<'_>,
) -> Option<StatementRef> {
    list.iter().enumerate().find_map(|(pi, policy)| {
        policy
            .statements()
            .iter()
            .enumerate()
            .find(|(_, s)| s.effect == effect && s.applies(env))
            .map(|(si, s)| reference(policy_type, pi, policy, si, s))
    })
}

/// How a resource-policy statement names the caller. A statement without `Principal` names
/// nobody when it allows and everybody when it denies (resource policies must name principals;
/// failing closed both ways). `NotPrincipal` with `Deny` always applies to a caller that has a
/// permissions boundary, as AWS documents.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html>
fn naming(s: &Statement, env: &Env<'_>, has_boundary: bool) -> Option<Named> {
    let p = env.request().principal();
    match &s.principal {
        None => (s.effect == Effect::Deny).then_some(Named::Direct),
        Some(e) if !e.negated => e.items.names(p),
        Some(e) => {
            let (all_listed, any_listed) = e.items.lists(p);
            let applies = match s.effect {
                Effect::Deny => has_boundary || !all_listed,
                Effect::Allow => !any_listed,
            };
            applies.then_some(Named::Direct)
        }
    }
}

/// The resource policy's first applicable `Deny`, and its strongest applicable `Allow`.
fn resource_side(
    policy: &Policy,
    env: &Env<'_>,
    has_boundary: bool,
) -> (Option<StatementRef>, Option<(Named, StatementRef)>) {
    let mut allow: Option<(Named, StatementRef)> = None;
    for (si, s) in policy.statements().iter().enumerate() {
        let Some(named) = naming(s, env, has_boundary) else {
            continue;
        };
        if !s.applies(env) {
            continue;
        }
        match s.effect {
            Effect::Deny => {
                return (
                    Some(reference(PolicyType::Resource, 0, policy, si, s)),
                    None,
                );
            }
            Effect::Allow => {
                if allow.as_ref().is_none_or(|(best, _)| named > *best) {
                    allow = Some((named, reference(PolicyType::Resource, 0, policy, si, s)));
                }
            }
        }
    }
    (None, allow)
}

/// Evaluate a request against every policy that bears on it. `resource_account` is the account
/// that owns the resource; it decides between same-account and cross-account logic.
pub fn evaluate_with(
    request: &Request,
    policies: &PolicySet<'_>,
    resource_account: &str,
) -> Decision {
    let env = Env::new(request, resource_account);
    let principal = request.principal();
    let boundary: Vec<&Policy> = policies.boundary.into_iter().collect();
    let session = policies.session.unwrap_or(&[]);

    // 1. Explicit deny anywhere.
    let (resource_deny, resource_allow) = match policies.resource {
        Some(r) => resource_side(r, &env, policies.boundary.is_some()),
        None => (None, None),
    };
    let deny = first(PolicyType::Identity, policies.identity, Effect::Deny, &env)
        .or(resource_deny)
        .or_else(|| {
            first(
                PolicyType::PermissionsBoundary,
                &boundary,
                Effect::Deny,
                &env,
            )
        })
        .or_else(|| first(PolicyType::Session, session, Effect::Deny, &env));
    if let Some(statement) = deny {
        return Decision::ExplicitDeny { statement };
    }

    // 2. What each policy type allows.
    let allow = |statement: Option<StatementRef>| Decision::Allow { statement };
    let missing = |missing: PolicyType| Decision::ImplicitDeny { missing };
    if !principal.has_identity_side() {
        // Services and web identities have no identity policies: only the resource can grant.
        return match resource_allow {
            Some((_, r)) => allow(Some(r)),
            None => missing(PolicyType::Resource),
        };
    }
    let identity: Option<Option<StatementRef>> = if *principal.kind() == PrincipalKind::Root {
        Some(None)
    } else {
        first(PolicyType::Identity, policies.identity, Effect::Allow, &env).map(Some)
    };
    let boundary_ok = policies.boundary.is_none()
        || first(
            PolicyType::PermissionsBoundary,
            &boundary,
            Effect::Allow,
            &env,
        )
        .is_some();
    let session_ok = policies.session.is_none()
        || first(PolicyType::Session, session, Effect::Allow, &env).is_some();
    let limit = if !boundary_ok {
        Some(PolicyType::PermissionsBoundary)
    } else if !session_ok {
        Some(PolicyType::Session)
    } else {
        None
    };

    if principal.account() != resource_account {
        // 3. Cross-account: the caller's side, then the resource's side.
        return match (identity, limit, resource_allow) {
            (None, ..) => missing(PolicyType::Identity),
            (Some(_), Some(l), _) => missing(l),
            (Some(_), None, None) => missing(PolicyType::Resource),
            (Some(_), None, Some((_, r))) => allow(Some(r)),
        };
    }

    // 4. Same account.
    match (&resource_allow, limit) {
        (Some((Named::Direct, r)), _) => return allow(Some(r.clone())),
        (Some((Named::Role, r)), None) => return allow(Some(r.clone())),
        (Some((Named::Role, _)), Some(l)) => return missing(l),
        _ => {}
    }
    let delegated = match policies.resource_mode {
        ResourceMode::Additive => true,
        ResourceMode::Required => resource_allow.is_some(),
    };
    match (delegated, identity, limit) {
        (false, ..) => missing(PolicyType::Resource),
        (true, None, _) => missing(PolicyType::Identity),
        (true, Some(_), Some(l)) => missing(l),
        (true, Some(statement), None) => allow(statement),
    }
}
