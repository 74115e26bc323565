//! Secret values: GetSecretValue, PutSecretValue, ListSecretVersionIds, and
//! the version-writing path CreateSecret and UpdateSecret share.
//! <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html>

use super::lookup::{day_of, require_live};
use super::stages::{
    CURRENT, MAX_VERSIONS, PRUNE_MIN_AGE_MS, WRITE_ATTEMPTS, attach, check_label_counts, contended,
    labels_of, labels_on, pairs,
};
use super::{SecretValue, SecretsManager, SecretsManagerError as E};
use crate::RequestContext;
use crate::wire::{Epoch, SecretBlob, SecretText};
use coffer_store::{KeyRecord, SecretChange, SecretRecord, SecretVersionRecord};
use coffer_types::SecretBytes;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

/// Largest value AWS accepts, in bytes.
const MAX_VALUE_BYTES: usize = 65_536;

/// SecretString or SecretBinary from a request: at most one, within the size limit. The flag is
/// true for binary.
pub(crate) fn value_of(
    string: Option<SecretText>,
    binary: Option<SecretBlob>,
) -> Result<Option<(SecretBytes, bool)>, E> {
    let value = match (string, binary) {
        (Some(_), Some(_)) => {
            return Err(E::InvalidParameter(
                "You can't specify both a binary secret value and a string secret value in the same secret.".to_owned(),
            ));
        }
        (Some(s), None) => (s.0, false),
        (None, Some(b)) => (b.0, true),
        (None, None) => return Ok(None),
    };
    if value.0.is_empty() || value.0.len() > MAX_VALUE_BYTES {
        return Err(E::InvalidParameter(format!(
            "The secret value must be between 1 and {MAX_VALUE_BYTES} bytes."
        )));
    }
    Ok(Some(value))
}

/// AWS's text when a raw request leaves out the ClientRequestToken (the SDKs and the CLI always
/// generate one: the member is an idempotency token in the model).
pub(crate) const TOKEN_REQUIRED: &str =
    "You must provide a ClientRequestToken value. We recommend a UUID-type value.";

/// The version id of a write: the caller's ClientRequestToken, which AWS requires.
/// <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html#SecretsManager-PutSecretValue-request-ClientRequestToken>
pub(crate) fn version_id(token: Option<String>) -> Result<String, E> {
    token.ok_or_else(|| E::InvalidRequest(TOKEN_REQUIRED.to_owned()))
}

/// AWS's answer to a ClientRequestToken reused with another value.
pub(crate) fn token_in_use(token: &str, arn: &str) -> E {
    E::ResourceExists(format!(
        "You can't use ClientRequestToken {token} because that value is already in use for a version of secret {arn}."
    ))
}

/// A version to write: its id (the ClientRequestToken), value (binary flag) and labels.
pub(crate) struct NewVersion<'a> {
    pub id: &'a str,
    pub value: &'a (SecretBytes, bool),
    pub labels: &'a [String],
}

/// What a version write produced.
pub(crate) struct Written {
    pub secret: SecretRecord,
    pub version_id: String,
    pub labels: Vec<String>,
}

impl SecretsManager {
    /// Add version `new` to the secret `secret_id`, after
    /// `update` has applied the request's metadata changes (UpdateSecret's key and description
    /// apply to the new version). Idempotent: if the version exists with the same value, nothing
    /// changes; with another value it is `ResourceExistsException`.
    pub(crate) async fn add_version(
        &self,
        ctx: &RequestContext,
        secret_id: &str,
        action: &str,
        new: NewVersion<'_>,
        update: impl Fn(&mut SecretRecord),
    ) -> Result<Written, E> {
        let NewVersion {
            id: version_id,
            value,
            labels,
        } = new;
        let _queue = self.write_lock(secret_id).await;
        for _ in 0..WRITE_ATTEMPTS {
            let mut secret = self.find(ctx, secret_id, action).await?;
            require_live(&secret)?;
            if let Some(existing) = self
                .store
                .get_secret_version(&secret.arn, version_id)
                .await?
            {
                self.same_value(ctx, &secret.arn, &existing, value).await?;
                return Ok(Written {
                    version_id: existing.version_id,
                    labels: existing.stages,
                    secret,
                });
            }
            // Only the labelled versions: labels move among them and the new one; versions
            // past AWS's limit are pruned by the store in the same transaction.
            let versions = self
                .store
                .list_labelled_secret_versions(&secret.arn)
                .await?;
            let mut map = labels_of(&versions);
            attach(&mut map, version_id, labels);
            // The first version of a secret is always current (a secret with versions always
            // has one holding AWSCURRENT).
            if versions.is_empty() {
                attach(&mut map, version_id, &[CURRENT.to_owned()]);
            }
            check_label_counts(&map)?;
            update(&mut secret);
            secret.last_changed_at = ctx.now;
            let record = self
                .seal(ctx, &secret, version_id, &value.0, value.1)
                .await?;
            let stages = pairs(&map);
            if self
                .commit(SecretChange {
                    secret: &secret,
                    new_version: Some(&record),
                    stages: Some(&stages),
                    prune: &[],
                    prune_beyond: Some((MAX_VERSIONS, ctx.now - PRUNE_MIN_AGE_MS)),
                })
                .await?
            {
                let labels = labels_on(&map, version_id).map(str::to_owned).collect();
                return Ok(Written {
                    secret,
                    version_id: version_id.to_owned(),
                    labels,
                });
            }
        }
        Err(contended())
    }

    /// A retried write is accepted only if it carries the value already stored.
    pub(crate) async fn same_value(
        &self,
        ctx: &RequestContext,
        arn: &str,
        existing: &SecretVersionRecord,
        value: &(SecretBytes, bool),
    ) -> Result<(), E> {
        let stored = self.open(ctx, arn, existing).await?;
        if existing.binary == value.1 && stored == value.0 {
            Ok(())
        } else {
            Err(token_in_use(&existing.version_id, arn))
        }
    }

    /// The version a read selects: by id, by label (AWSCURRENT by default), or both, which must
    /// agree.
    pub(crate) async fn select(
        &self,
        secret: &SecretRecord,
        version_id: Option<&str>,
        stage: Option<&str>,
    ) -> Result<SecretVersionRecord, E> {
        let version = match version_id {
            Some(id) => self.store.get_secret_version(&secret.arn, id).await?,
            None => {
                let stage = stage.unwrap_or(CURRENT);
                self.store
                    .get_secret_version_by_stage(&secret.arn, stage)
                    .await?
            }
        };
        selected(version, version_id, stage)
    }

    /// GetSecretValue's core, shared with BatchGetSecretValue and other services.
    pub(crate) async fn get_value(
        &self,
        ctx: &RequestContext,
        secret: &SecretRecord,
        version_id: Option<&str>,
        stage: Option<&str>,
    ) -> Result<SecretValue, E> {
        refuse_deleted(secret)?;
        let version = self.select(secret, version_id, stage).await?;
        self.value_of(ctx, secret, version, None).await
    }

    /// The value of `version`, selected and checked, opened (`key`: its KMS key if already
    /// read); its reading recorded.
    async fn value_of(
        &self,
        ctx: &RequestContext,
        secret: &SecretRecord,
        version: SecretVersionRecord,
        key: Option<KeyRecord>,
    ) -> Result<SecretValue, E> {
        let value = self.open_with(ctx, &secret.arn, &version, key).await?;
        let day = day_of(ctx.now);
        if secret.last_accessed_at.is_none_or(|d| d < day)
            || version.last_accessed_at.is_none_or(|d| d < day)
        {
            self.store
                .record_secret_access(&secret.arn, &version.version_id, day)
                .await?;
        }
        Ok(SecretValue {
            arn: secret.arn.clone(),
            name: secret.name.clone(),
            version_id: version.version_id,
            version_stages: version.stages,
            created_at: version.created_at,
            value,
            binary: version.binary,
        })
    }
}

/// A secret marked for deletion has no readable value.
fn refuse_deleted(secret: &SecretRecord) -> Result<(), E> {
    if secret.deleted_at.is_some() {
        return Err(E::InvalidRequest(
            "You can't perform this operation on the secret because it was marked for deletion."
                .to_owned(),
        ));
    }
    Ok(())
}

/// [`SecretsManager::select`]'s checks of the version it read: it exists, and holds `stage`.
fn selected(
    version: Option<SecretVersionRecord>,
    version_id: Option<&str>,
    stage: Option<&str>,
) -> Result<SecretVersionRecord, E> {
    let missing = || {
        let what = match (version_id, stage) {
            (Some(id), _) => format!("VersionId: {id}"),
            (None, s) => format!("staging label: {}", s.unwrap_or(CURRENT)),
        };
        E::ResourceNotFound(format!(
            "Secrets Manager can't find the specified secret value for {what}"
        ))
    };
    let version = version.ok_or_else(missing)?;
    if let Some(s) = stage
        && !version.stages.iter().any(|l| l == s)
    {
        return Err(if version_id.is_some() {
            E::InvalidRequest(
                "You provided a VersionStage that is not associated to the provided VersionId."
                    .to_owned(),
            )
        } else {
            missing()
        });
    }
    Ok(version)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetSecretValueInput {
    secret_id: String,
    version_id: Option<String>,
    version_stage: Option<String>,
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetSecretValueOutput {
    #[serde(rename = "ARN")]
    arn: String,
    name: String,
    version_id: String,
    secret_string: Option<SecretText>,
    secret_binary: Option<SecretBlob>,
    version_stages: Vec<String>,
    created_date: Epoch,
}

impl From<SecretValue> for GetSecretValueOutput {
    fn from(v: SecretValue) -> Self {
        let (secret_string, secret_binary) = if v.binary {
            (None, Some(SecretBlob(v.value)))
        } else {
            (Some(SecretText(v.value)), None)
        };
        Self {
            arn: v.arn,
            name: v.name,
            version_id: v.version_id,
            secret_string,
            secret_binary,
            version_stages: v.version_stages,
            created_date: Epoch(v.created_at),
        }
    }
}

/// <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html>
pub async fn get_secret_value(
    sm: &SecretsManager,
    ctx: &RequestContext,
    input: GetSecretValueInput,
) -> Result<GetSecretValueOutput, E> {
    let mut keys: Vec<(&str, &str)> = Vec::new();
    if let Some(s) = input.version_stage.as_deref() {
        keys.push(("secretsmanager:VersionStage", s));
    }
    if let Some(v) = input.version_id.as_deref() {
        keys.push(("secretsmanager:VersionId", v));
    }
    // By label (the usual read): the version comes with the secret, in one store read.
    let staged = match input.version_id {
        None => Some(input.version_stage.as_deref().unwrap_or(CURRENT)),
        Some(_) => None,
    };
    let found = sm
        .find_staged(
            ctx,
            &input.secret_id,
            "secretsmanager:GetSecretValue",
            &keys,
            staged,
        )
        .await?;
    let secret = &found.secret;
    let value = match staged {
        Some(_) => {
            refuse_deleted(secret)?;
            let version = selected(found.version, None, input.version_stage.as_deref())?;
            sm.value_of(ctx, secret, version, found.key).await?
        }
        None => {
            sm.get_value(
                ctx,
                secret,
                input.version_id.as_deref(),
                input.version_stage.as_deref(),
            )
            .await?
        }
    };
    Ok(value.into())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutSecretValueInput {
    secret_id: String,
    client_request_token: Option<String>,
    secret_string: Option<SecretText>,
    secret_binary: Option<SecretBlob>,
    version_stages: Option<Vec<String>>,
    /// For rotation functions on AWS; coffer's rotation does not need it.
    #[allow(dead_code)]
    rotation_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutSecretValueOutput {
    #[serde(rename = "ARN")]
    arn: String,
    name: String,
    version_id: String,
    version_stages: Vec<String>,
}

/// <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html>
pub async fn put_secret_value(
    sm: &SecretsManager,
    ctx: &RequestContext,
    input: PutSecretValueInput,
) -> Result<PutSecretValueOutput, E> {
    let value = value_of(input.secret_string, input.secret_binary)?.ok_or_else(|| {
        E::InvalidRequest("You must provide either SecretString or SecretBinary.".to_owned())
    })?;
    let labels = input
        .version_stages
        .unwrap_or_else(|| vec![CURRENT.to_owned()]);
    let version_id = version_id(input.client_request_token)?;
    let w = sm
        .add_version(
            ctx,
            &input.secret_id,
            "secretsmanager:PutSecretValue",
            NewVersion {
                id: &version_id,
                value: &value,
                labels: &labels,
            },
            |_| {},
        )
        .await?;
    Ok(PutSecretValueOutput {
        arn: w.secret.arn,
        name: w.secret.name,
        version_id: w.version_id,
        version_stages: w.labels,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListSecretVersionIdsInput {
    secret_id: String,
    max_results: Option<i32>,
    next_token: Option<String>,
    include_deprecated: Option<bool>,
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListSecretVersionIdsOutput {
    versions: Vec<VersionEntry>,
    next_token: Option<String>,
    #[serde(rename = "ARN")]
    arn: String,
    name: String,
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VersionEntry {
    version_id: String,
    /// Absent for deprecated (unlabelled) versions.
    version_stages: Option<Vec<String>>,
    last_accessed_date: Option<Epoch>,
    created_date: Epoch,
    kms_key_ids: Vec<String>,
}

/// <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ListSecretVersionIds.html>
pub async fn list_secret_version_ids(
    sm: &SecretsManager,
    ctx: &RequestContext,
    input: ListSecretVersionIdsInput,
) -> Result<ListSecretVersionIdsOutput, E> {
    let secret = sm
        .find(ctx, &input.secret_id, "secretsmanager:ListSecretVersionIds")
        .await?;
    let versions = sm.store.list_secret_versions(&secret.arn).await?;
    let deprecated = input.include_deprecated.unwrap_or(false);
    // Newest first; the token is the id of the last version returned.
    let mut listed: Vec<SecretVersionRecord> = versions
        .into_iter()
        .rev()
        .filter(|v| deprecated || !v.stages.is_empty())
        .collect();
    if let Some(token) = &input.next_token {
        let after = super::list::decode_token(token)?;
        let at = listed
            .iter()
            .position(|v| v.version_id == after)
            .ok_or_else(super::list::bad_token)?;
        listed.drain(..=at);
    }
    let limit = super::list::page_size(input.max_results, 100);
    let more = listed.len() > limit;
    listed.truncate(limit);
    let next_token = if more {
        listed
            .last()
            .map(|v| super::list::encode_token(&v.version_id))
    } else {
        None
    };
    Ok(ListSecretVersionIdsOutput {
        versions: listed
            .into_iter()
            .map(|v| VersionEntry {
                version_id: v.version_id,
                version_stages: (!v.stages.is_empty()).then_some(v.stages),
                last_accessed_date: v.last_accessed_at.map(Epoch),
                created_date: Epoch(v.created_at),
                kms_key_ids: vec![v.kms_key_arn],
            })
            .collect(),
        next_token,
        arn: secret.arn,
        name: secret.name,
    })
}
