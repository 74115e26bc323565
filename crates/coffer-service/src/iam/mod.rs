//! AWS Identity and Access Management (query protocol): users, access keys, roles, groups,
//! inline and managed policies, attachments, tags, OpenID Connect providers.
//! <https://docs.aws.amazon.com/IAM/latest/APIReference/API_Operations.html>
//!
//! Inputs and outputs are JSON documents (the botocore model validated the input already);
//! every operation is authorised as `iam:<Operation>` on the ARN it acts on.

use crate::RequestContext;
use crate::authz::{Authz, AuthzError};
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

mod entities;
mod error;
mod handlers;
mod wire;

pub use error::IamError;
use handlers::*;
pub(crate) use wire::iso;

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

impl std::fmt::Debug for Iam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iam").finish_non_exhaustive()
    }
}
