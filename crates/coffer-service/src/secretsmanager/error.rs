//! Secrets Manager errors: exactly the codes of its API that coffer can produce.
//! <https://docs.aws.amazon.com/secretsmanager/latest/apireference/CommonErrors.html>

use crate::error::{CommonErrors, ServiceError};
use crate::kms::KmsError;

#[derive(Debug)]
pub enum SecretsManagerError {
    AccessDenied(String),
    DecryptionFailure(String),
    EncryptionFailure(String),
    /// Detail for the log only; the client sees a generic message.
    Internal(String),
    InvalidNextToken(String),
    InvalidParameter(String),
    InvalidRequest(String),
    LimitExceeded(String),
    MalformedPolicyDocument(String),
    PreconditionNotMet(String),
    PublicPolicy(String),
    ResourceExists(String),
    ResourceNotFound(String),
    Serialization(String),
    Validation(String),
}

impl ServiceError for SecretsManagerError {
    fn code(&self) -> &'static str {
        match self {
            Self::AccessDenied(_) => "AccessDeniedException",
            Self::DecryptionFailure(_) => "DecryptionFailure",
            Self::EncryptionFailure(_) => "EncryptionFailure",
            Self::Internal(_) => "InternalServiceError",
            Self::InvalidNextToken(_) => "InvalidNextTokenException",
            Self::InvalidParameter(_) => "InvalidParameterException",
            Self::InvalidRequest(_) => "InvalidRequestException",
            Self::LimitExceeded(_) => "LimitExceededException",
            Self::MalformedPolicyDocument(_) => "MalformedPolicyDocumentException",
            Self::PreconditionNotMet(_) => "PreconditionNotMetException",
            Self::PublicPolicy(_) => "PublicPolicyException",
            Self::ResourceExists(_) => "ResourceExistsException",
            Self::ResourceNotFound(_) => "ResourceNotFoundException",
            Self::Serialization(_) => "SerializationException",
            Self::Validation(_) => "ValidationException",
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::Internal(_) => 500,
            Self::AccessDenied(_)
            | Self::DecryptionFailure(_)
            | Self::EncryptionFailure(_)
            | Self::InvalidNextToken(_)
            | Self::InvalidParameter(_)
            | Self::InvalidRequest(_)
            | Self::LimitExceeded(_)
            | Self::MalformedPolicyDocument(_)
            | Self::PreconditionNotMet(_)
            | Self::PublicPolicy(_)
            | Self::ResourceExists(_)
            | Self::ResourceNotFound(_)
            | Self::Serialization(_)
            | Self::Validation(_) => 400,
        }
    }

    fn message(&self) -> String {
        match self {
            Self::Internal(_) => "An error occurred on the server side.".to_owned(),
            Self::AccessDenied(m)
            | Self::DecryptionFailure(m)
            | Self::EncryptionFailure(m)
            | Self::InvalidNextToken(m)
            | Self::InvalidParameter(m)
            | Self::InvalidRequest(m)
            | Self::LimitExceeded(m)
            | Self::MalformedPolicyDocument(m)
            | Self::PreconditionNotMet(m)
            | Self::PublicPolicy(m)
            | Self::ResourceExists(m)
            | Self::ResourceNotFound(m)
            | Self::Serialization(m)
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

impl CommonErrors for SecretsManagerError {
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

impl From<coffer_store::StoreError> for SecretsManagerError {
    fn from(e: coffer_store::StoreError) -> Self {
        crate::error::store(e)
    }
}

/// What Secrets Manager reports when its KMS key cannot be used. AWS reports key problems through
/// its own codes (the KMS code and reason appear in the message), except access denial, which
/// keeps its code so callers see the cross-account pitfall for what it is.
pub(crate) fn from_kms(e: KmsError, encrypting: bool) -> SecretsManagerError {
    use SecretsManagerError as E;
    let code = crate::ServiceError::code(&e);
    match e {
        KmsError::AccessDenied(m) => E::AccessDenied(format!("Access to KMS is not allowed. {m}")),
        KmsError::Internal(d) => E::Internal(d),
        KmsError::NotFound(_) if encrypting => {
            E::ResourceNotFound("Secrets Manager can't find the specified KMS key.".to_owned())
        }
        other => {
            let reason = crate::ServiceError::message(&other);
            if encrypting {
                E::EncryptionFailure(format!(
                    "Secrets Manager can't encrypt the protected secret text using the provided KMS key. Check that the KMS key is available, enabled, and not in an invalid state. ({code}: {reason})"
                ))
            } else {
                E::DecryptionFailure(format!(
                    "Secrets Manager can't decrypt the protected secret text using the provided KMS key. ({code}: {reason})"
                ))
            }
        }
    }
}
