//! Secrets Manager errors: exactly the codes of its API that coffer can produce.
//! <https://docs.aws.amazon.com/secretsmanager/latest/apireference/CommonErrors.html>

use crate::kms::KmsError;

service_errors! {
    pub enum SecretsManagerError;
    model: Some(crate::model::Service::SecretsManager);
    internal: Internal, "An error occurred on the server side.";
    validation: Validation;
    serialization: Serialization;
    table {
        AccessDenied => ("AccessDeniedException", 400),
        DecryptionFailure => ("DecryptionFailure", 400),
        EncryptionFailure => ("EncryptionFailure", 400),
        /// Detail for the log only; the client sees a generic message.
        Internal => ("InternalServiceError", 500),
        InvalidNextToken => ("InvalidNextTokenException", 400),
        InvalidParameter => ("InvalidParameterException", 400),
        InvalidRequest => ("InvalidRequestException", 400),
        LimitExceeded => ("LimitExceededException", 400),
        MalformedPolicyDocument => ("MalformedPolicyDocumentException", 400),
        PreconditionNotMet => ("PreconditionNotMetException", 400),
        PublicPolicy => ("PublicPolicyException", 400),
        ResourceExists => ("ResourceExistsException", 400),
        ResourceNotFound => ("ResourceNotFoundException", 400),
        Serialization => ("SerializationException", 400),
        Validation => ("ValidationException", 400),
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
        KmsError::Unavailable(d) => E::Unavailable(d),
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
