//! The client side of coffer, for coffer or AWS alike: a SigV4 client with the standard AWS
//! credential chain, and on top of it
//!
//! - [`agent`]: a local caching HTTP endpoint compatible with AWS's Parameters and Secrets Lambda
//!   extension and Secrets Manager Agent;
//! - [`sync`]: secrets as files from a Secrets Store CSI `objects` list, kept up to date;
//! - [`resolve`]: CloudFormation-style `{{resolve:...}}` references in templates;
//! - [`run`]: a process started with its secrets in a private directory or its environment.
//!
//! This crate talks HTTP only: it does not depend on coffer's server, service or store crates.

pub mod agent;
pub mod api;
pub mod client;
pub mod config;
pub mod credentials;
pub mod env;
pub mod error;
pub mod fsutil;
pub mod http;
pub mod objects;
pub mod profile;
pub mod resolve;
pub mod run;
pub mod sync;

pub use api::SecretSelector;
pub use client::AwsClient;
pub use config::{ClientOptions, Service};
pub use env::Env;
pub use error::{Error, Result, ServiceError};
