//! The one place an error becomes an HTTP response.
//!
//! awsJson: status, `X-Amzn-ErrorType`, `x-amzn-RequestId`, body `{"__type","message"}`
//! (<https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html#operation-error-serialization>).
//! Query protocol: an `<ErrorResponse>` document
//! (<https://smithy.io/2.0/aws/protocols/aws-query-protocol.html#operation-error-serialization>).
//! Internal failures are logged once here, with the request id, and reach the client only as the
//! service's internal error.

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

/// An error ready to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl WireError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// From a service error; internal detail goes to the log, not the client.
    pub fn from_service(e: &dyn ServiceError, request_id: &str) -> Self {
        if let Some(detail) = e.internal_detail() {
            tracing::error!(request_id, code = e.code(), detail, "internal error");
        }
        Self::new(e.status(), e.code(), e.message())
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
                Self::new(
                    500,
                    "InternalFailure",
                    "The request processing has failed because of an unknown error.",
                )
            }
        }
    }

    pub fn render(&self, protocol: Protocol, request_id: &str) -> Response<Body> {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let (content_type, body) = match protocol {
            Protocol::Json => (
                "application/x-amz-json-1.1",
                serde_json::json!({ "__type": self.code, "message": self.message }).to_string(),
            ),
            Protocol::Query { xmlns } => (
                "text/xml",
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
                ),
            ),
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
        AuthFailure::UnknownKey | AuthFailure::Expired | AuthFailure::Internal(_) => String::new(),
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
    WireError::new(
        500,
        "InternalFailure",
        "The request processing has failed because of an unknown error.",
    )
    .render(Protocol::Json, &request_id)
}
