//! What every service error enum provides to the wire.
//!
//! Each service defines an enum whose variants are exactly its AWS error codes, with an
//! exhaustive `match` from variant to code and status. Internal failures carry their detail for
//! the log; [`ServiceError::message`] of an internal error never includes it.

/// A service error as the server renders it.
pub trait ServiceError: std::fmt::Debug + Send {
    /// The AWS error code (`__type`), e.g. `NotFoundException`.
    fn code(&self) -> &'static str;
    /// HTTP status.
    fn status(&self) -> u16;
    /// The client-facing message. Never contains secret material or internal detail.
    fn message(&self) -> String;
    /// Detail for the server log when this is an internal failure.
    fn internal_detail(&self) -> Option<&str> {
        None
    }
}

/// Implemented by each service error so the shared registry and validation can build them.
pub trait CommonErrors: Sized {
    fn validation(message: String) -> Self;
    fn serialization(message: String) -> Self;
    fn internal(detail: String) -> Self;
}

/// Map a store failure to the service's internal error.
pub fn store<E: CommonErrors>(e: coffer_store::StoreError) -> E {
    E::internal(format!("store: {e}"))
}

/// Map a crypto failure that is not the caller's fault to the service's internal error.
pub fn crypto<E: CommonErrors>(e: coffer_crypto::CryptoError) -> E {
    E::internal(format!("crypto: {e}"))
}

/// Turn a model validation failure into the service's error.
pub fn from_validation<E: CommonErrors>(e: crate::model::ValidationError) -> E {
    match e {
        crate::model::ValidationError::Serialization(m) => E::serialization(m),
        crate::model::ValidationError::Constraint { message, .. } => E::validation(message),
    }
}
