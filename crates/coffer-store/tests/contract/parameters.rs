//! Contract: SSM parameters.

use coffer_store::*;

pub async fn contract(_s: &Store) {}
