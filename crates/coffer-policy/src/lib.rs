//! IAM policy documents, as pure functions (no I/O).
//!
//! - [`check`]: the grammar of a policy document, reported as AWS's validators report it:
//!   every problem found, each with the check that found it.
//! - [`is_public`]: whether a resource policy grants access to everyone, as Secrets Manager's
//!   `BlockPublicPolicy` understands it.
//!
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html>

mod grammar;

pub use grammar::{Problem, check, is_public};
