//! IAM policy documents, as pure functions (no I/O, no clock, no network).
//!
//! - [`check`]: the grammar of a policy document, reported as AWS's validators report it:
//!   every problem found, each with the check that found it.
//! - [`is_public`]: whether a resource policy grants access to everyone, as Secrets Manager's
//!   `BlockPublicPolicy` understands it.
//! - [`Policy::parse`]: a document read once into a shareable, evaluable form.
//! - [`Request`] and [`Principal`]: who asks to do what to which resource, with which
//!   condition keys.
//! - [`evaluate`] / [`evaluate_with`]: AWS's evaluation logic (explicit deny, same-account
//!   union, cross-account intersection, boundaries and session policies that narrow, key and
//!   trust policies that must allow) giving a [`Decision`] that names the deciding statement.
//! - [`access_denied_message`]: AWS's wording for the denial.
//!
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html>
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html>

mod conditions; // Condition operators, IfExists, ForAllValues/ForAnyValue.
mod evaluate; // The decision: deny > allow > implicit deny, across policy types and accounts.
mod grammar; // The document grammar (shared by `check` and `Policy::parse`).
mod matching; // `*` / `?` wildcards and segment-wise ARN matching.
mod message; // AccessDeniedException wording.
mod policy; // The parsed document and statement applicability.
mod principal; // Callers and the Principal / NotPrincipal elements.
mod request; // The request context and derived global condition keys.
mod values; // Typed readings: numbers, dates, CIDR ranges, booleans, base64.
mod variables; // `${...}` policy variables.

pub use evaluate::{
    Decision, PolicySet, PolicyType, ResourceMode, StatementRef, Verdict, evaluate, evaluate_with,
};
pub use grammar::{Problem, check, is_public};
pub use matching::{arn_match, wildcard_match};
pub use message::access_denied_message;
pub use policy::{Effect, ParseError, Policy};
pub use principal::{Principal, PrincipalKind};
pub use request::Request;
