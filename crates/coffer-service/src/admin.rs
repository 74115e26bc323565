//! coffer's own administrative operations, on the same signed endpoint as the AWS APIs:
//! awsJson 1.1 with `X-Amz-Target: coffer.admin.OPERATION`, SigV4 with the signing name
//! `coffer`, callable only by an account's administrator (its root key). `coffer admin ...`
//! speaks it.
//!
//! - `CreateRotationFunction` {FunctionName, Url, TimeoutSeconds?}: register a rotation function
//!   reached over HTTP; RotateSecret selects it by the function name of its RotationLambdaARN.
//!   The answer carries the HMAC `SigningKey` (base64) once; coffer keeps it sealed.
//! - `ListRotationFunctions` {}, `DeleteRotationFunction` {FunctionName}.
//! - `DescribeRotation` {SecretId}: a secret's rotation in progress (step, attempts, last error,
//!   next attempt) and its recent history.

use crate::RequestContext;
use crate::error::{CommonErrors, ServiceError};
use crate::secretsmanager::SecretsManager;
use crate::secretsmanager::rotation::function_key_purpose;
use crate::wire::Epoch;
use base64::Engine;
use coffer_crypto::MasterKey;
use coffer_store::{RotationFunctionRecord, Store, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_with::skip_serializing_none;
use std::sync::Arc;

/// The operations, after `coffer.admin.`.
pub const OPERATIONS: &[&str] = &[
    "CreateRotationFunction",
    "ListRotationFunctions",
    "DeleteRotationFunction",
    "DescribeRotation",
];

/// Longest HTTP function timeout, as Lambda's.
const MAX_TIMEOUT_SECONDS: i64 = 900;
const DEFAULT_TIMEOUT_SECONDS: i64 = 30;

#[derive(Debug)]
pub enum AdminError {
    AccessDenied(String),
    InvalidParameter(String),
    ResourceExists(String),
    ResourceNotFound(String),
    Serialization(String),
    Internal(String),
}

impl ServiceError for AdminError {
    fn code(&self) -> &'static str {
        match self {
            Self::AccessDenied(_) => "AccessDeniedException",
            Self::InvalidParameter(_) => "InvalidParameterException",
            Self::ResourceExists(_) => "ResourceExistsException",
            Self::ResourceNotFound(_) => "ResourceNotFoundException",
            Self::Serialization(_) => "SerializationException",
            Self::Internal(_) => "InternalServiceError",
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::Internal(_) => 500,
            Self::AccessDenied(_)
            | Self::InvalidParameter(_)
            | Self::ResourceExists(_)
            | Self::ResourceNotFound(_)
            | Self::Serialization(_) => 400,
        }
    }

    fn message(&self) -> String {
        match self {
            Self::Internal(_) => "An error occurred on the server side.".to_owned(),
            Self::AccessDenied(m)
            | Self::InvalidParameter(m)
            | Self::ResourceExists(m)
            | Self::ResourceNotFound(m)
            | Self::Serialization(m) => m.clone(),
        }
    }

    fn internal_detail(&self) -> Option<&str> {
        match self {
            Self::Internal(d) => Some(d),
            _ => None,
        }
    }
}

impl CommonErrors for AdminError {
    fn validation(message: String) -> Self {
        Self::InvalidParameter(message)
    }
    fn serialization(message: String) -> Self {
        Self::Serialization(message)
    }
    fn internal(detail: String) -> Self {
        Self::Internal(detail)
    }
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        crate::error::store(e)
    }
}

/// The administrative operations.
#[derive(Clone)]
pub struct Admin {
    store: Store,
    master: Arc<MasterKey>,
    sm: SecretsManager,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin").finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct CreateInput {
    function_name: String,
    url: String,
    timeout_seconds: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct NameInput {
    function_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct SecretInput {
    secret_id: String,
}

#[skip_serializing_none]
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct FunctionOut {
    function_name: String,
    function_arn: String,
    url: String,
    timeout_seconds: i64,
    created_date: Epoch,
    /// Only in CreateRotationFunction's answer.
    signing_key: Option<String>,
}

fn out(f: &RotationFunctionRecord, signing_key: Option<String>) -> FunctionOut {
    FunctionOut {
        function_arn: format!(
            "arn:aws:lambda:{}:{}:function:{}",
            f.region, f.account_id, f.name
        ),
        function_name: f.name.clone(),
        url: f.url.clone(),
        timeout_seconds: f.timeout_ms / 1000,
        created_date: Epoch(f.created_at),
        signing_key,
    }
}

fn decode<T: serde::de::DeserializeOwned>(input: Value) -> Result<T, AdminError> {
    serde_json::from_value(input).map_err(|e| AdminError::Serialization(e.to_string()))
}

fn encode<T: Serialize>(v: &T) -> Result<Value, AdminError> {
    serde_json::to_value(v).map_err(|e| AdminError::Internal(format!("encoding: {e}")))
}

fn check_name(name: &str) -> Result<(), AdminError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        return Err(AdminError::InvalidParameter(
            "FunctionName must be 1 to 64 letters, digits, hyphens or underscores.".to_owned(),
        ));
    }
    Ok(())
}

impl Admin {
    pub fn new(store: Store, master: Arc<MasterKey>, sm: SecretsManager) -> Self {
        Self { store, master, sm }
    }

    pub(crate) fn store(&self) -> Store {
        self.store.clone()
    }

    pub(crate) fn master(&self) -> Arc<MasterKey> {
        self.master.clone()
    }

    pub fn has_operation(op: &str) -> bool {
        OPERATIONS.contains(&op)
    }

    /// Run `coffer.admin.<op>`.
    pub async fn dispatch(
        &self,
        ctx: &RequestContext,
        op: &str,
        input: Value,
    ) -> Result<Value, AdminError> {
        let root = format!("arn:aws:iam::{}:root", ctx.account());
        if ctx.principal.arn != root {
            return Err(AdminError::AccessDenied(format!(
                "User: {} is not authorized to perform: coffer:{op}: only the account administrator may call coffer's administrative operations",
                ctx.principal.arn
            )));
        }
        if !input.is_object() {
            return Err(AdminError::Serialization(
                "The request body must be a JSON object.".to_owned(),
            ));
        }
        match op {
            "CreateRotationFunction" => self.create(ctx, decode(input)?).await,
            "ListRotationFunctions" => {
                let fs = self
                    .store
                    .list_rotation_functions(ctx.account(), ctx.region())
                    .await?;
                encode(&serde_json::json!({
                    "Functions": fs.iter().map(|f| out(f, None)).collect::<Vec<_>>()
                }))
            }
            "DeleteRotationFunction" => {
                let NameInput { function_name } = decode(input)?;
                if !self
                    .store
                    .delete_rotation_function(ctx.account(), ctx.region(), &function_name)
                    .await?
                {
                    return Err(not_found(&function_name));
                }
                Ok(serde_json::json!({}))
            }
            "DescribeRotation" => {
                let SecretInput { secret_id } = decode(input)?;
                let status =
                    self.sm
                        .rotation_status(ctx, &secret_id)
                        .await
                        .map_err(|e| match e {
                            crate::secretsmanager::SecretsManagerError::Internal(d) => {
                                AdminError::Internal(d)
                            }
                            crate::secretsmanager::SecretsManagerError::ResourceNotFound(m) => {
                                AdminError::ResourceNotFound(m)
                            }
                            other => AdminError::InvalidParameter(other.message()),
                        })?;
                encode(&status)
            }
            other => Err(AdminError::InvalidParameter(format!(
                "Unknown operation {other}"
            ))),
        }
    }

    async fn create(&self, ctx: &RequestContext, input: CreateInput) -> Result<Value, AdminError> {
        check_name(&input.function_name)?;
        if crate::secretsmanager::rotation::is_builtin_name(&input.function_name) {
            return Err(AdminError::InvalidParameter(format!(
                "{} is the name of a built-in rotator.",
                input.function_name
            )));
        }
        let url = input.url.trim();
        let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
        if !scheme_ok || url.len() > 2048 || url.chars().any(char::is_whitespace) {
            return Err(AdminError::InvalidParameter(
                "Url must be an http:// or https:// URL of at most 2048 characters.".to_owned(),
            ));
        }
        let timeout = input.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECONDS);
        if !(1..=MAX_TIMEOUT_SECONDS).contains(&timeout) {
            return Err(AdminError::InvalidParameter(format!(
                "TimeoutSeconds must be between 1 and {MAX_TIMEOUT_SECONDS}."
            )));
        }
        let key =
            coffer_crypto::random::secret_bytes(32).map_err(crate::error::crypto::<AdminError>)?;
        let mut record = RotationFunctionRecord {
            account_id: ctx.account().to_owned(),
            region: ctx.region().to_owned(),
            name: input.function_name.clone(),
            url: url.to_owned(),
            timeout_ms: timeout * 1000,
            signing_key: Vec::new(),
            created_at: ctx.now,
        };
        record.signing_key = self
            .master
            .wrap(key.expose(), &function_key_purpose(&record))
            .map_err(crate::error::crypto::<AdminError>)?;
        match self.store.create_rotation_function(&record).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                return Err(AdminError::ResourceExists(format!(
                    "A rotation function named {} already exists.",
                    record.name
                )));
            }
            Err(e) => return Err(e.into()),
        }
        let b64 = base64::engine::general_purpose::STANDARD.encode(key.expose());
        encode(&out(&record, Some(b64)))
    }
}

fn not_found(name: &str) -> AdminError {
    AdminError::ResourceNotFound(format!("No rotation function named {name}."))
}
