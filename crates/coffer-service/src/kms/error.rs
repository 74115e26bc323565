//! KMS errors: exactly the codes of the KMS API that coffer can produce.
//! <https://docs.aws.amazon.com/kms/latest/APIReference/CommonErrors.html>

service_errors! {
    pub enum KmsError;
    model: Some(crate::model::Service::Kms);
    internal: Internal, "An internal error occurred.";
    validation: Validation;
    serialization: Serialization;
    table {
        AccessDenied => ("AccessDeniedException", 400),
        AlreadyExists => ("AlreadyExistsException", 400),
        Disabled => ("DisabledException", 400),
        DryRunOperation => ("DryRunOperationException", 400),
        ExpiredImportToken => ("ExpiredImportTokenException", 400),
        IncorrectKeyMaterial => ("IncorrectKeyMaterialException", 400),
        IncorrectKey => ("IncorrectKeyException", 400),
        InvalidAliasName => ("InvalidAliasNameException", 400),
        InvalidArn => ("InvalidArnException", 400),
        /// AWS sends this one with no message member at all: coffer gives it an empty message,
        /// which the server does not render.
        InvalidCiphertext => ("InvalidCiphertextException", 400),
        InvalidGrantId => ("InvalidGrantIdException", 400),
        InvalidGrantToken => ("InvalidGrantTokenException", 400),
        InvalidImportToken => ("InvalidImportTokenException", 400),
        InvalidKeyUsage => ("InvalidKeyUsageException", 400),
        InvalidMarker => ("InvalidMarkerException", 400),
        /// Detail for the log only; the client sees a generic message.
        Internal => ("KMSInternalException", 500),
        InvalidState => ("KMSInvalidStateException", 400),
        /// Verify of a bad signature; like InvalidCiphertext, sent without a message.
        InvalidSignature => ("KMSInvalidSignatureException", 400),
        /// VerifyMac of a bad MAC; sent without a message.
        InvalidMac => ("KMSInvalidMacException", 400),
        LimitExceeded => ("LimitExceededException", 400),
        MalformedPolicyDocument => ("MalformedPolicyDocumentException", 400),
        NotFound => ("NotFoundException", 400),
        /// `alias/aws/` names: AWS answers this code, which the KMS model does not list.
        NotAuthorized => ("NotAuthorizedException", 400),
        Serialization => ("SerializationException", 400),
        Tag => ("TagException", 400),
        UnsupportedOperation => ("UnsupportedOperationException", 400),
        Validation => ("ValidationException", 400),
    }
}

impl From<coffer_store::StoreError> for KmsError {
    fn from(e: coffer_store::StoreError) -> Self {
        crate::error::store(e)
    }
}
