//! IAM: users, roles and groups, their inline and attached managed policies, group membership,
//! access keys of users, and OpenID Connect providers.
//!
//! Both backends run the same SQL (`$N` placeholders, which sqlx's SQLite driver binds by number):
//! the implementation is `repo::iam`'s `iam_store_impl!`, instantiated in each backend's module.

use crate::records::{AccessKeyRecord, AccessKeyStatus, Millis, Tag};
use crate::{Result, StoreError};
use async_trait::async_trait;

/// What an IAM entity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IamKind {
    User,
    Role,
    Group,
}

impl IamKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Role => "role",
            Self::Group => "group",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "user" => Ok(Self::User),
            "role" => Ok(Self::Role),
            "group" => Ok(Self::Group),
            other => Err(StoreError::Backend(format!("bad IAM kind {other:?}"))),
        }
    }
}

impl TryFrom<String> for IamKind {
    type Error = StoreError;
    fn try_from(s: String) -> Result<Self> {
        Self::parse(&s)
    }
}

/// A user, role or group. Role-only fields are `None` for the others.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct IamEntityRecord {
    pub account_id: String,
    #[sqlx(try_from = "String")]
    pub kind: IamKind,
    pub name: String,
    /// `AIDA...`, `AROA...` or `AGPA...`: unique across the deployment.
    #[sqlx(rename = "entity_id")]
    pub id: String,
    pub path: String,
    pub arn: String,
    pub created_at: Millis,
    #[sqlx(try_from = "crate::repo::TagsJson")]
    pub tags: Vec<Tag>,
    /// A role's trust policy (AssumeRolePolicyDocument).
    pub trust_policy: Option<String>,
    /// A role's MaxSessionDuration in seconds.
    pub max_session_duration: Option<i64>,
    pub description: Option<String>,
    /// The ARN of the managed policy that is the permissions boundary of a user or role.
    pub permissions_boundary: Option<String>,
    pub row_version: i64,
}

/// A customer managed policy (its documents are its versions).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ManagedPolicyRecord {
    pub account_id: String,
    pub name: String,
    /// `ANPA...`
    #[sqlx(rename = "policy_id")]
    pub id: String,
    pub path: String,
    pub arn: String,
    pub description: String,
    /// `v1`, `v2`, ...
    pub default_version: String,
    /// The number of the next version to create.
    pub next_version: i64,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub row_version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PolicyVersionRecord {
    pub version_id: String,
    pub document: String,
    pub created_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OidcProviderRecord {
    pub account_id: String,
    /// `arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH`
    pub arn: String,
    /// The issuer URL, `https://...`.
    pub url: String,
    #[sqlx(try_from = "crate::repo::StringsJson")]
    pub client_ids: Vec<String>,
    #[sqlx(try_from = "crate::repo::StringsJson")]
    pub thumbprints: Vec<String>,
    pub created_at: Millis,
}

/// IAM entities and policies. Each method is one transaction.
#[async_trait]
pub trait IamStore: Send + Sync {
    /// `Conflict` if an entity of that kind and name exists in the account.
    async fn create_entity(&self, e: &IamEntityRecord) -> Result<()>;
    async fn get_entity(
        &self,
        account: &str,
        kind: IamKind,
        name: &str,
    ) -> Result<Option<IamEntityRecord>>;
    /// Entities of `kind` whose path starts with `path_prefix`, in name order.
    async fn list_entities(
        &self,
        account: &str,
        kind: IamKind,
        path_prefix: &str,
    ) -> Result<Vec<IamEntityRecord>>;
    /// Replace tags, trust policy, max session duration, description and permissions boundary. `Conflict` unless
    /// `e.row_version` is the stored one; the stored one becomes `e.row_version + 1`.
    async fn update_entity(&self, e: &IamEntityRecord) -> Result<()>;
    /// Remove the entity with its inline policies, attachments and memberships. False if absent.
    async fn delete_entity(&self, account: &str, kind: IamKind, name: &str) -> Result<bool>;

    /// Access keys whose principal is `principal_arn`, oldest first.
    async fn list_access_keys_of(
        &self,
        account: &str,
        principal_arn: &str,
    ) -> Result<Vec<AccessKeyRecord>>;
    /// False if there is no such key.
    async fn set_access_key_status(&self, access_key_id: &str, s: AccessKeyStatus) -> Result<bool>;
    /// False if there is no such key.
    async fn delete_access_key(&self, access_key_id: &str) -> Result<bool>;

    /// Create or replace an inline policy of an entity.
    async fn put_inline_policy(
        &self,
        account: &str,
        kind: IamKind,
        owner: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<()>;
    async fn get_inline_policy(
        &self,
        account: &str,
        kind: IamKind,
        owner: &str,
        policy_name: &str,
    ) -> Result<Option<String>>;
    async fn delete_inline_policy(
        &self,
        account: &str,
        kind: IamKind,
        owner: &str,
        policy_name: &str,
    ) -> Result<bool>;
    /// Names, in order.
    async fn list_inline_policies(
        &self,
        account: &str,
        kind: IamKind,
        owner: &str,
    ) -> Result<Vec<String>>;

    /// Create a managed policy with its first version (`policy.default_version`).
    /// `Conflict` if the name is taken.
    async fn create_managed_policy(
        &self,
        policy: &ManagedPolicyRecord,
        first: &PolicyVersionRecord,
    ) -> Result<()>;
    async fn get_managed_policy(
        &self,
        account: &str,
        arn: &str,
    ) -> Result<Option<ManagedPolicyRecord>>;
    async fn list_managed_policies(&self, account: &str) -> Result<Vec<ManagedPolicyRecord>>;
    /// Remove the policy and its versions. False if absent.
    async fn delete_managed_policy(&self, account: &str, arn: &str) -> Result<bool>;
    /// Add `version` and store `policy`'s new `next_version`/`default_version`/`updated_at`,
    /// compare-and-set on `policy.row_version`.
    async fn add_policy_version(
        &self,
        policy: &ManagedPolicyRecord,
        version: &PolicyVersionRecord,
    ) -> Result<()>;
    async fn get_policy_version(
        &self,
        account: &str,
        policy_name: &str,
        version_id: &str,
    ) -> Result<Option<PolicyVersionRecord>>;
    async fn list_policy_versions(
        &self,
        account: &str,
        policy_name: &str,
    ) -> Result<Vec<PolicyVersionRecord>>;

    /// Attach (idempotent).
    async fn attach_policy(
        &self,
        account: &str,
        kind: IamKind,
        owner: &str,
        policy_arn: &str,
    ) -> Result<()>;
    async fn detach_policy(
        &self,
        account: &str,
        kind: IamKind,
        owner: &str,
        policy_arn: &str,
    ) -> Result<bool>;
    /// Policy ARNs attached to the entity, in order.
    async fn list_attached_policies(
        &self,
        account: &str,
        kind: IamKind,
        owner: &str,
    ) -> Result<Vec<String>>;
    /// How many entities have the policy attached.
    async fn count_policy_attachments(&self, account: &str, policy_arn: &str) -> Result<i64>;

    /// Add (idempotent).
    async fn add_group_member(&self, account: &str, group: &str, user: &str) -> Result<()>;
    async fn remove_group_member(&self, account: &str, group: &str, user: &str) -> Result<bool>;
    async fn list_groups_of_user(&self, account: &str, user: &str) -> Result<Vec<String>>;
    async fn list_group_members(&self, account: &str, group: &str) -> Result<Vec<String>>;

    /// Every identity-policy document in force for an entity, in one read: its inline policies,
    /// the default versions of its attached managed policies and, for a user, those of its
    /// groups. Attached AWS managed policies (`arn:aws:iam::aws:policy/...`, which the store
    /// does not hold) come back as `aws-managed:ARN`, for the caller to resolve.
    async fn effective_policies(
        &self,
        account: &str,
        kind: IamKind,
        name: &str,
    ) -> Result<Vec<String>>;
    /// The document (default version) of the entity's permissions boundary, if it has one.
    async fn permissions_boundary(
        &self,
        account: &str,
        kind: IamKind,
        name: &str,
    ) -> Result<Option<String>>;

    /// `Conflict` if the provider exists.
    async fn create_oidc_provider(&self, p: &OidcProviderRecord) -> Result<()>;
    async fn get_oidc_provider(
        &self,
        account: &str,
        arn: &str,
    ) -> Result<Option<OidcProviderRecord>>;
    async fn list_oidc_providers(&self, account: &str) -> Result<Vec<OidcProviderRecord>>;
    async fn delete_oidc_provider(&self, account: &str, arn: &str) -> Result<bool>;
}
