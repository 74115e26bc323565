//! Envelope encryption of secret versions.
//!
//! Each version gets a fresh 256-bit data key from the secret's KMS key, wrapped by KMS with the
//! encryption context AWS uses (`SecretARN`, `SecretVersionId`); the value is sealed under the
//! data key with AES-256-GCM, the associated data binding ARN, version and value type, so a
//! ciphertext moved to another row or version does not open.
//! <https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html>

use super::error::from_kms;
use super::{SecretsManager, SecretsManagerError as E};
use crate::RequestContext;
use coffer_crypto::{EncryptionContext, KEY_LEN, aead, random};
use coffer_store::{KeyRecord, SecretRecord, SecretVersionRecord};
use coffer_types::SecretBytes;

/// The key a secret uses when it names none.
pub(crate) const DEFAULT_KEY: &str = "alias/aws/secretsmanager";

fn encryption_context(arn: &str, version_id: &str) -> EncryptionContext {
    EncryptionContext::from([
        ("SecretARN".to_owned(), arn.to_owned()),
        ("SecretVersionId".to_owned(), version_id.to_owned()),
    ])
}

fn associated_data(arn: &str, version_id: &str, binary: bool) -> Vec<u8> {
    let kind = if binary { "binary" } else { "string" };
    format!("coffer-secret-v1\0{arn}\0{version_id}\0{kind}").into_bytes()
}

impl SecretsManager {
    /// Seal `value` as version `version_id` of `secret` (no labels yet).
    pub(crate) async fn seal(
        &self,
        ctx: &RequestContext,
        secret: &SecretRecord,
        version_id: &str,
        value: &SecretBytes,
        binary: bool,
    ) -> Result<SecretVersionRecord, E> {
        let key_ref = self.owner_key_ref(ctx, secret).await?;
        let data_key = random::secret_bytes(KEY_LEN).map_err(crate::error::crypto::<E>)?;
        let context = encryption_context(&secret.arn, version_id);
        let (wrapped, key) = self
            .kms
            .encrypt_with(
                &ctx.via("secretsmanager"),
                &key_ref,
                &context,
                data_key.expose(),
            )
            .await
            .map_err(|e| from_kms(e, true))?;
        // The invariant behind the resolution above: a key the secret names by alias or bare id
        // is its owner's key, never the caller's.
        if !key_ref.starts_with("arn:") && key.account_id != secret.account_id {
            return Err(E::Internal(format!(
                "key {key_ref} of {} resolved outside the owner's account",
                secret.arn
            )));
        }
        let ciphertext = aead::seal(
            data_key.expose(),
            value.expose(),
            &associated_data(&secret.arn, version_id, binary),
        )
        .map_err(crate::error::crypto::<E>)?;
        Ok(SecretVersionRecord {
            version_id: version_id.to_owned(),
            created_at: ctx.now,
            last_accessed_at: None,
            kms_key_arn: crate::kms::key_arn(&key.region, &key.account_id, &key.key_id),
            data_key: wrapped,
            ciphertext,
            binary,
            stages: Vec::new(),
        })
    }

    /// The secret's key as an unambiguous reference for the caller: names without an account
    /// (`alias/...`, a bare key id) are resolved in the secret owner's account, never the
    /// caller's, so a cross-account write cannot encrypt a version under the caller's keys.
    /// The default key cannot be used from another account at all, as on AWS.
    /// <https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_examples_cross.html>
    pub(crate) async fn owner_key_ref(
        &self,
        ctx: &RequestContext,
        secret: &SecretRecord,
    ) -> Result<String, E> {
        key_in_owner(
            self,
            ctx,
            &secret.account_id,
            &secret.region,
            secret.kms_key_id.as_deref(),
        )
        .await
    }

    /// Open a version. The KMS key must be usable by the caller: a disabled or deleted key, or
    /// another account's key, gives an error instead of the value.
    pub(crate) async fn open(
        &self,
        ctx: &RequestContext,
        secret_arn: &str,
        version: &SecretVersionRecord,
    ) -> Result<SecretBytes, E> {
        self.open_with(ctx, secret_arn, version, None).await
    }

    /// [`SecretsManager::open`] with the version's KMS key if the store already read it (KMS
    /// uses it only if it is the key the data key names, and reads it otherwise).
    pub(crate) async fn open_with(
        &self,
        ctx: &RequestContext,
        secret_arn: &str,
        version: &SecretVersionRecord,
        key: Option<KeyRecord>,
    ) -> Result<SecretBytes, E> {
        self.refuse_foreign_default_key(ctx, &version.kms_key_arn)
            .await?;
        let context = encryption_context(secret_arn, &version.version_id);
        let (data_key, _) = self
            .kms
            .decrypt_known(&ctx.via("secretsmanager"), &version.data_key, &context, key)
            .await
            .map_err(|e| from_kms(e, false))?;
        aead::open(
            data_key.expose(),
            &version.ciphertext,
            &associated_data(secret_arn, &version.version_id, version.binary),
        )
        .map_err(|_| {
            E::DecryptionFailure(
                "Secrets Manager can't decrypt the protected secret text using the provided KMS key."
                    .to_owned(),
            )
        })
    }
}

/// AWS's refusal of the default key across accounts.
pub(crate) fn default_key_cross_account() -> E {
    E::InvalidRequest(
        "You can't access a secret from a different AWS account if you encrypt the secret with the default KMS service key.".to_owned(),
    )
}

fn is_default_ref(key_ref: &str, owner: &str, region: &str) -> bool {
    key_ref == DEFAULT_KEY || key_ref == format!("arn:aws:kms:{region}:{owner}:{DEFAULT_KEY}")
}

/// `key_ref` (None: the default key) as a reference that names the same key whoever the caller
/// is: a key or alias of `owner`'s account. See [`SecretsManager::owner_key_ref`].
pub(crate) async fn key_in_owner(
    sm: &SecretsManager,
    ctx: &RequestContext,
    owner: &str,
    region: &str,
    key_ref: Option<&str>,
) -> Result<String, E> {
    let key_ref = key_ref.unwrap_or(DEFAULT_KEY);
    if is_default_ref(key_ref, owner, region) {
        if ctx.account() != owner {
            return Err(default_key_cross_account());
        }
        return Ok(DEFAULT_KEY.to_owned());
    }
    if ctx.account() == owner {
        return Ok(key_ref.to_owned());
    }
    let not_found =
        || E::ResourceNotFound("Secrets Manager can't find the specified KMS key.".to_owned());
    if key_ref.starts_with("arn:") {
        // A key ARN names its account; an alias ARN is looked up in its account below.
        let Some((prefix, alias)) = key_ref.split_once(":alias/") else {
            return Ok(key_ref.to_owned());
        };
        let account = prefix.rsplit(':').next().unwrap_or_default();
        let target = sm
            .store
            .get_alias(account, region, &format!("alias/{alias}"))
            .await?
            .ok_or_else(not_found)?;
        return Ok(crate::kms::key_arn(region, account, &target.key_id));
    }
    if key_ref.starts_with("alias/") {
        let target = sm
            .store
            .get_alias(owner, region, key_ref)
            .await?
            .ok_or_else(not_found)?;
        return Ok(crate::kms::key_arn(region, owner, &target.key_id));
    }
    Ok(crate::kms::key_arn(region, owner, key_ref))
}

impl SecretsManager {
    /// A version under another account's AWS managed key cannot be read from this account.
    async fn refuse_foreign_default_key(
        &self,
        ctx: &RequestContext,
        key_arn: &str,
    ) -> Result<(), E> {
        let Ok(arn) = coffer_types::Arn::parse(key_arn) else {
            return Ok(());
        };
        if arn.account == ctx.account() {
            return Ok(());
        }
        let Some(key_id) = arn.resource.strip_prefix("key/") else {
            return Ok(());
        };
        let key = self
            .store
            .get_key(&arn.account, &arn.region, key_id)
            .await?;
        if key.is_some_and(|k| k.aws_managed) {
            return Err(default_key_cross_account());
        }
        Ok(())
    }
}
