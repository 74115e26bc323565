//! One error type for the client side. A service's own error keeps its status, code and raw body
//! so the agent can pass it through unchanged.

use bytes::Bytes;
use std::fmt;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The endpoint answered with an AWS error.
    #[error("{0}")]
    Service(Box<ServiceError>),
    /// The endpoint could not be reached, or did not answer in time.
    #[error("{0}")]
    Transport(String),
    /// No usable credentials, or the credential source failed.
    #[error("{0}")]
    Credentials(String),
    /// Region, endpoint, profile or a file the user named is missing or wrong.
    #[error("{0}")]
    Config(String),
    /// Input the user wrote (a reference, an objects file, a path) is malformed.
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    /// Worth retrying, and — for the agent — worth serving a stale value over: the endpoint was
    /// unreachable, overloaded or failed internally.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Transport(_) => true,
            Error::Service(e) => e.is_transient(),
            _ => false,
        }
    }

    pub fn service(&self) -> Option<&ServiceError> {
        match self {
            Error::Service(e) => Some(e),
            _ => None,
        }
    }
}

/// An error answer from the endpoint, as received.
#[derive(Clone)]
pub struct ServiceError {
    /// The operation that failed, e.g. `GetSecretValue`.
    pub operation: &'static str,
    pub status: u16,
    /// The AWS error code (`ResourceNotFoundException`), without any `namespace#` prefix.
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
    /// The response body exactly as received (AWS JSON `{"__type","message"}` or query XML).
    pub body: Bytes,
    /// Whether `body` is AWS JSON (awsJson services) rather than XML (query services).
    pub json: bool,
}

impl ServiceError {
    pub fn is_transient(&self) -> bool {
        self.status >= 500
            || matches!(
                self.code.as_str(),
                "ThrottlingException"
                    | "Throttling"
                    | "ThrottledException"
                    | "RequestLimitExceeded"
                    | "TooManyRequestsException"
                    | "ProvisionedThroughputExceededException"
                    | "RequestThrottled"
                    | "SlowDown"
                    | "PriorRequestNotComplete"
                    | "TransactionInProgressException"
                    | "RequestTimeout"
                    | "RequestTimeoutException"
                    | "InternalFailure"
                    | "ServiceUnavailable"
            )
    }

    /// The body in AWS's JSON error shape: the one received when it already was, else built.
    pub fn json_body(&self) -> Bytes {
        if self.json && !self.body.is_empty() {
            return self.body.clone();
        }
        Bytes::from(serde_json::json!({ "__type": self.code, "message": self.message }).to_string())
    }
}

impl fmt::Debug for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceError")
            .field("operation", &self.operation)
            .field("status", &self.status)
            .field("code", &self.code)
            .field("message", &self.message)
            .field("request_id", &self.request_id)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} failed: {} (HTTP {})",
            self.operation, self.code, self.status
        )?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        Ok(())
    }
}
