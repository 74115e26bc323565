//! Authorisation: the policies that bear on a request, evaluated with `coffer-policy`.
//!
//! Identity policies are read from the store on every request (no cache: a policy change is in
//! force on the next request, on every node); only their parsing is remembered, by text. The root of an account (its administrator key)
//! may do everything in its own account; a session of a role carries its session policy, which
//! narrows the role's permissions.

use crate::RequestContext;
use coffer_policy::{Decision, Policy, PolicySet, Request, ResourceMode, evaluate_with};
use coffer_store::{IamKind, Store, StoreError};
use std::sync::Arc;

/// What a session of an assumed role carries beyond its ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// `arn:aws:iam::ACCOUNT:role/PATH/NAME`
    pub role_arn: String,
    pub role_name: String,
    pub session_name: String,
    /// An inline session policy and managed session policy ARNs' documents, if any.
    pub session_policies: Vec<String>,
    pub tags: Vec<(String, String)>,
    pub source_identity: Option<String>,
    /// Unix seconds.
    pub expires_at: i64,
    /// The break-glass incident (request id) whose approval issued this session, if any: its
    /// credentials work only while the incident is open, and every use is watched.
    pub incident: Option<String>,
}

/// Why a request was refused.
#[derive(Debug)]
pub enum AuthzError {
    /// AWS's AccessDenied wording.
    Denied(String),
    Store(StoreError),
}

impl From<StoreError> for AuthzError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// One resource-side policy and how it combines with identity policies.
#[derive(Debug, Clone, Copy)]
pub struct ResourceSide<'a> {
    /// The document (a secret's resource policy, a key policy), or `None` if there is none.
    pub policy: Option<&'a str>,
    /// `Additive` for resource policies, `Required` for KMS key policies.
    pub mode: ResourceMode,
    /// The account that owns the resource.
    pub account: &'a str,
}

/// The authoriser: reads the policies in force from the store and evaluates them. Clones share
/// one parsed-policy cache, so a service keeps one `Authz` rather than making one per request.
#[derive(Clone)]
pub struct Authz {
    store: Store,
    parsed: ParsedPolicies,
}

impl std::fmt::Debug for Authz {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authz")
            .field("parsed_policies", &self.parsed.0.entry_count())
            .finish_non_exhaustive()
    }
}

/// The policy engine's view of the caller.
pub fn policy_principal(ctx: &RequestContext) -> coffer_policy::Principal {
    let p = &ctx.principal;
    let base = if let Some(s) = &p.session {
        coffer_policy::Principal::assumed_role(&s.role_arn, &s.session_name)
            .map(|x| x.with_tags(s.tags.iter().map(|(k, v)| (k.clone(), v.clone()))))
    } else if p.arn.ends_with(":root") {
        Some(coffer_policy::Principal::root(p.account_id.as_str()))
    } else {
        coffer_policy::Principal::user(&p.arn)
            .map(|x| x.with_tags(p.tags.iter().map(|(k, v)| (k.clone(), v.clone()))))
    };
    base.unwrap_or_else(|| coffer_policy::Principal::root(p.account_id.as_str()))
        .with_user_id(p.user_id.clone())
}

/// The request with the keys every request carries.
pub fn request(ctx: &RequestContext, action: &str, resource: &str) -> Request {
    let mut r = Request::new(policy_principal(ctx), action, resource)
        .with("aws:RequestedRegion", ctx.region())
        .secure_transport(ctx.secure_transport);
    if let Ok(t) = time::OffsetDateTime::from_unix_timestamp(ctx.now / 1000) {
        r = r.at(t);
    }
    if let Some(ip) = ctx.source_ip {
        r = r.from_ip(ip);
    }
    if let Some(s) = &ctx.principal.session
        && let Some(si) = &s.source_identity
    {
        r = r.with("aws:SourceIdentity", si.clone());
    }
    r
}

/// Parsed policies by their text, at most this many bytes of it.
const PARSED_BUDGET_BYTES: u64 = 4 * 1024 * 1024;

/// `Policy::parse`, remembered: parsing (grammar check, JSON, conditions) costs several times
/// what evaluating does, and the same few documents (key policies, a role's policies) come with
/// every request. Keyed by the whole text, so a changed document is parsed afresh; the result is
/// a pure function of the text, so nothing here can go stale. Bounded by the bytes of text it
/// holds (moka evicts the least useful entries, not everything at once); `None`: the document
/// does not parse.
#[derive(Clone)]
struct ParsedPolicies(moka::sync::Cache<String, Option<Policy>>);

impl ParsedPolicies {
    fn new() -> Self {
        Self(
            moka::sync::Cache::builder()
                .max_capacity(PARSED_BUDGET_BYTES)
                .weigher(|text: &String, _| u32::try_from(text.len()).unwrap_or(u32::MAX))
                .build(),
        )
    }

    fn parse(&self, doc: &str) -> Option<Policy> {
        let hit = self.0.get(doc);
        crate::metrics::global().cache_lookup("policy", hit.is_some());
        if let Some(p) = hit {
            return p;
        }
        let parsed = Policy::parse(doc).ok();
        self.0.insert(doc.to_owned(), parsed.clone());
        parsed
    }

    fn parse_all(&self, docs: &[String]) -> Vec<Policy> {
        // Stored documents were checked when written; one that no longer parses grants nothing.
        docs.iter()
            .filter_map(|d| match d.strip_prefix("aws-managed:") {
                Some(arn) => crate::iam::aws_managed::document(arn).and_then(|t| self.parse(t)),
                None => self.parse(d),
            })
            .collect()
    }
}

impl Authz {
    /// An authoriser with a cache of its own; clone it to share the cache.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            parsed: ParsedPolicies::new(),
        }
    }

    /// The identity-policy documents of the caller (none for root).
    pub async fn identity_documents(
        &self,
        ctx: &RequestContext,
    ) -> Result<Vec<String>, StoreError> {
        let p = &ctx.principal;
        let account = p.account_id.as_str();
        if let Some(s) = &p.session {
            return self
                .store
                .effective_policies(account, IamKind::Role, &s.role_name)
                .await;
        }
        if p.arn.ends_with(":root") {
            return Ok(Vec::new());
        }
        match p.arn.rsplit('/').next() {
            Some(name) if p.arn.contains(":user/") => {
                self.store
                    .effective_policies(account, IamKind::User, name)
                    .await
            }
            _ => Ok(Vec::new()),
        }
    }

    /// The caller's permissions boundary document (a user's, or a session's role's).
    pub async fn boundary_document(
        &self,
        ctx: &RequestContext,
    ) -> Result<Option<String>, StoreError> {
        let p = &ctx.principal;
        let account = p.account_id.as_str();
        if let Some(s) = &p.session {
            return self
                .store
                .permissions_boundary(account, IamKind::Role, &s.role_name)
                .await;
        }
        match p.arn.split_once(":user/") {
            Some((_, path_name)) => {
                self.store
                    .permissions_boundary(
                        account,
                        IamKind::User,
                        path_name.rsplit('/').next().unwrap_or_default(),
                    )
                    .await
            }
            None => Ok(None),
        }
    }

    /// Decide `request` with the caller's identity policies and `resource`.
    pub async fn decide(
        &self,
        ctx: &RequestContext,
        request: &Request,
        resource: ResourceSide<'_>,
    ) -> Result<Decision, StoreError> {
        let docs = self.identity_documents(ctx).await?;
        let identity = self.parsed.parse_all(&docs);
        let identity_refs: Vec<&Policy> = identity.iter().collect();
        let session = ctx
            .principal
            .session
            .as_ref()
            .filter(|s| !s.session_policies.is_empty())
            .map(|s| self.parsed.parse_all(&s.session_policies));
        let session_refs: Option<Vec<&Policy>> = session.as_ref().map(|v| v.iter().collect());
        let resource_policy = resource.policy.and_then(|d| self.parsed.parse(d));
        // A boundary that no longer parses allows nothing (it still bounds).
        let boundary = match self.boundary_document(ctx).await? {
            Some(d) => self.parsed.parse(&d).or_else(|| {
                self.parsed.parse(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#)
            }),
            None => None,
        };
        let set = PolicySet {
            identity: &identity_refs,
            resource: resource_policy.as_ref(),
            resource_mode: resource.mode,
            boundary: boundary.as_ref(),
            session: session_refs.as_deref(),
        };
        Ok(evaluate_with(request, &set, resource.account))
    }

    /// Allow or refuse with AWS's message. (`--dev` callers are the roots of their accounts, so
    /// everything in their own account is allowed; other accounts' resources still need their
    /// policies, as the `--dev` account isolation promises.)
    pub async fn check(
        &self,
        ctx: &RequestContext,
        request: &Request,
        resource: ResourceSide<'_>,
    ) -> Result<(), AuthzError> {
        let decision = self.decide(ctx, request, resource).await?;
        match coffer_policy::access_denied_message(
            &ctx.principal.arn,
            request.action(),
            Some(request.resource()),
            &decision,
        ) {
            None => Ok(()),
            Some(m) => Err(AuthzError::Denied(m)),
        }
    }

    /// Identity-only check in the caller's own account (IAM, STS, account-level operations).
    pub async fn check_identity(
        &self,
        ctx: &RequestContext,
        action: &str,
        resource: &str,
    ) -> Result<(), AuthzError> {
        let r = request(ctx, action, resource);
        self.check(
            ctx,
            &r,
            ResourceSide {
                policy: None,
                mode: ResourceMode::Additive,
                account: ctx.account(),
            },
        )
        .await
    }
}

/// Shared handle.
pub type SharedSession = Arc<Session>;
