//! Naming and finding secrets: ARNs with their random suffix, lookup by name, full ARN or
//! partial ARN, the lazy end of a recovery window, and the authorisation hook every operation
//! passes through.
//! <https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot.html#ARN_secretnamehyphen>

use super::{SecretsManager, SecretsManagerError as E};
use crate::RequestContext;
use coffer_store::{SecretBy, SecretRecord, StagedRead};
use coffer_types::Arn;

pub(crate) const DAY_MS: i64 = 86_400_000;

/// The characters AWS allows in a secret name.
fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "/_+=.@-".contains(c)
}

/// Names are 1–512 characters of `A-Za-z0-9/_+=.@-` (the model checks the length);
/// AWS answers anything else with `ValidationException`.
pub(crate) fn check_name(name: &str) -> Result<(), E> {
    if name.is_empty() || !name.chars().all(name_char) {
        return Err(E::Validation(
            "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!".to_owned(),
        ));
    }
    Ok(())
}

/// A new secret's ARN: the name plus `-` and six random characters, so that a secret created
/// again under an old name never matches grants written for the old one.
pub(crate) fn new_arn(ctx: &RequestContext, name: &str) -> Result<String, E> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut raw = [0u8; 6];
    coffer_crypto::random::fill(&mut raw).map_err(crate::error::crypto::<E>)?;
    // 256 % 62 != 0: the bias (a few percent between characters) does not matter for a name.
    let suffix: String = raw
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    Ok(format!(
        "arn:aws:secretsmanager:{}:{}:secret:{name}-{suffix}",
        ctx.region(),
        ctx.account()
    ))
}

/// A new secret `name` with `arn` in the caller's account and Region, created now: no value,
/// no key choice, no tags, no policy, no rotation, no replication.
pub(crate) fn new_secret(ctx: &RequestContext, arn: String, name: &str) -> SecretRecord {
    SecretRecord {
        arn,
        account_id: ctx.account().to_owned(),
        region: ctx.region().to_owned(),
        name: name.to_owned(),
        description: None,
        kms_key_id: None,
        tags: Vec::new(),
        tags_listed: false,
        policy: None,
        owning_service: None,
        primary_region: None,
        replication: None,
        replication_due_at: None,
        created_at: ctx.now,
        last_changed_at: ctx.now,
        last_accessed_at: None,
        deleted_at: None,
        purge_at: None,
        rotation_enabled: false,
        rotation_lambda_arn: None,
        rotation_rules: None,
        last_rotated_at: None,
        next_rotation_at: None,
        row_version: 1,
    }
}

/// A SecretId is a name or an ARN whose `secret:` part is one; anything else is refused before
/// any lookup, as on AWS.
pub(crate) fn check_secret_id(secret_id: &str) -> Result<(), E> {
    match secret_id.split_once(":secret:") {
        Some((prefix, name)) if prefix.starts_with("arn:") => check_name(name),
        _ => check_name(secret_id),
    }
}

pub(crate) fn not_found() -> E {
    E::ResourceNotFound("Secrets Manager can't find the specified secret.".to_owned())
}

/// Midnight UTC of the day `now` falls in: AWS reports LastAccessedDate at day granularity.
pub(crate) fn day_of(now: i64) -> i64 {
    now - now.rem_euclid(DAY_MS)
}

impl SecretsManager {
    /// Find the secret `secret_id` names and check that the caller may perform `action` on it.
    ///
    /// A full ARN matches exactly; otherwise the text after `secret:` of an ARN, or the id
    /// itself, is a name ("partial ARN"). A secret whose recovery window has ended is purged here
    /// if the background task has not got to it yet, and is not found.
    pub(crate) async fn find(
        &self,
        ctx: &RequestContext,
        secret_id: &str,
        action: &str,
    ) -> Result<SecretRecord, E> {
        self.find_with(ctx, secret_id, action, &[]).await
    }

    /// [`SecretsManager::find`] with request-specific condition keys
    /// (`secretsmanager:VersionStage`, ...).
    pub(crate) async fn find_with(
        &self,
        ctx: &RequestContext,
        secret_id: &str,
        action: &str,
        keys: &[(&str, &str)],
    ) -> Result<SecretRecord, E> {
        let found = self.find_staged(ctx, secret_id, action, keys, None).await?;
        Ok(found.secret)
    }

    /// [`SecretsManager::find_with`] that also reads the version holding `stage` (and on
    /// PostgreSQL its KMS key) in the same store read as the secret: one database round trip,
    /// not three. The version is only read, not opened: the caller uses it once the secret's
    /// checks have passed.
    pub(crate) async fn find_staged(
        &self,
        ctx: &RequestContext,
        secret_id: &str,
        action: &str,
        keys: &[(&str, &str)],
        stage: Option<&str>,
    ) -> Result<StagedRead, E> {
        check_secret_id(secret_id)?;
        let (account, region, name) = if secret_id.starts_with("arn:") {
            let arn = Arn::parse(secret_id).map_err(|_| not_found())?;
            let name = arn
                .resource
                .strip_prefix("secret:")
                .filter(|_| arn.service == "secretsmanager")
                .ok_or_else(not_found)?
                .to_owned();
            (arn.account, arn.region, name)
        } else {
            (
                ctx.account().to_owned(),
                ctx.region().to_owned(),
                secret_id.to_owned(),
            )
        };
        if region != ctx.region() {
            return Err(not_found());
        }
        if account != ctx.account() && !secret_id.starts_with("arn:") {
            return Err(not_found());
        }
        let mut found = None;
        if secret_id.starts_with("arn:") {
            found = self.read(SecretBy::Arn(secret_id), stage).await?;
        }
        if found.is_none() {
            let by = SecretBy::Name {
                account: &account,
                region: &region,
                name: &name,
            };
            found = self.read(by, stage).await?;
        }
        let Some(found) = found else {
            // Another account's secret that does not exist is refused as one that does,
            // so its existence is not revealed.
            if account != ctx.account() {
                return Err(self.denied(ctx, action, secret_id));
            }
            return Err(not_found());
        };
        let secret = &found.secret;
        if secret.purge_at.is_some_and(|t| t <= ctx.now) {
            self.store.purge_secret(&secret.arn).await?;
            return Err(not_found());
        }
        self.authorize_with(ctx, action, &secret.arn, Some(secret), keys)
            .await?;
        if secret.primary_region.is_some() && !super::replication::allowed_on_replica(action) {
            return Err(super::replication::replica_is_read_only());
        }
        Ok(found)
    }

    /// The secret `by` names, and with a `stage` its version holding it.
    async fn read(&self, by: SecretBy<'_>, stage: Option<&str>) -> Result<Option<StagedRead>, E> {
        if let Some(stage) = stage {
            return Ok(self.store.get_secret_with_staged_version(by, stage).await?);
        }
        let secret = match by {
            SecretBy::Arn(arn) => self.store.get_secret_by_arn(arn).await?,
            SecretBy::Name {
                account,
                region,
                name,
            } => self.store.get_secret_by_name(account, region, name).await?,
        };
        Ok(secret.map(|secret| StagedRead {
            secret,
            version: None,
            key: None,
        }))
    }

    /// The authorisation hook: may the caller perform `action` (`secretsmanager:GetSecretValue`)
    /// on the secret `arn` (`secret`, when it exists, brings its resource policy and tags)?
    /// Same account: an identity policy or the resource policy allows; another account: both.
    pub(crate) async fn authorize(
        &self,
        ctx: &RequestContext,
        action: &str,
        arn: &str,
        secret: Option<&SecretRecord>,
    ) -> Result<(), E> {
        self.authorize_with(ctx, action, arn, secret, &[]).await
    }

    pub(crate) async fn authorize_with(
        &self,
        ctx: &RequestContext,
        action: &str,
        arn: &str,
        secret: Option<&SecretRecord>,
        keys: &[(&str, &str)],
    ) -> Result<(), E> {
        let owner = match Arn::parse(arn) {
            Ok(a) => a.account,
            Err(_) => return Err(self.denied(ctx, action, arn)),
        };
        let mut r = crate::authz::request(ctx, action, arn).with("secretsmanager:SecretId", arn);
        if let Some(name) = arn
            .split_once(":secret:")
            .map(|(_, n)| n.rsplit_once('-').map_or(n, |(n, _)| n))
        {
            r = r.with("secretsmanager:Name", name);
        }
        for (k, v) in keys {
            r = r.with(k, *v);
        }
        if let Some(s) = secret {
            for t in &s.tags {
                r = r
                    .with(
                        &format!("secretsmanager:ResourceTag/{}", t.key),
                        t.value.clone(),
                    )
                    .with(&format!("aws:ResourceTag/{}", t.key), t.value.clone());
            }
        }
        let side = crate::authz::ResourceSide {
            policy: secret.and_then(|s| s.policy.as_deref()),
            mode: coffer_policy::ResourceMode::Additive,
            account: &owner,
        };
        self.kms
            .authz()
            .check(ctx, &r, side)
            .await
            .map_err(|e| match e {
                crate::authz::AuthzError::Denied(m) => E::AccessDenied(m),
                crate::authz::AuthzError::Store(e) => e.into(),
            })
    }

    /// Actions on no particular secret (ListSecrets, GetRandomPassword, ...): identity only.
    pub(crate) async fn authorize_any(&self, ctx: &RequestContext, action: &str) -> Result<(), E> {
        self.kms
            .authz()
            .check_identity(ctx, action, "*")
            .await
            .map_err(|e| match e {
                crate::authz::AuthzError::Denied(m) => E::AccessDenied(m),
                crate::authz::AuthzError::Store(e) => e.into(),
            })
    }

    fn denied(&self, ctx: &RequestContext, action: &str, resource: &str) -> E {
        E::AccessDenied(format!(
            "User: {} is not authorized to perform: {action} on resource: {resource} because no resource-based policy allows the {action} action",
            ctx.principal.arn
        ))
    }
}

/// Refuse changes to a secret marked for deletion.
pub(crate) fn require_live(secret: &SecretRecord) -> Result<(), E> {
    if secret.deleted_at.is_some() {
        return Err(E::InvalidRequest(
            "You can't perform this operation on the secret because it was marked for deletion."
                .to_owned(),
        ));
    }
    Ok(())
}
