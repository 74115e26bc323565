//! Secrets Manager secrets, versions and staging labels on SQLite.

use super::cache::Lookup;
use super::{SqliteStore, backend};
use crate::records::{Millis, tags_from_json, tags_to_json};
use crate::repo::Dialect;
use crate::secrets::*;
use crate::{Result, StoreError};
use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};

pub(crate) fn secret(row: &SqliteRow) -> Result<SecretRecord> {
    let tags: String = row.try_get("tags").map_err(backend)?;
    Ok(SecretRecord {
        arn: row.try_get("arn").map_err(backend)?,
        account_id: row.try_get("account_id").map_err(backend)?,
        region: row.try_get("region").map_err(backend)?,
        name: row.try_get("name").map_err(backend)?,
        description: row.try_get("description").map_err(backend)?,
        kms_key_id: row.try_get("kms_key_id").map_err(backend)?,
        tags: tags_from_json(&tags)?,
        policy: row.try_get("policy").map_err(backend)?,
        owning_service: row.try_get("owning_service").map_err(backend)?,
        primary_region: row.try_get("primary_region").map_err(backend)?,
        replication: row.try_get("replication").map_err(backend)?,
        created_at: row.try_get("created_at").map_err(backend)?,
        last_changed_at: row.try_get("last_changed_at").map_err(backend)?,
        last_accessed_at: row.try_get("last_accessed_at").map_err(backend)?,
        deleted_at: row.try_get("deleted_at").map_err(backend)?,
        purge_at: row.try_get("purge_at").map_err(backend)?,
        rotation_enabled: row.try_get("rotation_enabled").map_err(backend)?,
        rotation_lambda_arn: row.try_get("rotation_lambda_arn").map_err(backend)?,
        rotation_rules: row.try_get("rotation_rules").map_err(backend)?,
        last_rotated_at: row.try_get("last_rotated_at").map_err(backend)?,
        next_rotation_at: row.try_get("next_rotation_at").map_err(backend)?,
        row_version: row.try_get("row_version").map_err(backend)?,
    })
}

fn version(row: &SqliteRow, stages: Vec<String>) -> Result<SecretVersionRecord> {
    Ok(SecretVersionRecord {
        version_id: row.try_get("version_id").map_err(backend)?,
        created_at: row.try_get("created_at").map_err(backend)?,
        last_accessed_at: row.try_get("last_accessed_at").map_err(backend)?,
        kms_key_arn: row.try_get("kms_key_arn").map_err(backend)?,
        data_key: row.try_get("data_key").map_err(backend)?,
        ciphertext: row.try_get("ciphertext").map_err(backend)?,
        binary: row.try_get("is_binary").map_err(backend)?,
        stages,
    })
}

async fn insert_version(
    tx: &mut Transaction<'_, Sqlite>,
    arn: &str,
    v: &SecretVersionRecord,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sm_versions (secret_arn, version_id, created_at, last_accessed_at, kms_key_arn,
            data_key, ciphertext, is_binary) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(arn)
    .bind(&v.version_id)
    .bind(v.created_at)
    .bind(v.last_accessed_at)
    .bind(&v.kms_key_arn)
    .bind(&v.data_key)
    .bind(&v.ciphertext)
    .bind(v.binary)
    .execute(&mut **tx)
    .await
    .map_err(backend)?;
    Ok(())
}

async fn insert_stage(
    tx: &mut Transaction<'_, Sqlite>,
    arn: &str,
    stage: &str,
    version_id: &str,
) -> Result<()> {
    sqlx::query("INSERT INTO sm_stages (secret_arn, stage, version_id) VALUES (?, ?, ?)")
        .bind(arn)
        .bind(stage)
        .bind(version_id)
        .execute(&mut **tx)
        .await
        .map_err(backend)?;
    Ok(())
}

/// A version's labels in the same statement as the version (one round trip, one snapshot),
/// sorted, joined by the unit separator (labels cannot contain it).
const STAGE_LIST: &str = "(SELECT group_concat(stage, char(31)) FROM
    (SELECT stage FROM sm_stages l WHERE l.secret_arn = v.secret_arn AND l.version_id = v.version_id
     ORDER BY stage)) AS stage_list";

fn stage_list(row: &SqliteRow) -> Result<Vec<String>> {
    let list: Option<String> = row.try_get("stage_list").map_err(backend)?;
    Ok(list
        .map(|l| l.split('\u{1f}').map(str::to_owned).collect())
        .unwrap_or_default())
}

/// Write a secret's metadata under compare-and-set on `row_version`; false if it changed.
pub(crate) async fn update_meta(
    tx: &mut Transaction<'_, Sqlite>,
    s: &SecretRecord,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE sm_secrets SET description = ?, kms_key_id = ?, tags = ?, policy = ?,
            owning_service = ?, primary_region = ?, replication = ?, last_changed_at = ?,
            last_accessed_at = ?, deleted_at = ?, purge_at = ?, rotation_enabled = ?,
            rotation_lambda_arn = ?, rotation_rules = ?, last_rotated_at = ?,
            next_rotation_at = ?, row_version = row_version + 1
         WHERE arn = ? AND row_version = ?",
    )
    .bind(&s.description)
    .bind(&s.kms_key_id)
    .bind(tags_to_json(&s.tags))
    .bind(&s.policy)
    .bind(&s.owning_service)
    .bind(&s.primary_region)
    .bind(&s.replication)
    .bind(s.last_changed_at)
    .bind(s.last_accessed_at)
    .bind(s.deleted_at)
    .bind(s.purge_at)
    .bind(s.rotation_enabled)
    .bind(&s.rotation_lambda_arn)
    .bind(&s.rotation_rules)
    .bind(s.last_rotated_at)
    .bind(s.next_rotation_at)
    .bind(&s.arn)
    .bind(s.row_version)
    .execute(&mut **tx)
    .await
    .map_err(backend)?;
    Ok(done.rows_affected() == 1)
}

pub(crate) fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl SqliteStore {
    /// A secret's versions with `columns` of `sm_versions`, and their labels, oldest first.
    async fn versions_of(
        &self,
        arn: &str,
        columns: &'static str,
    ) -> Result<Vec<SecretVersionRecord>> {
        let sql = format!(
            "SELECT {columns} FROM sm_versions WHERE secret_arn = ? ORDER BY created_at, version_id"
        );
        // Audited: `columns` is one of two literals in this file.
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(arn)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        let stage_rows = sqlx::query(
            "SELECT stage, version_id FROM sm_stages WHERE secret_arn = ? ORDER BY stage",
        )
        .bind(arn)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        let mut stages: Vec<(String, String)> = Vec::with_capacity(stage_rows.len());
        for r in &stage_rows {
            stages.push((
                r.try_get("version_id").map_err(backend)?,
                r.try_get("stage").map_err(backend)?,
            ));
        }
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("version_id").map_err(backend)?;
                let mine = stages
                    .iter()
                    .filter(|(v, _)| *v == id)
                    .map(|(_, s)| s.clone())
                    .collect();
                version(row, mine)
            })
            .collect()
    }
}

#[async_trait]
impl SecretStore for SqliteStore {
    async fn create_secret(&self, s: &SecretRecord, v: Option<&SecretVersionRecord>) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query(
            "INSERT INTO sm_secrets (arn, account_id, region, name, description, kms_key_id, tags,
                policy, owning_service, primary_region, replication, created_at, last_changed_at,
                last_accessed_at, deleted_at, purge_at, rotation_enabled, rotation_lambda_arn,
                rotation_rules, last_rotated_at, next_rotation_at, row_version)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&s.arn)
        .bind(&s.account_id)
        .bind(&s.region)
        .bind(&s.name)
        .bind(&s.description)
        .bind(&s.kms_key_id)
        .bind(tags_to_json(&s.tags))
        .bind(&s.policy)
        .bind(&s.owning_service)
        .bind(&s.primary_region)
        .bind(&s.replication)
        .bind(s.created_at)
        .bind(s.last_changed_at)
        .bind(s.last_accessed_at)
        .bind(s.deleted_at)
        .bind(s.purge_at)
        .bind(s.rotation_enabled)
        .bind(&s.rotation_lambda_arn)
        .bind(&s.rotation_rules)
        .bind(s.last_rotated_at)
        .bind(s.next_rotation_at)
        .bind(s.row_version)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if let Some(v) = v {
            insert_version(&mut tx, &s.arn, v).await?;
            for stage in &v.stages {
                insert_stage(&mut tx, &s.arn, stage, &v.version_id).await?;
            }
        }
        self.commit(tx).await
    }

    async fn get_secret_by_arn(&self, arn: &str) -> Result<Option<SecretRecord>> {
        self.cached(|| Lookup::SecretByArn(arn.to_owned()), async {
            let row = sqlx::query("SELECT * FROM sm_secrets WHERE arn = ?")
                .bind(arn)
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
            row.as_ref().map(secret).transpose()
        })
        .await
    }

    async fn get_secret_by_name(
        &self,
        account: &str,
        region: &str,
        name: &str,
    ) -> Result<Option<SecretRecord>> {
        self.cached(
            || Lookup::SecretByName(account.to_owned(), region.to_owned(), name.to_owned()),
            async {
                let row = sqlx::query(
                    "SELECT * FROM sm_secrets WHERE account_id = ? AND region = ? AND name = ?",
                )
                .bind(account)
                .bind(region)
                .bind(name)
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
                row.as_ref().map(secret).transpose()
            },
        )
        .await
    }

    async fn list_secret_versions(&self, arn: &str) -> Result<Vec<SecretVersionRecord>> {
        self.versions_of(arn, "*").await
    }

    async fn list_secret_version_labels(&self, arn: &str) -> Result<Vec<SecretVersionRecord>> {
        self.versions_of(
            arn,
            "version_id, created_at, last_accessed_at, kms_key_arn, is_binary,
             X'' AS data_key, X'' AS ciphertext",
        )
        .await
    }

    async fn get_secret_version(
        &self,
        arn: &str,
        version_id: &str,
    ) -> Result<Option<SecretVersionRecord>> {
        self.cached(|| Lookup::Version(arn.to_owned(), version_id.to_owned()), async {
        let sql = format!(
            "SELECT v.*, {STAGE_LIST} FROM sm_versions v WHERE v.secret_arn = ? AND v.version_id = ?"
        );
        // Audited: the statement is two literals.
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(arn)
            .bind(version_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(|row| version(&row, stage_list(&row)?)).transpose()
    })
        .await
    }

    async fn get_secret_version_by_stage(
        &self,
        arn: &str,
        stage: &str,
    ) -> Result<Option<SecretVersionRecord>> {
        self.cached(
            || Lookup::VersionByStage(arn.to_owned(), stage.to_owned()),
            async {
                let sql = format!(
                    "SELECT v.*, {STAGE_LIST} FROM sm_stages s JOIN sm_versions v
               ON v.secret_arn = s.secret_arn AND v.version_id = s.version_id
             WHERE s.secret_arn = ? AND s.stage = ?"
                );
                // Audited: the statement is two literals.
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(arn)
                    .bind(stage)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend)?;
                row.map(|row| version(&row, stage_list(&row)?)).transpose()
            },
        )
        .await
    }

    async fn update_secret(&self, change: SecretChange<'_>) -> Result<()> {
        let s = change.secret;
        let mut tx = self.pool.begin().await.map_err(backend)?;
        if !update_meta(&mut tx, s).await? {
            return Err(StoreError::Conflict);
        }
        if let Some(v) = change.new_version {
            insert_version(&mut tx, &s.arn, v).await?;
        }
        if let Some(stages) = change.stages {
            sqlx::query("DELETE FROM sm_stages WHERE secret_arn = ?")
                .bind(&s.arn)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            for (stage, version_id) in stages {
                insert_stage(&mut tx, &s.arn, stage, version_id).await?;
            }
        }
        for version_id in change.prune {
            sqlx::query("DELETE FROM sm_versions WHERE secret_arn = ? AND version_id = ?")
                .bind(&s.arn)
                .bind(version_id)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        self.commit(tx).await
    }

    async fn record_secret_access(&self, arn: &str, version_id: &str, day: Millis) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query(
            "UPDATE sm_secrets SET last_accessed_at = ?
             WHERE arn = ? AND (last_accessed_at IS NULL OR last_accessed_at < ?)",
        )
        .bind(day)
        .bind(arn)
        .bind(day)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        sqlx::query(
            "UPDATE sm_versions SET last_accessed_at = ?
             WHERE secret_arn = ? AND version_id = ? AND (last_accessed_at IS NULL OR last_accessed_at < ?)",
        )
        .bind(day)
        .bind(arn)
        .bind(version_id)
        .bind(day)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        self.commit(tx).await
    }

    async fn list_secrets(&self, q: &SecretListQuery<'_>) -> Result<Vec<SecretRecord>> {
        let column = match q.sort {
            SecretSort::CreatedDate => "created_at",
            SecretSort::LastAccessedDate => "COALESCE(last_accessed_at, 0)",
            SecretSort::LastChangedDate => "last_changed_at",
            SecretSort::Name => "name",
        };
        let (cmp, order) = if q.descending {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        let deleted = if q.include_deleted {
            ""
        } else {
            "AND deleted_at IS NULL"
        };
        let position = if q.after.is_some() {
            format!("AND ({column}, arn) {cmp} (?, ?)")
        } else {
            String::new()
        };
        let sql = format!(
            "SELECT * FROM sm_secrets WHERE account_id = ? AND region = ? {deleted} {position}
             ORDER BY {column} {order}, arn {order} LIMIT ?"
        );
        // Audited: every interpolated fragment is one of the literals above; values are bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(q.account_id)
            .bind(q.region);
        if let Some(c) = q.after {
            query = match &c.value {
                SortValue::Time(t) => query.bind(*t),
                SortValue::Name(n) => query.bind(n.clone()),
            }
            .bind(c.arn.clone());
        }
        let rows = query
            .bind(limit(q.limit))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(secret).collect()
    }

    async fn purge_secret(&self, arn: &str) -> Result<bool> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query("DELETE FROM sm_stages WHERE secret_arn = ?")
            .bind(arn)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        sqlx::query("DELETE FROM sm_versions WHERE secret_arn = ?")
            .bind(arn)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let done = sqlx::query("DELETE FROM sm_secrets WHERE arn = ?")
            .bind(arn)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        self.commit(tx).await?;
        Ok(done.rows_affected() == 1)
    }

    async fn secrets_due_for_purge(&self, now: Millis, n: usize) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT arn FROM sm_secrets WHERE purge_at IS NOT NULL AND purge_at <= ? ORDER BY purge_at LIMIT ?",
        )
        .bind(now)
        .bind(limit(n))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| r.try_get("arn").map_err(backend))
            .collect()
    }
}
