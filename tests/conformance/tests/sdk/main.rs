//! The AWS SDK for Rust against a spawned `coffer server`. One test binary (it links the SDKs
//! once); one module per service.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod access;
mod common;
mod kms;
mod multinode;
mod replication;
mod rotation;
mod secretsmanager;
mod ssm;
