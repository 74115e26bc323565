//! The audit trail on PostgreSQL (the shared implementation in `audit_sql`).

use super::{PostgresStore, backend};

crate::audit_sql::audit_store_impl!(PostgresStore, sqlx::postgres::PgRow, "id");
