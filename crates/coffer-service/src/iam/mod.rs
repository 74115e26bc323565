//! AWS Identity and Access Management (query protocol): users, access keys, roles, groups,
//! inline and managed policies, attachments, tags, OpenID Connect providers.
//! <https://docs.aws.amazon.com/IAM/latest/APIReference/API_Operations.html>
//!
//! Inputs and outputs are JSON documents (the botocore model validated the input already);
//! every operation is authorised as `iam:<Operation>` on the ARN it acts on.

use crate::RequestContext;
use crate::authz::{Authz, AuthzError};
use crate::error::{CommonErrors, ServiceError};
use crate::identity::Identity;
use crate::model::Service;
use coffer_store::{
    AccessKeyStatus, IamEntityRecord, IamKind, ManagedPolicyRecord, OidcProviderRecord,
    PolicyVersionRecord, Store, StoreError, Tag,
};
use serde_json::{Value, json};

pub mod aws_managed;

#[derive(Clone)]
pub struct Iam {
    store: Store,
    identity: Identity,
    authz: Authz,
}

/// IAM's error codes (query protocol).
#[derive(Debug)]
pub enum IamError {
    NoSuchEntity(String),
    EntityAlreadyExists(String),
    DeleteConflict(String),
    MalformedPolicyDocument(String),
    LimitExceeded(String),
    InvalidInput(String),
    Validation(String),
    MalformedInput(String),
    AccessDenied(String),
    ServiceFailure(String),
}

impl ServiceError for IamError {
    fn code(&self) -> &'static str {
        match self {
            Self::NoSuchEntity(_) => "NoSuchEntity",
            Self::EntityAlreadyExists(_) => "EntityAlreadyExists",
            Self::DeleteConflict(_) => "DeleteConflict",
            Self::MalformedPolicyDocument(_) => "MalformedPolicyDocument",
            Self::LimitExceeded(_) => "LimitExceeded",
            Self::InvalidInput(_) => "InvalidInput",
            Self::Validation(_) => "ValidationError",
            Self::MalformedInput(_) => "MalformedInput",
            Self::AccessDenied(_) => "AccessDenied",
            Self::ServiceFailure(_) => "ServiceFailure",
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::NoSuchEntity(_) => 404,
            Self::EntityAlreadyExists(_) | Self::DeleteConflict(_) | Self::LimitExceeded(_) => 409,
            Self::MalformedPolicyDocument(_)
            | Self::InvalidInput(_)
            | Self::Validation(_)
            | Self::MalformedInput(_) => 400,
            Self::AccessDenied(_) => 403,
            Self::ServiceFailure(_) => 500,
        }
    }

    fn message(&self) -> String {
        match self {
            Self::ServiceFailure(_) => {
                "The request processing has failed because of an unknown error.".to_owned()
            }
            Self::NoSuchEntity(m)
            | Self::EntityAlreadyExists(m)
            | Self::DeleteConflict(m)
            | Self::MalformedPolicyDocument(m)
            | Self::LimitExceeded(m)
            | Self::InvalidInput(m)
            | Self::Validation(m)
            | Self::MalformedInput(m)
            | Self::AccessDenied(m) => m.clone(),
        }
    }

    fn internal_detail(&self) -> Option<&str> {
        match self {
            Self::ServiceFailure(d) => Some(d),
            _ => None,
        }
    }
}

impl CommonErrors for IamError {
    fn validation(message: String) -> Self {
        Self::Validation(message)
    }
    fn serialization(message: String) -> Self {
        Self::MalformedInput(message)
    }
    fn internal(detail: String) -> Self {
        Self::ServiceFailure(detail)
    }
}

impl From<StoreError> for IamError {
    fn from(e: StoreError) -> Self {
        Self::ServiceFailure(e.to_string())
    }
}

impl From<AuthzError> for IamError {
    fn from(e: AuthzError) -> Self {
        match e {
            AuthzError::Denied(m) => Self::AccessDenied(m),
            AuthzError::Store(e) => e.into(),
        }
    }
}

operations!(Iam, IamError, Service::Iam;
    CreateUser => create_user,
    GetUser => get_user,
    ListUsers => list_users,
    DeleteUser => delete_user,
    TagUser => tag_user,
    CreateAccessKey => create_access_key,
    ListAccessKeys => list_access_keys,
    UpdateAccessKey => update_access_key,
    DeleteAccessKey => delete_access_key,
    CreateRole => create_role,
    GetRole => get_role,
    ListRoles => list_roles,
    DeleteRole => delete_role,
    UpdateAssumeRolePolicy => update_assume_role_policy,
    TagRole => tag_role,
    PutUserPermissionsBoundary => put_user_permissions_boundary,
    DeleteUserPermissionsBoundary => delete_user_permissions_boundary,
    PutRolePermissionsBoundary => put_role_permissions_boundary,
    DeleteRolePermissionsBoundary => delete_role_permissions_boundary,
    CreateGroup => create_group,
    GetGroup => get_group,
    DeleteGroup => delete_group,
    AddUserToGroup => add_user_to_group,
    RemoveUserFromGroup => remove_user_from_group,
    ListGroupsForUser => list_groups_for_user,
    PutUserPolicy => put_user_policy,
    GetUserPolicy => get_user_policy,
    DeleteUserPolicy => delete_user_policy,
    ListUserPolicies => list_user_policies,
    PutRolePolicy => put_role_policy,
    GetRolePolicy => get_role_policy,
    DeleteRolePolicy => delete_role_policy,
    ListRolePolicies => list_role_policies,
    PutGroupPolicy => put_group_policy,
    GetGroupPolicy => get_group_policy,
    DeleteGroupPolicy => delete_group_policy,
    ListGroupPolicies => list_group_policies,
    CreatePolicy => create_policy,
    GetPolicy => get_policy,
    GetPolicyVersion => get_policy_version,
    ListPolicies => list_policies,
    ListPolicyVersions => list_policy_versions,
    DeletePolicy => delete_policy,
    CreatePolicyVersion => create_policy_version,
    AttachUserPolicy => attach_user_policy,
    DetachUserPolicy => detach_user_policy,
    ListAttachedUserPolicies => list_attached_user_policies,
    AttachRolePolicy => attach_role_policy,
    DetachRolePolicy => detach_role_policy,
    ListAttachedRolePolicies => list_attached_role_policies,
    AttachGroupPolicy => attach_group_policy,
    DetachGroupPolicy => detach_group_policy,
    ListAttachedGroupPolicies => list_attached_group_policies,
    CreateOpenIDConnectProvider => create_oidc_provider,
    GetOpenIDConnectProvider => get_oidc_provider,
    ListOpenIDConnectProviders => list_oidc_providers,
    DeleteOpenIDConnectProvider => delete_oidc_provider,
);

type R = Result<Value, IamError>;

/// AWS's ISO 8601 timestamps.
pub(crate) fn iso(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Policy documents in IAM's XML responses are URL-encoded, as AWS sends them.
fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3 / 2);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or_default()
}

fn tags_of(v: &Value) -> Vec<Tag> {
    v.get("Tags")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|t| Tag {
                    key: str_of(t, "Key").to_owned(),
                    value: str_of(t, "Value").to_owned(),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn tags_json(tags: &[Tag]) -> Value {
    Value::Array(
        tags.iter()
            .map(|t| json!({"Key": t.key, "Value": t.value}))
            .collect(),
    )
}

fn new_id(prefix: &str) -> Result<String, IamError> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let raw = coffer_crypto::random::secret_bytes(17)
        .map_err(|e| IamError::ServiceFailure(e.to_string()))?;
    let tail: String = raw
        .expose()
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b % 32)]))
        .collect();
    Ok(format!("{prefix}{tail}"))
}

fn kind_word(kind: IamKind) -> &'static str {
    match kind {
        IamKind::User => "user",
        IamKind::Role => "role",
        IamKind::Group => "group",
    }
}

fn no_such(kind: IamKind, name: &str) -> IamError {
    IamError::NoSuchEntity(format!(
        "The {} with name {name} cannot be found.",
        kind_word(kind)
    ))
}

fn entity_arn(account: &str, kind: IamKind, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:{}{path}{name}", kind_word(kind))
}

/// Check an identity policy as IAM does before storing it: the grammar, and no `Principal`.
pub(crate) fn check_document(doc: &str) -> Result<(), IamError> {
    check_grammar(doc)?;
    if statements(doc)
        .iter()
        .any(|s| s.get("Principal").is_some() || s.get("NotPrincipal").is_some())
    {
        return Err(IamError::MalformedPolicyDocument(
            "Policy document should not specify a principal.".to_owned(),
        ));
    }
    Ok(())
}

/// Check a role's trust policy: the grammar, and a `Principal` in every statement.
pub(crate) fn check_trust_document(doc: &str) -> Result<(), IamError> {
    check_grammar(doc)?;
    if statements(doc)
        .iter()
        .any(|s| s.get("Principal").is_none() && s.get("NotPrincipal").is_none())
    {
        return Err(IamError::MalformedPolicyDocument(
            "Has prohibited field Resource or is missing field Principal".to_owned(),
        ));
    }
    Ok(())
}

fn statements(doc: &str) -> Vec<Value> {
    match serde_json::from_str::<Value>(doc)
        .ok()
        .and_then(|d| d.get("Statement").cloned())
    {
        Some(Value::Array(list)) => list,
        Some(one) => vec![one],
        None => Vec::new(),
    }
}

fn check_grammar(doc: &str) -> Result<(), IamError> {
    match coffer_policy::check(doc) {
        Ok(problems) if problems.is_empty() => Ok(()),
        Ok(problems) => Err(IamError::MalformedPolicyDocument(
            problems
                .first()
                .map(|p| p.message.clone())
                .unwrap_or_else(|| "Syntax errors in policy.".to_owned()),
        )),
        Err(_) => Err(IamError::MalformedPolicyDocument(
            "Syntax errors in policy.".to_owned(),
        )),
    }
}

fn entity_json(e: &IamEntityRecord) -> Value {
    let (name_key, id_key) = match e.kind {
        IamKind::User => ("UserName", "UserId"),
        IamKind::Role => ("RoleName", "RoleId"),
        IamKind::Group => ("GroupName", "GroupId"),
    };
    let mut v = json!({
        "Path": e.path,
        name_key: e.name,
        id_key: e.id,
        "Arn": e.arn,
        "CreateDate": iso(e.created_at),
    });
    if e.kind == IamKind::Role {
        v["AssumeRolePolicyDocument"] = json!(url_encode(e.trust_policy.as_deref().unwrap_or("")));
        v["MaxSessionDuration"] = json!(e.max_session_duration.unwrap_or(3600));
        if let Some(d) = &e.description {
            v["Description"] = json!(d);
        }
    }
    if let Some(b) = &e.permissions_boundary {
        v["PermissionsBoundary"] =
            json!({"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": b});
    }
    if !e.tags.is_empty() {
        v["Tags"] = tags_json(&e.tags);
    }
    v
}

fn policy_json(p: &ManagedPolicyRecord, attachments: i64) -> Value {
    json!({
        "PolicyName": p.name,
        "PolicyId": p.id,
        "Arn": p.arn,
        "Path": p.path,
        "DefaultVersionId": p.default_version,
        "AttachmentCount": attachments,
        "PermissionsBoundaryUsageCount": 0,
        "IsAttachable": true,
        "Description": if p.description.is_empty() { Value::Null } else { json!(p.description) },
        "CreateDate": iso(p.created_at),
        "UpdateDate": iso(p.updated_at),
    })
}

impl std::fmt::Debug for Iam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iam").finish_non_exhaustive()
    }
}

impl Iam {
    pub fn new(store: Store, identity: Identity) -> Self {
        Self {
            authz: Authz::new(store.clone()),
            store,
            identity,
        }
    }

    async fn allow(&self, ctx: &RequestContext, op: &str, arn: &str) -> Result<(), IamError> {
        Ok(self
            .authz
            .check_identity(ctx, &format!("iam:{op}"), arn)
            .await?)
    }

    async fn entity(
        &self,
        ctx: &RequestContext,
        kind: IamKind,
        name: &str,
    ) -> Result<IamEntityRecord, IamError> {
        self.store
            .get_entity(ctx.account(), kind, name)
            .await?
            .ok_or_else(|| no_such(kind, name))
    }

    async fn create(&self, ctx: &RequestContext, kind: IamKind, op: &str, input: &Value) -> R {
        let (name_key, prefix) = match kind {
            IamKind::User => ("UserName", "AIDA"),
            IamKind::Role => ("RoleName", "AROA"),
            IamKind::Group => ("GroupName", "AGPA"),
        };
        let name = str_of(input, name_key);
        let path = match str_of(input, "Path") {
            "" => "/",
            p => p,
        };
        let arn = entity_arn(ctx.account(), kind, path, name);
        self.allow(ctx, op, &arn).await?;
        let mut e = IamEntityRecord {
            account_id: ctx.account().to_owned(),
            kind,
            name: name.to_owned(),
            id: new_id(prefix)?,
            path: path.to_owned(),
            arn,
            created_at: ctx.now,
            tags: tags_of(input),
            trust_policy: None,
            max_session_duration: None,
            description: None,
            permissions_boundary: None,
            row_version: 1,
        };
        if kind != IamKind::Group
            && let Some(b) = input.get("PermissionsBoundary").and_then(Value::as_str)
        {
            if b.starts_with(aws_managed::PREFIX) {
                return Err(IamError::InvalidInput(
                    "coffer: a permissions boundary must be a customer managed policy.".to_owned(),
                ));
            }
            self.managed(ctx, b).await?;
            e.permissions_boundary = Some(b.to_owned());
        }
        if kind == IamKind::Role {
            let doc = str_of(input, "AssumeRolePolicyDocument");
            check_trust_document(doc)?;
            e.trust_policy = Some(doc.to_owned());
            let max = input
                .get("MaxSessionDuration")
                .and_then(Value::as_i64)
                .unwrap_or(3600);
            e.max_session_duration = Some(max);
            e.description = input
                .get("Description")
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        match self.store.create_entity(&e).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                let word = match kind {
                    IamKind::User => "User",
                    IamKind::Role => "Role",
                    IamKind::Group => "Group",
                };
                return Err(IamError::EntityAlreadyExists(format!(
                    "{word} with name {name} already exists."
                )));
            }
            Err(e) => return Err(e.into()),
        }
        let key = match kind {
            IamKind::User => "User",
            IamKind::Role => "Role",
            IamKind::Group => "Group",
        };
        Ok(json!({ key: entity_json(&e) }))
    }

    async fn list(&self, ctx: &RequestContext, kind: IamKind, op: &str, input: &Value) -> R {
        self.allow(ctx, op, "*").await?;
        let prefix = match str_of(input, "PathPrefix") {
            "" => "/",
            p => p,
        };
        let all = self
            .store
            .list_entities(ctx.account(), kind, prefix)
            .await?;
        let key = match kind {
            IamKind::User => "Users",
            IamKind::Role => "Roles",
            IamKind::Group => "Groups",
        };
        page(input, all.iter().map(entity_json).collect(), key)
    }

    async fn delete(&self, ctx: &RequestContext, kind: IamKind, op: &str, name: &str) -> R {
        let e = self.entity(ctx, kind, name).await?;
        self.allow(ctx, op, &e.arn).await?;
        let a = ctx.account();
        if kind == IamKind::User && !self.store.list_access_keys_of(a, &e.arn).await?.is_empty() {
            return Err(IamError::DeleteConflict(
                "Cannot delete entity, must delete access keys first.".to_owned(),
            ));
        }
        if !self
            .store
            .list_inline_policies(a, kind, name)
            .await?
            .is_empty()
        {
            return Err(IamError::DeleteConflict(
                "Cannot delete entity, must delete policies first.".to_owned(),
            ));
        }
        if !self
            .store
            .list_attached_policies(a, kind, name)
            .await?
            .is_empty()
        {
            return Err(IamError::DeleteConflict(
                "Cannot delete entity, must detach all policies first.".to_owned(),
            ));
        }
        if kind == IamKind::User && !self.store.list_groups_of_user(a, name).await?.is_empty() {
            return Err(IamError::DeleteConflict(
                "Cannot delete entity, must remove users from group first.".to_owned(),
            ));
        }
        if kind == IamKind::Group && !self.store.list_group_members(a, name).await?.is_empty() {
            return Err(IamError::DeleteConflict(
                "Cannot delete entity, must remove users from group first.".to_owned(),
            ));
        }
        self.store.delete_entity(a, kind, name).await?;
        Ok(json!({}))
    }

    async fn tag(&self, ctx: &RequestContext, kind: IamKind, op: &str, input: &Value) -> R {
        let name_key = if kind == IamKind::User {
            "UserName"
        } else {
            "RoleName"
        };
        for _ in 0..8 {
            let mut e = self.entity(ctx, kind, str_of(input, name_key)).await?;
            self.allow(ctx, op, &e.arn).await?;
            for t in tags_of(input) {
                match e.tags.iter_mut().find(|x| x.key == t.key) {
                    Some(x) => x.value = t.value,
                    None => e.tags.push(t),
                }
            }
            if e.tags.len() > 50 {
                return Err(IamError::LimitExceeded(
                    "The number of tags has reached the maximum limit.".to_owned(),
                ));
            }
            match self.store.update_entity(&e).await {
                Err(StoreError::Conflict) => continue,
                other => {
                    other?;
                    return Ok(json!({}));
                }
            }
        }
        Err(IamError::ServiceFailure(
            "tag: too many conflicts".to_owned(),
        ))
    }

    /// Set (`Some`) or remove a user's or role's permissions boundary.
    async fn set_boundary(
        &self,
        ctx: &RequestContext,
        kind: IamKind,
        op: &str,
        input: &Value,
        set: bool,
    ) -> R {
        let arn = str_of(input, "PermissionsBoundary");
        if set {
            if arn.starts_with(aws_managed::PREFIX) {
                return Err(IamError::InvalidInput(
                    "coffer: a permissions boundary must be a customer managed policy.".to_owned(),
                ));
            }
            self.managed(ctx, arn).await?;
        }
        for _ in 0..8 {
            let mut e = self.owner(ctx, kind, op, input).await?;
            e.permissions_boundary = set.then(|| arn.to_owned());
            match self.store.update_entity(&e).await {
                Err(StoreError::Conflict) => continue,
                other => {
                    other?;
                    return Ok(json!({}));
                }
            }
        }
        Err(IamError::ServiceFailure(
            "boundary: too many conflicts".to_owned(),
        ))
    }

    /// The entity an inline-policy or attachment operation names, authorised.
    async fn owner(
        &self,
        ctx: &RequestContext,
        kind: IamKind,
        op: &str,
        input: &Value,
    ) -> Result<IamEntityRecord, IamError> {
        let key = match kind {
            IamKind::User => "UserName",
            IamKind::Role => "RoleName",
            IamKind::Group => "GroupName",
        };
        let e = self.entity(ctx, kind, str_of(input, key)).await?;
        self.allow(ctx, op, &e.arn).await?;
        Ok(e)
    }

    async fn put_inline(&self, ctx: &RequestContext, kind: IamKind, op: &str, input: &Value) -> R {
        let e = self.owner(ctx, kind, op, input).await?;
        let doc = str_of(input, "PolicyDocument");
        check_document(doc)?;
        self.store
            .put_inline_policy(
                ctx.account(),
                kind,
                &e.name,
                str_of(input, "PolicyName"),
                doc,
            )
            .await?;
        Ok(json!({}))
    }

    async fn get_inline(&self, ctx: &RequestContext, kind: IamKind, op: &str, input: &Value) -> R {
        let e = self.owner(ctx, kind, op, input).await?;
        let name = str_of(input, "PolicyName");
        let doc = self
            .store
            .get_inline_policy(ctx.account(), kind, &e.name, name)
            .await?
            .ok_or_else(|| {
                IamError::NoSuchEntity(format!(
                    "The {} policy with name {name} cannot be found.",
                    kind_word(kind)
                ))
            })?;
        let owner_key = match kind {
            IamKind::User => "UserName",
            IamKind::Role => "RoleName",
            IamKind::Group => "GroupName",
        };
        Ok(json!({ owner_key: e.name, "PolicyName": name, "PolicyDocument": url_encode(&doc) }))
    }

    async fn delete_inline(
        &self,
        ctx: &RequestContext,
        kind: IamKind,
        op: &str,
        input: &Value,
    ) -> R {
        let e = self.owner(ctx, kind, op, input).await?;
        let name = str_of(input, "PolicyName");
        if !self
            .store
            .delete_inline_policy(ctx.account(), kind, &e.name, name)
            .await?
        {
            return Err(IamError::NoSuchEntity(format!(
                "The {} policy with name {name} cannot be found.",
                kind_word(kind)
            )));
        }
        Ok(json!({}))
    }

    async fn list_inline(&self, ctx: &RequestContext, kind: IamKind, op: &str, input: &Value) -> R {
        let e = self.owner(ctx, kind, op, input).await?;
        let names = self
            .store
            .list_inline_policies(ctx.account(), kind, &e.name)
            .await?;
        page(
            input,
            names.into_iter().map(Value::String).collect(),
            "PolicyNames",
        )
    }

    async fn managed(
        &self,
        ctx: &RequestContext,
        arn: &str,
    ) -> Result<ManagedPolicyRecord, IamError> {
        if aws_managed::document(arn).is_some() {
            let name = arn.rsplit('/').next().unwrap_or_default();
            return Ok(ManagedPolicyRecord {
                account_id: "aws".to_owned(),
                name: name.to_owned(),
                id: format!("ANPAAWSMANAGED{}", name.len()),
                path: "/".to_owned(),
                arn: arn.to_owned(),
                description: String::new(),
                default_version: "v1".to_owned(),
                next_version: 2,
                created_at: 0,
                updated_at: 0,
                row_version: 1,
            });
        }
        self.store
            .get_managed_policy(ctx.account(), arn)
            .await?
            .ok_or_else(|| {
                IamError::NoSuchEntity(format!("Policy {arn} does not exist or is not attachable."))
            })
    }

    async fn attach(&self, ctx: &RequestContext, kind: IamKind, op: &str, input: &Value) -> R {
        let e = self.owner(ctx, kind, op, input).await?;
        let arn = str_of(input, "PolicyArn");
        self.managed(ctx, arn).await?;
        let attached = self
            .store
            .list_attached_policies(ctx.account(), kind, &e.name)
            .await?;
        if attached.len() >= 20 && !attached.iter().any(|a| a == arn) {
            return Err(IamError::LimitExceeded(format!(
                "Cannot exceed quota for PoliciesPer{}: 20",
                match kind {
                    IamKind::User => "User",
                    IamKind::Role => "Role",
                    IamKind::Group => "Group",
                }
            )));
        }
        self.store
            .attach_policy(ctx.account(), kind, &e.name, arn)
            .await?;
        Ok(json!({}))
    }

    async fn detach(&self, ctx: &RequestContext, kind: IamKind, op: &str, input: &Value) -> R {
        let e = self.owner(ctx, kind, op, input).await?;
        let arn = str_of(input, "PolicyArn");
        if !self
            .store
            .detach_policy(ctx.account(), kind, &e.name, arn)
            .await?
        {
            return Err(IamError::NoSuchEntity(format!(
                "Policy {arn} was not found."
            )));
        }
        Ok(json!({}))
    }

    async fn list_attached(
        &self,
        ctx: &RequestContext,
        kind: IamKind,
        op: &str,
        input: &Value,
    ) -> R {
        let e = self.owner(ctx, kind, op, input).await?;
        let arns = self
            .store
            .list_attached_policies(ctx.account(), kind, &e.name)
            .await?;
        let items = arns
            .into_iter()
            .map(|a| {
                let name = a.rsplit('/').next().unwrap_or_default().to_owned();
                json!({"PolicyName": name, "PolicyArn": a})
            })
            .collect();
        page(input, items, "AttachedPolicies")
    }
}

/// One page of `items` under `key`, with IAM's Marker/MaxItems paging (marker = index).
fn page(input: &Value, items: Vec<Value>, key: &str) -> R {
    let start: usize = str_of(input, "Marker").parse().unwrap_or(0);
    let max = input
        .get("MaxItems")
        .and_then(Value::as_u64)
        .and_then(|m| usize::try_from(m).ok())
        .unwrap_or(100);
    let end = start.saturating_add(max).min(items.len());
    let slice: Vec<Value> = items.get(start.min(end)..end).unwrap_or_default().to_vec();
    let mut out = json!({ key: slice, "IsTruncated": end < items.len() });
    if end < items.len() {
        out["Marker"] = json!(end.to_string());
    }
    Ok(out)
}

macro_rules! handlers {
    ($( $name:ident($iam:ident, $ctx:ident, $input:ident) $body:block )*) => {
        $( pub async fn $name($iam: &Iam, $ctx: &RequestContext, $input: Value) -> R $body )*
    };
}

handlers! {
    create_user(iam, ctx, input) { iam.create(ctx, IamKind::User, "CreateUser", &input).await }
    create_role(iam, ctx, input) { iam.create(ctx, IamKind::Role, "CreateRole", &input).await }
    create_group(iam, ctx, input) { iam.create(ctx, IamKind::Group, "CreateGroup", &input).await }
    list_users(iam, ctx, input) { iam.list(ctx, IamKind::User, "ListUsers", &input).await }
    list_roles(iam, ctx, input) { iam.list(ctx, IamKind::Role, "ListRoles", &input).await }
    delete_user(iam, ctx, input) { iam.delete(ctx, IamKind::User, "DeleteUser", str_of(&input, "UserName")).await }
    delete_role(iam, ctx, input) { iam.delete(ctx, IamKind::Role, "DeleteRole", str_of(&input, "RoleName")).await }
    delete_group(iam, ctx, input) { iam.delete(ctx, IamKind::Group, "DeleteGroup", str_of(&input, "GroupName")).await }
    tag_user(iam, ctx, input) { iam.tag(ctx, IamKind::User, "TagUser", &input).await }
    tag_role(iam, ctx, input) { iam.tag(ctx, IamKind::Role, "TagRole", &input).await }
    put_user_permissions_boundary(iam, ctx, input) { iam.set_boundary(ctx, IamKind::User, "PutUserPermissionsBoundary", &input, true).await }
    delete_user_permissions_boundary(iam, ctx, input) { iam.set_boundary(ctx, IamKind::User, "DeleteUserPermissionsBoundary", &input, false).await }
    put_role_permissions_boundary(iam, ctx, input) { iam.set_boundary(ctx, IamKind::Role, "PutRolePermissionsBoundary", &input, true).await }
    delete_role_permissions_boundary(iam, ctx, input) { iam.set_boundary(ctx, IamKind::Role, "DeleteRolePermissionsBoundary", &input, false).await }
    put_user_policy(iam, ctx, input) { iam.put_inline(ctx, IamKind::User, "PutUserPolicy", &input).await }
    put_role_policy(iam, ctx, input) { iam.put_inline(ctx, IamKind::Role, "PutRolePolicy", &input).await }
    put_group_policy(iam, ctx, input) { iam.put_inline(ctx, IamKind::Group, "PutGroupPolicy", &input).await }
    get_user_policy(iam, ctx, input) { iam.get_inline(ctx, IamKind::User, "GetUserPolicy", &input).await }
    get_role_policy(iam, ctx, input) { iam.get_inline(ctx, IamKind::Role, "GetRolePolicy", &input).await }
    get_group_policy(iam, ctx, input) { iam.get_inline(ctx, IamKind::Group, "GetGroupPolicy", &input).await }
    delete_user_policy(iam, ctx, input) { iam.delete_inline(ctx, IamKind::User, "DeleteUserPolicy", &input).await }
    delete_role_policy(iam, ctx, input) { iam.delete_inline(ctx, IamKind::Role, "DeleteRolePolicy", &input).await }
    delete_group_policy(iam, ctx, input) { iam.delete_inline(ctx, IamKind::Group, "DeleteGroupPolicy", &input).await }
    list_user_policies(iam, ctx, input) { iam.list_inline(ctx, IamKind::User, "ListUserPolicies", &input).await }
    list_role_policies(iam, ctx, input) { iam.list_inline(ctx, IamKind::Role, "ListRolePolicies", &input).await }
    list_group_policies(iam, ctx, input) { iam.list_inline(ctx, IamKind::Group, "ListGroupPolicies", &input).await }
    attach_user_policy(iam, ctx, input) { iam.attach(ctx, IamKind::User, "AttachUserPolicy", &input).await }
    attach_role_policy(iam, ctx, input) { iam.attach(ctx, IamKind::Role, "AttachRolePolicy", &input).await }
    attach_group_policy(iam, ctx, input) { iam.attach(ctx, IamKind::Group, "AttachGroupPolicy", &input).await }
    detach_user_policy(iam, ctx, input) { iam.detach(ctx, IamKind::User, "DetachUserPolicy", &input).await }
    detach_role_policy(iam, ctx, input) { iam.detach(ctx, IamKind::Role, "DetachRolePolicy", &input).await }
    detach_group_policy(iam, ctx, input) { iam.detach(ctx, IamKind::Group, "DetachGroupPolicy", &input).await }
    list_attached_user_policies(iam, ctx, input) { iam.list_attached(ctx, IamKind::User, "ListAttachedUserPolicies", &input).await }
    list_attached_role_policies(iam, ctx, input) { iam.list_attached(ctx, IamKind::Role, "ListAttachedRolePolicies", &input).await }
    list_attached_group_policies(iam, ctx, input) { iam.list_attached(ctx, IamKind::Group, "ListAttachedGroupPolicies", &input).await }

    get_user(iam, ctx, input) {
        let name = str_of(&input, "UserName");
        if name.is_empty() {
            let p = &ctx.principal;
            if p.arn.ends_with(":root") {
                return Ok(json!({"User": {"UserId": p.account_id.to_string(), "Arn": p.arn, "CreateDate": iso(0)}}));
            }
            let own = p.arn.rsplit('/').next().unwrap_or_default().to_owned();
            let e = iam.entity(ctx, IamKind::User, &own).await?;
            return Ok(json!({"User": entity_json(&e)}));
        }
        let e = iam.entity(ctx, IamKind::User, name).await?;
        iam.allow(ctx, "GetUser", &e.arn).await?;
        Ok(json!({"User": entity_json(&e)}))
    }

    get_role(iam, ctx, input) {
        let e = iam.entity(ctx, IamKind::Role, str_of(&input, "RoleName")).await?;
        iam.allow(ctx, "GetRole", &e.arn).await?;
        Ok(json!({"Role": entity_json(&e)}))
    }

    get_group(iam, ctx, input) {
        let e = iam.entity(ctx, IamKind::Group, str_of(&input, "GroupName")).await?;
        iam.allow(ctx, "GetGroup", &e.arn).await?;
        let mut users = Vec::new();
        for u in iam.store.list_group_members(ctx.account(), &e.name).await? {
            if let Some(u) = iam.store.get_entity(ctx.account(), IamKind::User, &u).await? {
                users.push(entity_json(&u));
            }
        }
        Ok(json!({"Group": entity_json(&e), "Users": users, "IsTruncated": false}))
    }

    update_assume_role_policy(iam, ctx, input) {
        for _ in 0..8 {
            let mut e = iam.entity(ctx, IamKind::Role, str_of(&input, "RoleName")).await?;
            iam.allow(ctx, "UpdateAssumeRolePolicy", &e.arn).await?;
            let doc = str_of(&input, "PolicyDocument");
            check_trust_document(doc)?;
            e.trust_policy = Some(doc.to_owned());
            match iam.store.update_entity(&e).await {
                Err(StoreError::Conflict) => continue,
                other => { other?; return Ok(json!({})); }
            }
        }
        Err(IamError::ServiceFailure("update: too many conflicts".to_owned()))
    }

    add_user_to_group(iam, ctx, input) {
        let g = iam.entity(ctx, IamKind::Group, str_of(&input, "GroupName")).await?;
        iam.allow(ctx, "AddUserToGroup", &g.arn).await?;
        let u = iam.entity(ctx, IamKind::User, str_of(&input, "UserName")).await?;
        iam.store.add_group_member(ctx.account(), &g.name, &u.name).await?;
        Ok(json!({}))
    }

    remove_user_from_group(iam, ctx, input) {
        let g = iam.entity(ctx, IamKind::Group, str_of(&input, "GroupName")).await?;
        iam.allow(ctx, "RemoveUserFromGroup", &g.arn).await?;
        let user = str_of(&input, "UserName");
        if !iam.store.remove_group_member(ctx.account(), &g.name, user).await? {
            return Err(no_such(IamKind::User, user));
        }
        Ok(json!({}))
    }

    list_groups_for_user(iam, ctx, input) {
        let u = iam.entity(ctx, IamKind::User, str_of(&input, "UserName")).await?;
        iam.allow(ctx, "ListGroupsForUser", &u.arn).await?;
        let mut groups = Vec::new();
        for g in iam.store.list_groups_of_user(ctx.account(), &u.name).await? {
            if let Some(g) = iam.store.get_entity(ctx.account(), IamKind::Group, &g).await? {
                groups.push(entity_json(&g));
            }
        }
        page(&input, groups, "Groups")
    }

    create_access_key(iam, ctx, input) {
        let name = match str_of(&input, "UserName") {
            "" if !ctx.principal.arn.ends_with(":root") => ctx.principal.arn.rsplit('/').next().unwrap_or_default().to_owned(),
            "" => return Err(IamError::InvalidInput("coffer: the root's keys are created with `coffer admin`; pass UserName.".to_owned())),
            n => n.to_owned(),
        };
        let u = iam.entity(ctx, IamKind::User, &name).await?;
        iam.allow(ctx, "CreateAccessKey", &u.arn).await?;
        if iam.store.list_access_keys_of(ctx.account(), &u.arn).await?.len() >= 2 {
            return Err(IamError::LimitExceeded("Cannot exceed quota for AccessKeysPerUser: 2".to_owned()));
        }
        let key = iam
            .identity
            .create_user_key(&ctx.principal.account_id, &u.arn, &u.id, ctx.now)
            .await
            .map_err(|e| IamError::ServiceFailure(e.to_string()))?;
        Ok(json!({"AccessKey": {
            "UserName": u.name,
            "AccessKeyId": key.access_key_id,
            "Status": "Active",
            "SecretAccessKey": String::from_utf8_lossy(key.secret_access_key.expose()),
            "CreateDate": iso(ctx.now),
        }}))
    }

    list_access_keys(iam, ctx, input) {
        let name = match str_of(&input, "UserName") {
            "" => ctx.principal.arn.rsplit('/').next().unwrap_or_default().to_owned(),
            n => n.to_owned(),
        };
        let u = iam.entity(ctx, IamKind::User, &name).await?;
        iam.allow(ctx, "ListAccessKeys", &u.arn).await?;
        let keys = iam.store.list_access_keys_of(ctx.account(), &u.arn).await?;
        let items = keys.iter().map(|k| json!({
            "UserName": u.name,
            "AccessKeyId": k.access_key_id,
            "Status": k.status.as_str(),
            "CreateDate": iso(k.created_at),
        })).collect();
        page(&input, items, "AccessKeyMetadata")
    }

    update_access_key(iam, ctx, input) {
        let k = iam.user_key(ctx, "UpdateAccessKey", &input).await?;
        let status = if str_of(&input, "Status") == "Inactive" { AccessKeyStatus::Inactive } else { AccessKeyStatus::Active };
        iam.store.set_access_key_status(&k, status).await?;
        iam.identity.forget(&k);
        Ok(json!({}))
    }

    delete_access_key(iam, ctx, input) {
        let k = iam.user_key(ctx, "DeleteAccessKey", &input).await?;
        iam.store.delete_access_key(&k).await?;
        iam.identity.forget(&k);
        Ok(json!({}))
    }

    create_policy(iam, ctx, input) {
        let name = str_of(&input, "PolicyName");
        let path = match str_of(&input, "Path") { "" => "/", p => p };
        let arn = format!("arn:aws:iam::{}:policy{path}{name}", ctx.account());
        iam.allow(ctx, "CreatePolicy", &arn).await?;
        let doc = str_of(&input, "PolicyDocument");
        check_document(doc)?;
        let p = ManagedPolicyRecord {
            account_id: ctx.account().to_owned(),
            name: name.to_owned(),
            id: new_id("ANPA")?,
            path: path.to_owned(),
            arn,
            description: str_of(&input, "Description").to_owned(),
            default_version: "v1".to_owned(),
            next_version: 2,
            created_at: ctx.now,
            updated_at: ctx.now,
            row_version: 1,
        };
        let v = PolicyVersionRecord { version_id: "v1".to_owned(), document: doc.to_owned(), created_at: ctx.now };
        match iam.store.create_managed_policy(&p, &v).await {
            Err(StoreError::Conflict) => Err(IamError::EntityAlreadyExists(format!("A policy called {name} already exists. Duplicate names are not allowed."))),
            other => { other?; Ok(json!({"Policy": policy_json(&p, 0)})) }
        }
    }

    get_policy(iam, ctx, input) {
        let arn = str_of(&input, "PolicyArn");
        iam.allow(ctx, "GetPolicy", arn).await?;
        let p = iam.managed(ctx, arn).await?;
        let n = iam.store.count_policy_attachments(ctx.account(), arn).await?;
        Ok(json!({"Policy": policy_json(&p, n)}))
    }

    get_policy_version(iam, ctx, input) {
        let arn = str_of(&input, "PolicyArn");
        iam.allow(ctx, "GetPolicyVersion", arn).await?;
        let id = str_of(&input, "VersionId");
        if let Some(doc) = aws_managed::document(arn) {
            if id != "v1" {
                return Err(IamError::NoSuchEntity(format!("Policy {arn} version {id} does not exist or is not attachable.")));
            }
            return Ok(json!({"PolicyVersion": {"Document": url_encode(doc), "VersionId": "v1", "IsDefaultVersion": true, "CreateDate": iso(0)}}));
        }
        let p = iam.managed(ctx, arn).await?;
        let v = iam.store.get_policy_version(ctx.account(), &p.name, id).await?
            .ok_or_else(|| IamError::NoSuchEntity(format!("Policy {arn} version {id} does not exist or is not attachable.")))?;
        Ok(json!({"PolicyVersion": {
            "Document": url_encode(&v.document),
            "VersionId": v.version_id,
            "IsDefaultVersion": v.version_id == p.default_version,
            "CreateDate": iso(v.created_at),
        }}))
    }

    list_policy_versions(iam, ctx, input) {
        let arn = str_of(&input, "PolicyArn");
        iam.allow(ctx, "ListPolicyVersions", arn).await?;
        if aws_managed::document(arn).is_some() {
            return page(&input, vec![json!({"VersionId": "v1", "IsDefaultVersion": true, "CreateDate": iso(0)})], "Versions");
        }
        let p = iam.managed(ctx, arn).await?;
        let vs = iam.store.list_policy_versions(ctx.account(), &p.name).await?;
        let items = vs.iter().rev().map(|v| json!({
            "VersionId": v.version_id,
            "IsDefaultVersion": v.version_id == p.default_version,
            "CreateDate": iso(v.created_at),
        })).collect();
        page(&input, items, "Versions")
    }

    list_policies(iam, ctx, input) {
        iam.allow(ctx, "ListPolicies", "*").await?;
        let scope = str_of(&input, "Scope");
        let only_attached = input.get("OnlyAttached").and_then(Value::as_bool) == Some(true);
        let mut items = Vec::new();
        if scope != "Local" {
            for (_, arn) in aws_managed::all() {
                let n = iam.store.count_policy_attachments(ctx.account(), &arn).await?;
                if only_attached && n == 0 {
                    continue;
                }
                items.push(policy_json(&iam.managed(ctx, &arn).await?, n));
            }
        }
        if scope == "AWS" {
            return page(&input, items, "Policies");
        }
        for p in iam.store.list_managed_policies(ctx.account()).await? {
            let n = iam.store.count_policy_attachments(ctx.account(), &p.arn).await?;
            if input.get("OnlyAttached").and_then(Value::as_bool) == Some(true) && n == 0 {
                continue;
            }
            items.push(policy_json(&p, n));
        }
        page(&input, items, "Policies")
    }

    delete_policy(iam, ctx, input) {
        let arn = str_of(&input, "PolicyArn");
        iam.allow(ctx, "DeletePolicy", arn).await?;
        if arn.starts_with(aws_managed::PREFIX) {
            return Err(IamError::InvalidInput("AWS managed policies cannot be deleted.".to_owned()));
        }
        iam.managed(ctx, arn).await?;
        if iam.store.count_policy_attachments(ctx.account(), arn).await? > 0 {
            return Err(IamError::DeleteConflict("Cannot delete a policy attached to entities.".to_owned()));
        }
        iam.store.delete_managed_policy(ctx.account(), arn).await?;
        Ok(json!({}))
    }

    create_policy_version(iam, ctx, input) {
        let arn = str_of(&input, "PolicyArn");
        iam.allow(ctx, "CreatePolicyVersion", arn).await?;
        if arn.starts_with(aws_managed::PREFIX) {
            return Err(IamError::InvalidInput("AWS managed policies cannot be changed.".to_owned()));
        }
        let doc = str_of(&input, "PolicyDocument");
        check_document(doc)?;
        for _ in 0..8 {
            let mut p = iam.managed(ctx, arn).await?;
            if iam.store.list_policy_versions(ctx.account(), &p.name).await?.len() >= 5 {
                return Err(IamError::LimitExceeded("A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.".to_owned()));
            }
            let id = format!("v{}", p.next_version);
            p.next_version += 1;
            p.updated_at = ctx.now;
            let default = input.get("SetAsDefault").and_then(Value::as_bool) == Some(true);
            if default {
                p.default_version = id.clone();
            }
            let v = PolicyVersionRecord { version_id: id.clone(), document: doc.to_owned(), created_at: ctx.now };
            match iam.store.add_policy_version(&p, &v).await {
                Err(StoreError::Conflict) => continue,
                other => {
                    other?;
                    return Ok(json!({"PolicyVersion": {"VersionId": id, "IsDefaultVersion": default, "CreateDate": iso(ctx.now)}}));
                }
            }
        }
        Err(IamError::ServiceFailure("policy version: too many conflicts".to_owned()))
    }

    create_oidc_provider(iam, ctx, input) {
        let url = str_of(&input, "Url");
        let Some(host_path) = url.strip_prefix("https://") else {
            return Err(IamError::InvalidInput("The URL must begin with https://".to_owned()));
        };
        let arn = format!("arn:aws:iam::{}:oidc-provider/{}", ctx.account(), host_path.trim_end_matches('/'));
        iam.allow(ctx, "CreateOpenIDConnectProvider", &arn).await?;
        let list = |k: &str| -> Vec<String> {
            input.get(k).and_then(Value::as_array).map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect()).unwrap_or_default()
        };
        let p = OidcProviderRecord {
            account_id: ctx.account().to_owned(),
            arn: arn.clone(),
            url: url.trim_end_matches('/').to_owned(),
            client_ids: list("ClientIDList"),
            thumbprints: list("ThumbprintList"),
            created_at: ctx.now,
        };
        match iam.store.create_oidc_provider(&p).await {
            Err(StoreError::Conflict) => Err(IamError::EntityAlreadyExists(format!("Provider with url {url} already exists."))),
            other => { other?; Ok(json!({"OpenIDConnectProviderArn": arn})) }
        }
    }

    get_oidc_provider(iam, ctx, input) {
        let arn = str_of(&input, "OpenIDConnectProviderArn");
        iam.allow(ctx, "GetOpenIDConnectProvider", arn).await?;
        let p = iam.store.get_oidc_provider(ctx.account(), arn).await?
            .ok_or_else(|| IamError::NoSuchEntity(format!("OpenIDConnect Provider not found for arn {arn}")))?;
        Ok(json!({
            "Url": p.url.trim_start_matches("https://"),
            "ClientIDList": p.client_ids,
            "ThumbprintList": p.thumbprints,
            "CreateDate": iso(p.created_at),
        }))
    }

    list_oidc_providers(iam, ctx, _input) {
        iam.allow(ctx, "ListOpenIDConnectProviders", "*").await?;
        let all = iam.store.list_oidc_providers(ctx.account()).await?;
        Ok(json!({"OpenIDConnectProviderList": all.iter().map(|p| json!({"Arn": p.arn})).collect::<Vec<_>>()}))
    }

    delete_oidc_provider(iam, ctx, input) {
        let arn = str_of(&input, "OpenIDConnectProviderArn");
        iam.allow(ctx, "DeleteOpenIDConnectProvider", arn).await?;
        if !iam.store.delete_oidc_provider(ctx.account(), arn).await? {
            return Err(IamError::NoSuchEntity(format!("OpenIDConnect Provider not found for arn {arn}")));
        }
        Ok(json!({}))
    }
}

impl Iam {
    /// The access key an Update/DeleteAccessKey names, checked to belong to the user.
    async fn user_key(
        &self,
        ctx: &RequestContext,
        op: &str,
        input: &Value,
    ) -> Result<String, IamError> {
        let id = str_of(input, "AccessKeyId");
        let name = match str_of(input, "UserName") {
            "" => ctx
                .principal
                .arn
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned(),
            n => n.to_owned(),
        };
        let u = self.entity(ctx, IamKind::User, &name).await?;
        self.allow(ctx, op, &u.arn).await?;
        match self.store.get_access_key(id).await? {
            Some(k) if k.account_id == ctx.account() && k.principal_arn == u.arn => {
                Ok(id.to_owned())
            }
            _ => Err(IamError::NoSuchEntity(format!(
                "The Access Key with id {id} cannot be found."
            ))),
        }
    }
}
