//! The [`IamStore`](crate::IamStore) implementation shared by both backends, and its helpers.

use crate::{Result, StoreError};

pub(crate) fn strings_json(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".to_owned())
}

pub(crate) fn strings_from_json(s: &str) -> Result<Vec<String>> {
    serde_json::from_str(s).map_err(|e| StoreError::Backend(format!("bad list: {e}")))
}

pub(crate) const EFFECTIVE_POLICIES: &str = "
SELECT document FROM iam_inline_policies
 WHERE account_id = $1 AND owner_kind = $2 AND owner_name = $3
UNION ALL
SELECT v.document FROM iam_attachments a
  JOIN iam_managed_policies p ON p.account_id = a.account_id AND p.arn = a.policy_arn
  JOIN iam_policy_versions v ON v.account_id = p.account_id AND v.policy_name = p.name
   AND v.version_id = p.default_version
 WHERE a.account_id = $1 AND a.owner_kind = $2 AND a.owner_name = $3
UNION ALL
SELECT i.document FROM iam_group_members m
  JOIN iam_inline_policies i ON i.account_id = m.account_id AND i.owner_kind = 'group'
   AND i.owner_name = m.group_name
 WHERE m.account_id = $1 AND $2 = 'user' AND m.user_name = $3
UNION ALL
SELECT v.document FROM iam_group_members m
  JOIN iam_attachments a ON a.account_id = m.account_id AND a.owner_kind = 'group'
   AND a.owner_name = m.group_name
  JOIN iam_managed_policies p ON p.account_id = a.account_id AND p.arn = a.policy_arn
  JOIN iam_policy_versions v ON v.account_id = p.account_id AND v.policy_name = p.name
   AND v.version_id = p.default_version
 WHERE m.account_id = $1 AND $2 = 'user' AND m.user_name = $3
UNION ALL
SELECT 'aws-managed:' || a.policy_arn FROM iam_attachments a
 WHERE a.account_id = $1 AND a.owner_kind = $2 AND a.owner_name = $3
   AND a.policy_arn LIKE 'arn:aws:iam::aws:policy/%'
UNION ALL
SELECT 'aws-managed:' || a.policy_arn FROM iam_group_members m
  JOIN iam_attachments a ON a.account_id = m.account_id AND a.owner_kind = 'group'
   AND a.owner_name = m.group_name
 WHERE m.account_id = $1 AND $2 = 'user' AND m.user_name = $3
   AND a.policy_arn LIKE 'arn:aws:iam::aws:policy/%'";

/// The [`IamStore`] implementation for a backend whose module has `backend(sqlx::Error)` and
/// whose store has a `pool` field; `$row` is its row type.
macro_rules! iam_store_impl {
    ($store:ty, $row:ty) => {
        mod iam_impl {
            use super::backend;
            use crate::iam::*;
            use crate::repo::iam::*;
            use crate::records::{AccessKeyRecord, AccessKeyStatus};
            use crate::{Result, StoreError};
            use async_trait::async_trait;
            use sqlx::Row;

            fn get<'r, T>(row: &'r $row, name: &str) -> Result<T>
            where
                T: sqlx::Decode<'r, <$row as Row>::Database>
                    + sqlx::Type<<$row as Row>::Database>,
            {
                row.try_get(name).map_err(backend)
            }

            fn entity(r: &$row) -> Result<IamEntityRecord> {
                sqlx::FromRow::from_row(r).map_err(backend)
            }

            fn managed(r: &$row) -> Result<ManagedPolicyRecord> {
                sqlx::FromRow::from_row(r).map_err(backend)
            }

            fn version(r: &$row) -> Result<PolicyVersionRecord> {
                sqlx::FromRow::from_row(r).map_err(backend)
            }

            fn oidc(r: &$row) -> Result<OidcProviderRecord> {
                sqlx::FromRow::from_row(r).map_err(backend)
            }

            fn strings(rows: &[$row], col: &str) -> Result<Vec<String>> {
                rows.iter().map(|r| get(r, col)).collect()
            }

            #[async_trait]
            impl IamStore for $store {
                async fn create_entity(&self, e: &IamEntityRecord) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO iam_entities (account_id, kind, name, entity_id, path, arn,
                           created_at, tags, trust_policy, max_session_duration, description,
                           row_version, permissions_boundary)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                    )
                    .bind(&e.account_id)
                    .bind(e.kind.as_str())
                    .bind(&e.name)
                    .bind(&e.id)
                    .bind(&e.path)
                    .bind(&e.arn)
                    .bind(e.created_at)
                    .bind(crate::records::tags_to_json(&e.tags))
                    .bind(&e.trust_policy)
                    .bind(e.max_session_duration)
                    .bind(&e.description)
                    .bind(e.row_version)
                    .bind(&e.permissions_boundary)
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?;
                    Ok(())
                }

                async fn get_entity(
                    &self,
                    account: &str,
                    kind: IamKind,
                    name: &str,
                ) -> Result<Option<IamEntityRecord>> {
                    let row = sqlx::query(
                        "SELECT * FROM iam_entities WHERE account_id = $1 AND kind = $2 AND name = $3",
                    )
                    .bind(account)
                    .bind(kind.as_str())
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend)?;
                    row.as_ref().map(entity).transpose()
                }

                async fn list_entities(
                    &self,
                    account: &str,
                    kind: IamKind,
                    path_prefix: &str,
                ) -> Result<Vec<IamEntityRecord>> {
                    let rows = sqlx::query(
                        "SELECT * FROM iam_entities WHERE account_id = $1 AND kind = $2
                          AND substr(path, 1, length($3)) = $3 ORDER BY name",
                    )
                    .bind(account)
                    .bind(kind.as_str())
                    .bind(path_prefix)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)?;
                    rows.iter().map(entity).collect()
                }

                async fn update_entity(&self, e: &IamEntityRecord) -> Result<()> {
                    let done = sqlx::query(
                        "UPDATE iam_entities SET tags = $1, trust_policy = $2,
                           max_session_duration = $3, description = $4, row_version = $5 + 1,
                           permissions_boundary = $9
                         WHERE account_id = $6 AND kind = $7 AND name = $8 AND row_version = $5",
                    )
                    .bind(crate::records::tags_to_json(&e.tags))
                    .bind(&e.trust_policy)
                    .bind(e.max_session_duration)
                    .bind(&e.description)
                    .bind(e.row_version)
                    .bind(&e.account_id)
                    .bind(e.kind.as_str())
                    .bind(&e.name)
                    .bind(&e.permissions_boundary)
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?;
                    if done.rows_affected() == 1 {
                        Ok(())
                    } else {
                        Err(StoreError::Conflict)
                    }
                }

                async fn delete_entity(
                    &self,
                    account: &str,
                    kind: IamKind,
                    name: &str,
                ) -> Result<bool> {
                    let mut tx = self.pool.begin().await.map_err(backend)?;
                    for sql in [
                        "DELETE FROM iam_inline_policies WHERE account_id = $1 AND owner_kind = $2 AND owner_name = $3",
                        "DELETE FROM iam_attachments WHERE account_id = $1 AND owner_kind = $2 AND owner_name = $3",
                        "DELETE FROM iam_group_members WHERE account_id = $1 AND (($2 = 'user' AND user_name = $3) OR ($2 = 'group' AND group_name = $3))",
                    ] {
                        sqlx::query(sql)
                            .bind(account)
                            .bind(kind.as_str())
                            .bind(name)
                            .execute(&mut *tx)
                            .await
                            .map_err(backend)?;
                    }
                    let done = sqlx::query(
                        "DELETE FROM iam_entities WHERE account_id = $1 AND kind = $2 AND name = $3",
                    )
                    .bind(account)
                    .bind(kind.as_str())
                    .bind(name)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                    tx.commit().await.map_err(backend)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn list_access_keys_of(
                    &self,
                    account: &str,
                    principal_arn: &str,
                ) -> Result<Vec<AccessKeyRecord>> {
                    let rows = sqlx::query(
                        "SELECT * FROM access_keys WHERE account_id = $1 AND principal_arn = $2
                          ORDER BY created_at, access_key_id",
                    )
                    .bind(account)
                    .bind(principal_arn)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)?;
                    rows.iter()
                        .map(|r| sqlx::FromRow::from_row(r).map_err(backend))
                        .collect()
                }

                async fn set_access_key_status(
                    &self,
                    access_key_id: &str,
                    s: AccessKeyStatus,
                ) -> Result<bool> {
                    let done =
                        sqlx::query("UPDATE access_keys SET status = $1 WHERE access_key_id = $2")
                            .bind(s.as_str())
                            .bind(access_key_id)
                            .execute(&self.pool)
                            .await
                            .map_err(backend)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn delete_access_key(&self, access_key_id: &str) -> Result<bool> {
                    let done = sqlx::query("DELETE FROM access_keys WHERE access_key_id = $1")
                        .bind(access_key_id)
                        .execute(&self.pool)
                        .await
                        .map_err(backend)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn put_inline_policy(
                    &self,
                    account: &str,
                    kind: IamKind,
                    owner: &str,
                    policy_name: &str,
                    document: &str,
                ) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO iam_inline_policies (account_id, owner_kind, owner_name, policy_name, document)
                         VALUES ($1, $2, $3, $4, $5)
                         ON CONFLICT (account_id, owner_kind, owner_name, policy_name)
                         DO UPDATE SET document = excluded.document",
                    )
                    .bind(account)
                    .bind(kind.as_str())
                    .bind(owner)
                    .bind(policy_name)
                    .bind(document)
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?;
                    Ok(())
                }

                async fn get_inline_policy(
                    &self,
                    account: &str,
                    kind: IamKind,
                    owner: &str,
                    policy_name: &str,
                ) -> Result<Option<String>> {
                    let row = sqlx::query(
                        "SELECT document FROM iam_inline_policies WHERE account_id = $1
                          AND owner_kind = $2 AND owner_name = $3 AND policy_name = $4",
                    )
                    .bind(account)
                    .bind(kind.as_str())
                    .bind(owner)
                    .bind(policy_name)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend)?;
                    row.as_ref().map(|r| get(r, "document")).transpose()
                }

                async fn delete_inline_policy(
                    &self,
                    account: &str,
                    kind: IamKind,
                    owner: &str,
                    policy_name: &str,
                ) -> Result<bool> {
                    let done = sqlx::query(
                        "DELETE FROM iam_inline_policies WHERE account_id = $1
                          AND owner_kind = $2 AND owner_name = $3 AND policy_name = $4",
                    )
                    .bind(account)
                    .bind(kind.as_str())
                    .bind(owner)
                    .bind(policy_name)
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn list_inline_policies(
                    &self,
                    account: &str,
                    kind: IamKind,
                    owner: &str,
                ) -> Result<Vec<String>> {
                    let rows = sqlx::query(
                        "SELECT policy_name FROM iam_inline_policies WHERE account_id = $1
                          AND owner_kind = $2 AND owner_name = $3 ORDER BY policy_name",
                    )
                    .bind(account)
                    .bind(kind.as_str())
                    .bind(owner)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)?;
                    strings(&rows, "policy_name")
                }

                async fn create_managed_policy(
                    &self,
                    p: &ManagedPolicyRecord,
                    first: &PolicyVersionRecord,
                ) -> Result<()> {
                    let mut tx = self.pool.begin().await.map_err(backend)?;
                    sqlx::query(
                        "INSERT INTO iam_managed_policies (account_id, name, policy_id, path, arn,
                           description, default_version, next_version, created_at, updated_at,
                           row_version)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                    )
                    .bind(&p.account_id)
                    .bind(&p.name)
                    .bind(&p.id)
                    .bind(&p.path)
                    .bind(&p.arn)
                    .bind(&p.description)
                    .bind(&p.default_version)
                    .bind(p.next_version)
                    .bind(p.created_at)
                    .bind(p.updated_at)
                    .bind(p.row_version)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                    sqlx::query(
                        "INSERT INTO iam_policy_versions (account_id, policy_name, version_id, document, created_at)
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(&p.account_id)
                    .bind(&p.name)
                    .bind(&first.version_id)
                    .bind(&first.document)
                    .bind(first.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                    tx.commit().await.map_err(backend)
                }

                async fn get_managed_policy(
                    &self,
                    account: &str,
                    arn: &str,
                ) -> Result<Option<ManagedPolicyRecord>> {
                    let row = sqlx::query(
                        "SELECT * FROM iam_managed_policies WHERE account_id = $1 AND arn = $2",
                    )
                    .bind(account)
                    .bind(arn)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend)?;
                    row.as_ref().map(managed).transpose()
                }

                async fn list_managed_policies(
                    &self,
                    account: &str,
                ) -> Result<Vec<ManagedPolicyRecord>> {
                    let rows = sqlx::query(
                        "SELECT * FROM iam_managed_policies WHERE account_id = $1 ORDER BY name",
                    )
                    .bind(account)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)?;
                    rows.iter().map(managed).collect()
                }

                async fn delete_managed_policy(&self, account: &str, arn: &str) -> Result<bool> {
                    let mut tx = self.pool.begin().await.map_err(backend)?;
                    sqlx::query(
                        "DELETE FROM iam_policy_versions WHERE account_id = $1 AND policy_name IN
                           (SELECT name FROM iam_managed_policies WHERE account_id = $1 AND arn = $2)",
                    )
                    .bind(account)
                    .bind(arn)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                    let done = sqlx::query(
                        "DELETE FROM iam_managed_policies WHERE account_id = $1 AND arn = $2",
                    )
                    .bind(account)
                    .bind(arn)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                    tx.commit().await.map_err(backend)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn add_policy_version(
                    &self,
                    p: &ManagedPolicyRecord,
                    v: &PolicyVersionRecord,
                ) -> Result<()> {
                    let mut tx = self.pool.begin().await.map_err(backend)?;
                    let done = sqlx::query(
                        "UPDATE iam_managed_policies SET default_version = $1, next_version = $2,
                           updated_at = $3, row_version = $4 + 1
                         WHERE account_id = $5 AND name = $6 AND row_version = $4",
                    )
                    .bind(&p.default_version)
                    .bind(p.next_version)
                    .bind(p.updated_at)
                    .bind(p.row_version)
                    .bind(&p.account_id)
                    .bind(&p.name)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                    if done.rows_affected() != 1 {
                        return Err(StoreError::Conflict);
                    }
                    sqlx::query(
                        "INSERT INTO iam_policy_versions (account_id, policy_name, version_id, document, created_at)
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(&p.account_id)
                    .bind(&p.name)
                    .bind(&v.version_id)
                    .bind(&v.document)
                    .bind(v.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                    tx.commit().await.map_err(backend)
                }

                async fn get_policy_version(
                    &self,
                    account: &str,
                    policy_name: &str,
                    version_id: &str,
                ) -> Result<Option<PolicyVersionRecord>> {
                    let row = sqlx::query(
                        "SELECT * FROM iam_policy_versions WHERE account_id = $1
                          AND policy_name = $2 AND version_id = $3",
                    )
                    .bind(account)
                    .bind(policy_name)
                    .bind(version_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend)?;
                    row.as_ref().map(version).transpose()
                }

                async fn list_policy_versions(
                    &self,
                    account: &str,
                    policy_name: &str,
                ) -> Result<Vec<PolicyVersionRecord>> {
                    let rows = sqlx::query(
                        "SELECT * FROM iam_policy_versions WHERE account_id = $1 AND policy_name = $2
                          ORDER BY created_at, version_id",
                    )
                    .bind(account)
                    .bind(policy_name)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)?;
                    rows.iter().map(version).collect()
                }

                async fn attach_policy(
                    &self,
                    account: &str,
                    kind: IamKind,
                    owner: &str,
                    policy_arn: &str,
                ) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO iam_attachments (account_id, owner_kind, owner_name, policy_arn)
                         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    )
                    .bind(account)
                    .bind(kind.as_str())
                    .bind(owner)
                    .bind(policy_arn)
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?;
                    Ok(())
                }

                async fn detach_policy(
                    &self,
                    account: &str,
                    kind: IamKind,
                    owner: &str,
                    policy_arn: &str,
                ) -> Result<bool> {
                    let done = sqlx::query(
                        "DELETE FROM iam_attachments WHERE account_id = $1 AND owner_kind = $2
                          AND owner_name = $3 AND policy_arn = $4",
                    )
                    .bind(account)
                    .bind(kind.as_str())
                    .bind(owner)
                    .bind(policy_arn)
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn list_attached_policies(
                    &self,
                    account: &str,
                    kind: IamKind,
                    owner: &str,
                ) -> Result<Vec<String>> {
                    let rows = sqlx::query(
                        "SELECT policy_arn FROM iam_attachments WHERE account_id = $1
                          AND owner_kind = $2 AND owner_name = $3 ORDER BY policy_arn",
                    )
                    .bind(account)
                    .bind(kind.as_str())
                    .bind(owner)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)?;
                    strings(&rows, "policy_arn")
                }

                async fn count_policy_attachments(
                    &self,
                    account: &str,
                    policy_arn: &str,
                ) -> Result<i64> {
                    let row = sqlx::query(
                        "SELECT COUNT(*) AS n FROM iam_attachments WHERE account_id = $1 AND policy_arn = $2",
                    )
                    .bind(account)
                    .bind(policy_arn)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(backend)?;
                    get(&row, "n")
                }

                async fn add_group_member(
                    &self,
                    account: &str,
                    group: &str,
                    user: &str,
                ) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO iam_group_members (account_id, group_name, user_name)
                         VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    )
                    .bind(account)
                    .bind(group)
                    .bind(user)
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?;
                    Ok(())
                }

                async fn remove_group_member(
                    &self,
                    account: &str,
                    group: &str,
                    user: &str,
                ) -> Result<bool> {
                    let done = sqlx::query(
                        "DELETE FROM iam_group_members WHERE account_id = $1 AND group_name = $2 AND user_name = $3",
                    )
                    .bind(account)
                    .bind(group)
                    .bind(user)
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn list_groups_of_user(&self, account: &str, user: &str) -> Result<Vec<String>> {
                    let rows = sqlx::query(
                        "SELECT group_name FROM iam_group_members WHERE account_id = $1 AND user_name = $2
                          ORDER BY group_name",
                    )
                    .bind(account)
                    .bind(user)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)?;
                    strings(&rows, "group_name")
                }

                async fn list_group_members(&self, account: &str, group: &str) -> Result<Vec<String>> {
                    let rows = sqlx::query(
                        "SELECT user_name FROM iam_group_members WHERE account_id = $1 AND group_name = $2
                          ORDER BY user_name",
                    )
                    .bind(account)
                    .bind(group)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)?;
                    strings(&rows, "user_name")
                }

                async fn effective_policies(
                    &self,
                    account: &str,
                    kind: IamKind,
                    name: &str,
                ) -> Result<Vec<String>> {
                    let rows = sqlx::query(EFFECTIVE_POLICIES)
                        .bind(account)
                        .bind(kind.as_str())
                        .bind(name)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(backend)?;
                    strings(&rows, "document")
                }

                async fn permissions_boundary(
                    &self,
                    account: &str,
                    kind: IamKind,
                    name: &str,
                ) -> Result<Option<String>> {
                    let row = sqlx::query(
                        "SELECT v.document FROM iam_entities e
                           JOIN iam_managed_policies p ON p.account_id = e.account_id
                            AND p.arn = e.permissions_boundary
                           JOIN iam_policy_versions v ON v.account_id = p.account_id
                            AND v.policy_name = p.name AND v.version_id = p.default_version
                          WHERE e.account_id = $1 AND e.kind = $2 AND e.name = $3",
                    )
                    .bind(account)
                    .bind(kind.as_str())
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend)?;
                    row.as_ref().map(|r| get(r, "document")).transpose()
                }

                async fn create_oidc_provider(&self, p: &OidcProviderRecord) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO iam_oidc_providers (account_id, arn, url, client_ids, thumbprints, created_at)
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(&p.account_id)
                    .bind(&p.arn)
                    .bind(&p.url)
                    .bind(strings_json(&p.client_ids))
                    .bind(strings_json(&p.thumbprints))
                    .bind(p.created_at)
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?;
                    Ok(())
                }

                async fn get_oidc_provider(
                    &self,
                    account: &str,
                    arn: &str,
                ) -> Result<Option<OidcProviderRecord>> {
                    let row = sqlx::query(
                        "SELECT * FROM iam_oidc_providers WHERE account_id = $1 AND arn = $2",
                    )
                    .bind(account)
                    .bind(arn)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend)?;
                    row.as_ref().map(oidc).transpose()
                }

                async fn list_oidc_providers(&self, account: &str) -> Result<Vec<OidcProviderRecord>> {
                    let rows = sqlx::query(
                        "SELECT * FROM iam_oidc_providers WHERE account_id = $1 ORDER BY arn",
                    )
                    .bind(account)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)?;
                    rows.iter().map(oidc).collect()
                }

                async fn delete_oidc_provider(&self, account: &str, arn: &str) -> Result<bool> {
                    let done = sqlx::query(
                        "DELETE FROM iam_oidc_providers WHERE account_id = $1 AND arn = $2",
                    )
                    .bind(account)
                    .bind(arn)
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?;
                    Ok(done.rows_affected() == 1)
                }
            }
        }
    };
}
pub(crate) use iam_store_impl;
