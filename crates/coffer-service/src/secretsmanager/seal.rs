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
use coffer_store::{SecretRecord, SecretVersionRecord};
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
        let key_ref = secret.kms_key_id.as_deref().unwrap_or(DEFAULT_KEY);
        let data_key = random::secret_bytes(KEY_LEN).map_err(crate::error::crypto::<E>)?;
        let context = encryption_context(&secret.arn, version_id);
        let (wrapped, key) = self
            .kms
            .encrypt_with(
                &ctx.via("secretsmanager"),
                key_ref,
                &context,
                data_key.expose(),
            )
            .await
            .map_err(|e| from_kms(e, true))?;
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

    /// Open a version. The KMS key must be usable by the caller: a disabled or deleted key, or
    /// another account's key, gives an error instead of the value.
    pub(crate) async fn open(
        &self,
        ctx: &RequestContext,
        secret_arn: &str,
        version: &SecretVersionRecord,
    ) -> Result<SecretBytes, E> {
        let context = encryption_context(secret_arn, &version.version_id);
        let (data_key, _) = self
            .kms
            .decrypt_with(
                &ctx.via("secretsmanager"),
                &version.data_key,
                &context,
                None,
            )
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
