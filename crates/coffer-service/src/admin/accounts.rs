//! Account administration: `coffer.admin.CreateAccount` {AccountId} and
//! `coffer.admin.ListAccounts` {}, signed for `coffer` like the other `coffer.admin.*` calls and
//! allowed only to the root of the deployment's *default* account (other accounts'
//! administrators administer their own rotation functions, not accounts).
//!
//! CreateAccount's answer carries the new administrator's secret access key, once: neither the
//! request nor the response document of these operations is written to the audit trail (their
//! line in [`crate::dispatch`] says `documents: false`).

use crate::RequestContext;
use crate::identity::{Identity, IdentityError};
use crate::wire::SecretText;
use coffer_types::AccountId;
use serde::{Deserialize, Serialize};

service_errors! {
    /// The errors of account administration.
    pub enum AccountsError;
    model: None;
    internal: Internal, "The request processing has failed because of an unknown error.";
    validation: Validation;
    serialization: Serialization;
    table {
        AccessDenied => ("AccessDeniedException", 400),
        EntityAlreadyExists => ("EntityAlreadyExistsException", 400),
        Validation => ("ValidationException", 400),
        Serialization => ("SerializationException", 400),
        /// Detail for the log only; the client sees a generic message.
        Internal => ("InternalFailure", 500),
    }
}

impl From<IdentityError> for AccountsError {
    fn from(e: IdentityError) -> Self {
        match e {
            IdentityError::AccountExists(a) => {
                Self::EntityAlreadyExists(format!("Account {a} already exists."))
            }
            other => Self::Internal(other.to_string()),
        }
    }
}

/// The account operations.
#[derive(Clone)]
pub struct Accounts {
    identity: Identity,
    /// The account whose root administers accounts; `None` (no deployment configured it):
    /// nobody does.
    default_account: Option<AccountId>,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts")
            .field("default_account", &self.default_account)
            .finish_non_exhaustive()
    }
}

operations!(Accounts, AccountsError, no_model;
    CreateAccount => create_account,
    ListAccounts => list_accounts,
);

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateAccountInput {
    /// Missing is the empty id, refused as invalid like any other.
    #[serde(default)]
    account_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateAccountOutput {
    account_id: String,
    access_key_id: String,
    secret_access_key: SecretText,
}

#[derive(Debug, Deserialize)]
pub struct ListAccountsInput {}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAccountsOutput {
    accounts: Vec<AccountOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountOut {
    account_id: String,
    /// Whole epoch seconds.
    created_at: i64,
}

impl Accounts {
    pub fn new(identity: Identity, default_account: Option<AccountId>) -> Self {
        Self {
            identity,
            default_account,
        }
    }

    /// Only the root of the deployment's default account administers accounts. Checked before
    /// the input is looked at ([`crate::dispatch`] runs it ahead of `dispatch`).
    pub async fn authorize(
        &self,
        ctx: &RequestContext,
        op: &str,
        _input: &serde_json::Value,
    ) -> Result<(), AccountsError> {
        let allowed = self.default_account.as_ref().is_some_and(|default| {
            ctx.principal.account_id == *default
                && ctx.principal.arn == format!("arn:aws:iam::{default}:root")
        });
        if allowed {
            return Ok(());
        }
        let default = self
            .default_account
            .as_ref()
            .map_or_else(|| "(none)".to_owned(), ToString::to_string);
        Err(AccountsError::AccessDenied(format!(
            "User: {} is not authorized to perform: coffer:{op} (only the root of account {default} administers accounts)",
            ctx.principal.arn
        )))
    }
}

async fn create_account(
    accounts: &Accounts,
    ctx: &RequestContext,
    input: CreateAccountInput,
) -> Result<CreateAccountOutput, AccountsError> {
    let id = input.account_id;
    let account = AccountId::parse(&id).map_err(|_| {
        AccountsError::Validation(format!("Invalid account id {id:?}: use 12 digits."))
    })?;
    let key = accounts.identity.create_account(&account, ctx.now).await?;
    Ok(CreateAccountOutput {
        account_id: account.to_string(),
        access_key_id: key.access_key_id,
        secret_access_key: SecretText(key.secret_access_key),
    })
}

async fn list_accounts(
    accounts: &Accounts,
    _ctx: &RequestContext,
    _input: ListAccountsInput,
) -> Result<ListAccountsOutput, AccountsError> {
    let list = accounts.identity.list_accounts().await?;
    Ok(ListAccountsOutput {
        accounts: list
            .into_iter()
            .map(|a| AccountOut {
                account_id: a.account_id,
                created_at: a.created_at / 1000,
            })
            .collect(),
    })
}
