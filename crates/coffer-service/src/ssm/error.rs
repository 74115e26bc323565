//! Parameter Store errors: exactly the codes of the SSM API that coffer produces.
//! <https://docs.aws.amazon.com/systems-manager/latest/APIReference/CommonErrors.html>

use crate::error::{CommonErrors, ServiceError};
use crate::kms::KmsError;

#[derive(Debug)]
pub enum SsmError {
    AccessDenied(String),
    HierarchyLevelLimitExceeded(String),
    HierarchyTypeMismatch(String),
    IncompatiblePolicy(String),
    /// Detail for the log only; the client sees a generic message.
    Internal(String),
    InvalidAllowedPattern(String),
    InvalidFilterKey(String),
    InvalidFilterOption(String),
    InvalidFilterValue(String),
    InvalidKeyId(String),
    InvalidNextToken(String),
    InvalidPolicyAttribute(String),
    InvalidPolicyType(String),
    InvalidResourceId(String),
    InvalidResourceType(String),
    MalformedResourcePolicyDocument(String),
    ParameterAlreadyExists(String),
    ParameterLimitExceeded(String),
    ParameterMaxVersionLimitExceeded(String),
    ParameterNotFound(String),
    ParameterPatternMismatch(String),
    ParameterVersionLabelLimitExceeded(String),
    ParameterVersionNotFound(String),
    PoliciesLimitExceeded(String),
    ResourceNotFound(String),
    ResourcePolicyConflict(String),
    ResourcePolicyInvalidParameter(String),
    ResourcePolicyLimitExceeded(String),
    ResourcePolicyNotFound(String),
    Serialization(String),
    ServiceSettingNotFound(String),
    TooManyTags(String),
    TooManyUpdates(String),
    UnsupportedParameterType(String),
    Validation(String),
}

impl ServiceError for SsmError {
    fn code(&self) -> &'static str {
        match self {
            Self::AccessDenied(_) => "AccessDeniedException",
            Self::HierarchyLevelLimitExceeded(_) => "HierarchyLevelLimitExceededException",
            Self::HierarchyTypeMismatch(_) => "HierarchyTypeMismatchException",
            Self::IncompatiblePolicy(_) => "IncompatiblePolicyException",
            Self::Internal(_) => "InternalServerError",
            Self::InvalidAllowedPattern(_) => "InvalidAllowedPatternException",
            Self::InvalidFilterKey(_) => "InvalidFilterKey",
            Self::InvalidFilterOption(_) => "InvalidFilterOption",
            Self::InvalidFilterValue(_) => "InvalidFilterValue",
            Self::InvalidKeyId(_) => "InvalidKeyId",
            Self::InvalidNextToken(_) => "InvalidNextToken",
            Self::InvalidPolicyAttribute(_) => "InvalidPolicyAttributeException",
            Self::InvalidPolicyType(_) => "InvalidPolicyTypeException",
            Self::InvalidResourceId(_) => "InvalidResourceId",
            Self::InvalidResourceType(_) => "InvalidResourceType",
            Self::MalformedResourcePolicyDocument(_) => "MalformedResourcePolicyDocumentException",
            Self::ParameterAlreadyExists(_) => "ParameterAlreadyExists",
            Self::ParameterLimitExceeded(_) => "ParameterLimitExceeded",
            Self::ParameterMaxVersionLimitExceeded(_) => "ParameterMaxVersionLimitExceeded",
            Self::ParameterNotFound(_) => "ParameterNotFound",
            Self::ParameterPatternMismatch(_) => "ParameterPatternMismatchException",
            Self::ParameterVersionLabelLimitExceeded(_) => "ParameterVersionLabelLimitExceeded",
            Self::ParameterVersionNotFound(_) => "ParameterVersionNotFound",
            Self::PoliciesLimitExceeded(_) => "PoliciesLimitExceededException",
            Self::ResourceNotFound(_) => "ResourceNotFoundException",
            Self::ResourcePolicyConflict(_) => "ResourcePolicyConflictException",
            Self::ResourcePolicyInvalidParameter(_) => "ResourcePolicyInvalidParameterException",
            Self::ResourcePolicyLimitExceeded(_) => "ResourcePolicyLimitExceededException",
            Self::ResourcePolicyNotFound(_) => "ResourcePolicyNotFoundException",
            Self::Serialization(_) => "SerializationException",
            Self::ServiceSettingNotFound(_) => "ServiceSettingNotFound",
            Self::TooManyTags(_) => "TooManyTagsError",
            Self::TooManyUpdates(_) => "TooManyUpdates",
            Self::UnsupportedParameterType(_) => "UnsupportedParameterType",
            Self::Validation(_) => "ValidationException",
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::Internal(_) => 500,
            Self::AccessDenied(_)
            | Self::HierarchyLevelLimitExceeded(_)
            | Self::HierarchyTypeMismatch(_)
            | Self::IncompatiblePolicy(_)
            | Self::InvalidAllowedPattern(_)
            | Self::InvalidFilterKey(_)
            | Self::InvalidFilterOption(_)
            | Self::InvalidFilterValue(_)
            | Self::InvalidKeyId(_)
            | Self::InvalidNextToken(_)
            | Self::InvalidPolicyAttribute(_)
            | Self::InvalidPolicyType(_)
            | Self::InvalidResourceId(_)
            | Self::InvalidResourceType(_)
            | Self::MalformedResourcePolicyDocument(_)
            | Self::ParameterAlreadyExists(_)
            | Self::ParameterLimitExceeded(_)
            | Self::ParameterMaxVersionLimitExceeded(_)
            | Self::ParameterNotFound(_)
            | Self::ParameterPatternMismatch(_)
            | Self::ParameterVersionLabelLimitExceeded(_)
            | Self::ParameterVersionNotFound(_)
            | Self::PoliciesLimitExceeded(_)
            | Self::ResourceNotFound(_)
            | Self::ResourcePolicyConflict(_)
            | Self::ResourcePolicyInvalidParameter(_)
            | Self::ResourcePolicyLimitExceeded(_)
            | Self::ResourcePolicyNotFound(_)
            | Self::Serialization(_)
            | Self::ServiceSettingNotFound(_)
            | Self::TooManyTags(_)
            | Self::TooManyUpdates(_)
            | Self::UnsupportedParameterType(_)
            | Self::Validation(_) => 400,
        }
    }

    fn message(&self) -> String {
        match self {
            Self::Internal(_) => "An internal error occurred.".to_owned(),
            Self::AccessDenied(m)
            | Self::HierarchyLevelLimitExceeded(m)
            | Self::HierarchyTypeMismatch(m)
            | Self::IncompatiblePolicy(m)
            | Self::InvalidAllowedPattern(m)
            | Self::InvalidFilterKey(m)
            | Self::InvalidFilterOption(m)
            | Self::InvalidFilterValue(m)
            | Self::InvalidKeyId(m)
            | Self::InvalidNextToken(m)
            | Self::InvalidPolicyAttribute(m)
            | Self::InvalidPolicyType(m)
            | Self::InvalidResourceId(m)
            | Self::InvalidResourceType(m)
            | Self::MalformedResourcePolicyDocument(m)
            | Self::ParameterAlreadyExists(m)
            | Self::ParameterLimitExceeded(m)
            | Self::ParameterMaxVersionLimitExceeded(m)
            | Self::ParameterNotFound(m)
            | Self::ParameterPatternMismatch(m)
            | Self::ParameterVersionLabelLimitExceeded(m)
            | Self::ParameterVersionNotFound(m)
            | Self::PoliciesLimitExceeded(m)
            | Self::ResourceNotFound(m)
            | Self::ResourcePolicyConflict(m)
            | Self::ResourcePolicyInvalidParameter(m)
            | Self::ResourcePolicyLimitExceeded(m)
            | Self::ResourcePolicyNotFound(m)
            | Self::Serialization(m)
            | Self::ServiceSettingNotFound(m)
            | Self::TooManyTags(m)
            | Self::TooManyUpdates(m)
            | Self::UnsupportedParameterType(m)
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

impl CommonErrors for SsmError {
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
