//! coffer's own administrative operations, on the same signed endpoint as the AWS APIs:
//! awsJson 1.1 with `X-Amz-Target: coffer.admin.OPERATION`, SigV4 with the signing name
//! `coffer`. `coffer admin ...` speaks it. Two services share the prefix, each with its own
//! `operations!` table and its own line in [`crate::dispatch`]:
//!
//! - [`Admin`] (this module): rotation functions reached over HTTP and rotation state, callable by
//!   an account's administrator (its root key), for its own account:
//!   - `CreateRotationFunction` {FunctionName, Url, TimeoutSeconds?}: register a rotation
//!     function reached over HTTP; RotateSecret selects it by the function name of its
//!     RotationLambdaARN. The answer carries the HMAC `SigningKey` (base64) once; coffer keeps it
//!     sealed.
//!   - `ListRotationFunctions` {}, `DeleteRotationFunction` {FunctionName}.
//!   - `DescribeRotation` {SecretId}: a secret's rotation in progress (step, attempts, last
//!     error, next attempt) and its recent history.
//!   - `ApplyReplica` {PrimaryArn, Region, KmsKeyId?, Versions, ...}: what a primary in another
//!     deployment sends to bring its replica in this deployment's Region up to date (or remove
//!     it); see [`crate::secretsmanager::replication`]. Not audited with its documents: it
//!     carries the versions' values.
//! - [`breakglass::BreakGlass`]: break-glass requests, approvals, their credentials, revocation
//!   and incident reports, authorised by IAM (`coffer:RequestBreakGlass`,
//!   `coffer:ApproveBreakGlass`).
//! - [`accounts::Accounts`]: `CreateAccount` and `ListAccounts`, callable only by the root of the
//!   deployment's default account.
//! - [`maintenance::Maintenance`]: online backups (`CreateBackup`, `DescribeBackup`,
//!   `GetBackupChunk`, `DeleteBackup`) and master-key rotation (`RotateMasterKey`, see
//!   [`rekey`]), callable only by the root of the deployment's default account.

pub mod accounts;
pub mod breakglass;
mod drill;
pub mod maintenance;
pub mod rekey;

use crate::RequestContext;
use crate::error::ServiceError;
use crate::secretsmanager::rotation::{RotationStatus, function_key_purpose};
use crate::secretsmanager::{SecretsManager, SecretsManagerError};
use crate::wire::Epoch;
use base64::Engine;
use coffer_crypto::MasterKey;
use coffer_store::{RotationFunctionRecord, Store, StoreError};
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;
use std::sync::Arc;

/// The `X-Amz-Target` prefix of coffer's own operations.
pub const TARGET_PREFIX: &str = "coffer.admin";
/// The SigV4 signing name of coffer's own operations.
pub const SIGNING_NAME: &str = "coffer";

/// Longest HTTP function timeout, as Lambda's.
const MAX_TIMEOUT_SECONDS: i64 = 900;
const DEFAULT_TIMEOUT_SECONDS: i64 = 30;

service_errors! {
    /// The errors of the rotation-function operations, named as Secrets Manager names them.
    pub enum AdminError;
    model: None;
    internal: Internal, "An error occurred on the server side.";
    validation: InvalidParameter;
    serialization: Serialization;
    table {
        AccessDenied => ("AccessDeniedException", 400),
        InvalidParameter => ("InvalidParameterException", 400),
        InvalidRequest => ("InvalidRequestException", 400),
        ResourceExists => ("ResourceExistsException", 400),
        ResourceNotFound => ("ResourceNotFoundException", 400),
        Serialization => ("SerializationException", 400),
        /// Detail for the log only; the client sees a generic message.
        Internal => ("InternalServiceError", 500),
    }
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        crate::error::store(e)
    }
}

/// The rotation-function operations.
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

operations!(Admin, AdminError, no_model;
    CreateRotationFunction => create_rotation_function,
    ListRotationFunctions => list_rotation_functions,
    DeleteRotationFunction => delete_rotation_function,
    DescribeRotation => describe_rotation,
    ApplyReplica => apply_replica,
);

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CreateInput {
    function_name: String,
    url: String,
    timeout_seconds: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct ListInput {}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct NameInput {
    function_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SecretInput {
    secret_id: String,
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FunctionOut {
    function_name: String,
    function_arn: String,
    url: String,
    timeout_seconds: i64,
    created_date: Epoch,
    /// Only in CreateRotationFunction's answer.
    signing_key: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListOutput {
    functions: Vec<FunctionOut>,
}

#[derive(Debug, Serialize)]
pub struct Empty {}

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

fn not_found(name: &str) -> AdminError {
    AdminError::ResourceNotFound(format!("No rotation function named {name}."))
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

    /// Only an account's administrator (its root) calls these, for its own account. Checked
    /// before the input is looked at ([`crate::dispatch`] runs it ahead of `dispatch`).
    pub async fn authorize(
        &self,
        ctx: &RequestContext,
        op: &str,
        _input: &serde_json::Value,
    ) -> Result<(), AdminError> {
        let root = format!("arn:aws:iam::{}:root", ctx.account());
        if ctx.principal.arn != root {
            return Err(AdminError::AccessDenied(format!(
                "User: {} is not authorized to perform: coffer:{op}: only the account administrator may call coffer's administrative operations",
                ctx.principal.arn
            )));
        }
        Ok(())
    }
}

async fn create_rotation_function(
    admin: &Admin,
    ctx: &RequestContext,
    input: CreateInput,
) -> Result<FunctionOut, AdminError> {
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
    record.signing_key = admin
        .master
        .wrap(key.expose(), &function_key_purpose(&record))
        .map_err(crate::error::crypto::<AdminError>)?;
    match admin.store.create_rotation_function(&record).await {
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
    Ok(out(&record, Some(b64)))
}

async fn list_rotation_functions(
    admin: &Admin,
    ctx: &RequestContext,
    _input: ListInput,
) -> Result<ListOutput, AdminError> {
    let fs = admin
        .store
        .list_rotation_functions(ctx.account(), ctx.region())
        .await?;
    Ok(ListOutput {
        functions: fs.iter().map(|f| out(f, None)).collect(),
    })
}

async fn delete_rotation_function(
    admin: &Admin,
    ctx: &RequestContext,
    input: NameInput,
) -> Result<Empty, AdminError> {
    let deleted = admin
        .store
        .delete_rotation_function(ctx.account(), ctx.region(), &input.function_name)
        .await?;
    if !deleted {
        return Err(not_found(&input.function_name));
    }
    Ok(Empty {})
}

async fn describe_rotation(
    admin: &Admin,
    ctx: &RequestContext,
    input: SecretInput,
) -> Result<RotationStatus, AdminError> {
    admin
        .sm
        .rotation_status(ctx, &input.secret_id)
        .await
        .map_err(|e| match e {
            SecretsManagerError::Internal(d) => AdminError::Internal(d),
            SecretsManagerError::Unavailable(d) => AdminError::Unavailable(d),
            SecretsManagerError::ResourceNotFound(m) => AdminError::ResourceNotFound(m),
            other => AdminError::InvalidParameter(other.message()),
        })
}

/// <crate::secretsmanager::replication>: a peer deployment's primary writing its replica here.
async fn apply_replica(
    admin: &Admin,
    ctx: &RequestContext,
    input: crate::secretsmanager::replication::ReplicaState,
) -> Result<Empty, AdminError> {
    let owner = coffer_types::Arn::parse(&input.primary_arn)
        .map(|a| a.account)
        .unwrap_or_default();
    if owner != ctx.account() || input.region != ctx.region() {
        return Err(AdminError::InvalidParameter(
            "ApplyReplica writes replicas of the caller's own account, in the Region it is signed for.".to_owned(),
        ));
    }
    admin
        .sm
        .apply_replica(&input, ctx.now)
        .await
        .map_err(|e| match e {
            SecretsManagerError::Internal(d) => AdminError::Internal(d),
            SecretsManagerError::Unavailable(d) => AdminError::Unavailable(d),
            SecretsManagerError::ResourceExists(m) => AdminError::ResourceExists(m),
            SecretsManagerError::ResourceNotFound(m) => AdminError::ResourceNotFound(m),
            other => AdminError::InvalidRequest(other.message()),
        })?;
    Ok(Empty {})
}
