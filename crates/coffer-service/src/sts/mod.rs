//! AWS Security Token Service (query protocol). GetCallerIdentity now; AssumeRole and web identity
//! federation come with access control.
//! <https://docs.aws.amazon.com/STS/latest/APIReference/API_Operations.html>

use crate::RequestContext;
use crate::error::{CommonErrors, ServiceError};
use crate::model::Service;
use serde::{Deserialize, Serialize};

#[derive(Clone)]
pub struct Sts {
    store: coffer_store::Store,
    identity: crate::identity::Identity,
    authz: crate::authz::Authz,
}

impl std::fmt::Debug for Sts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sts").finish_non_exhaustive()
    }
}

impl Sts {
    pub fn new(store: coffer_store::Store, identity: crate::identity::Identity) -> Self {
        Self {
            authz: crate::authz::Authz::new(store.clone()),
            store,
            identity,
        }
    }
}

/// STS errors coffer can produce (query protocol codes).
#[derive(Debug)]
pub enum StsError {
    Validation(String),
    AccessDenied(String),
    MalformedPolicyDocument(String),
    PackedPolicyTooLarge(String),
    InvalidIdentityToken(String),
    ExpiredToken(String),
    MalformedInput(String),
    Internal(String),
}

impl ServiceError for StsError {
    fn code(&self) -> &'static str {
        match self {
            Self::Validation(_) => "ValidationError",
            Self::AccessDenied(_) => "AccessDenied",
            Self::MalformedPolicyDocument(_) => "MalformedPolicyDocument",
            Self::PackedPolicyTooLarge(_) => "PackedPolicyTooLarge",
            Self::InvalidIdentityToken(_) => "InvalidIdentityToken",
            Self::ExpiredToken(_) => "ExpiredTokenException",
            Self::MalformedInput(_) => "MalformedInput",
            Self::Internal(_) => "InternalFailure",
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::Validation(_)
            | Self::MalformedInput(_)
            | Self::MalformedPolicyDocument(_)
            | Self::PackedPolicyTooLarge(_)
            | Self::InvalidIdentityToken(_)
            | Self::ExpiredToken(_) => 400,
            Self::AccessDenied(_) => 403,
            Self::Internal(_) => 500,
        }
    }

    fn message(&self) -> String {
        match self {
            Self::Validation(m)
            | Self::MalformedInput(m)
            | Self::AccessDenied(m)
            | Self::MalformedPolicyDocument(m)
            | Self::PackedPolicyTooLarge(m)
            | Self::InvalidIdentityToken(m)
            | Self::ExpiredToken(m) => m.clone(),
            Self::Internal(_) => "An internal error occurred.".to_owned(),
        }
    }

    fn internal_detail(&self) -> Option<&str> {
        match self {
            Self::Internal(d) => Some(d),
            _ => None,
        }
    }
}

impl CommonErrors for StsError {
    fn validation(message: String) -> Self {
        Self::Validation(message)
    }
    fn serialization(message: String) -> Self {
        Self::MalformedInput(message)
    }
    fn internal(detail: String) -> Self {
        Self::Internal(detail)
    }
}

operations!(Sts, StsError, Service::Sts;
    GetCallerIdentity => get_caller_identity,
    AssumeRole => assume::assume_role,
    AssumeRoleWithWebIdentity => web_identity::assume_role_with_web_identity,
);

mod assume;
mod web_identity;

#[derive(Debug, Deserialize)]
pub struct GetCallerIdentityInput {}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetCallerIdentityOutput {
    user_id: String,
    account: String,
    arn: String,
}

/// <https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html>
pub async fn get_caller_identity(
    _sts: &Sts,
    ctx: &RequestContext,
    _input: GetCallerIdentityInput,
) -> Result<GetCallerIdentityOutput, StsError> {
    Ok(GetCallerIdentityOutput {
        user_id: ctx.principal.user_id.clone(),
        account: ctx.principal.account_id.to_string(),
        arn: ctx.principal.arn.clone(),
    })
}
