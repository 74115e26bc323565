//! SSM parameters on SQLite.

use super::SqliteStore;
use crate::ParameterStore;
use async_trait::async_trait;

#[async_trait]
impl ParameterStore for SqliteStore {}
