//! BatchGetSecretValue: values of a list of secrets, or of the secrets a filter selects, paged.
//! <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_BatchGetSecretValue.html>

use super::list::{Filter, ListPosition, matches_all};
use super::values::GetSecretValueOutput;
use super::{SecretsManager, SecretsManagerError as E};
use crate::RequestContext;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchGetSecretValueInput {
    secret_id_list: Option<Vec<String>>,
    #[serde(default)]
    filters: Vec<Filter>,
    max_results: Option<i32>,
    next_token: Option<String>,
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchGetSecretValueOutput {
    secret_values: Vec<GetSecretValueOutput>,
    next_token: Option<String>,
    errors: Vec<ApiError>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiError {
    secret_id: String,
    error_code: String,
    message: String,
}

/// <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_BatchGetSecretValue.html>
pub async fn batch_get_secret_value(
    sm: &SecretsManager,
    ctx: &RequestContext,
    input: BatchGetSecretValueInput,
) -> Result<BatchGetSecretValueOutput, E> {
    use crate::ServiceError;
    let mut out = BatchGetSecretValueOutput {
        secret_values: Vec::new(),
        next_token: None,
        errors: Vec::new(),
    };
    match input.secret_id_list {
        Some(ids) => {
            if !input.filters.is_empty() {
                return Err(E::InvalidParameter(
                    "Either SecretIdList or Filters must be specified, but not both.".to_owned(),
                ));
            }
            if input.next_token.is_some() || input.max_results.is_some() {
                return Err(E::InvalidParameter(
                    "MaxResults and NextToken can only be used with Filters.".to_owned(),
                ));
            }
            for id in ids {
                let got = async {
                    let secret = sm.find(ctx, &id, "secretsmanager:GetSecretValue").await?;
                    sm.get_value(ctx, &secret, None, None).await
                }
                .await;
                match got {
                    Ok(v) => out.secret_values.push(v.into()),
                    Err(E::Internal(d)) => return Err(E::Internal(d)),
                    Err(E::Unavailable(d)) => return Err(E::Unavailable(d)),
                    Err(e) => out.errors.push(ApiError {
                        secret_id: id,
                        error_code: e.code().to_owned(),
                        message: e.message(),
                    }),
                }
            }
        }
        None => {
            if input.filters.is_empty() {
                return Err(E::InvalidParameter(
                    "Either SecretIdList or Filters must be specified.".to_owned(),
                ));
            }
            let limit = super::list::page_size(input.max_results, 20);
            let position = ListPosition::decode(input.next_token.as_deref(), None)?;
            let (secrets, next) = sm
                .scan(ctx, &position, false, limit, |s| {
                    matches_all(&input.filters, s)
                })
                .await?;
            for secret in secrets {
                if let Err(e) = sm
                    .authorize(
                        ctx,
                        "secretsmanager:GetSecretValue",
                        &secret.arn,
                        Some(&secret),
                    )
                    .await
                {
                    out.errors.push(ApiError {
                        secret_id: secret.arn.clone(),
                        error_code: e.code().to_owned(),
                        message: e.message(),
                    });
                    continue;
                }
                match sm.get_value(ctx, &secret, None, None).await {
                    Ok(v) => out.secret_values.push(v.into()),
                    Err(E::Internal(d)) => return Err(E::Internal(d)),
                    Err(E::Unavailable(d)) => return Err(E::Unavailable(d)),
                    Err(e) => out.errors.push(ApiError {
                        secret_id: secret.arn.clone(),
                        error_code: e.code().to_owned(),
                        message: e.message(),
                    }),
                }
            }
            out.next_token = next;
        }
    }
    Ok(out)
}
