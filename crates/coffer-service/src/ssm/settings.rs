//! Parameter Store service settings: GetServiceSetting, UpdateServiceSetting,
//! ResetServiceSetting.
//! <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetServiceSetting.html>
//! <https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-throughput.html>

use super::{Empty, Ssm, SsmError};
use crate::RequestContext;
use crate::wire::Epoch;
use coffer_store::ServiceSettingRecord;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

pub const DEFAULT_TIER: &str = "/ssm/parameter-store/default-parameter-tier";
pub const HIGH_THROUGHPUT: &str = "/ssm/parameter-store/high-throughput-enabled";

/// The settings coffer knows: id, default, allowed values.
const SETTINGS: &[(&str, &str, &[&str])] = &[
    (
        DEFAULT_TIER,
        "Standard",
        &["Standard", "Advanced", "Intelligent-Tiering"],
    ),
    // Recorded and reported; coffer does not throttle, so it changes nothing else.
    (HIGH_THROUGHPUT, "false", &["true", "false"]),
];

type Setting = (&'static str, &'static str, &'static [&'static str]);

fn not_found() -> SsmError {
    SsmError::ServiceSettingNotFound(
        "The specified service setting wasn't found. Either the service name or the setting hasn't been provisioned by the AWS service team. Contact the AWS service team."
            .to_owned(),
    )
}

fn known(id: &str) -> Result<&'static Setting, SsmError> {
    SETTINGS
        .iter()
        .find(|(s, _, _)| *s == id)
        .ok_or_else(not_found)
}

/// The setting id from an id or its ARN (`arn:aws:ssm:REGION:ACCOUNT:servicesetting/ssm/...`).
fn setting_id(ctx: &RequestContext, raw: &str) -> Result<String, SsmError> {
    if raw.starts_with("arn:") {
        let prefix = format!(
            "arn:aws:ssm:{}:{}:servicesetting",
            ctx.region(),
            ctx.account()
        );
        return raw
            .strip_prefix(&prefix)
            .filter(|id| id.starts_with('/'))
            .map(str::to_owned)
            .ok_or_else(not_found);
    }
    Ok(raw.to_owned())
}

fn arn(ctx: &RequestContext, id: &str) -> String {
    format!(
        "arn:aws:ssm:{}:{}:servicesetting{id}",
        ctx.region(),
        ctx.account()
    )
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServiceSetting {
    setting_id: String,
    setting_value: String,
    last_modified_date: Option<Epoch>,
    last_modified_user: String,
    #[serde(rename = "ARN")]
    arn: String,
    status: &'static str,
}

impl Ssm {
    /// The value of a setting in the caller's account and region, default applied.
    pub(super) async fn setting(&self, ctx: &RequestContext, id: &str) -> Result<String, SsmError> {
        let (_, default, _) = known(id)?;
        Ok(self
            .store
            .get_service_setting(ctx.account(), ctx.region(), id)
            .await?
            .map_or_else(|| (*default).to_owned(), |s| s.value))
    }

    async fn describe_setting(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<ServiceSetting, SsmError> {
        let (id, default, _) = known(id)?;
        let stored = self
            .store
            .get_service_setting(ctx.account(), ctx.region(), id)
            .await?;
        Ok(match stored {
            Some(s) => ServiceSetting {
                setting_id: (*id).to_owned(),
                setting_value: s.value,
                last_modified_date: Some(Epoch(s.last_modified_at)),
                last_modified_user: s.last_modified_user,
                arn: arn(ctx, id),
                status: "Customized",
            },
            None => ServiceSetting {
                setting_id: (*id).to_owned(),
                setting_value: (*default).to_owned(),
                last_modified_date: None,
                last_modified_user: "System".to_owned(),
                arn: arn(ctx, id),
                status: "Default",
            },
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetServiceSettingInput {
    setting_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServiceSettingOutput {
    service_setting: ServiceSetting,
}

pub async fn get_service_setting(
    ssm: &Ssm,
    ctx: &RequestContext,
    input: GetServiceSettingInput,
) -> Result<ServiceSettingOutput, SsmError> {
    ssm.authorize_any(ctx, "GetServiceSetting").await?;
    let id = setting_id(ctx, &input.setting_id)?;
    Ok(ServiceSettingOutput {
        service_setting: ssm.describe_setting(ctx, &id).await?,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateServiceSettingInput {
    setting_id: String,
    setting_value: String,
}

pub async fn update_service_setting(
    ssm: &Ssm,
    ctx: &RequestContext,
    input: UpdateServiceSettingInput,
) -> Result<Empty, SsmError> {
    ssm.authorize_any(ctx, "UpdateServiceSetting").await?;
    let id = setting_id(ctx, &input.setting_id)?;
    let (id, _, allowed) = known(&id)?;
    // AWS accepts the boolean setting in any case; it reports it in lower case.
    let value = allowed
        .iter()
        .find(|v| v.eq_ignore_ascii_case(&input.setting_value))
        .ok_or_else(|| {
            SsmError::Validation(format!(
                "The value {} isn't valid for the setting {id}. Valid values are: {}.",
                input.setting_value,
                allowed.join(", ")
            ))
        })?;
    ssm.store
        .put_service_setting(&ServiceSettingRecord {
            account_id: ctx.account().to_owned(),
            region: ctx.region().to_owned(),
            setting_id: (*id).to_owned(),
            value: (*value).to_owned(),
            last_modified_at: ctx.now,
            last_modified_user: ctx.principal.arn.clone(),
        })
        .await?;
    Ok(Empty {})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResetServiceSettingInput {
    setting_id: String,
}

pub async fn reset_service_setting(
    ssm: &Ssm,
    ctx: &RequestContext,
    input: ResetServiceSettingInput,
) -> Result<ServiceSettingOutput, SsmError> {
    ssm.authorize_any(ctx, "ResetServiceSetting").await?;
    let id = setting_id(ctx, &input.setting_id)?;
    let (id, _, _) = known(&id)?;
    ssm.store
        .delete_service_setting(ctx.account(), ctx.region(), id)
        .await?;
    Ok(ServiceSettingOutput {
        service_setting: ssm.describe_setting(ctx, id).await?,
    })
}
