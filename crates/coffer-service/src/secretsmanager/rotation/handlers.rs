//! The operations: RotateSecret and CancelRotateSecret.
//! <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html>

use super::PENDING;
use super::engine::{function_name, new_rotation};
use super::schedule::{RotationRules, Schedule};
use crate::RequestContext;
use crate::secretsmanager::lookup::require_live;
use crate::secretsmanager::stages::{CURRENT, WRITE_ATTEMPTS, contended};
use crate::secretsmanager::{SecretsManager, SecretsManagerError as E};
use coffer_store::StoreError;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;
use std::time::Duration;

/// How long RotateSecret waits for the rotation it started before answering (it goes on after).
const ANSWER_WAIT: Duration = Duration::from_secs(10);

const PREVIOUS_INCOMPLETE: &str =
    "A previous rotation isn't complete. That rotation will be reattempted.";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotateSecretInput {
    secret_id: String,
    client_request_token: Option<String>,
    #[serde(rename = "RotationLambdaARN")]
    rotation_lambda_arn: Option<String>,
    rotation_rules: Option<RotationRules>,
    external_secret_rotation_metadata: Option<serde_json::Value>,
    external_secret_rotation_role_arn: Option<String>,
    rotate_immediately: Option<bool>,
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotateSecretOutput {
    #[serde(rename = "ARN")]
    arn: String,
    name: String,
    version_id: Option<String>,
}

/// <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html>
pub async fn rotate_secret(
    sm: &SecretsManager,
    ctx: &RequestContext,
    input: RotateSecretInput,
) -> Result<RotateSecretOutput, E> {
    if input.external_secret_rotation_metadata.is_some()
        || input.external_secret_rotation_role_arn.is_some()
    {
        return Err(E::InvalidRequest(
            "Managed external secret rotation is not available in coffer.".to_owned(),
        ));
    }
    let schedule = input
        .rotation_rules
        .as_ref()
        .map(Schedule::parse)
        .transpose()?;
    if let Some(arn) = &input.rotation_lambda_arn
        && function_name(arn).is_none()
    {
        return Err(E::InvalidParameter(format!(
            "The RotationLambdaARN {arn} is not a Lambda function ARN."
        )));
    }
    // As on AWS, RotateSecret answers a missing token with InvalidParameterException.
    let token = input.client_request_token.clone().ok_or_else(|| {
        E::InvalidParameter(crate::secretsmanager::values::TOKEN_REQUIRED.to_owned())
    })?;
    let immediately = input.rotate_immediately.unwrap_or(true);
    for _ in 0..WRITE_ATTEMPTS {
        let secret = sm
            .find(ctx, &input.secret_id, "secretsmanager:RotateSecret")
            .await?;
        require_live(&secret)?;
        let lambda = input
            .rotation_lambda_arn
            .clone()
            .or_else(|| secret.rotation_lambda_arn.clone())
            .ok_or_else(|| {
                E::InvalidRequest(
                    "No Lambda rotation function ARN is associated with this secret.".to_owned(),
                )
            })?;
        sm.resolve(&secret, &lambda).await?;

        // A rotation in progress: a retry of the same request succeeds again; else refused.
        if let Some(r) = sm.store.get_rotation(&secret.arn).await? {
            if input.client_request_token.as_deref() == Some(r.token.as_str()) {
                return Ok(RotateSecretOutput {
                    arn: secret.arn,
                    name: secret.name,
                    version_id: Some(r.token),
                });
            }
            return Err(E::InvalidRequest(PREVIOUS_INCOMPLETE.to_owned()));
        }
        let versions = sm.store.list_secret_versions(&secret.arn).await?;
        let holder = |label: &str| {
            versions
                .iter()
                .find(|v| v.stages.iter().any(|l| l == label))
                .map(|v| v.version_id.clone())
        };
        if let Some(p) = holder(PENDING)
            && Some(&p) != holder(CURRENT).as_ref()
        {
            return Err(E::InvalidRequest(PREVIOUS_INCOMPLETE.to_owned()));
        }
        if holder(CURRENT).is_none() {
            return Err(E::InvalidRequest(
                "The secret has no value to rotate: it has no AWSCURRENT version.".to_owned(),
            ));
        }

        let mut meta = secret.clone();
        meta.rotation_lambda_arn = Some(lambda.clone());
        let effective = match &schedule {
            Some(s) => {
                meta.rotation_rules = Some(s.rules_json());
                Some(s.clone())
            }
            None => Schedule::stored(secret.rotation_rules.as_deref()),
        };
        meta.rotation_enabled = effective.is_some();
        if !immediately {
            meta.next_rotation_at = effective
                .as_ref()
                .and_then(|s| s.first_window(ctx.now, secret.last_rotated_at));
            if sm.commit_meta(&meta).await? {
                return Ok(RotateSecretOutput {
                    arn: meta.arn,
                    name: meta.name,
                    version_id: None,
                });
            }
            continue;
        }
        // Until this rotation completes and sets the next window.
        meta.next_rotation_at = None;
        let token = token.clone();
        if versions.iter().any(|v| v.version_id == token) {
            return Err(crate::secretsmanager::values::token_in_use(
                &token,
                &secret.arn,
            ));
        }
        let record = new_rotation(&secret.arn, &token, &lambda, ctx.now);
        match sm.store.start_rotation(&meta, &record).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
        sm.event(
            &secret.arn,
            &token,
            "RotateSecret",
            "started",
            None,
            ctx.now,
        )
        .await;
        // Rotation is asynchronous on AWS; coffer runs it in the background and answers when it
        // is done or after a short wait, whichever comes first.
        let runner = sm.clone();
        let arn = secret.arn.clone();
        let now = ctx.now;
        let task = tokio::spawn(async move {
            if let Err(e) = runner.drive(&arn, now).await {
                tracing::error!(secret = %arn, error = ?e, "rotation run failed; the scheduler will retry");
            }
        });
        let _ = tokio::time::timeout(ANSWER_WAIT, task).await;
        return Ok(RotateSecretOutput {
            arn: secret.arn,
            name: secret.name,
            version_id: Some(token),
        });
    }
    Err(contended())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CancelRotateSecretInput {
    secret_id: String,
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CancelRotateSecretOutput {
    #[serde(rename = "ARN")]
    arn: String,
    name: String,
    version_id: Option<String>,
}

/// <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CancelRotateSecret.html>
pub async fn cancel_rotate_secret(
    sm: &SecretsManager,
    ctx: &RequestContext,
    input: CancelRotateSecretInput,
) -> Result<CancelRotateSecretOutput, E> {
    for _ in 0..WRITE_ATTEMPTS {
        let secret = sm
            .find(ctx, &input.secret_id, "secretsmanager:CancelRotateSecret")
            .await?;
        require_live(&secret)?;
        let running = sm.store.get_rotation(&secret.arn).await?;
        let mut meta = secret.clone();
        meta.rotation_enabled = false;
        meta.next_rotation_at = None;
        match sm.store.end_rotation(&meta, None).await {
            Ok(()) => {
                if let Some(r) = &running {
                    sm.event(
                        &secret.arn,
                        &r.token,
                        "CancelRotateSecret",
                        "cancelled",
                        None,
                        ctx.now,
                    )
                    .await;
                }
                return Ok(CancelRotateSecretOutput {
                    arn: secret.arn,
                    name: secret.name,
                    version_id: running.map(|r| r.token),
                });
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(contended())
}
