//! Records the store takes and returns. Plain data: validation happens in the service layer,
//! secrets arrive already sealed.

/// Unix time in milliseconds.
pub type Millis = i64;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AccountRecord {
    pub account_id: String,
    pub created_at: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessKeyStatus {
    Active,
    Inactive,
}

impl AccessKeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Inactive => "Inactive",
        }
    }
}

/// The stored form ([`AccessKeyStatus::as_str`]) back.
impl TryFrom<String> for AccessKeyStatus {
    type Error = crate::StoreError;
    fn try_from(s: String) -> crate::Result<Self> {
        match s.as_str() {
            "Active" => Ok(Self::Active),
            "Inactive" => Ok(Self::Inactive),
            other => Err(crate::StoreError::Backend(format!(
                "bad access key status {other:?}"
            ))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AccessKeyRecord {
    pub access_key_id: String,
    pub account_id: String,
    /// `arn:aws:iam::ACCOUNT:root` for an account administrator.
    pub principal_arn: String,
    /// AWS's `UserId` (the account id for root).
    pub principal_id: String,
    /// Secret access key sealed by the master key.
    pub wrapped_secret: Vec<u8>,
    #[sqlx(try_from = "String")]
    pub status: AccessKeyStatus,
    pub created_at: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    Enabled,
    Disabled,
    PendingDeletion,
    /// A key of origin EXTERNAL without key material (never imported, deleted or expired).
    PendingImport,
}

impl KeyState {
    /// The `KeyState` enum value of the KMS API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "Enabled",
            Self::Disabled => "Disabled",
            Self::PendingDeletion => "PendingDeletion",
            Self::PendingImport => "PendingImport",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Enabled" => Some(Self::Enabled),
            "Disabled" => Some(Self::Disabled),
            "PendingDeletion" => Some(Self::PendingDeletion),
            "PendingImport" => Some(Self::PendingImport),
            _ => None,
        }
    }
}

impl TryFrom<String> for KeyState {
    type Error = crate::StoreError;
    fn try_from(s: String) -> crate::Result<Self> {
        Self::parse(&s).ok_or_else(|| crate::StoreError::Backend(format!("bad key state {s:?}")))
    }
}

/// A KMS key's metadata. Key material lives in [`KeyMaterialRecord`]s.
/// (Read from `SELECT *, key_manager = 'AWS' AS aws_managed FROM kms_keys`.)
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct KeyRecord {
    pub account_id: String,
    pub region: String,
    /// A UUID, or `mrk-` and 32 hex digits for multi-Region keys.
    pub key_id: String,
    pub description: String,
    pub key_usage: String,
    pub key_spec: String,
    pub origin: String,
    /// `AWS` for `aws/secretsmanager`-style managed keys, else `CUSTOMER`.
    pub aws_managed: bool,
    pub multi_region: bool,
    #[sqlx(try_from = "String")]
    pub state: KeyState,
    pub created_at: Millis,
    pub deletion_date: Option<Millis>,
    pub pending_window_days: Option<i32>,
    pub rotation_enabled: bool,
    pub rotation_period_days: Option<i32>,
    pub next_rotation_at: Option<Millis>,
    pub policy: String,
    /// Version of the material new ciphertexts are made with.
    #[sqlx(try_from = "i64")]
    pub current_material: u32,
    /// Imported material: when it expires (`None`: it does not, or nothing is imported).
    pub valid_to: Option<Millis>,
    /// Imported material: a keyed fingerprint of the first material imported; any later import
    /// must match it.
    pub material_fingerprint: Option<Vec<u8>>,
    /// A multi-Region key's primary Region; `None` when the key is its own primary (or is not
    /// multi-Region). Every related key names the same one.
    pub mrk_primary_region: Option<String>,
    /// Optimistic-concurrency counter, bumped by every update.
    pub row_version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct KeyMaterialRecord {
    #[sqlx(try_from = "i64")]
    pub version: u32,
    /// Sealed by the master key.
    pub wrapped: Vec<u8>,
    pub created_at: Millis,
    /// Rotated by `RotateKeyOnDemand` rather than on schedule.
    pub on_demand: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AliasRecord {
    pub account_id: String,
    pub region: String,
    /// Full name including the `alias/` prefix.
    pub alias_name: String,
    pub key_id: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Tag {
    #[sqlx(rename = "tag_key")]
    pub key: String,
    #[sqlx(rename = "tag_value")]
    pub value: String,
}

/// Tags as stored by every backend: the JSON text `[{"Key":..,"Value":..}]`, so a deployment
/// copied between backends keeps them byte for byte.
pub(crate) fn tags_to_json(tags: &[Tag]) -> String {
    serde_json::Value::Array(
        tags.iter()
            .map(|t| serde_json::json!({"Key": t.key, "Value": t.value}))
            .collect(),
    )
    .to_string()
}

pub(crate) fn tags_from_json(text: &str) -> crate::Result<Vec<Tag>> {
    let bad = || crate::StoreError::Backend("malformed tag list".to_owned());
    let value: serde_json::Value = serde_json::from_str(text).map_err(|_| bad())?;
    value
        .as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|t| {
            Ok(Tag {
                key: t["Key"].as_str().ok_or_else(bad)?.to_owned(),
                value: t["Value"].as_str().ok_or_else(bad)?.to_owned(),
            })
        })
        .collect()
}
