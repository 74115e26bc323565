//! Parameter Store errors: exactly the codes of the SSM API that coffer produces.
//! <https://docs.aws.amazon.com/systems-manager/latest/APIReference/CommonErrors.html>

use crate::error::ServiceError as _;
use crate::kms::KmsError;

service_errors! {
    pub enum SsmError;
    model: Some(crate::model::Service::Ssm);
    internal: Internal, "An internal error occurred.";
    validation: Validation;
    serialization: Serialization;
    table {
        AccessDenied => ("AccessDeniedException", 400),
        HierarchyLevelLimitExceeded => ("HierarchyLevelLimitExceededException", 400),
        HierarchyTypeMismatch => ("HierarchyTypeMismatchException", 400),
        IncompatiblePolicy => ("IncompatiblePolicyException", 400),
        /// Detail for the log only; the client sees a generic message.
        Internal => ("InternalServerError", 500),
        InvalidAllowedPattern => ("InvalidAllowedPatternException", 400),
        InvalidFilterKey => ("InvalidFilterKey", 400),
        InvalidFilterOption => ("InvalidFilterOption", 400),
        InvalidFilterValue => ("InvalidFilterValue", 400),
        InvalidKeyId => ("InvalidKeyId", 400),
        InvalidNextToken => ("InvalidNextToken", 400),
        InvalidPolicyAttribute => ("InvalidPolicyAttributeException", 400),
        InvalidPolicyType => ("InvalidPolicyTypeException", 400),
        InvalidResourceId => ("InvalidResourceId", 400),
        InvalidResourceType => ("InvalidResourceType", 400),
        MalformedResourcePolicyDocument => ("MalformedResourcePolicyDocumentException", 400),
        ParameterAlreadyExists => ("ParameterAlreadyExists", 400),
        ParameterLimitExceeded => ("ParameterLimitExceeded", 400),
        ParameterMaxVersionLimitExceeded => ("ParameterMaxVersionLimitExceeded", 400),
        ParameterNotFound => ("ParameterNotFound", 400),
        ParameterPatternMismatch => ("ParameterPatternMismatchException", 400),
        ParameterVersionLabelLimitExceeded => ("ParameterVersionLabelLimitExceeded", 400),
        ParameterVersionNotFound => ("ParameterVersionNotFound", 400),
        PoliciesLimitExceeded => ("PoliciesLimitExceededException", 400),
        ResourceNotFound => ("ResourceNotFoundException", 400),
        ResourcePolicyConflict => ("ResourcePolicyConflictException", 400),
        ResourcePolicyInvalidParameter => ("ResourcePolicyInvalidParameterException", 400),
        ResourcePolicyLimitExceeded => ("ResourcePolicyLimitExceededException", 400),
        ResourcePolicyNotFound => ("ResourcePolicyNotFoundException", 400),
        Serialization => ("SerializationException", 400),
        ServiceSettingNotFound => ("ServiceSettingNotFound", 400),
        TooManyTags => ("TooManyTagsError", 400),
        TooManyUpdates => ("TooManyUpdates", 400),
        UnsupportedParameterType => ("UnsupportedParameterType", 400),
        Validation => ("ValidationException", 400),
    }
}

impl From<coffer_store::StoreError> for SsmError {
    fn from(e: coffer_store::StoreError) -> Self {
        crate::error::store(e)
    }
}

/// What Parameter Store reports when KMS refuses: AWS wraps the KMS error into `InvalidKeyId`
/// with KMS's message and code in the text, e.g. `Key '...' does not exist (Service: AWSKMS;
/// Status Code: 400; Error Code: NotFoundException; Request ID: ...; Proxy: null)`. Access denial
/// keeps its own code, so the cross-account pitfall shows for what it is.
pub(crate) fn from_kms(e: KmsError, request_id: &str) -> SsmError {
    let code = e.code();
    match e {
        KmsError::Internal(d) => SsmError::Internal(d),
        KmsError::Unavailable(d) => SsmError::Unavailable(d),
        KmsError::AccessDenied(m) => SsmError::AccessDenied(format!(
            "{m} (Service: AWSKMS; Status Code: 400; Error Code: AccessDeniedException; Request ID: {request_id}; Proxy: null)"
        )),
        other => {
            let reason = other.message();
            let reason = if reason.is_empty() {
                "The ciphertext is not valid for this key.".to_owned()
            } else {
                reason
            };
            SsmError::InvalidKeyId(format!(
                "{reason} (Service: AWSKMS; Status Code: 400; Error Code: {code}; Request ID: {request_id}; Proxy: null)"
            ))
        }
    }
}
