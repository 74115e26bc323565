//! AWS Identity and Access Management (query protocol): users, access keys, roles, groups,
//! inline and managed policies, attachments, tags, OpenID Connect providers.
//! <https://docs.aws.amazon.com/IAM/latest/APIReference/API_Operations.html>
//!
//! Each operation has a typed input (`inputs`, decoded from the document the query protocol's
//! form becomes, once the botocore model has validated it); outputs are still JSON documents.
//! Every operation is authorised as `iam:<Operation>` on the ARN it acts on, the action derived
//! from the operation's entry in the table below (`iam_operations!`).

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
#[macro_use]
mod inputs;
mod wire;

pub use error::IamError;
use handlers::*;
pub(crate) use wire::iso;

iam_operations!(
    CreateUser => create_user(CreateUserInput),
    GetUser => get_user(GetUserInput),
    ListUsers => list_users(ListUsersInput),
    DeleteUser => delete_user(DeleteUserInput),
    TagUser => tag_user(TagUserInput),
    CreateAccessKey => create_access_key(CreateAccessKeyInput),
    ListAccessKeys => list_access_keys(ListAccessKeysInput),
    UpdateAccessKey => update_access_key(UpdateAccessKeyInput),
    DeleteAccessKey => delete_access_key(DeleteAccessKeyInput),
    CreateRole => create_role(CreateRoleInput),
    GetRole => get_role(GetRoleInput),
    ListRoles => list_roles(ListRolesInput),
    DeleteRole => delete_role(DeleteRoleInput),
    UpdateAssumeRolePolicy => update_assume_role_policy(UpdateAssumeRolePolicyInput),
    TagRole => tag_role(TagRoleInput),
    PutUserPermissionsBoundary => put_user_permissions_boundary(PutUserPermissionsBoundaryInput),
    DeleteUserPermissionsBoundary => delete_user_permissions_boundary(DeleteUserPermissionsBoundaryInput),
    PutRolePermissionsBoundary => put_role_permissions_boundary(PutRolePermissionsBoundaryInput),
    DeleteRolePermissionsBoundary => delete_role_permissions_boundary(DeleteRolePermissionsBoundaryInput),
    CreateGroup => create_group(CreateGroupInput),
    GetGroup => get_group(GetGroupInput),
    DeleteGroup => delete_group(DeleteGroupInput),
    AddUserToGroup => add_user_to_group(AddUserToGroupInput),
    RemoveUserFromGroup => remove_user_from_group(RemoveUserFromGroupInput),
    ListGroupsForUser => list_groups_for_user(ListGroupsForUserInput),
    PutUserPolicy => put_user_policy(PutUserPolicyInput),
    GetUserPolicy => get_user_policy(GetUserPolicyInput),
    DeleteUserPolicy => delete_user_policy(DeleteUserPolicyInput),
    ListUserPolicies => list_user_policies(ListUserPoliciesInput),
    PutRolePolicy => put_role_policy(PutRolePolicyInput),
    GetRolePolicy => get_role_policy(GetRolePolicyInput),
    DeleteRolePolicy => delete_role_policy(DeleteRolePolicyInput),
    ListRolePolicies => list_role_policies(ListRolePoliciesInput),
    PutGroupPolicy => put_group_policy(PutGroupPolicyInput),
    GetGroupPolicy => get_group_policy(GetGroupPolicyInput),
    DeleteGroupPolicy => delete_group_policy(DeleteGroupPolicyInput),
    ListGroupPolicies => list_group_policies(ListGroupPoliciesInput),
    CreatePolicy => create_policy(CreatePolicyInput),
    GetPolicy => get_policy(GetPolicyInput),
    GetPolicyVersion => get_policy_version(GetPolicyVersionInput),
    ListPolicies => list_policies(ListPoliciesInput),
    ListPolicyVersions => list_policy_versions(ListPolicyVersionsInput),
    DeletePolicy => delete_policy(DeletePolicyInput),
    CreatePolicyVersion => create_policy_version(CreatePolicyVersionInput),
    AttachUserPolicy => attach_user_policy(AttachUserPolicyInput),
    DetachUserPolicy => detach_user_policy(DetachUserPolicyInput),
    ListAttachedUserPolicies => list_attached_user_policies(ListAttachedUserPoliciesInput),
    AttachRolePolicy => attach_role_policy(AttachRolePolicyInput),
    DetachRolePolicy => detach_role_policy(DetachRolePolicyInput),
    ListAttachedRolePolicies => list_attached_role_policies(ListAttachedRolePoliciesInput),
    AttachGroupPolicy => attach_group_policy(AttachGroupPolicyInput),
    DetachGroupPolicy => detach_group_policy(DetachGroupPolicyInput),
    ListAttachedGroupPolicies => list_attached_group_policies(ListAttachedGroupPoliciesInput),
    CreateOpenIDConnectProvider => create_oidc_provider(CreateOpenIDConnectProviderInput),
    GetOpenIDConnectProvider => get_oidc_provider(GetOpenIDConnectProviderInput),
    ListOpenIDConnectProviders => list_oidc_providers(ListOpenIDConnectProvidersInput),
    DeleteOpenIDConnectProvider => delete_oidc_provider(DeleteOpenIDConnectProviderInput),
);

impl std::fmt::Debug for Iam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iam").finish_non_exhaustive()
    }
}
