//! Verification errors, worded the way AWS words them.
//!
//! The server crate turns each variant into a wire error, so the text returned by
//! [`Error::message`] is what a client of real AWS would see in the same situation.

use crate::time;

/// How far the request time may be from the server's clock, either way: AWS allows 15 minutes.
pub const MAX_SKEW_SECS: i64 = 15 * 60;

/// Why a request failed verification. One variant per error AWS answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// AWS: `MissingAuthenticationTokenException` (HTTP 403), "Missing Authentication Token".
    /// The request carries no signature at all (no `Authorization` header, no presigned query).
    #[error("Missing Authentication Token")]
    Missing,

    /// AWS: `IncompleteSignatureException` (HTTP 400; `IncompleteSignature` for query-protocol
    /// services such as STS). The signature information is malformed or incomplete; the string is
    /// AWS's message, e.g. "Authorization header requires 'Signature' parameter. Authorization=…".
    #[error("{0}")]
    Incomplete(String),

    /// AWS: `InvalidSignatureException` (JSON protocols) / `SignatureDoesNotMatch` (query
    /// protocol), HTTP 403. The signature we calculated differs from the one sent.
    #[error(
        "The request signature we calculated does not match the signature you provided. Check \
         your AWS Secret Access Key and signing method. Consult the service documentation for \
         details."
    )]
    Mismatch,

    /// AWS: `InvalidSignatureException` / `SignatureDoesNotMatch`, HTTP 403, with the message
    /// "Signature expired: …" (request too old) or "Signature not yet current: …" (request too far
    /// in the future). Both times are ISO-8601 basic (`YYYYMMDDTHHMMSSZ`).
    #[error("{}", expired_message(.request_time, .now))]
    Expired {
        /// When the client says it signed the request.
        request_time: String,
        /// The server's clock when it checked.
        now: String,
    },

    /// AWS: `AccessDenied` "Request has expired" (HTTP 403, S3's wording; AWS does not document a
    /// different one for other services). A presigned request used after `X-Amz-Date +
    /// X-Amz-Expires`. Both times are ISO-8601 basic.
    #[error("Request has expired")]
    PresignExpired {
        /// `X-Amz-Date` plus `X-Amz-Expires`.
        expires_at: String,
        /// The server's clock when it checked.
        now: String,
    },

    /// AWS: `InvalidSignatureException` / `SignatureDoesNotMatch`, HTTP 403, with a message about
    /// the credential scope, e.g. "Date in Credential scope does not match YYYYMMDD from ISO-8601
    /// version of date from HTTP: …" or "Credential should be scoped to a valid region, not …".
    #[error("{0}")]
    ScopeMismatch(String),
}

impl Error {
    /// The message AWS would put in its error response for this failure.
    #[must_use]
    pub fn message(&self) -> String {
        self.to_string()
    }
}

/// AWS's two skew messages; which one depends on which side of `now` the request time falls.
fn expired_message(request_time: &str, now: &str) -> String {
    let window = MAX_SKEW_SECS / 60;
    let (Some(req), Some(now_secs)) = (
        time::parse_amz_date(request_time),
        time::parse_amz_date(now),
    ) else {
        // Only reachable if someone built the variant by hand with junk; still say something true.
        return format!(
            "Signature expired: {request_time} is outside the {window} min. window around {now}"
        );
    };
    if req <= now_secs {
        let limit = time::format_amz_date(now_secs - MAX_SKEW_SECS);
        format!(
            "Signature expired: {request_time} is now earlier than {} ({now} - {window} min.)",
            limit.as_str()
        )
    } else {
        let limit = time::format_amz_date(now_secs + MAX_SKEW_SECS);
        format!(
            "Signature not yet current: {request_time} is still later than {} ({now} + {window} min.)",
            limit.as_str()
        )
    }
}
