//! SSM Parameter Store: parameters, their versions, labels and policies.

use async_trait::async_trait;

#[async_trait]
pub trait ParameterStore: Send + Sync {}
