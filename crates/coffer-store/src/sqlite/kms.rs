//! KMS keys, material, aliases and tags on SQLite.

use super::cache::Lookup;
use super::{SqliteStore, backend};
use crate::records::*;
use crate::{KmsStore, Page, Result, StoreError};
use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};

fn key(row: &SqliteRow) -> Result<KeyRecord> {
    let state: String = row.try_get("state").map_err(backend)?;
    let manager: String = row.try_get("key_manager").map_err(backend)?;
    let material: i64 = row.try_get("current_material").map_err(backend)?;
    Ok(KeyRecord {
        account_id: row.try_get("account_id").map_err(backend)?,
        region: row.try_get("region").map_err(backend)?,
        key_id: row.try_get("key_id").map_err(backend)?,
        description: row.try_get("description").map_err(backend)?,
        key_usage: row.try_get("key_usage").map_err(backend)?,
        key_spec: row.try_get("key_spec").map_err(backend)?,
        origin: row.try_get("origin").map_err(backend)?,
        aws_managed: manager == "AWS",
        multi_region: row.try_get("multi_region").map_err(backend)?,
        state: KeyState::parse(&state)
            .ok_or_else(|| StoreError::Backend(format!("bad key state {state:?}")))?,
        created_at: row.try_get("created_at").map_err(backend)?,
        deletion_date: row.try_get("deletion_date").map_err(backend)?,
        pending_window_days: row.try_get("pending_window_days").map_err(backend)?,
        rotation_enabled: row.try_get("rotation_enabled").map_err(backend)?,
        rotation_period_days: row.try_get("rotation_period_days").map_err(backend)?,
        next_rotation_at: row.try_get("next_rotation_at").map_err(backend)?,
        policy: row.try_get("policy").map_err(backend)?,
        current_material: u32::try_from(material)
            .map_err(|e| StoreError::Backend(e.to_string()))?,
        row_version: row.try_get("row_version").map_err(backend)?,
    })
}

fn material(row: &SqliteRow) -> Result<KeyMaterialRecord> {
    let version: i64 = row.try_get("version").map_err(backend)?;
    Ok(KeyMaterialRecord {
        version: u32::try_from(version).map_err(|e| StoreError::Backend(e.to_string()))?,
        wrapped: row.try_get("wrapped").map_err(backend)?,
        created_at: row.try_get("created_at").map_err(backend)?,
        on_demand: row.try_get("on_demand").map_err(backend)?,
    })
}

fn alias(row: &SqliteRow) -> Result<AliasRecord> {
    Ok(AliasRecord {
        account_id: row.try_get("account_id").map_err(backend)?,
        region: row.try_get("region").map_err(backend)?,
        alias_name: row.try_get("alias_name").map_err(backend)?,
        key_id: row.try_get("key_id").map_err(backend)?,
        created_at: row.try_get("created_at").map_err(backend)?,
        updated_at: row.try_get("updated_at").map_err(backend)?,
    })
}

async fn insert_material(
    tx: &mut Transaction<'_, Sqlite>,
    key: &KeyRecord,
    m: &KeyMaterialRecord,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO kms_key_material (account_id, region, key_id, version, wrapped, created_at, on_demand)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
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

/// Compare-and-set of the mutable columns: `Conflict` unless the stored row_version matches.
async fn cas_key(tx: &mut Transaction<'_, Sqlite>, k: &KeyRecord) -> Result<()> {
    let done = sqlx::query(
        "UPDATE kms_keys SET description = ?, state = ?, deletion_date = ?, pending_window_days = ?,
                rotation_enabled = ?, rotation_period_days = ?, next_rotation_at = ?, policy = ?,
                current_material = ?, row_version = row_version + 1
         WHERE account_id = ? AND region = ? AND key_id = ? AND row_version = ?",
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
impl KmsStore for SqliteStore {
    async fn create_key(
        &self,
        k: &KeyRecord,
        m: &KeyMaterialRecord,
        tags: &[Tag],
        a: Option<&AliasRecord>,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query(
            "INSERT INTO kms_keys (account_id, region, key_id, description, key_usage, key_spec, origin,
                key_manager, multi_region, state, created_at, deletion_date, pending_window_days,
                rotation_enabled, rotation_period_days, next_rotation_at, policy, current_material, row_version)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        insert_material(&mut tx, k, m).await?;
        for t in tags {
            sqlx::query("INSERT INTO kms_key_tags (account_id, region, key_id, tag_key, tag_value) VALUES (?, ?, ?, ?, ?)")
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
        self.cached(
            Lookup::KmsKey(account.to_owned(), region.to_owned(), key_id.to_owned()),
            async {
                let row = sqlx::query(
                    "SELECT * FROM kms_keys WHERE account_id = ? AND region = ? AND key_id = ?",
                )
                .bind(account)
                .bind(region)
                .bind(key_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
                row.as_ref().map(key).transpose()
            },
        )
        .await
    }

    async fn list_keys(
        &self,
        account: &str,
        region: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<String>> {
        let rows = sqlx::query(
            "SELECT key_id FROM kms_keys WHERE account_id = ? AND region = ? AND key_id > ? ORDER BY key_id LIMIT ?",
        )
        .bind(account)
        .bind(region)
        .bind(after.unwrap_or(""))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        let mut items = rows
            .iter()
            .map(|r| r.try_get::<String, _>("key_id").map_err(backend))
            .collect::<Result<Vec<_>>>()?;
        Ok(page(&mut items, limit, |k| k.clone()))
    }

    async fn update_key(&self, k: &KeyRecord) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        cas_key(&mut tx, k).await?;
        self.commit(tx).await
    }

    async fn delete_key(&self, account: &str, region: &str, key_id: &str) -> Result<()> {
        // Material, aliases and tags go with it (ON DELETE CASCADE).
        self.write(
            sqlx::query("DELETE FROM kms_keys WHERE account_id = ? AND region = ? AND key_id = ?")
                .bind(account)
                .bind(region)
                .bind(key_id),
        )
        .await?;
        Ok(())
    }

    async fn rotate_key_material(&self, k: &KeyRecord, m: &KeyMaterialRecord) -> Result<()> {
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
        self.cached(Lookup::Material(account.to_owned(), region.to_owned(), key_id.to_owned(), version), async {
        let row = sqlx::query(
            "SELECT * FROM kms_key_material WHERE account_id = ? AND region = ? AND key_id = ? AND version = ?",
        )
        .bind(account)
        .bind(region)
        .bind(key_id)
        .bind(i64::from(version))
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.as_ref().map(material).transpose()
    })
        .await
    }

    async fn list_key_materials(
        &self,
        account: &str,
        region: &str,
        key_id: &str,
    ) -> Result<Vec<KeyMaterialRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM kms_key_material WHERE account_id = ? AND region = ? AND key_id = ? ORDER BY version",
        )
        .bind(account)
        .bind(region)
        .bind(key_id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(material).collect()
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
        self.cached(
            Lookup::Alias(account.to_owned(), region.to_owned(), alias_name.to_owned()),
            async {
                let row = sqlx::query(
            "SELECT * FROM kms_aliases WHERE account_id = ? AND region = ? AND alias_name = ?",
        )
        .bind(account)
        .bind(region)
        .bind(alias_name)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
                row.as_ref().map(alias).transpose()
            },
        )
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
        let done = self.write(sqlx::query(
            "UPDATE kms_aliases SET key_id = ?, updated_at = ? WHERE account_id = ? AND region = ? AND alias_name = ?",
        )
        .bind(key_id)
        .bind(now)
        .bind(account)
        .bind(region)
        .bind(alias_name)
        ).await?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_alias(&self, account: &str, region: &str, alias_name: &str) -> Result<bool> {
        let done = self.write(sqlx::query(
            "DELETE FROM kms_aliases WHERE account_id = ? AND region = ? AND alias_name = ?",
        )
        .bind(account)
        .bind(region)
        .bind(alias_name)
        ).await?;
        Ok(done.rows_affected() == 1)
    }

    async fn list_aliases(
        &self,
        account: &str,
        region: &str,
        key_id: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<AliasRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM kms_aliases WHERE account_id = ? AND region = ? AND (? IS NULL OR key_id = ?)
             AND alias_name > ? ORDER BY alias_name LIMIT ?",
        )
        .bind(account)
        .bind(region)
        .bind(key_id)
        .bind(key_id)
        .bind(after.unwrap_or(""))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        let mut items = rows.iter().map(alias).collect::<Result<Vec<_>>>()?;
        Ok(page(&mut items, limit, |a| a.alias_name.clone()))
    }

    async fn tag_key(&self, account: &str, region: &str, key_id: &str, tags: &[Tag]) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        for t in tags {
            sqlx::query(
                "INSERT INTO kms_key_tags (account_id, region, key_id, tag_key, tag_value) VALUES (?, ?, ?, ?, ?)
                 ON CONFLICT (account_id, region, key_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value",
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
            sqlx::query("DELETE FROM kms_key_tags WHERE account_id = ? AND region = ? AND key_id = ? AND tag_key = ?")
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

    async fn list_key_tags(&self, account: &str, region: &str, key_id: &str) -> Result<Vec<Tag>> {
        let rows = sqlx::query(
            "SELECT tag_key, tag_value FROM kms_key_tags WHERE account_id = ? AND region = ? AND key_id = ? ORDER BY tag_key",
        )
        .bind(account)
        .bind(region)
        .bind(key_id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(Tag {
                    key: r.try_get("tag_key").map_err(backend)?,
                    value: r.try_get("tag_value").map_err(backend)?,
                })
            })
            .collect()
    }
}

async fn insert_alias(tx: &mut Transaction<'_, Sqlite>, a: &AliasRecord) -> Result<()> {
    sqlx::query(
        "INSERT INTO kms_aliases (account_id, region, alias_name, key_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
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

/// Queries fetch `limit + 1` rows: the extra one only says whether another page exists.
fn page<T>(items: &mut Vec<T>, limit: usize, cursor: impl Fn(&T) -> String) -> Page<T> {
    let more = items.len() > limit;
    items.truncate(limit);
    let next = if more { items.last().map(cursor) } else { None };
    Page {
        items: std::mem::take(items),
        next,
    }
}
