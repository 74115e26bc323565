//! Secrets Manager secrets, versions and staging labels: [`SecretStore`](crate::SecretStore) for a
//! backend's store.
//!
//! `update_secret` does its compare-and-set on the secret row first: on PostgreSQL that takes the
//! row lock, so every label move and version insert of a change happens under it and a concurrent
//! writer on another node waits, re-checks `row_version`, and fails with `Conflict` (SQLite has
//! one writer at a time). Every read of a version returns its labels from the same statement
//! ([`Dialect::list`](crate::repo::Dialect::list)): one snapshot, never a label a concurrent
//! writer moved in between two reads.

use crate::repo::Dialect;

/// `SELECT {columns}, <labels> AS stages {tail}` over `sm_versions v`.
pub(crate) fn version_sql<D: Dialect>(columns: &str, tail: &str) -> String {
    let stages = D::list(
        "l.stage",
        "FROM sm_stages l WHERE l.secret_arn = v.secret_arn AND l.version_id = v.version_id",
        "l.stage",
    );
    format!("SELECT {columns}, {stages} AS stages {tail}")
}

/// The versions of secret `$1` holding a label: driven by the labels (a primary-key probe each),
/// never by a scan of the secret's versions, however many unlabelled ones it holds (a hot
/// secret keeps every version of the last 24 hours).
pub(crate) const LABELLED_VERSIONS: &str =
    "FROM sm_versions v WHERE (v.secret_arn, v.version_id) IN
       (SELECT l.secret_arn, l.version_id FROM sm_stages l WHERE l.secret_arn = $1)
     ORDER BY v.created_at, v.version_id";

/// The columns of a version without its sealed value (data key and ciphertext left empty).
pub(crate) fn label_columns<D: Dialect>() -> String {
    let empty = D::EMPTY_BLOB;
    format!(
        "v.version_id, v.created_at, v.last_accessed_at, v.kms_key_arn, v.is_binary,
         {empty} AS data_key, {empty} AS ciphertext"
    )
}

/// The statements of a secret write, shared by the sqlx bodies below (both backends) and SQLite's
/// writer thread (`sqlite/writer.rs`, which binds them with rusqlite).
pub(crate) mod sql {
    /// A secret's metadata under compare-and-set on `row_version` ($18); `name`, `arn`,
    /// `account_id`, `region` and `created_at` never change.
    pub(crate) const UPDATE_META: &str = "UPDATE sm_secrets SET description = $1, kms_key_id = $2,
           tags = $3, policy = $4, owning_service = $5, primary_region = $6, replication = $7,
           last_changed_at = $8, last_accessed_at = $9, deleted_at = $10, purge_at = $11,
           rotation_enabled = $12, rotation_lambda_arn = $13, rotation_rules = $14,
           last_rotated_at = $15, next_rotation_at = $16, tags_listed = $19,
           replication_due_at = $20, row_version = row_version + 1
         WHERE arn = $17 AND row_version = $18";

    pub(crate) const INSERT_SECRET: &str = "INSERT INTO sm_secrets (arn, account_id, region, name,
           description, kms_key_id, tags, policy, owning_service, primary_region, replication,
           created_at, last_changed_at, last_accessed_at, deleted_at, purge_at, rotation_enabled,
           rotation_lambda_arn, rotation_rules, last_rotated_at, next_rotation_at, row_version,
           tags_listed, replication_due_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
           $19, $20, $21, $22, $23, $24)";

    pub(crate) const INSERT_VERSION: &str = "INSERT INTO sm_versions (secret_arn, version_id,
           created_at, last_accessed_at, kms_key_arn, data_key, ciphertext, is_binary)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

    pub(crate) const DELETE_STAGES: &str = "DELETE FROM sm_stages WHERE secret_arn = $1";

    pub(crate) const DELETE_VERSION: &str =
        "DELETE FROM sm_versions WHERE secret_arn = $1 AND version_id = $2";

    /// When the oldest version of secret $1 was created (one index probe).
    pub(crate) const OLDEST_VERSION: &str =
        "SELECT MIN(created_at) FROM sm_versions WHERE secret_arn = $1";

    /// The oldest unlabelled versions of secret $1 created at or before $2, while more than
    /// $3 versions remain.
    pub(crate) const PRUNE_BEYOND: &str = "DELETE FROM sm_versions WHERE secret_arn = $1
           AND version_id IN (
             SELECT v.version_id FROM sm_versions v
              WHERE v.secret_arn = $1 AND v.created_at <= $2
                AND NOT EXISTS (SELECT 1 FROM sm_stages l
                                 WHERE l.secret_arn = v.secret_arn AND l.version_id = v.version_id)
              ORDER BY v.created_at, v.version_id
              LIMIT (SELECT CASE WHEN COUNT(*) > $3 THEN COUNT(*) - $3 ELSE 0 END
                       FROM sm_versions WHERE secret_arn = $1))";

    /// `n` labels of secret $1 in one statement: rows `($1, $2, $3), ($1, $4, $5), ...` of
    /// (label, version id).
    pub(crate) fn insert_stages(n: usize) -> String {
        let rows: Vec<String> = (0..n)
            .map(|i| format!("($1, ${}, ${})", 2 * i + 2, 2 * i + 3))
            .collect();
        format!(
            "INSERT INTO sm_stages (secret_arn, stage, version_id) VALUES {}",
            rows.join(", ")
        )
    }
}

macro_rules! secret_store_impl {
    ($store:ident) => {
        mod secrets {
            use super::{$store, backend};
            use crate::records::{Millis, tags_to_json};
            use crate::repo::secrets::sql::UPDATE_META;
            use crate::repo::secrets::{LABELLED_VERSIONS, label_columns, version_sql};
            use crate::repo::{Dialect, limit};
            use crate::secrets::*;
            use crate::sqlite::cache::Lookup;
            use crate::Result;
            use async_trait::async_trait;
            use sqlx::Transaction;

            type Tx<'c> = Transaction<'c, <$store as Dialect>::Db>;

            /// Write a secret's metadata under compare-and-set on `row_version` (on PostgreSQL
            /// taking the row lock); false if it changed.
            pub(super) async fn update_meta(tx: &mut Tx<'_>, s: &SecretRecord) -> Result<bool> {
                let done = sqlx::query(UPDATE_META)
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
                .bind(s.tags_listed)
                .bind(s.replication_due_at)
                .execute(&mut **tx)
                .await
                .map_err(backend)?;
                Ok(done.rows_affected() == 1)
            }

            impl $store {
                /// A secret's versions with `columns` of `sm_versions v`, and their labels,
                /// oldest first.
                async fn versions_of(
                    &self,
                    arn: &str,
                    columns: &str,
                ) -> Result<Vec<SecretVersionRecord>> {
                    let sql = version_sql::<$store>(
                        columns,
                        "FROM sm_versions v WHERE v.secret_arn = $1
                         ORDER BY v.created_at, v.version_id",
                    );
                    // Audited: built from constant fragments only.
                    sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .bind(arn)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(backend)
                }
            }

            #[async_trait]
            impl SecretStore for $store {
                async fn create_secret(
                    &self,
                    s: &SecretRecord,
                    v: Option<&SecretVersionRecord>,
                ) -> Result<()> {
                    self.insert_secret(s, v).await
                }

                async fn get_secret_by_arn(&self, arn: &str) -> Result<Option<SecretRecord>> {
                    self.cached(
                        || Lookup::SecretByArn(arn.into()), || {
                            sqlx::query_as::<_, SecretRecord>("SELECT * FROM sm_secrets WHERE arn = $1")
                                .bind(arn)})
                    .await
                }

                async fn get_secret_by_name(
                    &self,
                    account: &str,
                    region: &str,
                    name: &str,
                ) -> Result<Option<SecretRecord>> {
                    let key = || Lookup::SecretByName(account.into(), region.into(), name.into());
                    self.cached(key, || {
                        sqlx::query_as::<_, SecretRecord>(
                            "SELECT * FROM sm_secrets
                             WHERE account_id = $1 AND region = $2 AND name = $3",
                        )
                        .bind(account)
                        .bind(region)
                        .bind(name)})
                    .await
                }

                async fn list_secret_versions(
                    &self,
                    arn: &str,
                ) -> Result<Vec<SecretVersionRecord>> {
                    self.versions_of(arn, "v.*").await
                }

                async fn list_secret_version_labels(
                    &self,
                    arn: &str,
                ) -> Result<Vec<SecretVersionRecord>> {
                    self.versions_of(arn, &label_columns::<$store>()).await
                }

                async fn list_labelled_secret_versions(
                    &self,
                    arn: &str,
                ) -> Result<Vec<SecretVersionRecord>> {
                    let sql = version_sql::<$store>(
                        &label_columns::<$store>(),
                        LABELLED_VERSIONS,
                    );
                    // Audited: built from constant fragments only.
                    sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .bind(arn)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(backend)
                }

                async fn get_secret_version(
                    &self,
                    arn: &str,
                    version_id: &str,
                ) -> Result<Option<SecretVersionRecord>> {
                    let key = || Lookup::Version(arn.into(), version_id.into());
                    self.cached(key, || {
                        let sql = version_sql::<$store>(
                            "v.*",
                            "FROM sm_versions v WHERE v.secret_arn = $1 AND v.version_id = $2",
                        );
                        // Audited: built from constant fragments only.
                        sqlx::query_as::<_, SecretVersionRecord>(sqlx::AssertSqlSafe(sql))
                            .bind(arn)
                            .bind(version_id)})
                    .await
                }

                async fn get_secret_version_by_stage(
                    &self,
                    arn: &str,
                    stage: &str,
                ) -> Result<Option<SecretVersionRecord>> {
                    let key = || Lookup::VersionByStage(arn.into(), stage.into());
                    self.cached(key, || {
                        let sql = version_sql::<$store>(
                            "v.*",
                            "FROM sm_stages st JOIN sm_versions v
                               ON v.secret_arn = st.secret_arn AND v.version_id = st.version_id
                             WHERE st.secret_arn = $1 AND st.stage = $2",
                        );
                        // Audited: built from constant fragments only.
                        sqlx::query_as::<_, SecretVersionRecord>(sqlx::AssertSqlSafe(sql))
                            .bind(arn)
                            .bind(stage)})
                    .await
                }

                async fn get_secret_with_staged_version(
                    &self,
                    by: SecretBy<'_>,
                    stage: &str,
                ) -> Result<Option<StagedRead>> {
                    self.staged_read(by, stage).await
                }

                async fn update_secret(&self, change: SecretChange<'_>) -> Result<()> {
                    self.apply_secret_change(change).await
                }

                async fn record_secret_access(
                    &self,
                    arn: &str,
                    version_id: &str,
                    day: Millis,
                ) -> Result<()> {
                    let _gate = self.write_gate().await;
                    let mut tx = self.pool.begin().await.map_err(backend)?;
                    sqlx::query(
                        "UPDATE sm_secrets SET last_accessed_at = $1
                         WHERE arn = $2 AND (last_accessed_at IS NULL OR last_accessed_at < $1)",
                    )
                    .bind(day)
                    .bind(arn)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                    sqlx::query(
                        "UPDATE sm_versions SET last_accessed_at = $1
                         WHERE secret_arn = $2 AND version_id = $3
                           AND (last_accessed_at IS NULL OR last_accessed_at < $1)",
                    )
                    .bind(day)
                    .bind(arn)
                    .bind(version_id)
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
                    // $1 account, $2 region, then the cursor's two values if any, then the limit.
                    let (position, limit_param) = if q.after.is_some() {
                        (format!("AND ({column}, arn) {cmp} ($3, $4)"), "$5")
                    } else {
                        (String::new(), "$3")
                    };
                    let sql = format!(
                        "SELECT * FROM sm_secrets
                         WHERE account_id = $1 AND region = $2 {deleted} {position}
                         ORDER BY {column} {order}, arn {order} LIMIT {limit_param}"
                    );
                    // Audited: every interpolated fragment is one of the literals above; values
                    // are bound.
                    let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .bind(q.account_id)
                        .bind(q.region);
                    if let Some(c) = q.after {
                        query = match &c.value {
                            SortValue::Time(t) => query.bind(*t),
                            SortValue::Name(n) => query.bind(n.clone()),
                        }
                        .bind(c.arn.clone());
                    }
                    query
                        .bind(limit(q.limit))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(backend)
                }

                async fn purge_secret(&self, arn: &str) -> Result<bool> {
                    let mut tx = self.pool.begin().await.map_err(backend)?;
                    sqlx::query("DELETE FROM sm_stages WHERE secret_arn = $1")
                        .bind(arn)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                    sqlx::query("DELETE FROM sm_versions WHERE secret_arn = $1")
                        .bind(arn)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                    let done = sqlx::query("DELETE FROM sm_secrets WHERE arn = $1")
                        .bind(arn)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                    self.commit(tx).await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn secrets_due_for_purge(&self, now: Millis, n: usize) -> Result<Vec<String>> {
                    sqlx::query_scalar(
                        "SELECT arn FROM sm_secrets WHERE purge_at IS NOT NULL AND purge_at <= $1
                         ORDER BY purge_at LIMIT $2",
                    )
                    .bind(now)
                    .bind(limit(n))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)
                }

                async fn secrets_due_for_replication(
                    &self,
                    now: Millis,
                    n: usize,
                ) -> Result<Vec<SecretRecord>> {
                    sqlx::query_as(
                        "SELECT * FROM sm_secrets
                         WHERE replication_due_at IS NOT NULL AND replication_due_at <= $1
                         ORDER BY replication_due_at LIMIT $2",
                    )
                    .bind(now)
                    .bind(limit(n))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)
                }
            }
        }
    };
}
pub(crate) use secret_store_impl;

/// The sqlx bodies of a secret's writes, in a transaction of the pool: PostgreSQL's (SQLite
/// runs the same statements, [`sql`], on its writer thread: `sqlite/writer.rs`).
macro_rules! secret_writes_impl {
    ($store:ident) => {
        mod secret_writes {
            use super::secrets::update_meta;
            use super::{backend, $store};
            use crate::records::{Millis, tags_to_json};
            use crate::repo::Dialect;
            use crate::repo::secrets::sql::{self, *};
            use crate::secrets::*;
            use crate::{Result, StoreError};
            use sqlx::Transaction;

            type Tx<'c> = Transaction<'c, <$store as Dialect>::Db>;

            async fn insert_version(
                tx: &mut Tx<'_>,
                arn: &str,
                v: &SecretVersionRecord,
            ) -> Result<()> {
                sqlx::query(INSERT_VERSION)
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

            /// Every label of a change in one statement (one round trip, where a statement per
            /// label made a PutSecretValue's transaction the longer by one or two).
            async fn insert_stages<'a>(
                tx: &mut Tx<'_>,
                arn: &str,
                stages: impl ExactSizeIterator<Item = (&'a str, &'a str)>,
            ) -> Result<()> {
                if stages.len() == 0 {
                    return Ok(());
                }
                let sql = sql::insert_stages(stages.len());
                // Audited: built from constant fragments and placeholder numbers only.
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(arn);
                for (stage, version_id) in stages {
                    query = query.bind(stage).bind(version_id);
                }
                query.execute(&mut **tx).await.map_err(backend)?;
                Ok(())
            }

            /// The oldest unlabelled versions created at or before `created_before`, while
            /// more than `keep` remain; nothing (one index probe) while none is that old.
            async fn prune_beyond(
                tx: &mut Tx<'_>,
                arn: &str,
                keep: usize,
                created_before: Millis,
            ) -> Result<()> {
                let oldest: Option<Millis> = sqlx::query_scalar(OLDEST_VERSION)
                    .bind(arn)
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(backend)?;
                if oldest.is_none_or(|t| t > created_before) {
                    return Ok(());
                }
                sqlx::query(PRUNE_BEYOND)
                    .bind(arn)
                    .bind(created_before)
                    .bind(i64::try_from(keep).unwrap_or(i64::MAX))
                    .execute(&mut **tx)
                    .await
                    .map_err(backend)?;
                Ok(())
            }

            impl $store {
                /// CreateSecret's rows (`SecretStore::create_secret`) in one transaction.
                pub(crate) async fn insert_secret(
                    &self,
                    s: &SecretRecord,
                    v: Option<&SecretVersionRecord>,
                ) -> Result<()> {
                    let _gate = self.write_gate().await;
                    let mut tx = self.pool.begin().await.map_err(backend)?;
                    sqlx::query(INSERT_SECRET)
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
                        .bind(s.tags_listed)
                        .bind(s.replication_due_at)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                    if let Some(v) = v {
                        insert_version(&mut tx, &s.arn, v).await?;
                        let stages = v.stages.iter().map(|l| (l.as_str(), v.version_id.as_str()));
                        insert_stages(&mut tx, &s.arn, stages).await?;
                    }
                    self.commit(tx).await
                }

                /// A change to a secret (`SecretStore::update_secret`) in one transaction, under
                /// compare-and-set on its `row_version`.
                pub(crate) async fn apply_secret_change(
                    &self,
                    change: SecretChange<'_>,
                ) -> Result<()> {
                    let s = change.secret;
                    let _gate = self.write_gate().await;
                    let mut tx = self.pool.begin().await.map_err(backend)?;
                    if !update_meta(&mut tx, s).await? {
                        return Err(StoreError::Conflict);
                    }
                    if let Some(v) = change.new_version {
                        insert_version(&mut tx, &s.arn, v).await?;
                    }
                    if let Some(stages) = change.stages {
                        sqlx::query(DELETE_STAGES)
                            .bind(&s.arn)
                            .execute(&mut *tx)
                            .await
                            .map_err(backend)?;
                        let stages = stages.iter().map(|(l, v)| (l.as_str(), v.as_str()));
                        insert_stages(&mut tx, &s.arn, stages).await?;
                    }
                    if let Some((keep, created_before)) = change.prune_beyond {
                        prune_beyond(&mut tx, &s.arn, keep, created_before).await?;
                    }
                    for version_id in change.prune {
                        sqlx::query(DELETE_VERSION)
                            .bind(&s.arn)
                            .bind(version_id)
                            .execute(&mut *tx)
                            .await
                            .map_err(backend)?;
                    }
                    self.commit(tx).await
                }
            }
        }
    };
}
pub(crate) use secret_writes_impl;
