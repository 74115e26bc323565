//! KMS keys, material, aliases and tags: [`KmsStore`](crate::KmsStore) for a backend's store.
//! Keys, material and aliases are read through the dialect's cache (SQLite's exact read cache).

/// Queries fetch `limit + 1` rows: the extra one only says whether another page exists.
pub(crate) fn page<T>(
    mut items: Vec<T>,
    limit: usize,
    cursor: impl Fn(&T) -> String,
) -> crate::Page<T> {
    let more = items.len() > limit;
    items.truncate(limit);
    let next = if more { items.last().map(cursor) } else { None };
    crate::Page { items, next }
}

/// What a [`KeyRecord`](crate::KeyRecord) is read from: `kms_keys`' columns, with the key manager
/// as the record's boolean.
pub(crate) const KEY_COLUMNS: &str = "*, key_manager = 'AWS' AS aws_managed";

macro_rules! kms_store_impl {
    ($store:ident) => {
        mod kms {
            use super::{$store, backend};
            use crate::records::*;
            use crate::repo::kms::{KEY_COLUMNS, page};
            use crate::repo::{Dialect, limit};
            use crate::sqlite::cache::Lookup;
            use crate::{KmsStore, Page, Result, StoreError};
            use async_trait::async_trait;
            use sqlx::Transaction;

            type Tx<'c> = Transaction<'c, <$store as Dialect>::Db>;

            async fn insert_material(
                tx: &mut Tx<'_>,
                key: &KeyRecord,
                m: &KeyMaterialRecord,
            ) -> Result<()> {
                sqlx::query(
                    "INSERT INTO kms_key_material (account_id, region, key_id, version, wrapped,
                        created_at, on_demand) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&key.account_id)
                .bind(&key.region)
                .bind(&key.key_id)
                .bind(i64::from(m.version))
                .bind(&m.wrapped)
                .bind(m.created_at)
                .bind(m.on_demand)
                .execute(&mut **tx)
                .await
                .map_err(backend)?;
                Ok(())
            }

            async fn insert_alias(tx: &mut Tx<'_>, a: &AliasRecord) -> Result<()> {
                sqlx::query(
                    "INSERT INTO kms_aliases (account_id, region, alias_name, key_id, created_at,
                        updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&a.account_id)
                .bind(&a.region)
                .bind(&a.alias_name)
                .bind(&a.key_id)
                .bind(a.created_at)
                .bind(a.updated_at)
                .execute(&mut **tx)
                .await
                .map_err(backend)?;
                Ok(())
            }

            /// Compare-and-set of the mutable columns: `Conflict` unless the stored row_version
            /// matches.
            async fn cas_key(tx: &mut Tx<'_>, k: &KeyRecord) -> Result<()> {
                let done = sqlx::query(
                    "UPDATE kms_keys SET description = $1, state = $2, deletion_date = $3,
                        pending_window_days = $4, rotation_enabled = $5, rotation_period_days = $6,
                        next_rotation_at = $7, policy = $8, current_material = $9,
                        valid_to = $14, material_fingerprint = $15, mrk_primary_region = $16,
                        row_version = row_version + 1
                     WHERE account_id = $10 AND region = $11 AND key_id = $12 AND row_version = $13",
                )
                .bind(&k.description)
                .bind(k.state.as_str())
                .bind(k.deletion_date)
                .bind(k.pending_window_days)
                .bind(k.rotation_enabled)
                .bind(k.rotation_period_days)
                .bind(k.next_rotation_at)
                .bind(&k.policy)
                .bind(i64::from(k.current_material))
                .bind(&k.account_id)
                .bind(&k.region)
                .bind(&k.key_id)
                .bind(k.row_version)
                .bind(k.valid_to)
                .bind(&k.material_fingerprint)
                .bind(&k.mrk_primary_region)
                .execute(&mut **tx)
                .await
                .map_err(backend)?;
                if done.rows_affected() == 1 {
                    Ok(())
                } else {
                    Err(StoreError::Conflict)
                }
            }

            #[async_trait]
            impl KmsStore for $store {
                async fn create_key(
                    &self,
                    k: &KeyRecord,
                    m: Option<&KeyMaterialRecord>,
                    tags: &[Tag],
                    a: Option<&AliasRecord>,
                ) -> Result<()> {
                    let mut tx = self.pool.begin().await.map_err(backend)?;
                    sqlx::query(
                        "INSERT INTO kms_keys (account_id, region, key_id, description, key_usage,
                            key_spec, origin, key_manager, multi_region, state, created_at,
                            deletion_date, pending_window_days, rotation_enabled,
                            rotation_period_days, next_rotation_at, policy, current_material,
                            row_version, valid_to, material_fingerprint, mrk_primary_region)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
                            $16, $17, $18, $19, $20, $21, $22)",
                    )
                    .bind(&k.account_id)
                    .bind(&k.region)
                    .bind(&k.key_id)
                    .bind(&k.description)
                    .bind(&k.key_usage)
                    .bind(&k.key_spec)
                    .bind(&k.origin)
                    .bind(if k.aws_managed { "AWS" } else { "CUSTOMER" })
                    .bind(k.multi_region)
                    .bind(k.state.as_str())
                    .bind(k.created_at)
                    .bind(k.deletion_date)
                    .bind(k.pending_window_days)
                    .bind(k.rotation_enabled)
                    .bind(k.rotation_period_days)
                    .bind(k.next_rotation_at)
                    .bind(&k.policy)
                    .bind(i64::from(k.current_material))
                    .bind(k.row_version)
                    .bind(k.valid_to)
                    .bind(&k.material_fingerprint)
                    .bind(&k.mrk_primary_region)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                    if let Some(m) = m {
                        insert_material(&mut tx, k, m).await?;
                    }
                    for t in tags {
                        sqlx::query(
                            "INSERT INTO kms_key_tags (account_id, region, key_id, tag_key,
                                tag_value) VALUES ($1, $2, $3, $4, $5)",
                        )
                        .bind(&k.account_id)
                        .bind(&k.region)
                        .bind(&k.key_id)
                        .bind(&t.key)
                        .bind(&t.value)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                    }
                    if let Some(a) = a {
                        insert_alias(&mut tx, a).await?;
                    }
                    self.commit(tx).await
                }

                async fn get_key(
                    &self,
                    account: &str,
                    region: &str,
                    key_id: &str,
                ) -> Result<Option<KeyRecord>> {
                    let key = || Lookup::KmsKey(account.into(), region.into(), key_id.into());
                    self.cached(key, || {
                        let sql = format!(
                            "SELECT {KEY_COLUMNS} FROM kms_keys
                             WHERE account_id = $1 AND region = $2 AND key_id = $3"
                        );
                        // Audited: the interpolated column list is a constant.
                        sqlx::query_as::<_, KeyRecord>(sqlx::AssertSqlSafe(sql))
                            .bind(account)
                            .bind(region)
                            .bind(key_id)})
                    .await
                }

                async fn list_keys(
                    &self,
                    account: &str,
                    region: &str,
                    after: Option<&str>,
                    n: usize,
                ) -> Result<Page<String>> {
                    let items: Vec<String> = sqlx::query_scalar(
                        "SELECT key_id FROM kms_keys
                         WHERE account_id = $1 AND region = $2 AND key_id > $3
                         ORDER BY key_id LIMIT $4",
                    )
                    .bind(account)
                    .bind(region)
                    .bind(after.unwrap_or(""))
                    .bind(limit(n).saturating_add(1))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)?;
                    Ok(page(items, n, String::clone))
                }

                async fn list_key_regions(
                    &self,
                    account: &str,
                    key_id: &str,
                ) -> Result<Vec<KeyRecord>> {
                    // KEY_COLUMNS is a constant: no input reaches the text.
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {KEY_COLUMNS} FROM kms_keys
                         WHERE account_id = $1 AND key_id = $2 ORDER BY region"
                    )))
                    .bind(account)
                    .bind(key_id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)
                }

                async fn update_key(&self, k: &KeyRecord) -> Result<()> {
                    let mut tx = self.pool.begin().await.map_err(backend)?;
                    cas_key(&mut tx, k).await?;
                    self.commit(tx).await
                }

                async fn replace_key_material(
                    &self,
                    k: &KeyRecord,
                    m: Option<&KeyMaterialRecord>,
                ) -> Result<()> {
                    let mut tx = self.pool.begin().await.map_err(backend)?;
                    cas_key(&mut tx, k).await?;
                    sqlx::query(
                        "DELETE FROM kms_key_material
                         WHERE account_id = $1 AND region = $2 AND key_id = $3",
                    )
                    .bind(&k.account_id)
                    .bind(&k.region)
                    .bind(&k.key_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                    if let Some(m) = m {
                        insert_material(&mut tx, k, m).await?;
                    }
                    self.commit(tx).await
                }

                async fn delete_key(&self, account: &str, region: &str, key_id: &str) -> Result<()> {
                    // Material, aliases and tags go with it (ON DELETE CASCADE).
                    self.write(
                        sqlx::query(
                            "DELETE FROM kms_keys WHERE account_id = $1 AND region = $2 AND key_id = $3",
                        )
                        .bind(account)
                        .bind(region)
                        .bind(key_id),
                    )
                    .await?;
                    Ok(())
                }

                async fn rotate_key_material(
                    &self,
                    k: &KeyRecord,
                    m: &KeyMaterialRecord,
                ) -> Result<()> {
                    let mut tx = self.pool.begin().await.map_err(backend)?;
                    cas_key(&mut tx, k).await?;
                    insert_material(&mut tx, k, m).await?;
                    self.commit(tx).await
                }

                async fn get_key_material(
                    &self,
                    account: &str,
                    region: &str,
                    key_id: &str,
                    version: u32,
                ) -> Result<Option<KeyMaterialRecord>> {
                    let key = || {
                        Lookup::Material(account.into(), region.into(), key_id.into(), version)
                    };
                    self.cached(key, || {
                        sqlx::query_as::<_, KeyMaterialRecord>(
                            "SELECT * FROM kms_key_material
                             WHERE account_id = $1 AND region = $2 AND key_id = $3 AND version = $4",
                        )
                        .bind(account)
                        .bind(region)
                        .bind(key_id)
                        .bind(i64::from(version))})
                    .await
                }

                async fn list_key_materials(
                    &self,
                    account: &str,
                    region: &str,
                    key_id: &str,
                ) -> Result<Vec<KeyMaterialRecord>> {
                    sqlx::query_as(
                        "SELECT * FROM kms_key_material
                         WHERE account_id = $1 AND region = $2 AND key_id = $3 ORDER BY version",
                    )
                    .bind(account)
                    .bind(region)
                    .bind(key_id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)
                }

                async fn create_alias(&self, a: &AliasRecord) -> Result<()> {
                    let mut tx = self.pool.begin().await.map_err(backend)?;
                    insert_alias(&mut tx, a).await?;
                    self.commit(tx).await
                }

                async fn get_alias(
                    &self,
                    account: &str,
                    region: &str,
                    alias_name: &str,
                ) -> Result<Option<AliasRecord>> {
                    let key = || Lookup::Alias(account.into(), region.into(), alias_name.into());
                    self.cached(key, || {
                        sqlx::query_as::<_, AliasRecord>(
                            "SELECT * FROM kms_aliases
                             WHERE account_id = $1 AND region = $2 AND alias_name = $3",
                        )
                        .bind(account)
                        .bind(region)
                        .bind(alias_name)})
                    .await
                }

                async fn update_alias(
                    &self,
                    account: &str,
                    region: &str,
                    alias_name: &str,
                    key_id: &str,
                    now: Millis,
                ) -> Result<bool> {
                    let done = self
                        .write(
                            sqlx::query(
                                "UPDATE kms_aliases SET key_id = $1, updated_at = $2
                                 WHERE account_id = $3 AND region = $4 AND alias_name = $5",
                            )
                            .bind(key_id)
                            .bind(now)
                            .bind(account)
                            .bind(region)
                            .bind(alias_name),
                        )
                        .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn delete_alias(
                    &self,
                    account: &str,
                    region: &str,
                    alias_name: &str,
                ) -> Result<bool> {
                    let done = self
                        .write(
                            sqlx::query(
                                "DELETE FROM kms_aliases
                                 WHERE account_id = $1 AND region = $2 AND alias_name = $3",
                            )
                            .bind(account)
                            .bind(region)
                            .bind(alias_name),
                        )
                        .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn list_aliases(
                    &self,
                    account: &str,
                    region: &str,
                    key_id: Option<&str>,
                    after: Option<&str>,
                    n: usize,
                ) -> Result<Page<AliasRecord>> {
                    // The cast types the NULL test of the optional key (PostgreSQL cannot infer
                    // it; on SQLite it is a no-op).
                    let items: Vec<AliasRecord> = sqlx::query_as(
                        "SELECT * FROM kms_aliases
                         WHERE account_id = $1 AND region = $2
                           AND (CAST($3 AS TEXT) IS NULL OR key_id = $3)
                           AND alias_name > $4 ORDER BY alias_name LIMIT $5",
                    )
                    .bind(account)
                    .bind(region)
                    .bind(key_id)
                    .bind(after.unwrap_or(""))
                    .bind(limit(n).saturating_add(1))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)?;
                    Ok(page(items, n, |a| a.alias_name.clone()))
                }

                async fn tag_key(
                    &self,
                    account: &str,
                    region: &str,
                    key_id: &str,
                    tags: &[Tag],
                ) -> Result<()> {
                    let mut tx = self.pool.begin().await.map_err(backend)?;
                    for t in tags {
                        sqlx::query(
                            "INSERT INTO kms_key_tags (account_id, region, key_id, tag_key,
                                tag_value) VALUES ($1, $2, $3, $4, $5)
                             ON CONFLICT (account_id, region, key_id, tag_key)
                             DO UPDATE SET tag_value = excluded.tag_value",
                        )
                        .bind(account)
                        .bind(region)
                        .bind(key_id)
                        .bind(&t.key)
                        .bind(&t.value)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                    }
                    self.commit(tx).await
                }

                async fn untag_key(
                    &self,
                    account: &str,
                    region: &str,
                    key_id: &str,
                    tag_keys: &[String],
                ) -> Result<()> {
                    let mut tx = self.pool.begin().await.map_err(backend)?;
                    for k in tag_keys {
                        sqlx::query(
                            "DELETE FROM kms_key_tags
                             WHERE account_id = $1 AND region = $2 AND key_id = $3 AND tag_key = $4",
                        )
                        .bind(account)
                        .bind(region)
                        .bind(key_id)
                        .bind(k)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                    }
                    self.commit(tx).await
                }

                async fn list_key_tags(
                    &self,
                    account: &str,
                    region: &str,
                    key_id: &str,
                ) -> Result<Vec<Tag>> {
                    sqlx::query_as(
                        "SELECT tag_key, tag_value FROM kms_key_tags
                         WHERE account_id = $1 AND region = $2 AND key_id = $3 ORDER BY tag_key",
                    )
                    .bind(account)
                    .bind(region)
                    .bind(key_id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)
                }
            }
        }
    };
}
pub(crate) use kms_store_impl;
