//! What every service error enum provides to the wire.
//!
//! Each service declares its errors once, with [`service_errors!`]: one line per variant giving
//! the AWS error code and HTTP status. The macro generates the enum (every variant carries its
//! message), [`ServiceError`] (code, status, message, the model whose error shapes say how the
//! message is rendered), [`CommonErrors`] and a `TABLE` constant that the tests check against
//! the botocore models (`tests::every_code_is_modelled_or_common`). Internal failures carry their
//! detail for the log; [`ServiceError::message`] of an internal error never includes it.

use crate::model::Service;

/// The awsJson member an error's message goes in when the model does not name one.
pub const DEFAULT_MESSAGE_MEMBER: &str = "message";

/// Errors AWS's awsJson front end answers for any service, outside the models, with their
/// status as coffer sends them: the common errors of
/// <https://docs.aws.amazon.com/kms/latest/APIReference/CommonErrors.html> (and its twins for
/// Secrets Manager, SSM and CloudTrail) in their awsJson spelling, plus the protocol's own
/// (`SerializationException`, `UnknownOperationException`, request too large).
pub const JSON_COMMON_ERRORS: &[(&str, u16)] = &[
    ("AccessDeniedException", 400),
    ("ExpiredTokenException", 400),
    ("IncompleteSignatureException", 400),
    ("InternalFailure", 500),
    ("InvalidSignatureException", 400),
    ("MissingAuthenticationTokenException", 400),
    ("RequestEntityTooLargeException", 413),
    ("SerializationException", 400),
    ("ServiceUnavailable", 503),
    ("ThrottlingException", 400),
    ("UnknownOperationException", 400),
    ("UnrecognizedClientException", 400),
    ("ValidationException", 400),
];

/// The same for the query protocol (STS, IAM):
/// <https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html>,
/// <https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html>. `AccessDenied` is what
/// both answer for an authorisation failure (`<Code>AccessDenied</Code>`, 403), and
/// `MalformedInput` what AWS's query front end answers for parameters it cannot parse.
pub const QUERY_COMMON_ERRORS: &[(&str, u16)] = &[
    ("AccessDenied", 403),
    ("ExpiredToken", 403),
    ("IncompleteSignature", 400),
    ("InternalFailure", 500),
    ("InvalidAction", 400),
    ("InvalidClientTokenId", 403),
    ("MalformedInput", 400),
    ("MissingAction", 400),
    ("MissingAuthenticationToken", 403),
    ("RequestEntityTooLargeException", 413),
    ("ServiceUnavailable", 503),
    ("SignatureDoesNotMatch", 403),
    ("ValidationError", 400),
];

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
    /// The botocore model of the service that produced the error, if it has one.
    fn model(&self) -> Option<Service> {
        None
    }
    /// The awsJson member the message goes in: what the model's error shape names it
    /// (`Message` in Secrets Manager and most of SSM, `message` in KMS), else `message`.
    fn message_member(&self) -> &'static str {
        self.model().map_or(DEFAULT_MESSAGE_MEMBER, |s| {
            crate::model::model(s).message_member(self.code())
        })
    }
}

/// Implemented by each service error so the shared registry and validation can build them.
pub trait CommonErrors: Sized {
    fn validation(message: String) -> Self;
    fn serialization(message: String) -> Self;
    fn internal(detail: String) -> Self;
    /// The store cannot serve now (disk full, database unreachable or restarting): AWS's
    /// retryable `ServiceUnavailable` (503). The detail is for the log.
    fn unavailable(detail: String) -> Self;
}

/// AWS's text for `ServiceUnavailable`
/// (<https://docs.aws.amazon.com/kms/latest/APIReference/CommonErrors.html>).
pub const UNAVAILABLE_MESSAGE: &str =
    "The request has failed due to a temporary failure of the server.";

/// Map a store failure to the service's internal error, or to `ServiceUnavailable` when the
/// store is only out of reach for now.
pub fn store<E: CommonErrors>(e: coffer_store::StoreError) -> E {
    match e {
        coffer_store::StoreError::Unavailable(_) => E::unavailable(format!("store: {e}")),
        e => E::internal(format!("store: {e}")),
    }
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

/// One service's errors, each variant with its AWS code and HTTP status, in one table:
///
/// ```ignore
/// service_errors! {
///     /// KMS errors.
///     pub enum KmsError;
///     model: Some(Service::Kms);
///     internal: Internal, "An internal error occurred.";
///     validation: Validation;
///     serialization: Serialization;
///     table {
///         AccessDenied => ("AccessDeniedException", 400),
///         Internal => ("KMSInternalException", 500),
///     }
/// }
/// ```
///
/// Every variant holds a `String`: the client-facing message, except for the `internal` variant,
/// whose string is detail for the log and whose message is the fixed text given. Every enum also
/// gets `Unavailable` (AWS's common `ServiceUnavailable`, 503, [`UNAVAILABLE_MESSAGE`]), whose
/// string is detail for the log too.
macro_rules! service_errors {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident;
        model: $model:expr;
        internal: $internal:ident, $internal_message:literal;
        validation: $validation:ident;
        serialization: $serialization:ident;
        table {
            $( $(#[$vmeta:meta])* $variant:ident => ($code:literal, $status:literal) ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant(String), )*
            /// The store cannot serve now (disk full, database unreachable): detail for the log.
            Unavailable(String),
        }

        impl $name {
            /// `(variant, AWS code, HTTP status)` of every variant.
            pub const TABLE: &'static [(&'static str, &'static str, u16)] = &[
                $( (stringify!($variant), $code, $status), )*
                ("Unavailable", "ServiceUnavailable", 503),
            ];

            /// The variant named `variant` (a row of [`Self::TABLE`]), holding `message`.
            pub fn from_variant(variant: &str, message: String) -> Option<Self> {
                match variant {
                    $( stringify!($variant) => Some(Self::$variant(message)), )*
                    "Unavailable" => Some(Self::Unavailable(message)),
                    _ => None,
                }
            }
        }

        impl $crate::error::ServiceError for $name {
            fn code(&self) -> &'static str {
                match self {
                    $( Self::$variant(_) => $code, )*
                    Self::Unavailable(_) => "ServiceUnavailable",
                }
            }

            fn status(&self) -> u16 {
                match self {
                    $( Self::$variant(_) => $status, )*
                    Self::Unavailable(_) => 503,
                }
            }

            #[allow(unreachable_patterns)] // the internal variant is matched first
            fn message(&self) -> String {
                match self {
                    Self::$internal(_) => $internal_message.to_owned(),
                    Self::Unavailable(_) => $crate::error::UNAVAILABLE_MESSAGE.to_owned(),
                    $( Self::$variant(m) => m.clone(), )*
                }
            }

            fn internal_detail(&self) -> Option<&str> {
                match self {
                    Self::$internal(d) | Self::Unavailable(d) => Some(d),
                    _ => None,
                }
            }

            fn model(&self) -> Option<$crate::model::Service> {
                $model
            }
        }

        impl $crate::error::CommonErrors for $name {
            fn validation(message: String) -> Self {
                Self::$validation(message)
            }
            fn serialization(message: String) -> Self {
                Self::$serialization(message)
            }
            fn internal(detail: String) -> Self {
                Self::$internal(detail)
            }
            fn unavailable(detail: String) -> Self {
                Self::Unavailable(detail)
            }
        }
    };
}

#[cfg(test)]
mod tests;
