//! SSM parameters on PostgreSQL.

use super::PostgresStore;
use crate::ParameterStore;
use async_trait::async_trait;

#[async_trait]
impl ParameterStore for PostgresStore {}
