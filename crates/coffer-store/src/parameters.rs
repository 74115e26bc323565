//! SSM Parameter Store: parameters, their versions, labels and policies; the account's Parameter
//! Store service settings; resource policies that share parameters.
//!
//! A parameter row holds the current metadata (a copy of its newest version's, plus what belongs
//! to the parameter as a whole: tags, policy state, the next time housekeeping has work). Each
//! version row holds that version's metadata and value: String and StringList values as text
//! (unencrypted at the application level, as on AWS), SecureString values sealed under a data key
//! that KMS wrapped. Labels are rows unique per (parameter, label), so a label names exactly one
//! version. Every change is one transaction; updates are compare-and-set on `row_version`.
//!
//! Parameters are addressed by their *key*: the name without a leading `/` ([`parameter_key`]), so
//! `/db` and `db` (which AWS gives the same ARN, `parameter/db`) are one parameter. Keys compare
//! bytewise; listings are ordered by key and resume after a key, so every page is an indexed range
//! scan whatever the size of the store.

use crate::Result;
use crate::records::{Millis, Tag};
use async_trait::async_trait;

/// The key a parameter is stored under: its name without a leading `/`.
pub fn parameter_key(name: &str) -> &str {
    name.strip_prefix('/').unwrap_or(name)
}

/// The hierarchy above a key's last level: `a/b` for `a/b/c`, `""` for a top-level key.
pub fn parameter_parent(key: &str) -> &str {
    key.rsplit_once('/').map_or("", |(parent, _)| parent)
}

/// A parameter's current metadata. Field names follow DescribeParameters. (Read from the
/// `p_`-prefixed columns of a parameter joined with its newest version.)
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ParameterRecord {
    pub account_id: String,
    pub region: String,
    /// The name as created (`/a/b` or `b`); the key is [`parameter_key`] of it.
    pub name: String,
    /// `String`, `StringList` or `SecureString`.
    #[sqlx(rename = "p_param_type")]
    pub param_type: String,
    /// `Standard` or `Advanced` (Intelligent-Tiering resolves to one of them on write).
    #[sqlx(rename = "p_tier")]
    pub tier: String,
    #[sqlx(rename = "p_data_type")]
    pub data_type: String,
    /// The KMS key as the caller named it (SecureString only).
    #[sqlx(rename = "p_key_id")]
    pub key_id: Option<String>,
    #[sqlx(rename = "p_description")]
    pub description: Option<String>,
    #[sqlx(rename = "p_allowed_pattern")]
    pub allowed_pattern: Option<String>,
    /// Parameter policies with their status, in the service's JSON form.
    #[sqlx(rename = "p_policies")]
    pub policies: Option<String>,
    /// The newest version.
    #[sqlx(rename = "p_version")]
    pub version: i64,
    #[sqlx(rename = "p_last_modified_at")]
    pub last_modified_at: Millis,
    #[sqlx(rename = "p_last_modified_user")]
    pub last_modified_user: String,
    #[sqlx(try_from = "crate::repo::TagsJson")]
    pub tags: Vec<Tag>,
    /// When the Expiration policy deletes the parameter.
    pub expires_at: Option<Millis>,
    /// The earliest time housekeeping has something to do for this parameter.
    pub next_event_at: Option<Millis>,
    /// Optimistic concurrency: writes name the version they read.
    pub row_version: i64,
}

/// A version's value as stored.
#[derive(Clone, PartialEq, Eq)]
pub enum StoredValue {
    /// String and StringList.
    Plain(String),
    /// SecureString: the data key as a KMS ciphertext blob (made with `key_arn`) and the value
    /// sealed under it.
    Sealed {
        key_arn: String,
        data_key: Vec<u8>,
        ciphertext: Vec<u8>,
    },
}

impl std::fmt::Debug for StoredValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // Plain values are not secret, but a Debug dump is no place for configuration either.
            Self::Plain(v) => write!(f, "Plain(<{} bytes>)", v.len()),
            Self::Sealed {
                key_arn,
                ciphertext,
                ..
            } => write!(f, "Sealed({key_arn}, <{} bytes>)", ciphertext.len()),
        }
    }
}

/// One version of a parameter. Field names follow GetParameterHistory.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ParameterVersionRecord {
    pub version: i64,
    pub param_type: String,
    pub tier: String,
    pub data_type: String,
    pub key_id: Option<String>,
    pub description: Option<String>,
    pub allowed_pattern: Option<String>,
    pub policies: Option<String>,
    pub last_modified_at: Millis,
    pub last_modified_user: String,
    #[sqlx(flatten)]
    pub value: StoredValue,
    /// Labels on this version, sorted; filled on read, ignored on write.
    #[sqlx(default, try_from = "crate::repo::TextList")]
    pub labels: Vec<String>,
}

/// A parameter as read: its metadata, its newest version and every label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredParameter {
    pub parameter: ParameterRecord,
    pub current: ParameterVersionRecord,
    /// `(label, version)` for every version, sorted by label.
    pub labels: Vec<(String, i64)>,
}

/// One atomic write of a new version (PutParameter).
#[derive(Debug, Clone, Copy)]
pub struct ParameterWrite<'a> {
    /// The new metadata; `parameter.version` is the new version's number. When updating,
    /// `row_version` is the one read: the store writes `row_version + 1` or fails with `Conflict`.
    pub parameter: &'a ParameterRecord,
    /// Insert a new parameter (`Conflict` if the key is taken) rather than update one.
    pub create: bool,
    pub version: &'a ParameterVersionRecord,
    /// A version to remove in the same transaction (the oldest, past the version limit). Its
    /// labels go with it.
    pub prune: Option<i64>,
    /// The most parameters `parameter.tier` may hold in the account and region; checked when this
    /// write adds one to the tier (a new parameter, or a move from another tier).
    pub tier_limit: u64,
}

/// What became of a [`ParameterWrite`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Written,
    /// The tier is full; nothing was written.
    TierLimitExceeded,
}

/// One atomic change of labels (LabelParameterVersion, UnlabelParameterVersion).
#[derive(Debug, Clone, Copy)]
pub struct LabelChange<'a> {
    pub account_id: &'a str,
    pub region: &'a str,
    pub key: &'a str,
    /// The parameter's `row_version` as read; `Conflict` if it changed.
    pub row_version: i64,
    /// `(label, version)`: attach, moving the label from any other version.
    pub attach: &'a [(String, i64)],
    /// Labels to remove from `version`.
    pub detach: &'a [String],
    pub detach_from: i64,
}

/// Which parameters a listing covers, in key order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParameterScope<'a> {
    /// Every parameter of the account and region.
    All,
    /// Keys that start with this (`a/b/` for the subtree under `/a/b`).
    Prefix(&'a str),
    /// Keys whose [`parameter_parent`] is this (`""` for the top level).
    Children(&'a str),
}

/// One page of an ordered scan.
#[derive(Debug, Clone, Copy)]
pub struct ParameterListQuery<'a> {
    pub account_id: &'a str,
    pub region: &'a str,
    pub scope: ParameterScope<'a>,
    /// Resume after this key.
    pub after: Option<&'a str>,
    pub limit: usize,
}

/// Where a parameter lives.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ParameterId {
    pub account_id: String,
    pub region: String,
    #[sqlx(rename = "name_key")]
    pub key: String,
}

/// A Parameter Store service setting that differs from its default.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ServiceSettingRecord {
    pub account_id: String,
    pub region: String,
    /// `/ssm/parameter-store/default-parameter-tier`, ...
    pub setting_id: String,
    pub value: String,
    pub last_modified_at: Millis,
    pub last_modified_user: String,
}

/// A resource policy attached to a parameter (PutResourcePolicy).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ResourcePolicyRecord {
    pub policy_id: String,
    pub policy_hash: String,
    pub policy: String,
    pub created_at: Millis,
}

#[async_trait]
pub trait ParameterStore: Send + Sync {
    /// A parameter with its newest version and labels.
    async fn get_parameter(
        &self,
        account: &str,
        region: &str,
        key: &str,
    ) -> Result<Option<StoredParameter>>;
    /// One version with its labels.
    async fn get_parameter_version(
        &self,
        account: &str,
        region: &str,
        key: &str,
        version: i64,
    ) -> Result<Option<ParameterVersionRecord>>;
    /// Versions in ascending order after `after`, at most `limit`, with their labels.
    async fn list_parameter_versions(
        &self,
        account: &str,
        region: &str,
        key: &str,
        after: Option<i64>,
        limit: usize,
    ) -> Result<Vec<ParameterVersionRecord>>;
    /// The oldest version number, if the parameter exists.
    async fn oldest_parameter_version(
        &self,
        account: &str,
        region: &str,
        key: &str,
    ) -> Result<Option<i64>>;
    /// How many versions the parameter holds.
    async fn count_parameter_versions(&self, account: &str, region: &str, key: &str)
    -> Result<u64>;
    /// Add a version (and create the parameter, or update it under its `row_version`).
    async fn put_parameter(&self, write: ParameterWrite<'_>) -> Result<WriteOutcome>;
    /// Replace the metadata that is not a version (tags, policy state, next event) under the
    /// parameter's `row_version`; `Conflict` if it changed.
    async fn update_parameter(&self, parameter: &ParameterRecord) -> Result<()>;
    /// Apply a label change; `Conflict` if the parameter changed since it was read.
    async fn change_parameter_labels(&self, change: LabelChange<'_>) -> Result<()>;
    /// Remove a parameter with its versions, labels and policies. With `row_version`, only if it
    /// is still the one read. Returns false if nothing was removed.
    async fn delete_parameter(
        &self,
        account: &str,
        region: &str,
        key: &str,
        row_version: Option<i64>,
    ) -> Result<bool>;
    /// Parameters of the scope in key order after the cursor, at most `limit`.
    async fn list_parameters(&self, query: &ParameterListQuery<'_>)
    -> Result<Vec<StoredParameter>>;
    /// How many parameters a tier holds in the account and region.
    async fn count_parameters(&self, account: &str, region: &str, tier: &str) -> Result<u64>;
    /// Parameters (in any account) whose `next_event_at` is at or before `now`, soonest first.
    async fn parameters_due(&self, now: Millis, limit: usize) -> Result<Vec<ParameterId>>;

    async fn get_service_setting(
        &self,
        account: &str,
        region: &str,
        setting_id: &str,
    ) -> Result<Option<ServiceSettingRecord>>;
    /// Insert or replace.
    async fn put_service_setting(&self, setting: &ServiceSettingRecord) -> Result<()>;
    /// Back to the default. Returns false if it was not set.
    async fn delete_service_setting(
        &self,
        account: &str,
        region: &str,
        setting_id: &str,
    ) -> Result<bool>;

    /// A parameter's resource policies, oldest first.
    async fn list_resource_policies(
        &self,
        account: &str,
        region: &str,
        key: &str,
    ) -> Result<Vec<ResourcePolicyRecord>>;
    /// Attach a new policy unless the parameter already has `max`; returns false then.
    /// `Conflict` if the policy id is taken.
    async fn create_resource_policy(
        &self,
        account: &str,
        region: &str,
        key: &str,
        policy: &ResourcePolicyRecord,
        max: usize,
    ) -> Result<bool>;
    /// Replace the policy `policy.policy_id` if its hash is still `expected_hash`; `Conflict`
    /// otherwise.
    async fn replace_resource_policy(
        &self,
        account: &str,
        region: &str,
        key: &str,
        policy: &ResourcePolicyRecord,
        expected_hash: &str,
    ) -> Result<()>;
    /// Remove a policy if its hash is still `expected_hash`; `Conflict` if the hash differs,
    /// false if there is no such policy.
    async fn delete_resource_policy(
        &self,
        account: &str,
        region: &str,
        key: &str,
        policy_id: &str,
        expected_hash: &str,
    ) -> Result<bool>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_parents() {
        assert_eq!(parameter_key("/a/b"), "a/b");
        assert_eq!(parameter_key("db"), "db");
        assert_eq!(parameter_key("/db"), "db");
        assert_eq!(parameter_parent("a/b/c"), "a/b");
        assert_eq!(parameter_parent("db"), "");
    }
}
