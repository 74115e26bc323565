//! The plugin API of rotation: the four steps, the Lambda event, [`RotationFunction`] and
//! [`FunctionHost`] (how built-in rotators and HTTP functions plug in), and [`RotationApi`], the
//! Secrets Manager calls a rotation function makes.
//! <https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html>

use super::PENDING;
use super::generic;
use crate::secretsmanager::stages::CURRENT;
use crate::secretsmanager::values::NewVersion;
use crate::secretsmanager::{SecretValue, SecretsManager, SecretsManagerError as E};
use crate::{RequestContext, ServiceError};
use async_trait::async_trait;
use coffer_types::SecretBytes;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

/// The four steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    CreateSecret,
    SetSecret,
    TestSecret,
    FinishSecret,
}

impl Step {
    pub const ALL: [Step; 4] = [
        Step::CreateSecret,
        Step::SetSecret,
        Step::TestSecret,
        Step::FinishSecret,
    ];

    /// The name in the Lambda event.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreateSecret => "createSecret",
            Self::SetSecret => "setSecret",
            Self::TestSecret => "testSecret",
            Self::FinishSecret => "finishSecret",
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The Lambda event of one step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Invocation {
    /// The secret's ARN.
    pub secret_id: String,
    /// The AWSPENDING version's id.
    pub client_request_token: String,
    pub step: &'static str,
}

/// Why a step failed. The message is recorded and logged: it must never hold secret material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationError(pub String);

impl RotationError {
    pub fn new(m: impl Into<String>) -> Self {
        Self(m.into())
    }
}

impl std::fmt::Display for RotationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<E> for RotationError {
    fn from(e: E) -> Self {
        match e {
            E::Internal(_) => {
                Self("InternalServiceError: an error occurred on the server side".into())
            }
            e => Self(format!("{}: {}", e.code(), e.message())),
        }
    }
}

/// A rotation function: runs one step of the protocol for a secret.
#[async_trait]
pub trait RotationFunction: Send + Sync {
    async fn invoke(&self, event: &Invocation, api: &RotationApi) -> Result<(), RotationError>;
}

/// A rotation function reached over HTTP, as registered.
pub struct HttpFunction {
    pub name: String,
    pub url: String,
    pub timeout: Duration,
    /// The HMAC key requests are signed with.
    pub signing_key: SecretBytes,
}

impl std::fmt::Debug for HttpFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpFunction")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Where rotation functions come from: built-in rotators by name, and HTTP functions.
pub trait FunctionHost: Send + Sync + std::fmt::Debug {
    fn builtin(&self, name: &str) -> Option<Arc<dyn RotationFunction>>;
    fn http(&self, function: HttpFunction) -> Arc<dyn RotationFunction>;
}

/// The host coffer-service has on its own: the generic rotator, and no HTTP client.
#[derive(Debug, Default)]
pub struct GenericOnly;

impl FunctionHost for GenericOnly {
    fn builtin(&self, name: &str) -> Option<Arc<dyn RotationFunction>> {
        generic::builtin(name)
    }

    fn http(&self, _function: HttpFunction) -> Arc<dyn RotationFunction> {
        Arc::new(Unavailable)
    }
}

/// The names of the built-in rotators: AWS's RDS rotation templates and the generic rotator.
pub const BUILTIN_NAMES: &[&str] = &[
    "SecretsManagerRDSPostgreSQLRotationSingleUser",
    "SecretsManagerRDSPostgreSQLRotationMultiUser",
    "SecretsManagerRDSMySQLRotationSingleUser",
    "SecretsManagerRDSMySQLRotationMultiUser",
    "SecretsManagerRDSMariaDBRotationSingleUser",
    "SecretsManagerRDSMariaDBRotationMultiUser",
    generic::GENERIC_ROTATOR,
];

/// True if `name` is reserved for a built-in rotator.
pub fn is_builtin_name(name: &str) -> bool {
    BUILTIN_NAMES.contains(&name)
}

/// The generic rotator by name, for hosts that add their own built-ins.
pub fn generic_builtin(name: &str) -> Option<Arc<dyn RotationFunction>> {
    generic::builtin(name)
}

pub(super) struct Unavailable;

#[async_trait]
impl RotationFunction for Unavailable {
    async fn invoke(&self, _: &Invocation, _: &RotationApi) -> Result<(), RotationError> {
        Err(RotationError::new(
            "HTTP rotation functions are not available in this server",
        ))
    }
}

/// Secrets Manager as a rotation function sees it: the calls AWS's rotation templates make,
/// in-process, as the secret's account.
#[derive(Debug)]
pub struct RotationApi {
    pub(super) sm: SecretsManager,
    pub(super) ctx: RequestContext,
}

impl RotationApi {
    /// GetSecretValue.
    pub async fn get_value(
        &self,
        secret_id: &str,
        version_id: Option<&str>,
        stage: Option<&str>,
    ) -> Result<SecretValue, RotationError> {
        Ok(self
            .sm
            .read_value(&self.ctx, secret_id, version_id, stage)
            .await?)
    }

    /// The value of the secret's AWSPENDING version `token` (setSecret and testSecret read it).
    pub async fn pending(&self, event: &Invocation) -> Result<SecretValue, RotationError> {
        self.get_value(
            &event.secret_id,
            Some(&event.client_request_token),
            Some(PENDING),
        )
        .await
    }

    /// Each version's id and labels (DescribeSecret's VersionIdsToStages).
    pub async fn stages(
        &self,
        secret_id: &str,
    ) -> Result<Vec<(String, Vec<String>)>, RotationError> {
        let secret = self
            .sm
            .find(&self.ctx, secret_id, "secretsmanager:DescribeSecret")
            .await?;
        let versions = self
            .sm
            .store
            .list_secret_versions(&secret.arn)
            .await
            .map_err(E::from)?;
        Ok(versions
            .into_iter()
            .map(|v| (v.version_id, v.stages))
            .collect())
    }

    /// A new password for a rotated credential (32 characters, every character type, none of
    /// `/@"'\`), from the GetRandomPassword generator.
    pub fn new_password(&self) -> Result<SecretBytes, RotationError> {
        Ok(crate::secretsmanager::password::rotation_password()?)
    }

    /// The standard createSecret: if version `token` exists, nothing to do; otherwise `make`
    /// derives the new value from AWSCURRENT's and it is stored as `token` with AWSPENDING.
    pub async fn create_pending(
        &self,
        event: &Invocation,
        make: impl FnOnce(&SecretBytes) -> Result<SecretBytes, RotationError> + Send,
    ) -> Result<(), RotationError> {
        let secret = self
            .sm
            .find(&self.ctx, &event.secret_id, "secretsmanager:PutSecretValue")
            .await?;
        if self
            .sm
            .store
            .get_secret_version(&secret.arn, &event.client_request_token)
            .await
            .map_err(E::from)?
            .is_some()
        {
            return Ok(());
        }
        let current = self
            .get_value(&event.secret_id, None, Some(CURRENT))
            .await?;
        let value = (make(&current.value)?, false);
        self.sm
            .add_version(
                &self.ctx,
                &secret.arn,
                "secretsmanager:PutSecretValue",
                NewVersion {
                    id: &event.client_request_token,
                    value: &value,
                    labels: &[PENDING.to_owned()],
                },
                |_| {},
            )
            .await?;
        Ok(())
    }

    /// The standard finishSecret: move AWSCURRENT to version `token` (AWSPREVIOUS follows).
    pub async fn finish(&self, event: &Invocation) -> Result<(), RotationError> {
        let stages = self.stages(&event.secret_id).await?;
        let current = stages
            .iter()
            .find(|(_, labels)| labels.iter().any(|l| l == CURRENT))
            .map(|(id, _)| id.clone());
        if current.as_deref() == Some(event.client_request_token.as_str()) {
            return Ok(());
        }
        let mut input = serde_json::json!({
            "SecretId": event.secret_id,
            "VersionStage": CURRENT,
            "MoveToVersionId": event.client_request_token,
        });
        if let Some(c) = current {
            input["RemoveFromVersionId"] = serde_json::Value::String(c);
        }
        self.sm
            .dispatch(&self.ctx, "UpdateSecretVersionStage", input)
            .await?;
        Ok(())
    }
}
