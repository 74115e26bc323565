//! PutParameter: create a parameter or add a version.
//! <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html>
//! <https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html>
//! <https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-versions.html>

use super::names::{arn, new_name};
use super::policies::{self, InlinePolicy};
use super::seal::DEFAULT_KEY;
use super::settings::DEFAULT_TIER;
use super::tags::{TagIn, check_tags};
use super::{RETRIES, Ssm, SsmError, ValueIn, too_many_updates};
use crate::RequestContext;
use coffer_store::{
    ParameterRecord, ParameterVersionRecord, ParameterWrite, StoreError, StoredParameter,
    StoredValue, WriteOutcome, parameter_key,
};
use serde::{Deserialize, Serialize};

/// Versions kept per parameter; the oldest goes when a new one would pass it.
pub const MAX_VERSIONS: u64 = 100;
/// Value sizes, in bytes, per tier.
pub const STANDARD_MAX: usize = 4096;
pub const ADVANCED_MAX: usize = 8192;

pub const STANDARD: &str = "Standard";
pub const ADVANCED: &str = "Advanced";
pub const INTELLIGENT: &str = "Intelligent-Tiering";

/// DataType values AWS accepts.
/// <https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-ec2-aliases.html>
const DATA_TYPES: &[&str] = &["text", "aws:ec2:image", "aws:ssm:integration"];

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutParameterInput {
    name: String,
    description: Option<String>,
    value: ValueIn,
    #[serde(rename = "Type")]
    param_type: Option<String>,
    key_id: Option<String>,
    overwrite: Option<bool>,
    allowed_pattern: Option<String>,
    tags: Option<Vec<TagIn>>,
    tier: Option<String>,
    policies: Option<String>,
    data_type: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutParameterOutput {
    version: i64,
    tier: String,
}

/// AllowedPattern: a regular expression the value must match. AWS evaluates Java regexes; the
/// `regex` crate agrees on the syntax people use (classes, anchors, repetition) and refuses
/// lookaround and backreferences, which are then reported as an invalid pattern.
fn check_pattern(pattern: &str, value: &[u8]) -> Result<(), SsmError> {
    let re = regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|_| {
            SsmError::InvalidAllowedPattern(
                "The request does not meet the regular expression requirement.".to_owned(),
            )
        })?;
    let text = std::str::from_utf8(value).unwrap_or_default();
    if re.is_match(text) {
        Ok(())
    } else {
        Err(SsmError::ParameterPatternMismatch(format!(
            "Parameter value, cannot be validated against allowedPattern: {pattern}"
        )))
    }
}

/// `aws:ec2:image` values are AMI ids (AWS then checks that the image exists; coffer has no EC2).
fn check_data_type(data_type: &str, param_type: &str, value: &[u8]) -> Result<(), SsmError> {
    if !DATA_TYPES.contains(&data_type) {
        return Err(SsmError::Validation(format!(
            "The following data type is not supported: {data_type} (Data type names are all lowercase.)"
        )));
    }
    if data_type == "aws:ec2:image" {
        if param_type != "String" {
            return Err(SsmError::UnsupportedParameterType(
                "The aws:ec2:image data type is supported only for parameters of type String."
                    .to_owned(),
            ));
        }
        let ok = value
            .strip_prefix(b"ami-")
            .is_some_and(|id| matches!(id.len(), 8 | 17) && id.iter().all(u8::is_ascii_hexdigit));
        if !ok {
            return Err(SsmError::Validation(
                "Parameter value, cannot be validated against the data type aws:ec2:image: the value must be an AMI ID in the format ami-12345abcdeEXAMPLE.".to_owned(),
            ));
        }
    }
    Ok(())
}

const STANDARD_TOO_LARGE: &str = "Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier. For more information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html";

/// The tier a write lands in.
/// <https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html>
///
/// An explicit tier wins; without one a new parameter takes the account's default tier and an
/// existing one keeps its tier. Intelligent-Tiering picks Advanced only when the value, the
/// policies or a full Standard tier need it. A parameter never goes back from Advanced to
/// Standard.
fn resolve_tier(
    requested: &str,
    existing: Option<&str>,
    size: usize,
    has_policies: bool,
    standard_full: bool,
) -> Result<&'static str, SsmError> {
    let was_advanced = existing == Some(ADVANCED);
    let tier = match requested {
        ADVANCED => ADVANCED,
        INTELLIGENT => {
            if was_advanced
                || has_policies
                || size > STANDARD_MAX
                || (existing.is_none() && standard_full)
            {
                ADVANCED
            } else {
                STANDARD
            }
        }
        _ => {
            if was_advanced {
                return Err(SsmError::Validation(
                    "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the advanced parameter and recreate it as a standard parameter.".to_owned(),
                ));
            }
            if size > STANDARD_MAX {
                return Err(SsmError::Validation(STANDARD_TOO_LARGE.to_owned()));
            }
            if has_policies {
                return Err(SsmError::Validation(
                    "Parameter policies are supported only for parameters in the advanced-parameter tier. Upgrade the parameter to use the advanced-parameter tier to attach policies.".to_owned(),
                ));
            }
            STANDARD
        }
    };
    if size > ADVANCED_MAX {
        return Err(SsmError::Validation(format!(
            "Advanced tier parameters support a maximum parameter value of {ADVANCED_MAX} characters."
        )));
    }
    Ok(tier)
}

pub async fn put_parameter(
    ssm: &Ssm,
    ctx: &RequestContext,
    input: PutParameterInput,
) -> Result<PutParameterOutput, SsmError> {
    ssm.authorize_name(ctx, "PutParameter", &input.name).await?;
    let name = new_name(ctx, &input.name)?;
    let overwrite = input.overwrite.unwrap_or(false);
    let tags = input.tags.as_deref().unwrap_or_default();
    if overwrite && !tags.is_empty() {
        return Err(SsmError::Validation(
            "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.".to_owned(),
        ));
    }
    if input.value.0.is_empty() {
        return Err(SsmError::Validation(
            "1 validation error detected: Value '' at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1.".to_owned(),
        ));
    }
    let tags = check_tags(tags, tags.len())?;
    let new_policies = input
        .policies
        .as_deref()
        .map(|p| policies::parse(p, ctx.now))
        .transpose()?;
    for _ in 0..RETRIES {
        let existing = ssm.current(ctx, parameter_key(&name)).await?;
        match write(
            ssm,
            ctx,
            &input,
            &name,
            overwrite,
            &tags,
            new_policies.as_deref(),
            existing,
        )
        .await
        {
            Err(Retry::Conflict) => continue,
            Err(Retry::Failed(e)) => return Err(e),
            Ok(out) => return Ok(out),
        }
    }
    Err(too_many_updates())
}

enum Retry {
    Conflict,
    Failed(SsmError),
}

impl From<SsmError> for Retry {
    fn from(e: SsmError) -> Self {
        Self::Failed(e)
    }
}

impl From<StoreError> for Retry {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => Self::Conflict,
            other => Self::Failed(other.into()),
        }
    }
}

#[allow(clippy::too_many_arguments)] // one attempt of the handler above, with what it checked
async fn write(
    ssm: &Ssm,
    ctx: &RequestContext,
    input: &PutParameterInput,
    name: &str,
    overwrite: bool,
    tags: &[coffer_store::Tag],
    new_policies: Option<&[InlinePolicy]>,
    existing: Option<StoredParameter>,
) -> Result<PutParameterOutput, Retry> {
    let old = existing.as_ref().map(|e| &e.parameter);
    if old.is_some() && !overwrite {
        return Err(SsmError::ParameterAlreadyExists(
            "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.".to_owned(),
        )
        .into());
    }
    let attrs = attributes(input, name, old, new_policies)?;
    let tier = tier_for(ssm, ctx, input, old, &attrs).await?;
    let prune = match &existing {
        Some(e) => oldest_to_prune(ssm, ctx, e).await?,
        None => None,
    };
    let version = old.map_or(1, |o| o.version + 1);
    // The stored name stays the one the parameter was created with (`/x` and `x` are one).
    let stored_name = old.map_or_else(|| name.to_owned(), |o| o.name.clone());
    let stored_value = match &attrs.key_id {
        Some(k) => {
            let arn = arn(ctx, &stored_name);
            ssm.seal(ctx, k, &arn, version, &input.value.0).await?
        }
        None => StoredValue::Plain(String::from_utf8_lossy(input.value.0.expose()).into_owned()),
    };
    let tags = old.map_or_else(|| tags.to_vec(), |o| o.tags.clone());
    let row_version = old.map_or(1, |o| o.row_version);
    let (record, version_record) = records(
        ctx,
        attrs,
        Written {
            name: stored_name,
            tier,
            version,
            value: stored_value,
            tags,
            row_version,
        },
    );
    let tier_limit = if tier == ADVANCED {
        ssm.limits.advanced_parameters
    } else {
        ssm.limits.standard_parameters
    };
    let outcome = ssm
        .store
        .put_parameter(ParameterWrite {
            parameter: &record,
            create: old.is_none(),
            version: &version_record,
            prune,
            tier_limit,
        })
        .await?;
    match outcome {
        WriteOutcome::Written => Ok(PutParameterOutput {
            version,
            tier: tier.to_owned(),
        }),
        WriteOutcome::TierLimitExceeded => Err(SsmError::ParameterLimitExceeded(
            "You have exceeded the number of parameters for this AWS account. Delete one or more parameters and try again.".to_owned(),
        )
        .into()),
    }
}

/// What a new version is, from the request and, for what it leaves out, the current version.
struct Attributes {
    param_type: String,
    data_type: String,
    allowed_pattern: Option<String>,
    description: Option<String>,
    /// The KMS key of a SecureString; `None` for String and StringList.
    key_id: Option<String>,
    policies: Vec<InlinePolicy>,
}

/// The new version's attributes, every rule that concerns them checked against the value.
fn attributes(
    input: &PutParameterInput,
    name: &str,
    old: Option<&ParameterRecord>,
    new_policies: Option<&[InlinePolicy]>,
) -> Result<Attributes, SsmError> {
    let param_type = match (input.param_type.as_deref(), old) {
        (Some(t), Some(o)) if t != o.param_type => {
            return Err(SsmError::HierarchyTypeMismatch(format!(
                "The parameter type can't be changed: {name} is a {} parameter. Parameter Store doesn't support changing a parameter type in a hierarchy. To use another type, create a new, unique parameter.",
                o.param_type
            )));
        }
        (Some(t), _) => t.to_owned(),
        (None, Some(o)) => o.param_type.clone(),
        (None, None) => {
            return Err(SsmError::Validation(
                "A parameter type is required when you create a parameter.".to_owned(),
            ));
        }
    };
    let secure = param_type == "SecureString";
    if input.key_id.is_some() && !secure {
        return Err(SsmError::Validation(
            "KeyId is required for SecureString type parameter only.".to_owned(),
        ));
    }
    let value = input.value.0.expose();
    let data_type = input
        .data_type
        .clone()
        .or_else(|| old.map(|o| o.data_type.clone()))
        .unwrap_or_else(|| "text".to_owned());
    check_data_type(&data_type, &param_type, value)?;
    let allowed_pattern = input
        .allowed_pattern
        .clone()
        .or_else(|| old.and_then(|o| o.allowed_pattern.clone()))
        .filter(|p| !p.is_empty());
    if let Some(p) = &allowed_pattern {
        check_pattern(p, value)?;
    }
    Ok(Attributes {
        description: input
            .description
            .clone()
            .or_else(|| old.and_then(|o| o.description.clone())),
        key_id: secure.then(|| {
            input
                .key_id
                .clone()
                .or_else(|| old.and_then(|o| o.key_id.clone()))
                .unwrap_or_else(|| DEFAULT_KEY.to_owned())
        }),
        policies: match new_policies {
            Some(p) => p.to_vec(),
            None => {
                policies::after_change(policies::stored(old.and_then(|o| o.policies.as_deref())))
            }
        },
        param_type,
        data_type,
        allowed_pattern,
    })
}

/// The tier the version lands in: the request's, else (see [`resolve_tier`]) the account's
/// default for a new parameter and the parameter's own for an existing one.
async fn tier_for(
    ssm: &Ssm,
    ctx: &RequestContext,
    input: &PutParameterInput,
    old: Option<&ParameterRecord>,
    attrs: &Attributes,
) -> Result<&'static str, SsmError> {
    let requested = match (&input.tier, old) {
        (Some(t), _) => t.clone(),
        (None, Some(o)) => {
            // An existing parameter keeps its tier, unless the account lets Intelligent-Tiering
            // move it up when it has to.
            let default = ssm.setting(ctx, DEFAULT_TIER).await?;
            if default == INTELLIGENT {
                default
            } else {
                o.tier.clone()
            }
        }
        (None, None) => ssm.setting(ctx, DEFAULT_TIER).await?,
    };
    let standard_full = requested == INTELLIGENT
        && ssm
            .store
            .count_parameters(ctx.account(), ctx.region(), STANDARD)
            .await?
            >= ssm.limits.standard_parameters;
    resolve_tier(
        &requested,
        old.map(|o| o.tier.as_str()),
        input.value.0.len(),
        !attrs.policies.is_empty(),
        standard_full,
    )
}

/// The oldest version, when a new one would pass [`MAX_VERSIONS`]; refused if it is labelled.
async fn oldest_to_prune(
    ssm: &Ssm,
    ctx: &RequestContext,
    existing: &StoredParameter,
) -> Result<Option<i64>, SsmError> {
    let o = &existing.parameter;
    let key = parameter_key(&o.name);
    let count = ssm
        .store
        .count_parameter_versions(ctx.account(), ctx.region(), key)
        .await?;
    if count < MAX_VERSIONS {
        return Ok(None);
    }
    let Some(oldest) = ssm
        .store
        .oldest_parameter_version(ctx.account(), ctx.region(), key)
        .await?
    else {
        return Ok(None);
    };
    if existing.labels.iter().any(|(_, v)| *v == oldest) {
        return Err(SsmError::ParameterMaxVersionLimitExceeded(format!(
            "You attempted to create a new version of {} by calling the PutParameter API with the overwrite flag. Version {oldest}, the oldest version, can't be deleted because it has a label associated with it. Move the label to another version of the parameter, and try again.",
            o.name
        )));
    }
    Ok(Some(oldest))
}

/// What the write decided beyond the attributes.
struct Written {
    name: String,
    tier: &'static str,
    version: i64,
    value: StoredValue,
    tags: Vec<coffer_store::Tag>,
    row_version: i64,
}

/// The parameter's new metadata and its new version row.
fn records(
    ctx: &RequestContext,
    a: Attributes,
    w: Written,
) -> (ParameterRecord, ParameterVersionRecord) {
    let (expires_at, next_event_at) = policies::schedule(&a.policies, ctx.now);
    let policies_json = policies::to_json(&a.policies);
    let record = ParameterRecord {
        account_id: ctx.account().to_owned(),
        region: ctx.region().to_owned(),
        name: w.name,
        param_type: a.param_type.clone(),
        tier: w.tier.to_owned(),
        data_type: a.data_type.clone(),
        key_id: a.key_id.clone(),
        description: a.description.clone(),
        allowed_pattern: a.allowed_pattern.clone(),
        policies: policies_json.clone(),
        version: w.version,
        last_modified_at: ctx.now,
        last_modified_user: ctx.principal.arn.clone(),
        tags: w.tags,
        expires_at,
        next_event_at,
        row_version: w.row_version,
    };
    let version = ParameterVersionRecord {
        version: w.version,
        param_type: a.param_type,
        tier: w.tier.to_owned(),
        data_type: a.data_type,
        key_id: a.key_id,
        description: a.description,
        allowed_pattern: a.allowed_pattern,
        policies: policies_json,
        last_modified_at: ctx.now,
        last_modified_user: ctx.principal.arn.clone(),
        value: w.value,
        labels: Vec::new(),
    };
    (record, version)
}

impl Ssm {
    /// The parameter stored under `key` in the caller's account and region, unless absent or
    /// expired (an expired one is deleted on the way).
    pub(super) async fn current(
        &self,
        ctx: &RequestContext,
        key: &str,
    ) -> Result<Option<StoredParameter>, SsmError> {
        self.current_in(ctx.account(), ctx.region(), key, ctx.now)
            .await
    }

    /// [`Self::current`] in a given account and region (a shared parameter's owner's).
    pub(super) async fn current_in(
        &self,
        account: &str,
        region: &str,
        key: &str,
        now: i64,
    ) -> Result<Option<StoredParameter>, SsmError> {
        match self.store.get_parameter(account, region, key).await? {
            Some(p) => self.expire_if_due(p, now).await,
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn tiers_resolve_as_aws_documents() {
        assert_eq!(
            resolve_tier(STANDARD, None, 10, false, false).ok(),
            Some(STANDARD)
        );
        assert_eq!(
            resolve_tier(ADVANCED, None, 10, false, false).ok(),
            Some(ADVANCED)
        );
        assert_eq!(
            resolve_tier(INTELLIGENT, None, 10, false, false).ok(),
            Some(STANDARD)
        );
        assert_eq!(
            resolve_tier(INTELLIGENT, None, 5000, false, false).ok(),
            Some(ADVANCED)
        );
        assert_eq!(
            resolve_tier(INTELLIGENT, None, 10, true, false).ok(),
            Some(ADVANCED)
        );
        assert_eq!(
            resolve_tier(INTELLIGENT, None, 10, false, true).ok(),
            Some(ADVANCED)
        );
        assert_eq!(
            resolve_tier(INTELLIGENT, Some(ADVANCED), 10, false, false).ok(),
            Some(ADVANCED)
        );
        assert!(resolve_tier(STANDARD, Some(ADVANCED), 10, false, false).is_err());
        assert!(resolve_tier(STANDARD, None, 4097, false, false).is_err());
        assert!(resolve_tier(STANDARD, None, 4096, false, false).is_ok());
        assert!(resolve_tier(STANDARD, None, 10, true, false).is_err());
        assert!(resolve_tier(ADVANCED, None, 8193, false, false).is_err());
        assert!(resolve_tier(ADVANCED, None, 8192, false, false).is_ok());
    }

    #[test]
    fn patterns_and_data_types() {
        assert!(check_pattern(r"^\d+$", b"123").is_ok());
        assert!(matches!(
            check_pattern(r"^\d+$", b"12a"),
            Err(SsmError::ParameterPatternMismatch(_))
        ));
        assert!(matches!(
            check_pattern(r"(", b"x"),
            Err(SsmError::InvalidAllowedPattern(_))
        ));
        assert!(check_data_type("text", "SecureString", b"x").is_ok());
        assert!(check_data_type("aws:ec2:image", "String", b"ami-0123456789abcdef0").is_ok());
        assert!(check_data_type("aws:ec2:image", "String", b"ami-12345678").is_ok());
        assert!(check_data_type("aws:ec2:image", "String", b"ami-xyz").is_err());
        assert!(check_data_type("aws:ec2:image", "StringList", b"ami-12345678").is_err());
        assert!(check_data_type("Text", "String", b"x").is_err());
    }
}
