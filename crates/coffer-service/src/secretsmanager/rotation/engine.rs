//! The rotation engine: resolving the function a RotationLambdaARN names, running the steps
//! under a lease, recording failures with backoff, completing a rotation, and the scheduler.
//! <https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_how.html>

use super::api::{HttpFunction, Invocation, RotationApi, RotationError, RotationFunction, Step};
use super::schedule::Schedule;
use crate::secretsmanager::stages::{CURRENT, WRITE_ATTEMPTS, contended};
use crate::secretsmanager::{SecretsManager, SecretsManagerError as E};
use crate::wire::Epoch;
use crate::{Principal, RequestContext};
use coffer_store::{RotationEventRecord, RotationRecord, SecretRecord, StoreError};
use coffer_types::{AccountId, Region};
use serde::Serialize;
use serde_with::skip_serializing_none;
use std::sync::Arc;
use std::time::Duration;

/// How long a runner owns a rotation while it runs its steps.
pub(super) const LEASE_MS: i64 = 10 * 60_000;
/// Backoff after the first failure, doubling up to [`BACKOFF_MAX_MS`].
const BACKOFF_FIRST_MS: i64 = 60_000;
const BACKOFF_MAX_MS: i64 = 60 * 60_000;
/// Rotations started or resumed per scheduler pass.
const SCHEDULER_BATCH: usize = 50;

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

pub(super) fn backoff(attempts: i64) -> i64 {
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
    pub(super) async fn resolve(
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

    pub(super) async fn event(
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
        let driven = self.drive_once(arn, now).await;
        let outcome = match &driven {
            Ok(Driven::Completed) => Some("completed"),
            Ok(Driven::Failed(_)) => Some("failed"),
            Ok(Driven::Skipped) => None,
            Err(_) => Some("error"),
        };
        if let Some(outcome) = outcome {
            crate::metrics::global().rotation(outcome);
        }
        driven
    }

    async fn drive_once(&self, arn: &str, now: i64) -> Result<Driven, E> {
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

    /// Rotate the secret `arn` now, outside its schedule, with its configured rotation
    /// function (a break-glass session read it). `Ok(None)`: it has no rotation function (a
    /// person must rotate it). A rotation already in progress is driven on, not restarted.
    pub async fn rotate_now(&self, arn: &str, why: &str, now: i64) -> Result<Option<Driven>, E> {
        let Some(secret) = self.store.get_secret_by_arn(arn).await? else {
            return Ok(None);
        };
        let Some(lambda) = secret.rotation_lambda_arn.clone() else {
            return Ok(None);
        };
        if self.store.get_rotation(arn).await?.is_none() {
            let token = uuid::Uuid::new_v4().to_string();
            let record = new_rotation(arn, &token, &lambda, now);
            match self.store.start_rotation(&secret, &record).await {
                // Another runner started one meanwhile: drive that.
                Ok(()) | Err(StoreError::Conflict) => {}
                Err(e) => return Err(e.into()),
            }
            self.event(arn, &token, why, "started", None, now).await;
        }
        self.drive(arn, now).await.map(Some)
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

pub(super) fn new_rotation(arn: &str, token: &str, lambda: &str, now: i64) -> RotationRecord {
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
