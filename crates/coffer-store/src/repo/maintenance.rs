//! [`MaintenanceStore`](crate::maintenance::MaintenanceStore), written once for both backends.

macro_rules! maintenance_store_impl {
    ($store:ident) => {
        mod maintenance {
            use super::{backend, $store};
            use crate::Result;
            use crate::maintenance::{
                MaintenanceStore, SealedKind, SealedRow, list_sql, replace_sql,
            };
            use crate::repo::Dialect as _;

            #[async_trait::async_trait]
            impl MaintenanceStore for $store {
                async fn get_meta(&self, name: &str) -> Result<Option<Vec<u8>>> {
                    sqlx::query_scalar("SELECT value FROM meta WHERE name = $1")
                        .bind(name)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(backend)
                }

                async fn set_meta(&self, name: &str, value: &[u8]) -> Result<()> {
                    self.write(
                        sqlx::query(
                            "INSERT INTO meta (name, value) VALUES ($1, $2)
                             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                        )
                        .bind(name.to_owned())
                        .bind(value.to_vec()),
                    )
                    .await?;
                    Ok(())
                }

                async fn list_sealed(&self, kind: SealedKind) -> Result<Vec<SealedRow>> {
                    // Audited: the statement is built from constant column names.
                    let rows: Vec<(String, String, String, i64, Vec<u8>)> =
                        sqlx::query_as(sqlx::AssertSqlSafe(list_sql(kind)))
                            .fetch_all(&self.pool)
                            .await
                            .map_err(backend)?;
                    Ok(rows
                        .into_iter()
                        .map(|(a, b, c, version, value)| SealedRow {
                            kind,
                            id: [a, b, c],
                            version,
                            value,
                        })
                        .collect())
                }

                async fn replace_sealed(&self, row: &SealedRow, value: &[u8]) -> Result<bool> {
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(replace_sql(row.kind)))
                        .bind(value.to_vec())
                        .bind(row.value.clone());
                    let ids = if row.kind == SealedKind::AccessKey {
                        1
                    } else {
                        3
                    };
                    for id in &row.id[..ids] {
                        q = q.bind(id.clone());
                    }
                    if row.kind == SealedKind::KeyMaterial {
                        q = q.bind(row.version);
                    }
                    Ok(self.write(q).await?.rows_affected() == 1)
                }

                async fn export_snapshot(
                    &self,
                    sink: &mut crate::snapshot::Sink<'_>,
                ) -> Result<()> {
                    $store::export_snapshot(self, sink).await
                }
            }
        }
    };
}
pub(crate) use maintenance_store_impl;
