//! KMS errors: exactly the codes of the KMS API that coffer can produce.
//! <https://docs.aws.amazon.com/kms/latest/APIReference/CommonErrors.html>

use crate::error::{CommonErrors, ServiceError};

#[derive(Debug)]
pub enum KmsError {
    AccessDenied(String),
    AlreadyExists(String),
    Disabled(String),
    DryRunOperation(String),
    IncorrectKey(String),
    InvalidAliasName(String),
    InvalidArn(String),
    InvalidCiphertext(String),
    InvalidKeyUsage(String),
    InvalidMarker(String),
    /// Detail for the log only; the client sees a generic message.
    Internal(String),
    InvalidState(String),
    LimitExceeded(String),
    MalformedPolicyDocument(String),
    NotFound(String),
    /// `alias/aws/` names: AWS answers this code, which the KMS model does not list.
    NotAuthorized(String),
    Serialization(String),
    Tag(String),
    UnsupportedOperation(String),
    Validation(String),
}

impl ServiceError for KmsError {
    fn code(&self) -> &'static str {
        match self {
            Self::AccessDenied(_) => "AccessDeniedException",
            Self::AlreadyExists(_) => "AlreadyExistsException",
            Self::Disabled(_) => "DisabledException",
            Self::DryRunOperation(_) => "DryRunOperationException",
            Self::IncorrectKey(_) => "IncorrectKeyException",
            Self::InvalidAliasName(_) => "InvalidAliasNameException",
            Self::InvalidArn(_) => "InvalidArnException",
            Self::InvalidCiphertext(_) => "InvalidCiphertextException",
            Self::InvalidKeyUsage(_) => "InvalidKeyUsageException",
            Self::InvalidMarker(_) => "InvalidMarkerException",
            Self::Internal(_) => "KMSInternalException",
            Self::InvalidState(_) => "KMSInvalidStateException",
            Self::LimitExceeded(_) => "LimitExceededException",
            Self::MalformedPolicyDocument(_) => "MalformedPolicyDocumentException",
            Self::NotFound(_) => "NotFoundException",
            Self::NotAuthorized(_) => "NotAuthorizedException",
            Self::Serialization(_) => "SerializationException",
            Self::Tag(_) => "TagException",
            Self::UnsupportedOperation(_) => "UnsupportedOperationException",
            Self::Validation(_) => "ValidationException",
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::Internal(_) => 500,
            Self::AccessDenied(_)
            | Self::AlreadyExists(_)
            | Self::Disabled(_)
            | Self::DryRunOperation(_)
            | Self::IncorrectKey(_)
            | Self::InvalidAliasName(_)
            | Self::InvalidArn(_)
            | Self::InvalidCiphertext(_)
            | Self::InvalidKeyUsage(_)
            | Self::InvalidMarker(_)
            | Self::InvalidState(_)
            | Self::LimitExceeded(_)
            | Self::MalformedPolicyDocument(_)
            | Self::NotFound(_)
            | Self::NotAuthorized(_)
            | Self::Serialization(_)
            | Self::Tag(_)
            | Self::UnsupportedOperation(_)
            | Self::Validation(_) => 400,
        }
    }

    fn message(&self) -> String {
        match self {
            Self::Internal(_) => "An internal error occurred.".to_owned(),
            Self::AccessDenied(m)
            | Self::AlreadyExists(m)
            | Self::Disabled(m)
            | Self::DryRunOperation(m)
            | Self::IncorrectKey(m)
            | Self::InvalidAliasName(m)
            | Self::InvalidArn(m)
            | Self::InvalidCiphertext(m)
            | Self::InvalidKeyUsage(m)
            | Self::InvalidMarker(m)
            | Self::InvalidState(m)
            | Self::LimitExceeded(m)
            | Self::MalformedPolicyDocument(m)
            | Self::NotFound(m)
            | Self::NotAuthorized(m)
            | Self::Serialization(m)
            | Self::Tag(m)
            | Self::UnsupportedOperation(m)
            | Self::Validation(m) => m.clone(),
        }
    }

    fn internal_detail(&self) -> Option<&str> {
        match self {
            Self::Internal(d) => Some(d),
            _ => None,
        }
    }
}

impl CommonErrors for KmsError {
    fn validation(message: String) -> Self {
        Self::Validation(message)
    }
    fn serialization(message: String) -> Self {
        Self::Serialization(message)
    }
    fn internal(detail: String) -> Self {
        Self::Internal(detail)
    }
}

impl From<coffer_store::StoreError> for KmsError {
    fn from(e: coffer_store::StoreError) -> Self {
        crate::error::store(e)
    }
}
