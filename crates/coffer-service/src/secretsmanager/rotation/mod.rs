//! Rotation: RotateSecret, CancelRotateSecret, the four-step protocol, and the scheduler.
//! <https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_how.html>
//!
//! On AWS a Lambda function runs createSecret → setSecret → testSecret → finishSecret. coffer
//! runs the same steps through a [`RotationFunction`]: the function name of the
//! RotationLambdaARN selects a built-in rotator (AWS's RDS template names, and
//! [`GENERIC_ROTATOR`]), or else a rotation function registered to be reached over HTTP. The
//! built-in database rotators and the HTTP client live outside this crate (no database or HTTP
//! client here) and come in through a [`FunctionHost`].
//!
//! State: a secret has at most one rotation in progress (`coffer_store::RotationRecord`),
//! started in the transaction that checks the secret is unchanged and ended in the one that
//! records LastRotatedDate and NextRotationDate. A runner holds a lease on it (`next_attempt_at`)
//! while it runs steps; a failed attempt records the error, leaves AWSCURRENT alone, keeps the
//! AWSPENDING version, and is retried from createSecret after a backoff (each step is idempotent).

pub(crate) mod cron;
mod generic;
pub(crate) mod schedule;
#[cfg(test)]
mod tests;

pub use generic::GENERIC_ROTATOR;
pub use schedule::RotationRules;

use super::lookup::require_live;
use super::stages::{CURRENT, WRITE_ATTEMPTS, contended};
use super::values::NewVersion;
use super::{SecretValue, SecretsManager, SecretsManagerError as E};
use crate::wire::Epoch;
use crate::{Principal, RequestContext, ServiceError};
use async_trait::async_trait;
use coffer_store::{RotationEventRecord, RotationRecord, SecretRecord, StoreError};
use coffer_types::{AccountId, Region, SecretBytes};
use schedule::Schedule;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;
use std::sync::Arc;
use std::time::Duration;

pub(crate) const PENDING: &str = "AWSPENDING";
/// How long a runner owns a rotation while it runs its steps.
const LEASE_MS: i64 = 10 * 60_000;
/// Backoff after the first failure, doubling up to [`BACKOFF_MAX_MS`].
const BACKOFF_FIRST_MS: i64 = 60_000;
const BACKOFF_MAX_MS: i64 = 60 * 60_000;
/// How long RotateSecret waits for the rotation it started before answering (it goes on after).
const ANSWER_WAIT: Duration = Duration::from_secs(10);
/// Rotations started or resumed per scheduler pass.
const SCHEDULER_BATCH: usize = 50;

const PREVIOUS_INCOMPLETE: &str =
    "A previous rotation isn't complete. That rotation will be reattempted.";

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
    GENERIC_ROTATOR,
];

/// True if `name` is reserved for a built-in rotator.
pub fn is_builtin_name(name: &str) -> bool {
    BUILTIN_NAMES.contains(&name)
}

/// The generic rotator by name, for hosts that add their own built-ins.
pub fn generic_builtin(name: &str) -> Option<Arc<dyn RotationFunction>> {
    generic::builtin(name)
}

struct Unavailable;

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
    sm: SecretsManager,
    ctx: RequestContext,
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
        Ok(super::password::rotation_password()?)
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

/// The function name of a RotationLambdaARN (`arn:aws:lambda:REGION:ACCOUNT:function:NAME`,
/// optionally with a `:QUALIFIER`).
pub(crate) fn function_name(arn: &str) -> Option<&str> {
    let rest = arn.strip_prefix("arn:")?;
    let parts: Vec<&str> = rest.splitn(7, ':').collect();
    match parts[..] {
        [_, "lambda", _, _, "function", name] | [_, "lambda", _, _, "function", name, _]
            if !name.is_empty() =>
        {
            Some(name)
        }
        _ => None,
    }
}

fn cannot_invoke() -> E {
    E::AccessDenied(
        "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants access to the principal secretsmanager.amazonaws.com.".to_owned(),
    )
}

fn backoff(attempts: i64) -> i64 {
    let shift = u32::try_from(attempts.clamp(1, 16) - 1).unwrap_or(0);
    (BACKOFF_FIRST_MS << shift).min(BACKOFF_MAX_MS)
}

/// The account's administrator, as rotation functions act on AWS with the function's role.
fn system_ctx(secret: &SecretRecord, token: &str, now: i64) -> Result<RequestContext, E> {
    let account = AccountId::parse(&secret.account_id)
        .map_err(|_| E::Internal("stored account id".to_owned()))?;
    let region =
        Region::parse(&secret.region).map_err(|_| E::Internal("stored region".to_owned()))?;
    Ok(RequestContext {
        principal: Principal {
            arn: format!("arn:aws:iam::{}:root", account.as_str()),
            user_id: account.as_str().to_owned(),
            account_id: account,
            access_key_id: String::new(),
            session: None,
            tags: Vec::new(),
        },
        region,
        request_id: format!("rotation-{token}"),
        now,
        dev: false,
        source_ip: None,
        secure_transport: false,
        via_service: None,
    })
}

/// What one run of a rotation came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Driven {
    /// All four steps ran; AWSCURRENT is the new version.
    Completed,
    /// A step failed; it is retried after the backoff.
    Failed(String),
    /// Not due, owned by another runner, cancelled, or nothing in progress.
    Skipped,
}

impl SecretsManager {
    /// Resolve the function a RotationLambdaARN names, for the secret's account and region.
    async fn resolve(
        &self,
        secret: &SecretRecord,
        lambda_arn: &str,
    ) -> Result<Arc<dyn RotationFunction>, E> {
        let name = function_name(lambda_arn).ok_or_else(cannot_invoke)?;
        if let Some(f) = self.functions.builtin(name) {
            return Ok(f);
        }
        let record = self
            .store
            .get_rotation_function(&secret.account_id, &secret.region, name)
            .await?
            .ok_or_else(cannot_invoke)?;
        let signing_key = self
            .master
            .unwrap(&record.signing_key, &function_key_purpose(&record))
            .map_err(crate::error::crypto::<E>)?;
        Ok(self.functions.http(HttpFunction {
            name: record.name,
            url: record.url,
            timeout: Duration::from_millis(u64::try_from(record.timeout_ms).unwrap_or(30_000)),
            signing_key,
        }))
    }

    async fn event(
        &self,
        arn: &str,
        token: &str,
        step: &str,
        outcome: &str,
        message: Option<String>,
        at: i64,
    ) {
        let e = RotationEventRecord {
            at,
            token: token.to_owned(),
            step: step.to_owned(),
            outcome: outcome.to_owned(),
            message,
        };
        if let Err(err) = self.store.add_rotation_event(arn, &e).await {
            tracing::warn!(secret = arn, error = %err, "recording a rotation event failed");
        }
    }

    /// Run the rotation in progress of secret `arn` from createSecret, unless it is not due or
    /// another runner holds it. Steps are idempotent, so a resumed rotation (after a failure or
    /// a crash) repeats finished steps harmlessly.
    pub async fn drive(&self, arn: &str, now: i64) -> Result<Driven, E> {
        let Some(mut r) = self.store.get_rotation(arn).await? else {
            return Ok(Driven::Skipped);
        };
        if r.next_attempt_at > now {
            return Ok(Driven::Skipped);
        }
        // Take the lease.
        r.next_attempt_at = now + LEASE_MS;
        match self.store.update_rotation(&r).await {
            Ok(()) => r.row_version += 1,
            Err(StoreError::Conflict) => return Ok(Driven::Skipped),
            Err(e) => return Err(e.into()),
        }
        let Some(secret) = self.store.get_secret_by_arn(arn).await? else {
            return Ok(Driven::Skipped);
        };
        let outcome = match self.resolve(&secret, &r.function_arn).await {
            Ok(function) => self.run_steps(&secret, &mut r, function, now).await?,
            Err(e) => {
                let e = RotationError::from(e);
                self.event(
                    arn,
                    &r.token,
                    "createSecret",
                    "failed",
                    Some(e.0.clone()),
                    now,
                )
                .await;
                Err((Step::CreateSecret, e))
            }
        };
        match outcome {
            Ok(()) => self.complete(&r, now).await,
            Err((step, e)) => {
                let message = format!("{step}: {e}");
                r.attempts += 1;
                r.step = step.as_str().to_owned();
                r.last_error = Some(message.clone());
                r.next_attempt_at = now + backoff(r.attempts);
                match self.store.update_rotation(&r).await {
                    Ok(()) | Err(StoreError::Conflict) => {}
                    Err(e) => return Err(e.into()),
                }
                tracing::warn!(
                    secret = arn,
                    token = %r.token,
                    step = step.as_str(),
                    attempts = r.attempts,
                    retry_at = r.next_attempt_at,
                    error = %e,
                    "rotation step failed; AWSCURRENT unchanged, will retry"
                );
                Ok(Driven::Failed(message))
            }
        }
    }

    async fn run_steps(
        &self,
        secret: &SecretRecord,
        r: &mut RotationRecord,
        function: Arc<dyn RotationFunction>,
        now: i64,
    ) -> Result<Result<(), (Step, RotationError)>, E> {
        let api = RotationApi {
            sm: self.clone(),
            ctx: system_ctx(secret, &r.token, now)?,
        };
        for step in Step::ALL {
            let event = Invocation {
                secret_id: secret.arn.clone(),
                client_request_token: r.token.clone(),
                step: step.as_str(),
            };
            // A step acts outside coffer (setSecret changes a database password): what the
            // earlier steps stored, such as the AWSPENDING version, must survive power loss
            // first. Requests get that from their audit record; the background rotation has none.
            self.store.sync().await?;
            if let Err(e) = function.invoke(&event, &api).await {
                self.event(
                    &secret.arn,
                    &r.token,
                    step.as_str(),
                    "failed",
                    Some(e.0.clone()),
                    now,
                )
                .await;
                return Ok(Err((step, e)));
            }
            self.event(&secret.arn, &r.token, step.as_str(), "succeeded", None, now)
                .await;
            if step != Step::FinishSecret {
                // Record progress and renew the lease; a cancelled rotation stops here.
                r.step = Step::ALL
                    .iter()
                    .skip_while(|s| **s != step)
                    .nth(1)
                    .map_or("finishSecret", |s| s.as_str())
                    .to_owned();
                r.next_attempt_at = now + LEASE_MS;
                match self.store.update_rotation(r).await {
                    Ok(()) => r.row_version += 1,
                    Err(StoreError::Conflict) => {
                        return Ok(Err((
                            step,
                            RotationError::new("the rotation was cancelled or taken over"),
                        )));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        // finishSecret must have made the new version current.
        let current = self
            .store
            .get_secret_version_by_stage(&secret.arn, CURRENT)
            .await?;
        if current.is_none_or(|v| v.version_id != r.token) {
            let e = RotationError::new(format!(
                "finishSecret returned without moving AWSCURRENT to version {}",
                r.token
            ));
            self.event(
                &secret.arn,
                &r.token,
                "finishSecret",
                "failed",
                Some(e.0.clone()),
                now,
            )
            .await;
            return Ok(Err((Step::FinishSecret, e)));
        }
        Ok(Ok(()))
    }

    /// Record the rotation as done: LastRotatedDate, the next window, no rotation in progress.
    async fn complete(&self, r: &RotationRecord, now: i64) -> Result<Driven, E> {
        for _ in 0..WRITE_ATTEMPTS {
            let Some(mut secret) = self.store.get_secret_by_arn(&r.secret_arn).await? else {
                return Ok(Driven::Skipped);
            };
            secret.last_rotated_at = Some(now);
            secret.next_rotation_at = if secret.rotation_enabled {
                Schedule::stored(secret.rotation_rules.as_deref())
                    .and_then(|s| s.next_after_rotation(now))
            } else {
                None
            };
            match self.store.end_rotation(&secret, Some(&r.token)).await {
                Ok(()) => {
                    self.event(
                        &r.secret_arn,
                        &r.token,
                        "finishSecret",
                        "completed",
                        None,
                        now,
                    )
                    .await;
                    tracing::info!(secret = %r.secret_arn, token = %r.token, "rotation completed");
                    return Ok(Driven::Completed);
                }
                Err(StoreError::Conflict) => {
                    let still = self.store.get_rotation(&r.secret_arn).await?;
                    if still.is_none_or(|x| x.token != r.token) {
                        return Ok(Driven::Skipped);
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(contended())
    }

    /// The scheduler: resume rotations whose retry time has come (or whose runner died), then
    /// start those whose window has come. Returns how many rotations completed.
    pub async fn rotation_housekeeping(&self, now: i64) -> Result<usize, E> {
        let mut completed = 0;
        for r in self.store.rotations_due(now, SCHEDULER_BATCH).await? {
            if self.drive(&r.secret_arn, now).await? == Driven::Completed {
                completed += 1;
            }
        }
        for secret in self
            .store
            .secrets_due_for_rotation(now, SCHEDULER_BATCH)
            .await?
        {
            let Some(lambda) = secret.rotation_lambda_arn.clone() else {
                continue;
            };
            let token = uuid::Uuid::new_v4().to_string();
            let record = new_rotation(&secret.arn, &token, &lambda, now);
            match self.store.start_rotation(&secret, &record).await {
                Ok(()) => {}
                // Changed meanwhile, or another scheduler started it first.
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
            let late = secret
                .next_rotation_at
                .and_then(|start| {
                    Schedule::stored(secret.rotation_rules.as_deref())
                        .map(|s| now >= start + s.window_len(start))
                })
                .unwrap_or(false);
            let note = late.then(|| "the rotation window was missed; rotating now".to_owned());
            self.event(&secret.arn, &token, "schedule", "started", note, now)
                .await;
            if self.drive(&secret.arn, now).await? == Driven::Completed {
                completed += 1;
            }
        }
        Ok(completed)
    }

    /// The rotation state of a secret, for `coffer admin describe-rotation`.
    pub async fn rotation_status(
        &self,
        ctx: &RequestContext,
        secret_id: &str,
    ) -> Result<RotationStatus, E> {
        let secret = self
            .find(ctx, secret_id, "secretsmanager:DescribeSecret")
            .await?;
        let in_progress = self.store.get_rotation(&secret.arn).await?;
        let events = self.store.list_rotation_events(&secret.arn, 50).await?;
        Ok(RotationStatus {
            arn: secret.arn,
            name: secret.name,
            rotation_enabled: secret.rotation_enabled,
            rotation_lambda_arn: secret.rotation_lambda_arn,
            last_rotated_date: secret.last_rotated_at.map(Epoch),
            next_rotation_date: secret.next_rotation_at.map(Epoch),
            in_progress: in_progress.map(|r| InProgress {
                client_request_token: r.token,
                rotation_lambda_arn: r.function_arn,
                step: r.step,
                attempts: r.attempts,
                started_date: Epoch(r.started_at),
                next_attempt_date: Epoch(r.next_attempt_at),
                last_error: r.last_error,
            }),
            events: events
                .into_iter()
                .map(|e| EventOut {
                    date: Epoch(e.at),
                    client_request_token: e.token,
                    step: e.step,
                    outcome: e.outcome,
                    message: e.message,
                })
                .collect(),
        })
    }
}

pub(crate) fn function_key_purpose(f: &coffer_store::RotationFunctionRecord) -> String {
    format!("rotation-function|{}|{}|{}", f.account_id, f.region, f.name)
}

fn new_rotation(arn: &str, token: &str, lambda: &str, now: i64) -> RotationRecord {
    RotationRecord {
        secret_arn: arn.to_owned(),
        token: token.to_owned(),
        function_arn: lambda.to_owned(),
        step: Step::CreateSecret.as_str().to_owned(),
        attempts: 0,
        started_at: now,
        next_attempt_at: now,
        last_error: None,
        row_version: 1,
    }
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotationStatus {
    #[serde(rename = "ARN")]
    arn: String,
    name: String,
    rotation_enabled: bool,
    #[serde(rename = "RotationLambdaARN")]
    rotation_lambda_arn: Option<String>,
    last_rotated_date: Option<Epoch>,
    next_rotation_date: Option<Epoch>,
    in_progress: Option<InProgress>,
    events: Vec<EventOut>,
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct InProgress {
    client_request_token: String,
    #[serde(rename = "RotationLambdaARN")]
    rotation_lambda_arn: String,
    step: String,
    attempts: i64,
    started_date: Epoch,
    next_attempt_date: Epoch,
    last_error: Option<String>,
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct EventOut {
    date: Epoch,
    client_request_token: String,
    step: String,
    outcome: String,
    message: Option<String>,
}

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
        let token = super::values::version_id(input.client_request_token.clone());
        if versions.iter().any(|v| v.version_id == token) {
            return Err(E::ResourceExists(
                "A resource with the ID you requested already exists. You can't modify an existing version, you can only create a new version.".to_owned(),
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
