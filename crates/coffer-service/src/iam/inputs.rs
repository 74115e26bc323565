//! One typed input per IAM operation, as the query protocol's form becomes the awsJson-shaped
//! document (`model::query`) and the botocore model has validated it. Every input type is bound
//! to its operation by [`iam_operations!`], which derives the action authorised (`iam:<Op>`)
//! from the operation's name: no handler names its action.
//! <https://docs.aws.amazon.com/IAM/latest/APIReference/API_Operations.html>

use serde::Deserialize;

/// The IAM action an operation's input authorises, `iam:<Operation>`.
pub trait Action {
    const ACTION: &'static str;
}

/// The action of `input`'s operation.
pub fn action<I: Action>(_input: &I) -> &'static str {
    I::ACTION
}

/// The `operations!` table, with each operation's input type; implements [`Action`] for it.
macro_rules! iam_operations {
    ($( $op:ident => $handler:ident($input:ident) ),* $(,)?) => {
        operations!(Iam, IamError, Service::Iam; $( $op => $handler ),*);
        $( impl inputs::Action for inputs::$input {
            const ACTION: &'static str = concat!("iam:", stringify!($op));
        } )*
    };
}

/// IAM's `Marker`/`MaxItems` paging.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Paging {
    pub marker: Option<String>,
    pub max_items: Option<i64>,
}

/// A tag as IAM spells it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagInput {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateUserInput {
    pub path: Option<String>,
    pub user_name: String,
    pub permissions_boundary: Option<String>,
    #[serde(default)]
    pub tags: Vec<TagInput>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetUserInput {
    pub user_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListUsersInput {
    pub path_prefix: Option<String>,
    #[serde(flatten)]
    pub paging: Paging,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteUserInput {
    pub user_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagUserInput {
    pub user_name: String,
    #[serde(default)]
    pub tags: Vec<TagInput>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateAccessKeyInput {
    pub user_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAccessKeysInput {
    pub user_name: Option<String>,
    #[serde(flatten)]
    pub paging: Paging,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateAccessKeyInput {
    pub user_name: Option<String>,
    pub access_key_id: String,
    pub status: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteAccessKeyInput {
    pub user_name: Option<String>,
    pub access_key_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateRoleInput {
    pub path: Option<String>,
    pub role_name: String,
    pub assume_role_policy_document: String,
    pub description: Option<String>,
    pub max_session_duration: Option<i64>,
    pub permissions_boundary: Option<String>,
    #[serde(default)]
    pub tags: Vec<TagInput>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRoleInput {
    pub role_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRolesInput {
    pub path_prefix: Option<String>,
    #[serde(flatten)]
    pub paging: Paging,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteRoleInput {
    pub role_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateAssumeRolePolicyInput {
    pub role_name: String,
    pub policy_document: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagRoleInput {
    pub role_name: String,
    #[serde(default)]
    pub tags: Vec<TagInput>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutUserPermissionsBoundaryInput {
    pub user_name: String,
    pub permissions_boundary: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteUserPermissionsBoundaryInput {
    pub user_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRolePermissionsBoundaryInput {
    pub role_name: String,
    pub permissions_boundary: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteRolePermissionsBoundaryInput {
    pub role_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateGroupInput {
    pub path: Option<String>,
    pub group_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetGroupInput {
    pub group_name: String,
    #[allow(dead_code)] // in the model; coffer does not apply it (yet)
    #[serde(flatten)]
    pub paging: Paging,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteGroupInput {
    pub group_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddUserToGroupInput {
    pub group_name: String,
    pub user_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemoveUserFromGroupInput {
    pub group_name: String,
    pub user_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListGroupsForUserInput {
    pub user_name: String,
    #[serde(flatten)]
    pub paging: Paging,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutUserPolicyInput {
    pub user_name: String,
    pub policy_name: String,
    pub policy_document: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetUserPolicyInput {
    pub user_name: String,
    pub policy_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteUserPolicyInput {
    pub user_name: String,
    pub policy_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListUserPoliciesInput {
    pub user_name: String,
    #[serde(flatten)]
    pub paging: Paging,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRolePolicyInput {
    pub role_name: String,
    pub policy_name: String,
    pub policy_document: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRolePolicyInput {
    pub role_name: String,
    pub policy_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteRolePolicyInput {
    pub role_name: String,
    pub policy_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRolePoliciesInput {
    pub role_name: String,
    #[serde(flatten)]
    pub paging: Paging,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutGroupPolicyInput {
    pub group_name: String,
    pub policy_name: String,
    pub policy_document: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetGroupPolicyInput {
    pub group_name: String,
    pub policy_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteGroupPolicyInput {
    pub group_name: String,
    pub policy_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListGroupPoliciesInput {
    pub group_name: String,
    #[serde(flatten)]
    pub paging: Paging,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreatePolicyInput {
    pub policy_name: String,
    pub path: Option<String>,
    pub policy_document: String,
    pub description: Option<String>,
    #[allow(dead_code)] // in the model; coffer does not apply it (yet)
    #[serde(default)]
    pub tags: Vec<TagInput>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetPolicyInput {
    pub policy_arn: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetPolicyVersionInput {
    pub policy_arn: String,
    pub version_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListPoliciesInput {
    pub scope: Option<String>,
    pub only_attached: Option<bool>,
    #[allow(dead_code)] // in the model; coffer does not apply it (yet)
    pub path_prefix: Option<String>,
    #[allow(dead_code)] // in the model; coffer does not apply it (yet)
    pub policy_usage_filter: Option<String>,
    #[serde(flatten)]
    pub paging: Paging,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListPolicyVersionsInput {
    pub policy_arn: String,
    #[serde(flatten)]
    pub paging: Paging,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeletePolicyInput {
    pub policy_arn: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreatePolicyVersionInput {
    pub policy_arn: String,
    pub policy_document: String,
    pub set_as_default: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttachUserPolicyInput {
    pub user_name: String,
    pub policy_arn: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DetachUserPolicyInput {
    pub user_name: String,
    pub policy_arn: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAttachedUserPoliciesInput {
    pub user_name: String,
    #[allow(dead_code)] // in the model; coffer does not apply it (yet)
    pub path_prefix: Option<String>,
    #[serde(flatten)]
    pub paging: Paging,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttachRolePolicyInput {
    pub role_name: String,
    pub policy_arn: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DetachRolePolicyInput {
    pub role_name: String,
    pub policy_arn: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAttachedRolePoliciesInput {
    pub role_name: String,
    #[allow(dead_code)] // in the model; coffer does not apply it (yet)
    pub path_prefix: Option<String>,
    #[serde(flatten)]
    pub paging: Paging,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttachGroupPolicyInput {
    pub group_name: String,
    pub policy_arn: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DetachGroupPolicyInput {
    pub group_name: String,
    pub policy_arn: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAttachedGroupPoliciesInput {
    pub group_name: String,
    #[allow(dead_code)] // in the model; coffer does not apply it (yet)
    pub path_prefix: Option<String>,
    #[serde(flatten)]
    pub paging: Paging,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateOpenIDConnectProviderInput {
    pub url: String,
    #[serde(rename = "ClientIDList")]
    #[serde(default)]
    pub client_id_list: Vec<String>,
    #[serde(default)]
    pub thumbprint_list: Vec<String>,
    #[allow(dead_code)] // in the model; coffer does not apply it (yet)
    #[serde(default)]
    pub tags: Vec<TagInput>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetOpenIDConnectProviderInput {
    #[serde(rename = "OpenIDConnectProviderArn")]
    pub open_id_connect_provider_arn: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListOpenIDConnectProvidersInput {}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteOpenIDConnectProviderInput {
    #[serde(rename = "OpenIDConnectProviderArn")]
    pub open_id_connect_provider_arn: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_action_is_the_operation_of_the_table_entry() {
        assert_eq!(CreateUserInput::ACTION, "iam:CreateUser");
        assert_eq!(DeleteRolePolicyInput::ACTION, "iam:DeleteRolePolicy");
        assert_eq!(
            ListAttachedGroupPoliciesInput::ACTION,
            "iam:ListAttachedGroupPolicies"
        );
        assert_eq!(
            CreateOpenIDConnectProviderInput::ACTION,
            "iam:CreateOpenIDConnectProvider"
        );
        let input = GetUserInput { user_name: None };
        assert_eq!(action(&input), "iam:GetUser");
    }
}
