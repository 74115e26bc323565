//! Row mapping of the SSM tables on PostgreSQL: a parameter with its newest version and its
//! labels, a version with its labels.

use super::col;
use crate::parameters::*;
use crate::records::tags_from_json;
use crate::{Result, StoreError};
use sqlx::postgres::PgRow;

/// A parameter joined with its newest version (`v`), plus every label of the parameter as two
/// arrays in label order.
pub(super) const PARAMETER_COLUMNS: &str =
    "p.account_id, p.region, p.name, p.param_type AS p_param_type,
    p.tier AS p_tier, p.data_type AS p_data_type, p.key_id AS p_key_id,
    p.description AS p_description, p.allowed_pattern AS p_allowed_pattern,
    p.policies AS p_policies, p.version AS p_version, p.last_modified_at AS p_last_modified_at,
    p.last_modified_user AS p_last_modified_user, p.tags, p.expires_at, p.next_event_at,
    p.row_version, p.name_key,
    v.version, v.param_type, v.tier, v.data_type, v.key_id, v.description, v.allowed_pattern,
    v.policies, v.last_modified_at, v.last_modified_user, v.plain_value, v.key_arn, v.data_key,
    v.ciphertext,
    ARRAY(SELECT l.label FROM ssm_labels l WHERE l.account_id = p.account_id
          AND l.region = p.region AND l.name_key = p.name_key ORDER BY l.label) AS label_names,
    ARRAY(SELECT l.version FROM ssm_labels l WHERE l.account_id = p.account_id
          AND l.region = p.region AND l.name_key = p.name_key ORDER BY l.label) AS label_versions";

/// A version row with its own labels.
pub(super) const VERSION_COLUMNS: &str = "v.*,
    ARRAY(SELECT l.label FROM ssm_labels l WHERE l.account_id = v.account_id
          AND l.region = v.region AND l.name_key = v.name_key AND l.version = v.version
          ORDER BY l.label) AS labels";

pub(super) const JOIN_NEWEST: &str = "FROM ssm_parameters p JOIN ssm_versions v
    ON v.account_id = p.account_id AND v.region = p.region AND v.name_key = p.name_key
   AND v.version = p.version";

pub(super) fn parameter(row: &PgRow) -> Result<ParameterRecord> {
    let tags: String = col(row, "tags")?;
    Ok(ParameterRecord {
        account_id: col(row, "account_id")?,
        region: col(row, "region")?,
        name: col(row, "name")?,
        param_type: col(row, "p_param_type")?,
        tier: col(row, "p_tier")?,
        data_type: col(row, "p_data_type")?,
        key_id: col(row, "p_key_id")?,
        description: col(row, "p_description")?,
        allowed_pattern: col(row, "p_allowed_pattern")?,
        policies: col(row, "p_policies")?,
        version: col(row, "p_version")?,
        last_modified_at: col(row, "p_last_modified_at")?,
        last_modified_user: col(row, "p_last_modified_user")?,
        tags: tags_from_json(&tags)?,
        expires_at: col(row, "expires_at")?,
        next_event_at: col(row, "next_event_at")?,
        row_version: col(row, "row_version")?,
    })
}

pub(super) fn version(row: &PgRow, labels: Vec<String>) -> Result<ParameterVersionRecord> {
    let plain: Option<String> = col(row, "plain_value")?;
    let value = match plain {
        Some(v) => StoredValue::Plain(v),
        None => StoredValue::Sealed {
            key_arn: col::<Option<String>>(row, "key_arn")?
                .ok_or_else(|| StoreError::Backend("sealed version without key".to_owned()))?,
            data_key: col::<Option<Vec<u8>>>(row, "data_key")?.unwrap_or_default(),
            ciphertext: col::<Option<Vec<u8>>>(row, "ciphertext")?.unwrap_or_default(),
        },
    };
    Ok(ParameterVersionRecord {
        version: col(row, "version")?,
        param_type: col(row, "param_type")?,
        tier: col(row, "tier")?,
        data_type: col(row, "data_type")?,
        key_id: col(row, "key_id")?,
        description: col(row, "description")?,
        allowed_pattern: col(row, "allowed_pattern")?,
        policies: col(row, "policies")?,
        last_modified_at: col(row, "last_modified_at")?,
        last_modified_user: col(row, "last_modified_user")?,
        value,
        labels,
    })
}

/// A row of [`PARAMETER_COLUMNS`] as a [`StoredParameter`].
pub(super) fn stored(row: &PgRow) -> Result<StoredParameter> {
    let names: Vec<String> = col(row, "label_names")?;
    let versions: Vec<i64> = col(row, "label_versions")?;
    let labels: Vec<(String, i64)> = names.into_iter().zip(versions).collect();
    let parameter = parameter(row)?;
    let mine = labels
        .iter()
        .filter(|(_, v)| *v == parameter.version)
        .map(|(l, _)| l.clone())
        .collect();
    Ok(StoredParameter {
        current: version(row, mine)?,
        parameter,
        labels,
    })
}

/// A row of [`VERSION_COLUMNS`] as a [`ParameterVersionRecord`].
pub(super) fn version_row(row: &PgRow) -> Result<ParameterVersionRecord> {
    version(row, col(row, "labels")?)
}
