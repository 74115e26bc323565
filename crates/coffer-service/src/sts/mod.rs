//! AWS Security Token Service (query protocol). GetCallerIdentity now; AssumeRole and web identity
//! federation come with access control.
//! <https://docs.aws.amazon.com/STS/latest/APIReference/API_Operations.html>

use crate::RequestContext;
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

service_errors! {
    /// STS errors coffer can produce (query protocol codes).
    pub enum StsError;
    model: Some(Service::Sts);
    internal: Internal, "An internal error occurred.";
    validation: Validation;
    serialization: MalformedInput;
    table {
        Validation => ("ValidationError", 400),
        AccessDenied => ("AccessDenied", 403),
        MalformedPolicyDocument => ("MalformedPolicyDocument", 400),
        PackedPolicyTooLarge => ("PackedPolicyTooLarge", 400),
        InvalidIdentityToken => ("InvalidIdentityToken", 400),
        ExpiredToken => ("ExpiredTokenException", 400),
        MalformedInput => ("MalformedInput", 400),
        /// Detail for the log only; the client sees a generic message.
        Internal => ("InternalFailure", 500),
    }
}

operations!(Sts, StsError, Service::Sts;
    GetCallerIdentity => get_caller_identity,
    AssumeRole => assume::assume_role,
    AssumeRoleWithWebIdentity => web_identity::assume_role_with_web_identity,
);

mod assume;
pub use assume::{BREAK_GLASS_TAG, is_break_glass};
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
