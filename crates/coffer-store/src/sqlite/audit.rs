//! The audit trail on SQLite (the shared implementation in `audit_sql`).

use super::{SqliteStore, backend};

crate::audit_sql::audit_store_impl!(SqliteStore, sqlx::sqlite::SqliteRow, "rowid");
