//! AWS Signature Version 4 verification, as pure functions.
//!
//! This crate checks requests signed the way the AWS SDKs sign them for non-S3 services
//! (see <https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html>). It does no
//! I/O, never reads the clock (the caller passes `now`), and takes plain string slices rather than
//! any HTTP crate's types, so every step can be tested on its own and the server is free to pick
//! its HTTP stack.
//!
//! A typical server does, per request:
//!
//! 1. [`parse_authorization`] on the `Authorization` header (or [`parse_presigned`] on the query);
//! 2. look up the secret for [`Authorization::access_key_id`], then [`derive_signing_key`] for the
//!    credential scope (cache it: the key only changes per day, region and service);
//! 3. [`check_scope`] against the region and service it serves;
//! 4. [`verify`] (or [`verify_presigned`]) with the SHA-256 of the body it actually received.
//!
//! Every failure is an [`Error`] whose variants map one-to-one onto the errors AWS answers, with
//! AWS's own message text.

mod auth_header;
mod canonical;
mod error;
mod presign;
mod signing;
mod time;
mod uri;
mod verify;

pub use auth_header::{Authorization, parse_authorization};
pub use canonical::{Request, canonical_request};
pub use error::{Error, MAX_SKEW_SECS};
pub use presign::{MAX_PRESIGN_EXPIRES_SECS, Presigned, parse_presigned, verify_presigned};
pub use signing::{ALGORITHM, SigningKey, derive_signing_key, sign, string_to_sign};
pub use verify::{check_scope, request_time, verify};
