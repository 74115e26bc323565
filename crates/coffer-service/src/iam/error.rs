//! IAM's error codes and their wire form.

use super::*;

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
