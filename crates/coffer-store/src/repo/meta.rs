//! Deployment facts (`meta`): the part of [`MetaStore`](crate::MetaStore) both backends share.

macro_rules! meta_impl {
    ($store:ident) => {
        mod meta {
            use super::{$store, backend};
            use crate::Result;

            impl $store {
                /// Record `name` unless recorded; return the value in force. (On PostgreSQL
                /// ON CONFLICT DO NOTHING waits for a concurrent first writer to commit; the
                /// SELECT, a new statement under READ COMMITTED, then sees whichever value won.)
                pub(super) async fn init_meta_value(&self, name: &str, value: &[u8]) -> Result<Vec<u8>> {
                    let mut tx = self.pool.begin().await.map_err(backend)?;
                    sqlx::query(
                        "INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                    )
                    .bind(name)
                    .bind(value)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                    let found: Vec<u8> = sqlx::query_scalar("SELECT value FROM meta WHERE name = $1")
                        .bind(name)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(backend)?;
                    tx.commit().await.map_err(backend)?;
                    Ok(found)
                }
            }
        }
    };
}
pub(crate) use meta_impl;
