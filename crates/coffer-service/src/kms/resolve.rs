//! Finding a key from what the caller wrote: key id, key ARN, alias name or alias ARN; and the
//! lazy parts of a key's life (end of the deletion window, scheduled rotation).
//! <https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#key-id>

use super::{Kms, KmsError};
use crate::RequestContext;
use coffer_store::{AliasRecord, KeyMaterialRecord, KeyRecord, KeyState, StoreError};
use coffer_types::{Arn, SecretBytes};
use std::sync::Arc;

/// AWS managed keys coffer creates on first use, with their descriptions.
pub const MANAGED_ALIASES: &[(&str, &str, &str)] = &[
    (
        "alias/aws/secretsmanager",
        "secretsmanager",
        "Default key that protects my Secrets Manager data when no other key is defined",
    ),
    (
        "alias/aws/ssm",
        "ssm",
        "Default key that protects my SSM parameters when no other key is defined",
    ),
];

const DAY_MS: i64 = 86_400_000;

pub fn key_arn(region: &str, account: &str, key_id: &str) -> String {
    format!("arn:aws:kms:{region}:{account}:key/{key_id}")
}

pub fn alias_arn(region: &str, account: &str, alias: &str) -> String {
    format!("arn:aws:kms:{region}:{account}:{alias}")
}

/// AWS's `KeyMaterialId` (64 hex digits) of material `version` of the key `arn`. Derived, not
/// stored: SHA-256 of the ARN and version, so it needs no schema change, is the same on every
/// node, and changes exactly when a rotation adds a version.
/// <https://docs.aws.amazon.com/kms/latest/APIReference/API_KeyMetadata.html#KMS-Type-KeyMetadata-CurrentKeyMaterialId>
pub fn key_material_id(arn: &str, version: u32) -> String {
    let text = format!("coffer-key-material-id|{arn}|{version}");
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes()).as_ref())
}

/// The ARN of a stored key.
pub fn arn_of(k: &KeyRecord) -> String {
    key_arn(&k.region, &k.account_id, &k.key_id)
}

/// The `kms:ViaService` an AWS managed key's policy requires.
fn managed_via_service(policy: &str) -> Option<String> {
    let doc: serde_json::Value = serde_json::from_str(policy).ok()?;
    doc.get("Statement")?.as_array()?.iter().find_map(|s| {
        s.pointer("/Condition/StringEquals/kms:ViaService")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    })
}

/// Why the policies refuse a request: AWS's message, and whether a statement denied it
/// explicitly (which no grant can override).
#[derive(Debug)]
pub(crate) struct Refusal {
    pub message: String,
    pub explicit: bool,
}

/// Whether [`Kms::resolve`] authorises an action on the key it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authorize {
    /// Judge `kms:ACTION` on the key (key policy and identity policies).
    Action(&'static str),
    /// The caller authorises itself, after resolving; `why` says why (and when).
    Skip { why: &'static str },
}

/// Is `id` shaped like a key id AWS could have issued: a UUID, or `mrk-` and 32 hex digits?
/// <https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#key-id-key-id>
fn well_formed_key_id(id: &str) -> bool {
    let mrk = id
        .strip_prefix("mrk-")
        .is_some_and(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    mrk || uuid::Uuid::try_parse(id)
        .is_ok_and(|u| u.hyphenated().to_string() == id.to_ascii_lowercase())
}

/// Which kinds of identifier an operation accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// Key id or key ARN (management operations).
    KeyOnly,
    /// Also alias name or alias ARN (cryptographic operations and DescribeKey).
    KeyOrAlias,
}

impl Kms {
    /// Resolve `key_ref` to a live key in the caller's region and, as `authorize` says,
    /// authorise an action on it.
    pub(crate) async fn resolve(
        &self,
        ctx: &RequestContext,
        key_ref: &str,
        accept: Accept,
        authorize: Authorize,
    ) -> Result<KeyRecord, KmsError> {
        self.resolve_known(ctx, key_ref, accept, authorize, None)
            .await
    }

    /// [`Kms::resolve`] that takes the key's record from `known` instead of the store when it
    /// is the key `key_ref` names (read by the caller in the same statement as its own data).
    pub(crate) async fn resolve_known(
        &self,
        ctx: &RequestContext,
        key_ref: &str,
        accept: Accept,
        authorize: Authorize,
        known: Option<KeyRecord>,
    ) -> Result<KeyRecord, KmsError> {
        let (account, region, resource) = if key_ref.starts_with("arn:") {
            let arn = Arn::parse(key_ref)
                .ok()
                .filter(|a| a.service == "kms")
                .ok_or_else(|| KmsError::NotFound(format!("Invalid arn {key_ref}")))?;
            (arn.account, arn.region, arn.resource)
        } else {
            (
                ctx.account().to_owned(),
                ctx.region().to_owned(),
                key_ref.to_owned(),
            )
        };
        if region != ctx.region() {
            // AWS names the region, not the ARN.
            return Err(KmsError::NotFound(format!("Invalid arn {region}")));
        }
        if account != ctx.account() && !resource.starts_with("key/") {
            // Another account's key is named by its key ARN only (aliases are per account).
            return Err(KmsError::NotFound(format!("Invalid arn {key_ref}")));
        }
        let key_id = if let Some(id) = resource.strip_prefix("key/") {
            id.to_owned()
        } else if resource.starts_with("alias/") {
            if accept == Accept::KeyOnly {
                return Err(KmsError::NotFound(format!("Invalid keyId {key_ref}")));
            }
            self.alias_target(ctx, &resource).await?
        } else if key_ref.starts_with("arn:") {
            return Err(KmsError::NotFound(format!("Invalid arn {key_ref}")));
        } else {
            resource
        };
        let key = match known
            .filter(|k| k.account_id == account && k.region == region && k.key_id == key_id)
        {
            Some(k) => Some(k),
            None => self.store.get_key(&account, &region, &key_id).await?,
        };
        let key = key.ok_or_else(|| {
            // An id no key could have (not a UUID, not `mrk-` + 32 hex) is refused as AWS
            // refuses it. Looked up first: `_custom_id_` keys may have ids of other shapes.
            if key_ref.starts_with("arn:") || well_formed_key_id(&key_id) {
                KmsError::NotFound(format!(
                    "Key '{}' does not exist",
                    key_arn(&region, &account, &key_id)
                ))
            } else {
                KmsError::NotFound(format!("Invalid keyId '{key_ref}'"))
            }
        })?;
        let key = self.lifecycle(ctx, key).await?;
        match authorize {
            Authorize::Action(action) => self.authorize_key(ctx, &key, action).await?,
            Authorize::Skip { why: _ } => {}
        }
        Ok(key)
    }

    /// Actions on no particular key (CreateKey, ListKeys): identity policies only.
    pub(crate) async fn authorize_any(
        &self,
        ctx: &RequestContext,
        action: &str,
    ) -> Result<(), KmsError> {
        self.authz
            .check_identity(ctx, action, "*")
            .await
            .map_err(|e| match e {
                crate::authz::AuthzError::Denied(m) => KmsError::AccessDenied(m),
                crate::authz::AuthzError::Store(e) => e.into(),
            })
    }

    /// May the caller perform `action` with `key`? The key policy must allow it (`Required`:
    /// a statement naming the account delegates to its identity policies), and in the caller's
    /// own account an identity policy may grant it when the key policy delegates.
    pub(crate) async fn authorize_key(
        &self,
        ctx: &RequestContext,
        key: &KeyRecord,
        action: &str,
    ) -> Result<(), KmsError> {
        self.authorize_key_with(ctx, key, action, None).await
    }

    /// [`Kms::authorize_key`] for a cryptographic operation with an encryption context
    /// (`kms:EncryptionContext:KEY`, `kms:EncryptionContextKeys`). What no policy allows, a grant
    /// of the caller's may (unless a policy denies it explicitly).
    pub(crate) async fn authorize_key_with(
        &self,
        ctx: &RequestContext,
        key: &KeyRecord,
        action: &str,
        context: Option<&coffer_crypto::EncryptionContext>,
    ) -> Result<(), KmsError> {
        let Err(refusal) = self.policy_decision(ctx, key, action, context, &[]).await? else {
            return Ok(());
        };
        if !refusal.explicit
            && self
                .grant_allowing(ctx, key, action, context)
                .await?
                .is_some()
        {
            return Ok(());
        }
        Err(KmsError::AccessDenied(refusal.message))
    }

    /// The policies' answer alone (key policy, identity policies, boundaries, sessions) to
    /// `action` on `key`, with the request's encryption context and `extra` condition keys.
    pub(crate) async fn policy_decision(
        &self,
        ctx: &RequestContext,
        key: &KeyRecord,
        action: &str,
        context: Option<&coffer_crypto::EncryptionContext>,
        extra: &[(&str, Vec<String>)],
    ) -> Result<Result<(), Refusal>, KmsError> {
        let arn = arn_of(key);
        let mut r =
            crate::authz::request(ctx, action, &arn).with("kms:CallerAccount", ctx.account());
        if let Some(svc) = ctx.via_service {
            r = r.with(
                "kms:ViaService",
                format!("{svc}.{}.amazonaws.com", ctx.region()),
            );
        } else if key.aws_managed && key.account_id == ctx.account() {
            // coffer lets an account use its AWS managed keys directly too (AWS allows that only
            // through their service): as if through the service the key's policy names.
            if let Some(via) = managed_via_service(&key.policy) {
                r = r.with("kms:ViaService", via);
            }
        }
        if let Some(c) = context {
            for (k, v) in c {
                r = r.with(&format!("kms:EncryptionContext:{k}"), v.clone());
            }
            if !c.is_empty() {
                r = r.with_values("kms:EncryptionContextKeys", c.keys().cloned());
            }
        }
        for (name, values) in extra {
            r = r.with_values(name, values.iter().cloned());
        }
        let side = crate::authz::ResourceSide {
            policy: Some(&key.policy),
            mode: coffer_policy::ResourceMode::Required,
            account: &key.account_id,
        };
        let decision = self.authz.decide(ctx, &r, side).await?;
        let message = coffer_policy::access_denied_message(
            &ctx.principal.arn,
            r.action(),
            Some(r.resource()),
            &decision,
        );
        Ok(match message {
            None => Ok(()),
            Some(message) => Err(Refusal {
                message,
                explicit: decision.verdict() == coffer_policy::Verdict::ExplicitDeny,
            }),
        })
    }

    /// The key id an alias points at; AWS managed aliases are created on first use.
    async fn alias_target(&self, ctx: &RequestContext, alias: &str) -> Result<String, KmsError> {
        if let Some(a) = self
            .store
            .get_alias(ctx.account(), ctx.region(), alias)
            .await?
        {
            return Ok(a.key_id);
        }
        if MANAGED_ALIASES.iter().any(|(name, _, _)| *name == alias) {
            return Ok(self.managed_key(ctx, alias).await?.key_id);
        }
        Err(KmsError::NotFound(format!(
            "Alias {} is not found.",
            alias_arn(ctx.region(), ctx.account(), alias)
        )))
    }

    /// The AWS managed key behind `alias` (`alias/aws/secretsmanager`, `alias/aws/ssm`) in the
    /// caller's account and region, created on first use. Other services call this to encrypt
    /// with their default key.
    pub async fn managed_key(
        &self,
        ctx: &RequestContext,
        alias: &str,
    ) -> Result<KeyRecord, KmsError> {
        let (_, service, description) = MANAGED_ALIASES
            .iter()
            .find(|(name, _, _)| *name == alias)
            .ok_or_else(|| KmsError::NotFound(format!("Alias {alias} is not found.")))?;
        if let Some(a) = self
            .store
            .get_alias(ctx.account(), ctx.region(), alias)
            .await?
            && let Some(k) = self
                .store
                .get_key(ctx.account(), ctx.region(), &a.key_id)
                .await?
        {
            return Ok(k);
        }
        let key_id = uuid::Uuid::new_v4().to_string();
        let key = KeyRecord {
            account_id: ctx.account().to_owned(),
            region: ctx.region().to_owned(),
            key_id: key_id.clone(),
            description: (*description).to_owned(),
            key_usage: "ENCRYPT_DECRYPT".to_owned(),
            key_spec: "SYMMETRIC_DEFAULT".to_owned(),
            origin: "AWS_KMS".to_owned(),
            aws_managed: true,
            multi_region: false,
            state: KeyState::Enabled,
            created_at: ctx.now,
            deletion_date: None,
            pending_window_days: None,
            // AWS rotates managed keys every year, always.
            rotation_enabled: true,
            rotation_period_days: Some(365),
            next_rotation_at: Some(ctx.now + 365 * DAY_MS),
            policy: super::policy::managed_policy(ctx.account(), ctx.region(), service),
            current_material: 1,
            valid_to: None,
            material_fingerprint: None,
            mrk_primary_region: None,
            row_version: 1,
        };
        let material = self.new_material(&arn_of(&key), 1, ctx.now, false)?;
        let alias_rec = AliasRecord {
            account_id: key.account_id.clone(),
            region: key.region.clone(),
            alias_name: alias.to_owned(),
            key_id,
            created_at: ctx.now,
            updated_at: ctx.now,
        };
        match self
            .store
            .create_key(&key, Some(&material), &[], Some(&alias_rec))
            .await
        {
            Ok(()) => Ok(key),
            // Another request created it first: use theirs.
            Err(StoreError::Conflict) => {
                let a = self
                    .store
                    .get_alias(ctx.account(), ctx.region(), alias)
                    .await?;
                let k = match a {
                    Some(a) => {
                        self.store
                            .get_key(ctx.account(), ctx.region(), &a.key_id)
                            .await?
                    }
                    None => None,
                };
                k.ok_or_else(|| {
                    KmsError::Internal("managed key vanished after conflict".to_owned())
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Apply what time has done to a key since it was last touched: finish a deletion whose
    /// waiting period is over, rotate material whose rotation date has passed.
    async fn lifecycle(
        &self,
        ctx: &RequestContext,
        mut key: KeyRecord,
    ) -> Result<KeyRecord, KmsError> {
        for _ in 0..3 {
            if key.state == KeyState::PendingDeletion
                && key.deletion_date.is_some_and(|d| d <= ctx.now)
            {
                self.store
                    .delete_key(&key.account_id, &key.region, &key.key_id)
                    .await?;
                return Err(KmsError::NotFound(format!(
                    "Key '{}' does not exist",
                    arn_of(&key)
                )));
            }
            // Imported material past its ValidTo is deleted, as AWS deletes it.
            let expired = key.origin == "EXTERNAL"
                && key.state != KeyState::PendingImport
                && key.state != KeyState::PendingDeletion
                && key.valid_to.is_some_and(|t| t <= ctx.now);
            if expired {
                if self.remove_imported_material(&key).await? {
                    key.state = KeyState::PendingImport;
                    key.valid_to = None;
                    key.row_version += 1;
                    return Ok(key);
                }
                key = self
                    .store
                    .get_key(&key.account_id, &key.region, &key.key_id)
                    .await?
                    .ok_or_else(|| {
                        KmsError::NotFound(format!("Key '{}' does not exist", arn_of(&key)))
                    })?;
                continue;
            }
            let due = key.rotation_enabled
                && key.state == KeyState::Enabled
                && key.next_rotation_at.is_some_and(|t| t <= ctx.now);
            if !due {
                return Ok(key);
            }
            let period = i64::from(key.rotation_period_days.unwrap_or(365));
            let mut rotated = key.clone();
            rotated.current_material += 1;
            rotated.next_rotation_at = Some(ctx.now + period * DAY_MS);
            let material =
                self.new_material(&arn_of(&key), rotated.current_material, ctx.now, false)?;
            match self.store.rotate_key_material(&rotated, &material).await {
                Ok(()) => {
                    rotated.row_version += 1;
                    return Ok(rotated);
                }
                // Someone else rotated or changed it: look again.
                Err(StoreError::Conflict) => {
                    key = self
                        .store
                        .get_key(&key.account_id, &key.region, &key.key_id)
                        .await?
                        .ok_or_else(|| {
                            KmsError::NotFound(format!("Key '{}' does not exist", arn_of(&key)))
                        })?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(key)
    }

    /// Read-modify-write a key under its optimistic version, retrying a few times on conflict.
    pub(crate) async fn modify(
        &self,
        ctx: &RequestContext,
        key_ref: &str,
        action: &str,
        mut change: impl FnMut(&mut KeyRecord) -> Result<(), KmsError>,
    ) -> Result<KeyRecord, KmsError> {
        for _ in 0..5 {
            // The change's own refusals (an AWS managed key cannot be changed) come first, as on
            // AWS; then the key policy decides.
            let why = "the change's refusals come first; authorised below";
            let mut key = self
                .resolve(ctx, key_ref, Accept::KeyOnly, Authorize::Skip { why })
                .await?;
            change(&mut key)?;
            self.authorize_key(ctx, &key, action).await?;
            match self.store.update_key(&key).await {
                Ok(()) => {
                    key.row_version += 1;
                    return Ok(key);
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(KmsError::Internal(
            "key kept changing under concurrent updates".to_owned(),
        ))
    }

    /// Fresh key material, sealed by the master key for this key ARN and version.
    pub(crate) fn new_material(
        &self,
        arn: &str,
        version: u32,
        now: i64,
        on_demand: bool,
    ) -> Result<KeyMaterialRecord, KmsError> {
        let material = coffer_crypto::random::secret_bytes(coffer_crypto::KEY_LEN)
            .map_err(crate::error::crypto::<KmsError>)?;
        self.seal_material(arn, version, now, on_demand, &material)
    }

    /// Seal `material` (symmetric bytes, a PKCS#8 private key, an HMAC key) as version
    /// `version` of the key `arn`.
    pub(crate) fn seal_material(
        &self,
        arn: &str,
        version: u32,
        now: i64,
        on_demand: bool,
        material: &SecretBytes,
    ) -> Result<KeyMaterialRecord, KmsError> {
        let wrapped = self
            .master
            .wrap(material.expose(), &purpose(arn, version))
            .map_err(crate::error::crypto::<KmsError>)?;
        Ok(KeyMaterialRecord {
            version,
            wrapped,
            created_at: now,
            on_demand,
        })
    }

    /// Drop `key`'s current material from this node's cache (its imported material was deleted).
    pub(crate) fn forget_material(&self, key: &KeyRecord) {
        self.materials
            .invalidate(&(arn_of(key), key.current_material));
    }

    /// The unsealed material `version` of `key`.
    pub(crate) async fn material(
        &self,
        key: &KeyRecord,
        version: u32,
    ) -> Result<Arc<SecretBytes>, KmsError> {
        let arn = arn_of(key);
        let cache_key = (arn, version);
        let hit = self.materials.get(&cache_key);
        crate::metrics::global().cache_lookup("key_material", hit.is_some());
        if let Some(m) = hit {
            return Ok(m);
        }
        let record = self
            .store
            .get_key_material(&key.account_id, &key.region, &key.key_id, version)
            .await?
            // A blob naming material this key never had was not made by this key.
            .ok_or_else(|| KmsError::InvalidCiphertext(String::new()))?;
        let material = self
            .master
            .unwrap(&record.wrapped, &purpose(&cache_key.0, version))
            .map_err(|_| {
                KmsError::Internal(format!("key material of {} does not unseal", cache_key.0))
            })?;
        let material = Arc::new(material);
        self.materials.insert(cache_key, material.clone());
        Ok(material)
    }
}

/// Associated data for sealing key material: binds it to its key and version.
fn purpose(arn: &str, version: u32) -> String {
    format!("kms-material|{arn}|{version}")
}

/// Refuse cryptographic use of a key that is not enabled, with AWS's errors.
pub(crate) fn require_enabled(key: &KeyRecord) -> Result<(), KmsError> {
    match key.state {
        KeyState::Enabled => Ok(()),
        KeyState::Disabled => Err(KmsError::Disabled(format!("{} is disabled.", arn_of(key)))),
        KeyState::PendingDeletion => Err(KmsError::InvalidState(format!(
            "{} is pending deletion.",
            arn_of(key)
        ))),
        KeyState::PendingImport => Err(KmsError::InvalidState(format!(
            "{} is pending import.",
            arn_of(key)
        ))),
    }
}

/// Refuse an operation of symmetric encryption keys (rotation) on another kind of key.
pub(crate) fn require_symmetric(key: &KeyRecord, what: &str) -> Result<(), KmsError> {
    if key.key_spec == "SYMMETRIC_DEFAULT" {
        Ok(())
    } else {
        Err(KmsError::UnsupportedOperation(format!(
            "{} has key spec {}: {what} is supported only for symmetric encryption KMS keys.",
            arn_of(key),
            key.key_spec
        )))
    }
}

/// Refuse rotation of a key whose material coffer did not make (origin EXTERNAL).
pub(crate) fn require_generated(key: &KeyRecord, what: &str) -> Result<(), KmsError> {
    if key.origin == "AWS_KMS" {
        Ok(())
    } else {
        Err(KmsError::UnsupportedOperation(format!(
            "{} has imported key material: {what} is not supported for it.",
            arn_of(key)
        )))
    }
}

/// Refuse an operation the key's usage does not allow, in AWS's words.
pub(crate) fn require_usage(key: &KeyRecord, usage: &str, operation: &str) -> Result<(), KmsError> {
    if key.key_usage == usage {
        Ok(())
    } else {
        Err(KmsError::InvalidKeyUsage(format!(
            "{} key usage is {} which is not valid for {operation}.",
            arn_of(key),
            key.key_usage
        )))
    }
}

/// Refuse changes to AWS managed keys, which only AWS may manage.
pub(crate) fn require_customer_managed(key: &KeyRecord, what: &str) -> Result<(), KmsError> {
    if key.aws_managed {
        Err(KmsError::UnsupportedOperation(format!(
            "{} is an AWS managed key: {what} is not supported for AWS managed keys.",
            arn_of(key)
        )))
    } else {
        Ok(())
    }
}
