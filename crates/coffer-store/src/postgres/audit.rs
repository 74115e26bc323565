//! The audit trail on PostgreSQL (the shared implementation in `audit_sql`).

use super::{PostgresStore, backend};

crate::audit_sql::audit_store_impl!(PostgresStore, sqlx::postgres::PgRow, "id");

impl PostgresStore {
    /// One INSERT in a transaction whose commit is the fsync; several nodes append to one
    /// chain, taking turns on the head row's lock.
    async fn append_batch(
        &self,
        events: &[crate::NewAuditEvent],
        link: &crate::ChainLink,
    ) -> crate::Result<Vec<i64>> {
        self.append_batch_sqlx(events, link).await
    }
}
