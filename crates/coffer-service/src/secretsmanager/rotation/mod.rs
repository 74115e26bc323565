//! Rotation: RotateSecret, CancelRotateSecret, the four-step protocol, and the scheduler.
//! <https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_how.html>
//!
//! On AWS a Lambda function runs createSecret → setSecret → testSecret → finishSecret. coffer
//! runs the same steps through a [`RotationFunction`]: the function name of the
//! RotationLambdaARN selects a built-in rotator (AWS's RDS template names, and
//! [`GENERIC_ROTATOR`]), or else a rotation function registered to be reached over HTTP. The
//! built-in database rotators and the HTTP client live outside this crate (no database or HTTP
//! client here) and come in through a [`FunctionHost`].
//!
//! State: a secret has at most one rotation in progress (`coffer_store::RotationRecord`),
//! started in the transaction that checks the secret is unchanged and ended in the one that
//! records LastRotatedDate and NextRotationDate. A runner holds a lease on it (`next_attempt_at`)
//! while it runs steps; a failed attempt records the error, leaves AWSCURRENT alone, keeps the
//! AWSPENDING version, and is retried from createSecret after a backoff (each step is idempotent).

//!
//! - [`api`]: the plugin API (steps, events, [`RotationFunction`], [`FunctionHost`],
//!   [`RotationApi`]).
//! - [`engine`]: running a rotation, its lease and retries, the scheduler.
//! - [`handlers`]: RotateSecret and CancelRotateSecret.
//! - [`schedule`], [`cron`]: rotation rules and AWS's cron expressions.

mod api;
pub(crate) mod cron;
mod engine;
mod generic;
mod handlers;
pub(crate) mod schedule;
#[cfg(test)]
mod tests;

pub use api::{
    BUILTIN_NAMES, FunctionHost, GenericOnly, HttpFunction, Invocation, RotationApi, RotationError,
    RotationFunction, Step, generic_builtin, is_builtin_name,
};
pub(crate) use engine::function_key_purpose;
pub use engine::{Driven, RotationStatus};
pub use generic::GENERIC_ROTATOR;
pub use handlers::{
    CancelRotateSecretInput, CancelRotateSecretOutput, RotateSecretInput, RotateSecretOutput,
    cancel_rotate_secret, rotate_secret,
};
pub use schedule::RotationRules;

pub(crate) const PENDING: &str = "AWSPENDING";
