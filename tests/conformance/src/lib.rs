//! End-to-end conformance tests: the AWS SDK for Rust against a spawned `coffer server`.
//!
//! Everything lives in `tests/` so that the SDK crates (dev-dependencies) are compiled only by
//! `cargo test`, never by `cargo build`.
