//! Break-glass access: a role tagged `coffer:break-glass` = `true` is never assumable by
//! AssumeRole; it is activated by a request from one principal and an approval by a second,
//! distinct one, for a bounded window. Every use of the window's credentials is recorded and
//! alerted on, every secret read with them is rotated when the window ends (or listed for
//! manual rotation), and the incident's report is one call away.
//!
//! Operations (`coffer.admin.*`, signed like every coffer call; `coffer breakglass ...`):
//! - `RequestBreakGlass` {RoleArn, Reason, DurationSeconds} → {RequestId, State, ExpiresAt}:
//!   needs `coffer:RequestBreakGlass` on the role.
//! - `ApproveBreakGlass` {RequestId}: needs `coffer:ApproveBreakGlass` on the role; never the
//!   requester; only while the request is pending and not expired.
//! - `GetBreakGlassCredentials` {RequestId}: the requester only, while the window is open:
//!   STS session credentials of the role, session name `breakglass-ID`, expiring with the
//!   window.
//! - `RevokeBreakGlass` {RequestId}: the requester, the approver, or anyone who may approve;
//!   the credentials stop working at once (every break-glass session is checked against its
//!   incident on each request).
//! - `GetBreakGlassReport` {RequestId}: the incident's timeline, reads and rotations.
//! - `RunBreakGlassDrill` {}: the quarterly drill ([`super::drill`]).

use super::AdminError;
use crate::RequestContext;
use crate::secretsmanager::SecretsManager;
use crate::secretsmanager::rotation::Driven;
use crate::sts::is_break_glass;
use crate::wire::{Epoch, SecretText};
use coffer_store::{BreakGlassReadRecord, BreakGlassRecord, IamKind, Store, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_with::skip_serializing_none;

/// Limits of the workflow (`[breakglass]` in the configuration).
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BreakGlassConfig {
    /// Longest window an approval may open.
    pub max_duration_seconds: i64,
    /// Shortest window (default 900, as STS's shortest session).
    pub min_duration_seconds: i64,
    /// A request not approved within this long expires.
    pub request_ttl_seconds: i64,
    /// Secrets read in a window are rotated within this long of its end (the seeds: 4 hours).
    pub rotation_deadline_seconds: i64,
}

impl Default for BreakGlassConfig {
    fn default() -> Self {
        Self {
            max_duration_seconds: 4 * 3600,
            min_duration_seconds: 900,
            request_ttl_seconds: 3600,
            rotation_deadline_seconds: 4 * 3600,
        }
    }
}

/// The break-glass operations.
#[derive(Clone)]
pub struct BreakGlass {
    store: Store,
    pub(super) identity: crate::identity::Identity,
    authz: crate::authz::Authz,
    pub(super) sm: SecretsManager,
    /// For the drill, which sets up its fixtures and checks AssumeRole as a caller would.
    pub(super) iam: crate::iam::Iam,
    pub(super) sts: crate::sts::Sts,
    config: BreakGlassConfig,
}

impl std::fmt::Debug for BreakGlass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BreakGlass")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

operations!(BreakGlass, AdminError, no_model;
    RequestBreakGlass => request,
    ApproveBreakGlass => approve,
    GetBreakGlassCredentials => credentials,
    RevokeBreakGlass => revoke,
    GetBreakGlassReport => report,
    RunBreakGlassDrill => super::drill::run,
);

impl BreakGlass {
    pub fn new(
        store: Store,
        identity: crate::identity::Identity,
        authz: crate::authz::Authz,
        sm: SecretsManager,
    ) -> Self {
        Self {
            iam: crate::iam::Iam::new(store.clone(), identity.clone()),
            sts: crate::sts::Sts::new(store.clone(), identity.clone()),
            store,
            identity,
            authz,
            sm,
            config: BreakGlassConfig::default(),
        }
    }

    pub(super) fn config(&self) -> BreakGlassConfig {
        self.config
    }

    pub fn with_config(mut self, config: BreakGlassConfig) -> Self {
        self.config = config;
        self
    }

    pub(crate) fn with_secrets_manager(mut self, sm: SecretsManager) -> Self {
        self.sm = sm;
        self
    }

    /// May the caller perform `coffer:ACTION` on the role? (Identity policies; an account's
    /// root may.)
    async fn allowed(
        &self,
        ctx: &RequestContext,
        action: &str,
        role_arn: &str,
    ) -> Result<bool, AdminError> {
        match self.authz.check_identity(ctx, action, role_arn).await {
            Ok(()) => Ok(true),
            Err(crate::authz::AuthzError::Denied(_)) => Ok(false),
            Err(crate::authz::AuthzError::Store(e)) => Err(e.into()),
        }
    }

    async fn require(
        &self,
        ctx: &RequestContext,
        action: &str,
        role_arn: &str,
    ) -> Result<(), AdminError> {
        if self.allowed(ctx, action, role_arn).await? {
            Ok(())
        } else {
            Err(AdminError::AccessDenied(format!(
                "User: {} is not authorized to perform: {action} on resource: {role_arn}",
                ctx.principal.arn
            )))
        }
    }

    /// The request `id` of the caller's account.
    async fn find(&self, ctx: &RequestContext, id: &str) -> Result<BreakGlassRecord, AdminError> {
        self.store
            .get_breakglass(id)
            .await?
            .filter(|r| r.account_id == ctx.account())
            .ok_or_else(|| {
                AdminError::ResourceNotFound(format!("Break-glass request {id} does not exist."))
            })
    }

    /// Record what a break-glass session read: secrets (GetSecretValue, BatchGetSecretValue)
    /// and SecureString parameters read with decryption. Called after every successful call
    /// of a session whose token names an incident.
    pub async fn observe(
        &self,
        ctx: &RequestContext,
        operation: &str,
        input: &Value,
        output: &Value,
    ) {
        let Some(incident) = ctx
            .principal
            .session
            .as_ref()
            .and_then(|s| s.incident.as_deref())
        else {
            return;
        };
        for (arn, kind) in reads(operation, input, output) {
            if let Err(e) = self
                .store
                .record_breakglass_read(incident, &arn, kind, ctx.now)
                .await
            {
                tracing::error!(incident, error = %e, "recording a break-glass read failed");
            }
        }
    }

    /// After a window ends (expiry or revocation): rotate every secret it read with the
    /// secret's rotation function, list the rest for manual rotation, and alert. Returns how
    /// many incidents were closed.
    pub async fn housekeeping(
        &self,
        audit: &crate::audit::Auditor,
        now: i64,
    ) -> Result<usize, StoreError> {
        let mut closed = 0;
        for r in self.store.ended_breakglass(now).await? {
            let Some((reads, manual)) = self.close_one(&r, now).await? else {
                continue;
            };
            closed += 1;
            audit.alert(
                "break-glass-ended",
                serde_json::json!({
                    "RequestId": r.request_id,
                    "RoleArn": r.role_arn,
                    "Revoked": r.revoked_at.is_some(),
                    "Reads": reads,
                }),
            );
            if !manual.is_empty() {
                audit.alert(
                    "break-glass-manual-rotation",
                    serde_json::json!({"RequestId": r.request_id, "Secrets": manual}),
                );
            }
        }
        Ok(closed)
    }

    /// The after-window work for the ended incident `id` now (the drill's, which ends it by
    /// revocation and does not wait for housekeeping).
    pub(super) async fn close(&self, id: &str, now: i64) -> Result<(), StoreError> {
        if let Some(r) = self.store.get_breakglass(id).await?
            && r.closed_at.is_none()
            && (r.revoked_at.is_some() || r.session_expires_at.is_some_and(|e| e <= now))
        {
            self.close_one(&r, now).await?;
        }
        Ok(())
    }

    /// Rotate (or mark for manual rotation) what the incident read, and mark it closed.
    /// Returns the number of reads and the ones left for a person, or `None` if another node
    /// closed it first.
    async fn close_one(
        &self,
        r: &BreakGlassRecord,
        now: i64,
    ) -> Result<Option<(usize, Vec<Value>)>, StoreError> {
        let reads = self.store.breakglass_reads(&r.request_id).await?;
        let mut manual = Vec::new();
        for read in reads.iter().filter(|x| x.rotation == "pending") {
            let outcome = self.rotate(&r.request_id, read, now).await;
            self.store
                .set_breakglass_rotation(&r.request_id, &read.resource_arn, outcome, now)
                .await?;
            if outcome != "rotated" {
                manual.push(serde_json::json!({"Arn": read.resource_arn, "Rotation": outcome}));
            }
        }
        let mut done = r.clone();
        done.closed_at = Some(now);
        match self.store.update_breakglass(&done, &r.state).await {
            Ok(()) => Ok(Some((reads.len(), manual))),
            Err(StoreError::Conflict) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn rotate(&self, incident: &str, read: &BreakGlassReadRecord, now: i64) -> &'static str {
        if read.kind != "secret" {
            return "manual";
        }
        let why = format!("break-glass {incident}");
        match self.sm.rotate_now(&read.resource_arn, &why, now).await {
            Ok(Some(Driven::Completed)) => "rotated",
            Ok(Some(Driven::Failed(e))) => {
                tracing::error!(incident, secret = %read.resource_arn, error = %e, "break-glass rotation failed");
                "failed"
            }
            // In progress elsewhere: the scheduler finishes it.
            Ok(Some(Driven::Skipped)) => "rotated",
            Ok(None) => "manual",
            Err(e) => {
                tracing::error!(incident, secret = %read.resource_arn, error = ?e, "break-glass rotation failed");
                "failed"
            }
        }
    }
}

/// The secrets and SecureStrings an operation's output shows were read in clear.
fn reads(operation: &str, input: &Value, output: &Value) -> Vec<(String, &'static str)> {
    let s = |v: &Value| v.as_str().map(str::to_owned);
    match operation {
        "GetSecretValue" => output
            .get("ARN")
            .and_then(s)
            .map(|a| (a, "secret"))
            .into_iter()
            .collect(),
        "BatchGetSecretValue" => output
            .get("SecretValues")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.get("ARN").and_then(s).map(|a| (a, "secret")))
            .collect(),
        "GetParameter" | "GetParameters" | "GetParametersByPath" | "GetParameterHistory"
            if input.get("WithDecryption").and_then(Value::as_bool) == Some(true) =>
        {
            let one = output.get("Parameter").into_iter();
            let many = output
                .get("Parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten();
            one.chain(many)
                .filter(|p| p.get("Type").and_then(Value::as_str) == Some("SecureString"))
                .filter_map(|p| p.get("ARN").and_then(s).map(|a| (a, "parameter")))
                .collect()
        }
        _ => Vec::new(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct RequestInput {
    role_arn: String,
    reason: String,
    duration_seconds: Option<i64>,
}

impl RequestInput {
    pub(super) fn new(role_arn: &str, reason: &str, duration_seconds: i64) -> Self {
        Self {
            role_arn: role_arn.to_owned(),
            reason: reason.to_owned(),
            duration_seconds: Some(duration_seconds),
        }
    }
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StateOutput {
    request_id: String,
    state: &'static str,
    expires_at: Option<Epoch>,
    session_expires_at: Option<Epoch>,
}

/// A request's state as callers see it: a pending request past its time has `Expired`, an
/// approved one past its window `Ended`.
impl StateOutput {
    pub(super) fn request_id(&self) -> &str {
        &self.request_id
    }
}

fn state_of(r: &BreakGlassRecord, now: i64) -> &'static str {
    match r.state.as_str() {
        "Pending" if now >= r.request_expires_at => "Expired",
        "Pending" => "Pending",
        "Approved" if r.session_expires_at.is_some_and(|e| now >= e) => "Ended",
        "Approved" => "Active",
        _ => "Revoked",
    }
}

fn state_output(r: &BreakGlassRecord, now: i64) -> StateOutput {
    StateOutput {
        request_id: r.request_id.clone(),
        state: state_of(r, now),
        expires_at: (r.state == "Pending").then_some(Epoch(r.request_expires_at)),
        session_expires_at: r.session_expires_at.map(Epoch),
    }
}

pub(super) async fn request(
    bg: &BreakGlass,
    ctx: &RequestContext,
    input: RequestInput,
) -> Result<StateOutput, AdminError> {
    bg.require(ctx, "coffer:RequestBreakGlass", &input.role_arn)
        .await?;
    let duration = input.duration_seconds.unwrap_or(3600);
    let (min, max) = (
        bg.config.min_duration_seconds,
        bg.config.max_duration_seconds,
    );
    if !(min..=max).contains(&duration) {
        return Err(AdminError::InvalidParameter(format!(
            "DurationSeconds must be between {min} and {max} (the [breakglass] min_duration_seconds and max_duration_seconds).",
        )));
    }
    if input.reason.trim().is_empty() || input.reason.len() > 1024 {
        return Err(AdminError::InvalidParameter(
            "Reason must be 1 to 1024 characters: say why break-glass access is needed.".to_owned(),
        ));
    }
    let role = break_glass_role(bg, ctx, &input.role_arn).await?;
    let mut id = [0u8; 8];
    coffer_crypto::random::fill(&mut id).map_err(|e| AdminError::Internal(e.to_string()))?;
    let record = BreakGlassRecord {
        request_id: format!("bg-{}", hex::encode(id)),
        account_id: ctx.account().to_owned(),
        role_arn: role.arn,
        requester_arn: ctx.principal.arn.clone(),
        reason: input.reason,
        duration_seconds: duration,
        state: "Pending".to_owned(),
        created_at: ctx.now,
        request_expires_at: ctx.now + bg.config.request_ttl_seconds * 1000,
        approver_arn: None,
        approved_at: None,
        session_expires_at: None,
        revoked_at: None,
        closed_at: None,
    };
    bg.store.create_breakglass(&record).await?;
    Ok(state_output(&record, ctx.now))
}

/// The break-glass role `arn` names, in the caller's account.
async fn break_glass_role(
    bg: &BreakGlass,
    ctx: &RequestContext,
    arn: &str,
) -> Result<coffer_store::IamEntityRecord, AdminError> {
    let not_one = || {
        AdminError::InvalidParameter(format!(
            "{arn} is not a break-glass role of account {}: tag a role coffer:break-glass=true to make it one.",
            ctx.account()
        ))
    };
    let name = arn
        .strip_prefix(&format!("arn:aws:iam::{}:role/", ctx.account()))
        .and_then(|p| p.rsplit('/').next())
        .ok_or_else(not_one)?;
    let role = bg
        .store
        .get_entity(ctx.account(), IamKind::Role, name)
        .await?
        .filter(|r| r.arn == arn)
        .ok_or_else(not_one)?;
    if is_break_glass(&role) {
        Ok(role)
    } else {
        Err(not_one())
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct IdInput {
    request_id: String,
}

impl IdInput {
    pub(super) fn new(id: &str) -> Self {
        Self {
            request_id: id.to_owned(),
        }
    }
}

/// Is `a` the same person as `b`? Two sessions of one role are one person for this rule
/// (whoever can assume the role can be either), as are a user and its own sessions.
fn same_person(a: &str, b: &str) -> bool {
    fn person(arn: &str) -> &str {
        match arn.split_once(":assumed-role/") {
            Some((_, rest)) => rest.split('/').next().unwrap_or(rest),
            None => arn,
        }
    }
    a == b
        || (a.contains(":assumed-role/") && b.contains(":assumed-role/") && person(a) == person(b))
}

pub(super) async fn approve(
    bg: &BreakGlass,
    ctx: &RequestContext,
    input: IdInput,
) -> Result<StateOutput, AdminError> {
    let r = bg.find(ctx, &input.request_id).await?;
    bg.require(ctx, "coffer:ApproveBreakGlass", &r.role_arn)
        .await?;
    if same_person(&ctx.principal.arn, &r.requester_arn) {
        return Err(AdminError::AccessDenied(format!(
            "User: {} requested {} and cannot approve it: a second person must approve break-glass access.",
            ctx.principal.arn, r.request_id
        )));
    }
    match state_of(&r, ctx.now) {
        "Pending" => {}
        state => {
            return Err(AdminError::InvalidRequest(format!(
                "Break-glass request {} is {state}, not pending: only a pending request can be approved.",
                r.request_id
            )));
        }
    }
    let approved = BreakGlassRecord {
        state: "Approved".to_owned(),
        approver_arn: Some(ctx.principal.arn.clone()),
        approved_at: Some(ctx.now),
        session_expires_at: Some(ctx.now + r.duration_seconds * 1000),
        ..r.clone()
    };
    match bg.store.update_breakglass(&approved, "Pending").await {
        Ok(()) => Ok(state_output(&approved, ctx.now)),
        Err(StoreError::Conflict) => Err(AdminError::InvalidRequest(format!(
            "Break-glass request {} changed meanwhile (approved or revoked by someone else).",
            r.request_id
        ))),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CredentialsOutput {
    credentials: Credentials,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Credentials {
    access_key_id: String,
    secret_access_key: SecretText,
    session_token: String,
    expiration: String,
}

pub(super) async fn credentials(
    bg: &BreakGlass,
    ctx: &RequestContext,
    input: IdInput,
) -> Result<CredentialsOutput, AdminError> {
    let r = bg.find(ctx, &input.request_id).await?;
    if ctx.principal.arn != r.requester_arn {
        return Err(AdminError::AccessDenied(format!(
            "User: {} did not request {}: only the requester receives its credentials.",
            ctx.principal.arn, r.request_id
        )));
    }
    let (Some(expires), "Active") = (r.session_expires_at, state_of(&r, ctx.now)) else {
        return Err(AdminError::InvalidRequest(format!(
            "Break-glass request {} is {}: credentials exist only while it is approved and its window is open.",
            r.request_id,
            state_of(&r, ctx.now)
        )));
    };
    let role = bg
        .store
        .get_entity(
            ctx.account(),
            IamKind::Role,
            r.role_arn.rsplit('/').next().unwrap_or_default(),
        )
        .await?
        .ok_or_else(|| AdminError::InvalidRequest(format!("{} no longer exists.", r.role_arn)))?;
    let session_name = format!("breakglass-{}", r.request_id);
    let session = crate::authz::Session {
        role_arn: role.arn.clone(),
        role_name: role.name.clone(),
        session_name: session_name.clone(),
        session_policies: Vec::new(),
        tags: Vec::new(),
        source_identity: None,
        expires_at: expires / 1000,
        incident: Some(r.request_id.clone()),
    };
    let account = coffer_types::AccountId::parse(ctx.account())
        .map_err(|_| AdminError::Internal("bad account".to_owned()))?;
    let (key, token) = bg
        .identity
        .issue_session(&account, &format!("{}:{session_name}", role.id), &session)
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    Ok(CredentialsOutput {
        credentials: Credentials {
            access_key_id: key.access_key_id,
            secret_access_key: SecretText(key.secret_access_key),
            session_token: token,
            expiration: crate::iam::iso(expires),
        },
    })
}

/// May the caller see or end the incident: its requester, its approver, or anyone who may
/// approve it?
async fn involved(
    bg: &BreakGlass,
    ctx: &RequestContext,
    r: &BreakGlassRecord,
    what: &str,
) -> Result<(), AdminError> {
    let arn = &ctx.principal.arn;
    if *arn == r.requester_arn
        || r.approver_arn.as_deref() == Some(arn.as_str())
        || bg
            .allowed(ctx, "coffer:ApproveBreakGlass", &r.role_arn)
            .await?
    {
        Ok(())
    } else {
        Err(AdminError::AccessDenied(format!(
            "User: {arn} is not authorized to {what} break-glass request {}",
            r.request_id
        )))
    }
}

pub(super) async fn revoke(
    bg: &BreakGlass,
    ctx: &RequestContext,
    input: IdInput,
) -> Result<StateOutput, AdminError> {
    let r = bg.find(ctx, &input.request_id).await?;
    involved(bg, ctx, &r, "revoke").await?;
    if r.state == "Revoked" {
        return Ok(state_output(&r, ctx.now));
    }
    let revoked = BreakGlassRecord {
        state: "Revoked".to_owned(),
        revoked_at: Some(ctx.now),
        ..r.clone()
    };
    bg.store.update_breakglass(&revoked, &r.state).await?;
    Ok(state_output(&revoked, ctx.now))
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReportOutput {
    request_id: String,
    state: &'static str,
    role_arn: String,
    reason: String,
    requested_by: String,
    requested_at: Epoch,
    approved_by: Option<String>,
    approved_at: Option<Epoch>,
    session_expires_at: Option<Epoch>,
    revoked_at: Option<Epoch>,
    closed_at: Option<Epoch>,
    /// The principal ARN every use of the window's credentials was recorded under in the audit
    /// trail (`coffer audit` / CloudTrail LookupEvents by this Username).
    session_arn: String,
    rotation_deadline: Option<Epoch>,
    reads: Vec<ReadOut>,
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReadOut {
    arn: String,
    kind: String,
    first_read_at: Epoch,
    reads: i64,
    /// `pending`, `rotated`, `manual`, `failed`; `overdue` once the deadline passed unrotated.
    rotation: String,
    rotation_at: Option<Epoch>,
}

pub(super) async fn report(
    bg: &BreakGlass,
    ctx: &RequestContext,
    input: IdInput,
) -> Result<ReportOutput, AdminError> {
    let r = bg.find(ctx, &input.request_id).await?;
    involved(bg, ctx, &r, "report on").await?;
    let ended = r.revoked_at.or(r.session_expires_at);
    let deadline = ended.map(|e| e + bg.config.rotation_deadline_seconds * 1000);
    let reads = bg
        .store
        .breakglass_reads(&r.request_id)
        .await?
        .into_iter()
        .map(|x| ReadOut {
            rotation: if x.rotation != "rotated" && deadline.is_some_and(|d| ctx.now > d) {
                "overdue".to_owned()
            } else {
                x.rotation
            },
            arn: x.resource_arn,
            kind: x.kind,
            first_read_at: Epoch(x.first_read_at),
            reads: x.reads,
            rotation_at: x.rotation_at.map(Epoch),
        })
        .collect();
    let role_name = r.role_arn.rsplit('/').next().unwrap_or_default();
    Ok(ReportOutput {
        session_arn: format!(
            "arn:aws:sts::{}:assumed-role/{role_name}/breakglass-{}",
            r.account_id, r.request_id
        ),
        state: state_of(&r, ctx.now),
        request_id: r.request_id,
        role_arn: r.role_arn,
        reason: r.reason,
        requested_by: r.requester_arn,
        requested_at: Epoch(r.created_at),
        approved_by: r.approver_arn,
        approved_at: r.approved_at.map(Epoch),
        session_expires_at: r.session_expires_at.map(Epoch),
        revoked_at: r.revoked_at.map(Epoch),
        closed_at: r.closed_at.map(Epoch),
        rotation_deadline: deadline.filter(|_| r.approved_at.is_some()).map(Epoch),
        reads,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_person_cannot_be_two() {
        let alice = "arn:aws:iam::000000000000:user/alice";
        let bob = "arn:aws:iam::000000000000:user/bob";
        let s1 = "arn:aws:sts::000000000000:assumed-role/oncall/alice";
        let s2 = "arn:aws:sts::000000000000:assumed-role/oncall/bob";
        let other = "arn:aws:sts::000000000000:assumed-role/security/bob";
        assert!(same_person(alice, alice));
        assert!(!same_person(alice, bob));
        assert!(same_person(s1, s2));
        assert!(!same_person(s1, other));
        assert!(!same_person(alice, s1));
    }

    #[test]
    fn reads_are_secrets_and_decrypted_secure_strings() {
        let out = serde_json::json!({"ARN": "arn:s", "SecretString": "x"});
        let none = serde_json::json!({});
        assert_eq!(
            reads("GetSecretValue", &none, &out),
            [("arn:s".to_owned(), "secret")]
        );
        let out = serde_json::json!({"Parameters": [
            {"ARN": "arn:p1", "Type": "SecureString"}, {"ARN": "arn:p2", "Type": "String"}]});
        let decrypt = serde_json::json!({"WithDecryption": true});
        assert_eq!(
            reads("GetParameters", &decrypt, &out),
            [("arn:p1".to_owned(), "parameter")]
        );
        // Without decryption a SecureString's value is its ciphertext: not a read in clear.
        assert!(reads("GetParameters", &none, &out).is_empty());
        assert!(
            reads(
                "DescribeSecret",
                &none,
                &serde_json::json!({"ARN": "arn:s"})
            )
            .is_empty()
        );
    }
}
