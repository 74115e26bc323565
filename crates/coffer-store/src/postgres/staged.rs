//! GetSecretValue's read on PostgreSQL: the secret, its version holding a label and the KMS
//! key that wrapped the version's data key, in one statement on a reader connection
//! (`conns.rs`) — one round trip, where three reads through the pool cost about nine. SQLite
//! serves the same records from its read cache (`SqliteStore::staged_read`).

use super::{PostgresStore, backend};
use crate::records::KeyRecord;
use crate::repo::{Dialect, TextList};
use crate::secrets::{SecretBy, SecretVersionRecord, StagedRead};
use crate::{Result, StoreError};
use sqlx::Row;
use sqlx::postgres::PgRow;

/// The secret (`s.*`, found by `filter` over `$2`...), the version holding label `$1`
/// (`v_`-prefixed columns, NULL if no version holds it) and the KMS key its `kms_key_arn`
/// names (`k_`-prefixed, NULL if none).
fn staged_sql(filter: &str) -> String {
    let stages = PostgresStore::list(
        "l.stage",
        "FROM sm_stages l WHERE l.secret_arn = v.secret_arn AND l.version_id = v.version_id",
        "l.stage",
    );
    format!(
        "SELECT s.*, v.version_id AS v_version_id, v.created_at AS v_created_at,
                v.last_accessed_at AS v_last_accessed_at, v.kms_key_arn AS v_kms_key_arn,
                v.data_key AS v_data_key, v.ciphertext AS v_ciphertext, v.is_binary AS v_is_binary,
                {stages} AS v_stages,
                k.account_id AS k_account_id, k.region AS k_region, k.key_id AS k_key_id,
                k.description AS k_description, k.key_usage AS k_key_usage,
                k.key_spec AS k_key_spec, k.origin AS k_origin,
                k.key_manager = 'AWS' AS k_aws_managed, k.multi_region AS k_multi_region,
                k.state AS k_state, k.created_at AS k_created_at,
                k.deletion_date AS k_deletion_date, k.pending_window_days AS k_pending_window_days,
                k.rotation_enabled AS k_rotation_enabled,
                k.rotation_period_days AS k_rotation_period_days,
                k.next_rotation_at AS k_next_rotation_at, k.policy AS k_policy,
                k.current_material AS k_current_material, k.valid_to AS k_valid_to,
                k.material_fingerprint AS k_material_fingerprint,
                k.mrk_primary_region AS k_mrk_primary_region, k.row_version AS k_row_version
           FROM sm_secrets s
           LEFT JOIN sm_stages st ON st.secret_arn = s.arn AND st.stage = $1
           LEFT JOIN sm_versions v ON v.secret_arn = st.secret_arn AND v.version_id = st.version_id
           -- arn:PARTITION:kms:REGION:ACCOUNT:key/ID
           LEFT JOIN kms_keys k ON k.account_id = split_part(v.kms_key_arn, ':', 5)
                AND k.region = split_part(v.kms_key_arn, ':', 4)
                AND k.key_id = substr(split_part(v.kms_key_arn, ':', 6), 5)
                AND left(split_part(v.kms_key_arn, ':', 6), 4) = 'key/'
          WHERE {filter}"
    )
}

impl PostgresStore {
    pub(crate) async fn staged_read(
        &self,
        by: SecretBy<'_>,
        stage: &str,
    ) -> Result<Option<StagedRead>> {
        let filter = match by {
            SecretBy::Arn(_) => "s.arn = $2",
            SecretBy::Name { .. } => "s.account_id = $2 AND s.region = $3 AND s.name = $4",
        };
        // Audited: built from constant fragments only.
        let query = sqlx::query(sqlx::AssertSqlSafe(staged_sql(filter))).bind(stage);
        let query = match by {
            SecretBy::Arn(arn) => query.bind(arn),
            SecretBy::Name {
                account,
                region,
                name,
            } => query.bind(account).bind(region).bind(name),
        };
        let Some(row) = self.readers.fetch_optional(query).await? else {
            return Ok(None);
        };
        Ok(Some(StagedRead {
            secret: sqlx::FromRow::from_row(&row).map_err(backend)?,
            version: version(&row).map_err(backend)?,
            key: key(&row).map_err(backend)?,
        }))
    }
}

fn version(row: &PgRow) -> sqlx::Result<Option<SecretVersionRecord>> {
    let Some(version_id) = row.try_get::<Option<String>, _>("v_version_id")? else {
        return Ok(None);
    };
    Ok(Some(SecretVersionRecord {
        version_id,
        created_at: row.try_get("v_created_at")?,
        last_accessed_at: row.try_get("v_last_accessed_at")?,
        kms_key_arn: row.try_get("v_kms_key_arn")?,
        data_key: row.try_get("v_data_key")?,
        ciphertext: row.try_get("v_ciphertext")?,
        binary: row.try_get("v_is_binary")?,
        stages: row.try_get::<TextList, _>("v_stages")?.into(),
    }))
}

fn key(row: &PgRow) -> sqlx::Result<Option<KeyRecord>> {
    let Some(key_id) = row.try_get::<Option<String>, _>("k_key_id")? else {
        return Ok(None);
    };
    let decode = |e: StoreError| sqlx::Error::Decode(e.into());
    let state: String = row.try_get("k_state")?;
    let material: i64 = row.try_get("k_current_material")?;
    Ok(Some(KeyRecord {
        account_id: row.try_get("k_account_id")?,
        region: row.try_get("k_region")?,
        key_id,
        description: row.try_get("k_description")?,
        key_usage: row.try_get("k_key_usage")?,
        key_spec: row.try_get("k_key_spec")?,
        origin: row.try_get("k_origin")?,
        aws_managed: row.try_get("k_aws_managed")?,
        multi_region: row.try_get("k_multi_region")?,
        state: state.try_into().map_err(decode)?,
        created_at: row.try_get("k_created_at")?,
        deletion_date: row.try_get("k_deletion_date")?,
        pending_window_days: row.try_get("k_pending_window_days")?,
        rotation_enabled: row.try_get("k_rotation_enabled")?,
        rotation_period_days: row.try_get("k_rotation_period_days")?,
        next_rotation_at: row.try_get("k_next_rotation_at")?,
        policy: row.try_get("k_policy")?,
        current_material: u32::try_from(material).map_err(|e| sqlx::Error::Decode(e.into()))?,
        valid_to: row.try_get("k_valid_to")?,
        material_fingerprint: row.try_get("k_material_fingerprint")?,
        mrk_primary_region: row.try_get("k_mrk_primary_region")?,
        row_version: row.try_get("k_row_version")?,
    }))
}
