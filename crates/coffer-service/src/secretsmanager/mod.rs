//! AWS Secrets Manager: secrets with versions, staging labels and per-version envelope encryption.
//! <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_Operations.html>

mod error;

pub use error::SecretsManagerError;

use crate::RequestContext;
use crate::kms::Kms;
use coffer_store::Store;
use coffer_types::SecretBytes;

/// The Secrets Manager service.
#[derive(Clone)]
pub struct SecretsManager {
    store: Store,
    kms: Kms,
}

/// A secret version's value as other services read it (Parameter Store's
/// `/aws/reference/secretsmanager/` names).
#[derive(Debug)]
pub struct SecretValue {
    pub arn: String,
    pub name: String,
    pub version_id: String,
    pub version_stages: Vec<String>,
    /// Unix millis.
    pub created_at: i64,
    /// SecretString, or SecretBinary when `binary`.
    pub value: SecretBytes,
    pub binary: bool,
}

impl std::fmt::Debug for SecretsManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsManager").finish_non_exhaustive()
    }
}

impl SecretsManager {
    pub fn new(store: Store, kms: Kms) -> Self {
        Self { store, kms }
    }

    /// GetSecretValue for another service: `secret_id` is a name or ARN, with an optional version
    /// id or staging label (AWSCURRENT when neither is given). Errors are Secrets Manager's own.
    pub async fn read_value(
        &self,
        ctx: &RequestContext,
        secret_id: &str,
        version_id: Option<&str>,
        version_stage: Option<&str>,
    ) -> Result<SecretValue, SecretsManagerError> {
        let _ = (&self.store, &self.kms, ctx, version_id, version_stage);
        Err(SecretsManagerError::ResourceNotFound(format!(
            "Secrets Manager can't find the specified secret: {secret_id}"
        )))
    }

    pub fn has_operation(_op: &str) -> bool {
        false
    }

    pub async fn dispatch(
        &self,
        _ctx: &RequestContext,
        op: &str,
        _input: serde_json::Value,
    ) -> Result<serde_json::Value, SecretsManagerError> {
        Err(crate::error::CommonErrors::internal(format!(
            "dispatch of unlisted operation {op}"
        )))
    }
}
