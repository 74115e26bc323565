//! IAM's error codes and their wire form.

use super::*;

service_errors! {
    /// IAM's error codes (query protocol).
    pub enum IamError;
    model: Some(crate::model::Service::Iam);
    internal: ServiceFailure, "The request processing has failed because of an unknown error.";
    validation: Validation;
    serialization: MalformedInput;
    table {
        NoSuchEntity => ("NoSuchEntity", 404),
        EntityAlreadyExists => ("EntityAlreadyExists", 409),
        DeleteConflict => ("DeleteConflict", 409),
        MalformedPolicyDocument => ("MalformedPolicyDocument", 400),
        LimitExceeded => ("LimitExceeded", 409),
        InvalidInput => ("InvalidInput", 400),
        Validation => ("ValidationError", 400),
        MalformedInput => ("MalformedInput", 400),
        AccessDenied => ("AccessDenied", 403),
        /// Detail for the log only; the client sees a generic message.
        ServiceFailure => ("ServiceFailure", 500),
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
