//! The one place an error becomes an HTTP response.
//!
//! awsJson: status, `X-Amzn-ErrorType`, `x-amzn-RequestId`, body `{"__type", MESSAGE}` where
//! MESSAGE is the member the service's error shape declares (`Message` for Secrets Manager and
//! most SSM errors, `message` elsewhere) and is left out when there is no message (KMS's
//! InvalidCiphertextException)
//! (<https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html#operation-error-serialization>).
//! Query protocol: an `<ErrorResponse>` document
//! (<https://smithy.io/2.0/aws/protocols/aws-query-protocol.html#operation-error-serialization>).
//! Internal failures are logged once here, with the request id, and reach the client only as the
//! service's internal error. The errors the server raises itself (before or around a service)
//! are the constructors of [`WireError`]; AWS's common errors, all of them.

use crate::auth::AuthFailure;
use crate::protocol::query::xml_escape;
use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode, header};
use coffer_service::ServiceError;
use coffer_sigv4::Error as SigError;

/// Which envelope the error goes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Json,
    /// Query protocol, with the service's XML namespace.
    Query {
        xmlns: &'static str,
    },
}

/// AWS's text for an internal failure.
const INTERNAL_MESSAGE: &str = "The request processing has failed because of an unknown error.";

/// An error ready to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// The awsJson member holding the message (`message` or `Message`).
    pub message_member: &'static str,
}

impl WireError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            message_member: coffer_service::error::DEFAULT_MESSAGE_MEMBER,
        }
    }

    /// From a service error; internal detail goes to the log, not the client.
    pub fn from_service(e: &dyn ServiceError, request_id: &str) -> Self {
        if let Some(detail) = e.internal_detail() {
            if e.status() == 503 {
                tracing::error!(request_id, code = e.code(), detail, "store unavailable");
            } else {
                tracing::error!(request_id, code = e.code(), detail, "internal error");
            }
        }
        Self {
            message_member: e.message_member(),
            ..Self::new(e.status(), e.code(), e.message())
        }
    }

    /// The body is over `--max-body-bytes`.
    pub fn too_large(max_body_bytes: usize) -> Self {
        Self::new(
            413,
            "RequestEntityTooLargeException",
            format!("Request body is larger than the maximum of {max_body_bytes} bytes."),
        )
    }

    /// awsJson: no such operation for the target (`Prefix.Operation`).
    pub fn unknown_operation(target: &str) -> Self {
        Self::new(
            400,
            "UnknownOperationException",
            format!("The operation {target} is not supported."),
        )
    }

    /// awsJson: the body is not a JSON document.
    pub fn not_json() -> Self {
        Self::new(
            400,
            "SerializationException",
            "The request body is not valid JSON.",
        )
    }

    /// Query protocol: the body is not form-encoded.
    pub fn not_form_encoded() -> Self {
        Self::new(
            400,
            "MalformedInput",
            "The request body is not form-encoded.",
        )
    }

    /// Query protocol: no `Action` parameter.
    pub fn missing_action() -> Self {
        Self::new(400, "MissingAction", "Missing Action")
    }

    /// Query protocol: the service has no operation `op`, in AWS's words.
    pub fn invalid_action(op: &str, version: &str) -> Self {
        Self::new(
            400,
            "InvalidAction",
            format!("Could not find operation {op} for version {version}"),
        )
    }

    /// A request signed for (or addressed to) a service coffer does not serve: the awsJson
    /// `UnknownOperationException` or the query protocol's `InvalidAction`, naming the service
    /// and the ones coffer serves, rather than a signature error for a service the caller
    /// never meant.
    pub fn unsupported_service(service: &str, protocol: Protocol) -> Self {
        let code = match protocol {
            Protocol::Json => "UnknownOperationException",
            Protocol::Query { .. } => "InvalidAction",
        };
        let served = coffer_service::dispatch::signing_names().join(", ");
        let shown: String = service
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .take(64)
            .collect();
        Self::new(
            400,
            code,
            format!("The service {shown} is not supported by coffer (it serves {served})."),
        )
    }

    /// Past the caller's request quota ([`crate::throttle`]): AWS's common throttling error,
    /// which the SDKs retry with backoff.
    pub fn throttled(protocol: Protocol) -> Self {
        let code = match protocol {
            Protocol::Json => "ThrottlingException",
            Protocol::Query { .. } => "Throttling",
        };
        Self::new(400, code, "Rate exceeded")
    }

    /// The request took longer than the server's request timeout (`[limits]`).
    pub fn request_timeout() -> Self {
        Self::new(
            408,
            "RequestTimeout",
            "Your socket connection to the server was not read from or written to within the timeout period.",
        )
    }

    /// Something failed that is not the caller's doing (the detail is logged where it happened).
    pub fn internal() -> Self {
        Self::new(500, "InternalFailure", INTERNAL_MESSAGE)
    }

    /// The store is out of reach for now (disk full, database restarting): AWS's retryable
    /// common error (the detail is logged where it happened).
    pub fn unavailable() -> Self {
        Self::new(
            503,
            "ServiceUnavailable",
            coffer_service::error::UNAVAILABLE_MESSAGE,
        )
    }

    /// AWS's answer to a failed authentication, which differs between the two protocols.
    pub fn from_auth(f: &AuthFailure, protocol: Protocol, request_id: &str) -> Self {
        let json = protocol == Protocol::Json;
        match f {
            AuthFailure::Signature(SigError::Missing) => Self::new(
                if json { 400 } else { 403 },
                if json {
                    "MissingAuthenticationTokenException"
                } else {
                    "MissingAuthenticationToken"
                },
                f_msg(f),
            ),
            AuthFailure::Signature(SigError::Incomplete(_)) => Self::new(
                400,
                if json {
                    "IncompleteSignatureException"
                } else {
                    "IncompleteSignature"
                },
                f_msg(f),
            ),
            AuthFailure::Signature(
                SigError::Mismatch
                | SigError::Expired { .. }
                | SigError::PresignExpired { .. }
                | SigError::ScopeMismatch(_),
            ) => Self::new(
                if json { 400 } else { 403 },
                if json {
                    "InvalidSignatureException"
                } else {
                    "SignatureDoesNotMatch"
                },
                f_msg(f),
            ),
            AuthFailure::UnknownKey => Self::new(
                if json { 400 } else { 403 },
                if json {
                    "UnrecognizedClientException"
                } else {
                    "InvalidClientTokenId"
                },
                "The security token included in the request is invalid.",
            ),
            AuthFailure::Expired => Self::new(
                if json { 400 } else { 403 },
                if json {
                    "ExpiredTokenException"
                } else {
                    "ExpiredToken"
                },
                "The security token included in the request is expired",
            ),
            AuthFailure::Internal(detail) => {
                tracing::error!(request_id, detail, "internal error during authentication");
                Self::internal()
            }
            AuthFailure::Unavailable(detail) => {
                tracing::error!(
                    request_id,
                    detail,
                    "store unavailable during authentication"
                );
                Self::unavailable()
            }
        }
    }

    /// `{"__type": CODE, MEMBER: MESSAGE}`, without the message member when there is no message.
    pub fn json_body(&self) -> String {
        let mut body = serde_json::Map::new();
        body.insert("__type".to_owned(), self.code.into());
        if !self.message.is_empty() {
            body.insert(self.message_member.to_owned(), self.message.clone().into());
        }
        serde_json::Value::Object(body).to_string()
    }

    /// The query protocol's `<ErrorResponse>`.
    pub fn xml_body(&self, xmlns: &str, request_id: &str) -> String {
        format!(
            "<ErrorResponse xmlns=\"{xmlns}\"><Error><Type>{}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
            if self.status < 500 {
                "Sender"
            } else {
                "Receiver"
            },
            self.code,
            xml_escape(&self.message),
            xml_escape(request_id),
        )
    }

    pub fn render(&self, protocol: Protocol, request_id: &str) -> Response<Body> {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let (content_type, body) = match protocol {
            Protocol::Json => ("application/x-amz-json-1.1", self.json_body()),
            Protocol::Query { xmlns } => ("text/xml", self.xml_body(xmlns, request_id)),
        };
        let mut resp = Response::new(Body::from(body));
        *resp.status_mut() = status;
        let h = resp.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        if let Ok(v) = HeaderValue::from_str(request_id) {
            h.insert("x-amzn-requestid", v);
        }
        h.insert("x-amzn-errortype", HeaderValue::from_static(self.code));
        resp
    }
}

fn f_msg(f: &AuthFailure) -> String {
    match f {
        AuthFailure::Signature(e) => e.message(),
        AuthFailure::UnknownKey
        | AuthFailure::Expired
        | AuthFailure::Internal(_)
        | AuthFailure::Unavailable(_) => String::new(),
    }
}

/// A handler panicked: a bug. Log it and answer as AWS does for internal failures.
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    let detail = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    let request_id = uuid::Uuid::new_v4().to_string();
    tracing::error!(request_id, detail, "handler panicked");
    WireError::internal().render(Protocol::Json, &request_id)
}

#[cfg(test)]
mod tests;
