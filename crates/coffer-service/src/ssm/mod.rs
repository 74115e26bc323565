//! AWS Systems Manager Parameter Store.
//! <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_Operations.html>

use crate::RequestContext;
use crate::error::{CommonErrors, ServiceError};
use crate::kms::Kms;
use crate::secretsmanager::SecretsManager;
use coffer_store::Store;

/// The Parameter Store service.
#[derive(Clone)]
pub struct Ssm {
    store: Store,
    kms: Kms,
    secretsmanager: SecretsManager,
}

impl std::fmt::Debug for Ssm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ssm").finish_non_exhaustive()
    }
}

impl Ssm {
    pub fn new(store: Store, kms: Kms, secretsmanager: SecretsManager) -> Self {
        Self {
            store,
            kms,
            secretsmanager,
        }
    }

    pub fn has_operation(_op: &str) -> bool {
        false
    }

    pub async fn dispatch(
        &self,
        _ctx: &RequestContext,
        op: &str,
        _input: serde_json::Value,
    ) -> Result<serde_json::Value, SsmError> {
        let _ = (&self.store, &self.kms, &self.secretsmanager);
        Err(SsmError::internal(format!(
            "dispatch of unlisted operation {op}"
        )))
    }
}

#[derive(Debug)]
pub enum SsmError {
    Internal(String),
    Validation(String),
    Serialization(String),
}

impl ServiceError for SsmError {
    fn code(&self) -> &'static str {
        match self {
            Self::Internal(_) => "InternalServerError",
            Self::Validation(_) => "ValidationException",
            Self::Serialization(_) => "SerializationException",
        }
    }
    fn status(&self) -> u16 {
        match self {
            Self::Internal(_) => 500,
            Self::Validation(_) | Self::Serialization(_) => 400,
        }
    }
    fn message(&self) -> String {
        match self {
            Self::Internal(_) => "An internal error occurred.".to_owned(),
            Self::Validation(m) | Self::Serialization(m) => m.clone(),
        }
    }
    fn internal_detail(&self) -> Option<&str> {
        match self {
            Self::Internal(d) => Some(d),
            _ => None,
        }
    }
}

impl CommonErrors for SsmError {
    fn validation(message: String) -> Self {
        Self::Validation(message)
    }
    fn serialization(message: String) -> Self {
        Self::Serialization(message)
    }
    fn internal(detail: String) -> Self {
        Self::Internal(detail)
    }
}
