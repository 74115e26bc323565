//! Cryptographic operations: Encrypt, Decrypt, ReEncrypt, GenerateDataKey,
//! GenerateDataKeyWithoutPlaintext, GenerateRandom; and the same as methods other services call.

use super::keys::algorithms;
use super::resolve::{Accept, Authorize, arn_of, require_enabled, require_usage};
use super::{Kms, KmsError};
use crate::RequestContext;
use crate::wire::{Blob, SecretBlob};
use coffer_crypto::asymmetric::{self, Spec};
use coffer_crypto::{BlobHeader, CryptoError, EncryptionContext, blob};
use coffer_store::KeyRecord;
use coffer_types::SecretBytes;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;
use std::sync::Arc;

const SYMMETRIC_DEFAULT: &str = "SYMMETRIC_DEFAULT";

/// Cryptographic operations authorise after resolving, with the encryption context's keys.
const CONTEXT_CHECKED: Authorize = Authorize::Skip {
    why: "authorised with the encryption context (authorize_key_with)",
};

/// The encryption algorithm a request names (SYMMETRIC_DEFAULT when it names none), if the key
/// offers it; a usage mismatch otherwise, as on AWS.
fn algorithm_for(alg: Option<&str>, key: &KeyRecord) -> Result<&'static str, KmsError> {
    let wanted = alg.unwrap_or(SYMMETRIC_DEFAULT);
    algorithms::encryption(key)
        .unwrap_or_default()
        .into_iter()
        .find(|a| *a == wanted)
        .ok_or_else(|| {
            KmsError::InvalidKeyUsage(format!(
                "Algorithm {wanted} is incompatible with key spec {}.",
                key.key_spec
            ))
        })
}

/// Refuse a symmetric-only operation (data keys, the envelopes of other services) on an
/// asymmetric or HMAC key.
pub(crate) fn require_symmetric_encryption(
    key: &KeyRecord,
    operation: &str,
) -> Result<(), KmsError> {
    require_usage(key, "ENCRYPT_DECRYPT", operation)?;
    if key.key_spec == SYMMETRIC_DEFAULT {
        Ok(())
    } else {
        Err(KmsError::InvalidKeyUsage(format!(
            "{} key KeySpec is {} which is not valid for {operation}.",
            arn_of(key),
            key.key_spec
        )))
    }
}

pub(crate) fn dry_run(flag: Option<bool>) -> Result<(), KmsError> {
    if flag == Some(true) {
        Err(KmsError::DryRunOperation(
            "The request would have succeeded, but the DryRun option is set.".to_owned(),
        ))
    } else {
        Ok(())
    }
}

impl Kms {
    /// Encrypt under `key_ref` (id, ARN or alias) with the current material.
    /// Returns the blob and the key ARN.
    pub async fn encrypt_with(
        &self,
        ctx: &RequestContext,
        key_ref: &str,
        context: &EncryptionContext,
        plaintext: &[u8],
    ) -> Result<(Vec<u8>, KeyRecord), KmsError> {
        let key = self
            .resolve(ctx, key_ref, Accept::KeyOrAlias, CONTEXT_CHECKED)
            .await?;
        self.authorize_key_with(ctx, &key, "kms:GenerateDataKey", Some(context))
            .await?;
        require_enabled(&key)?;
        let blob = self.encrypt_under(&key, context, plaintext).await?;
        Ok((blob, key))
    }

    /// The enabled key `key_ref` (id, ARN or alias) names, for services that check a key before
    /// they use it.
    pub async fn usable_key(
        &self,
        ctx: &RequestContext,
        key_ref: &str,
    ) -> Result<KeyRecord, KmsError> {
        let key = self
            .resolve(
                ctx,
                key_ref,
                Accept::KeyOrAlias,
                Authorize::Action("kms:DescribeKey"),
            )
            .await?;
        require_enabled(&key)?;
        Ok(key)
    }

    pub(crate) async fn encrypt_under(
        &self,
        key: &KeyRecord,
        context: &EncryptionContext,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, KmsError> {
        require_symmetric_encryption(key, "Encrypt")?;
        let material = self.material(key, key.current_material).await?;
        let header = BlobHeader {
            key_arn: arn_of(key),
            material_version: key.current_material,
        };
        blob::encrypt(&material, &header, context, plaintext)
            .map_err(crate::error::crypto::<KmsError>)
    }

    /// Encrypt with `key` under `algorithm` (checked by [`algorithm_for`]): a KMS blob for
    /// SYMMETRIC_DEFAULT, raw RSA-OAEP ciphertext (as AWS returns it) for the RSA algorithms.
    async fn encrypt_as(
        &self,
        key: &KeyRecord,
        algorithm: &str,
        context: &EncryptionContext,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, KmsError> {
        let Some(spec) = Spec::parse(&key.key_spec) else {
            return self.encrypt_under(key, context, plaintext).await;
        };
        let max = spec.max_plaintext(algorithm).unwrap_or(0);
        if plaintext.len() > max {
            return Err(KmsError::Validation(format!(
                "Algorithm {algorithm} and key spec {} cannot encrypt data larger than {max} bytes.",
                key.key_spec
            )));
        }
        let private = self.material(key, key.current_material).await?;
        asymmetric::rsa_encrypt(algorithm, &private, plaintext).map_err(crate::error::crypto)
    }

    /// Decrypt what [`Kms::encrypt_as`] made: a KMS blob (its key is the one it names), or, with
    /// an RSA algorithm, RSA-OAEP ciphertext of the key `key_ref` (required then, as on AWS).
    /// Authorised as `action`. Returns the plaintext, the key and the algorithm.
    async fn open_any(
        &self,
        ctx: &RequestContext,
        ciphertext: &[u8],
        context: &EncryptionContext,
        key_ref: Option<&str>,
        algorithm: Option<&str>,
        action: &'static str,
    ) -> Result<(SecretBytes, KeyRecord, &'static str), KmsError> {
        let asymmetric = algorithm.is_some_and(|a| a != SYMMETRIC_DEFAULT);
        if !asymmetric {
            let (plaintext, key) = self
                .open_blob(ctx, ciphertext, context, key_ref, action, None, false)
                .await?;
            let alg = algorithm_for(algorithm, &key)?;
            return Ok((plaintext, key, alg));
        }
        let key_ref = key_ref.ok_or_else(|| {
            KmsError::Validation(
                "KeyId is required when decrypting with an asymmetric KMS key (EncryptionAlgorithm other than SYMMETRIC_DEFAULT).".to_owned(),
            )
        })?;
        let key = self
            .resolve(ctx, key_ref, Accept::KeyOrAlias, Authorize::Action(action))
            .await?;
        require_enabled(&key)?;
        require_usage(&key, "ENCRYPT_DECRYPT", "Decrypt")?;
        let alg = algorithm_for(algorithm, &key)?;
        let private = self.material(&key, key.current_material).await?;
        match asymmetric::rsa_decrypt(alg, &private, ciphertext) {
            Ok(p) => Ok((p, key, alg)),
            Err(CryptoError::InvalidCiphertext) => Err(KmsError::InvalidCiphertext(String::new())),
            Err(e) => Err(crate::error::crypto(e)),
        }
    }

    /// Decrypt a blob; the key is the one the blob names. If `expected_key` is given, the blob
    /// must have been made with it. Returns the plaintext and the key.
    pub async fn decrypt_with(
        &self,
        ctx: &RequestContext,
        ciphertext: &[u8],
        context: &EncryptionContext,
        expected_key: Option<&str>,
    ) -> Result<(SecretBytes, KeyRecord), KmsError> {
        self.open_blob(
            ctx,
            ciphertext,
            context,
            expected_key,
            "kms:Decrypt",
            None,
            false,
        )
        .await
    }

    /// [`Kms::decrypt_with`] (no expected key) of an envelope data key (a SecureString
    /// parameter's): every check runs as for any decrypt; the unwrap itself is remembered
    /// ([`Kms`]'s `data_keys`).
    pub async fn decrypt_data_key(
        &self,
        ctx: &RequestContext,
        ciphertext: &[u8],
        context: &EncryptionContext,
    ) -> Result<SecretBytes, KmsError> {
        self.open_blob(ctx, ciphertext, context, None, "kms:Decrypt", None, true)
            .await
            .map(|(key, _)| key)
    }

    /// [`Kms::decrypt_with`] (no expected key) given the key record the caller's store read
    /// already brought (PostgreSQL reads a secret, its version and the version's key in one
    /// statement). Used only if it is the key the blob names; read as usual otherwise. Every
    /// check runs on it as on a key just read: state, policy, grants. For envelope data keys
    /// (a secret version's): the unwrap is remembered, as in [`Kms::decrypt_data_key`].
    pub async fn decrypt_known(
        &self,
        ctx: &RequestContext,
        ciphertext: &[u8],
        context: &EncryptionContext,
        known: Option<KeyRecord>,
    ) -> Result<(SecretBytes, KeyRecord), KmsError> {
        self.open_blob(ctx, ciphertext, context, None, "kms:Decrypt", known, true)
            .await
    }

    /// [`Kms::decrypt_with`], authorised as `action`: `kms:Decrypt`, or `kms:ReEncryptFrom` for
    /// ReEncrypt's source (AWS requires that permission, not Decrypt, on the source key).
    /// <https://docs.aws.amazon.com/kms/latest/APIReference/API_ReEncrypt.html>
    /// `data_key`: the blob wraps an envelope data key, whose unwrap may be remembered.
    #[allow(clippy::too_many_arguments)]
    async fn open_blob(
        &self,
        ctx: &RequestContext,
        ciphertext: &[u8],
        context: &EncryptionContext,
        expected_key: Option<&str>,
        action: &'static str,
        known: Option<KeyRecord>,
        data_key: bool,
    ) -> Result<(SecretBytes, KeyRecord), KmsError> {
        let invalid = || KmsError::InvalidCiphertext(String::new());
        let (header, _) = BlobHeader::parse(ciphertext).map_err(|_| invalid())?;
        let key_ref = super::multiregion::in_caller_region(ctx, &header.key_arn);
        let mut key = self
            .resolve_known(ctx, &key_ref, Accept::KeyOnly, CONTEXT_CHECKED, known)
            .await?;
        if key.multi_region && header.material_version > key.current_material {
            key = self.catch_up_material(key).await?;
        }
        self.authorize_key_with(ctx, &key, action, Some(context))
            .await?;
        if let Some(expected) = expected_key {
            let wanted = self
                .resolve(ctx, expected, Accept::KeyOrAlias, Authorize::Action(action))
                .await?;
            if wanted.key_id != key.key_id {
                return Err(KmsError::IncorrectKey(
                    "The key ID in the request does not identify a KMS key that can perform this operation.".to_owned(),
                ));
            }
        }
        require_enabled(&key)?;
        if header.material_version == 0 || header.material_version > key.current_material {
            return Err(invalid());
        }
        // Every check above ran; from here on the answer is a function of the key's
        // (immutable) material, the blob and the context.
        let id = data_key.then(|| DataKeyId::new(&key, ciphertext, context));
        if let Some(id) = &id {
            let hit = self.data_keys.get(id);
            crate::metrics::global().cache_lookup("data_key", hit.is_some());
            if let Some(plaintext) = hit {
                return Ok((SecretBytes::from(plaintext.expose()), key));
            }
        }
        let material = self.material(&key, header.material_version).await?;
        match blob::decrypt(&material, ciphertext, context) {
            Ok(p) => {
                if let Some(id) = id {
                    self.data_keys
                        .insert(id, Arc::new(SecretBytes::from(p.expose())));
                }
                Ok((p, key))
            }
            Err(CryptoError::InvalidCiphertext) => Err(invalid()),
            Err(e) => Err(crate::error::crypto(e)),
        }
    }
}

/// What an unwrapped data key is remembered by: the ARN of the key that opened it, the wrapped
/// blob and the encryption context, each length-prefixed (no two different triples give the
/// same bytes). Not secret: the blob is ciphertext.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct DataKeyId(Vec<u8>);

impl DataKeyId {
    fn new(key: &KeyRecord, blob: &[u8], context: &EncryptionContext) -> Self {
        let arn = arn_of(key);
        let mut id = Vec::with_capacity(arn.len() + blob.len() + 128);
        let mut part = |bytes: &[u8]| {
            id.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_be_bytes());
            id.extend_from_slice(bytes);
        };
        part(arn.as_bytes());
        part(blob);
        for (k, v) in context {
            part(k.as_bytes());
            part(v.as_bytes());
        }
        Self(id)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EncryptInput {
    key_id: String,
    plaintext: SecretBlob,
    #[serde(default)]
    encryption_context: EncryptionContext,
    encryption_algorithm: Option<String>,
    dry_run: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EncryptOutput {
    ciphertext_blob: Blob,
    key_id: String,
    encryption_algorithm: &'static str,
}

pub async fn encrypt(
    kms: &Kms,
    ctx: &RequestContext,
    input: EncryptInput,
) -> Result<EncryptOutput, KmsError> {
    let key = kms
        .resolve(ctx, &input.key_id, Accept::KeyOrAlias, CONTEXT_CHECKED)
        .await?;
    kms.authorize_key_with(ctx, &key, "kms:Encrypt", Some(&input.encryption_context))
        .await?;
    require_enabled(&key)?;
    require_usage(&key, "ENCRYPT_DECRYPT", "Encrypt")?;
    let algorithm = algorithm_for(input.encryption_algorithm.as_deref(), &key)?;
    dry_run(input.dry_run)?;
    let blob = kms
        .encrypt_as(
            &key,
            algorithm,
            &input.encryption_context,
            input.plaintext.0.expose(),
        )
        .await?;
    Ok(EncryptOutput {
        ciphertext_blob: Blob(blob),
        key_id: arn_of(&key),
        encryption_algorithm: algorithm,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DecryptInput {
    ciphertext_blob: Blob,
    #[serde(default)]
    encryption_context: EncryptionContext,
    key_id: Option<String>,
    encryption_algorithm: Option<String>,
    recipient: Option<serde_json::Value>,
    dry_run: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DecryptOutput {
    key_id: String,
    plaintext: SecretBlob,
    encryption_algorithm: &'static str,
}

pub async fn decrypt(
    kms: &Kms,
    ctx: &RequestContext,
    input: DecryptInput,
) -> Result<DecryptOutput, KmsError> {
    if input.recipient.is_some() {
        return Err(KmsError::UnsupportedOperation(
            "Nitro Enclave attestation (Recipient) is not supported.".to_owned(),
        ));
    }
    let (plaintext, key, algorithm) = kms
        .open_any(
            ctx,
            &input.ciphertext_blob.0,
            &input.encryption_context,
            input.key_id.as_deref(),
            input.encryption_algorithm.as_deref(),
            "kms:Decrypt",
        )
        .await?;
    // Every check has run (and the plaintext, in memory only, is dropped): a dry run stops here.
    dry_run(input.dry_run)?;
    Ok(DecryptOutput {
        key_id: arn_of(&key),
        plaintext: SecretBlob(plaintext),
        encryption_algorithm: algorithm,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReEncryptInput {
    ciphertext_blob: Blob,
    #[serde(default)]
    source_encryption_context: EncryptionContext,
    source_key_id: Option<String>,
    destination_key_id: String,
    #[serde(default)]
    destination_encryption_context: EncryptionContext,
    source_encryption_algorithm: Option<String>,
    destination_encryption_algorithm: Option<String>,
    dry_run: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReEncryptOutput {
    ciphertext_blob: Blob,
    source_key_id: String,
    key_id: String,
    source_encryption_algorithm: &'static str,
    destination_encryption_algorithm: &'static str,
}

pub async fn re_encrypt(
    kms: &Kms,
    ctx: &RequestContext,
    input: ReEncryptInput,
) -> Result<ReEncryptOutput, KmsError> {
    let (plaintext, source, source_algorithm) = kms
        .open_any(
            ctx,
            &input.ciphertext_blob.0,
            &input.source_encryption_context,
            input.source_key_id.as_deref(),
            input.source_encryption_algorithm.as_deref(),
            "kms:ReEncryptFrom",
        )
        .await?;
    let dest = kms
        .resolve(
            ctx,
            &input.destination_key_id,
            Accept::KeyOrAlias,
            Authorize::Action("kms:ReEncryptTo"),
        )
        .await?;
    require_enabled(&dest)?;
    require_usage(&dest, "ENCRYPT_DECRYPT", "ReEncrypt")?;
    let dest_algorithm = algorithm_for(input.destination_encryption_algorithm.as_deref(), &dest)?;
    dry_run(input.dry_run)?;
    let blob = kms
        .encrypt_as(
            &dest,
            dest_algorithm,
            &input.destination_encryption_context,
            plaintext.expose(),
        )
        .await?;
    Ok(ReEncryptOutput {
        ciphertext_blob: Blob(blob),
        source_key_id: arn_of(&source),
        key_id: arn_of(&dest),
        source_encryption_algorithm: source_algorithm,
        destination_encryption_algorithm: dest_algorithm,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyInput {
    key_id: String,
    #[serde(default)]
    encryption_context: EncryptionContext,
    number_of_bytes: Option<i32>,
    key_spec: Option<String>,
    recipient: Option<serde_json::Value>,
    dry_run: Option<bool>,
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyOutput {
    ciphertext_blob: Blob,
    plaintext: Option<SecretBlob>,
    key_id: String,
}

/// Size of the data key: exactly one of `NumberOfBytes` and `KeySpec`.
/// <https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateDataKey.html>
fn data_key_len(input: &GenerateDataKeyInput) -> Result<usize, KmsError> {
    match (input.number_of_bytes, input.key_spec.as_deref()) {
        (Some(_), Some(_)) => Err(KmsError::Validation(
            "Please specify either number of bytes or key spec.".to_owned(),
        )),
        (None, None) => Err(KmsError::Validation(
            "Please specify either number of bytes or key spec.".to_owned(),
        )),
        (Some(n), None) => usize::try_from(n)
            .map_err(|_| KmsError::Validation("NumberOfBytes must be positive".to_owned())),
        (None, Some("AES_256")) => Ok(32),
        (None, Some("AES_128")) => Ok(16),
        (None, Some(other)) => Err(KmsError::Validation(format!(
            "1 validation error detected: Value '{other}' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]"
        ))),
    }
}

async fn data_key(
    kms: &Kms,
    ctx: &RequestContext,
    input: GenerateDataKeyInput,
    with_plaintext: bool,
) -> Result<GenerateDataKeyOutput, KmsError> {
    if input.recipient.is_some() {
        return Err(KmsError::UnsupportedOperation(
            "Nitro Enclave attestation (Recipient) is not supported.".to_owned(),
        ));
    }
    let len = data_key_len(&input)?;
    let key = kms
        .resolve(
            ctx,
            &input.key_id,
            Accept::KeyOrAlias,
            Authorize::Action(if with_plaintext {
                "kms:GenerateDataKey"
            } else {
                "kms:GenerateDataKeyWithoutPlaintext"
            }),
        )
        .await?;
    require_enabled(&key)?;
    require_symmetric_encryption(
        &key,
        if with_plaintext {
            "GenerateDataKey"
        } else {
            "GenerateDataKeyWithoutPlaintext"
        },
    )?;
    dry_run(input.dry_run)?;
    let plaintext =
        coffer_crypto::random::secret_bytes(len).map_err(crate::error::crypto::<KmsError>)?;
    let blob = kms
        .encrypt_under(&key, &input.encryption_context, plaintext.expose())
        .await?;
    Ok(GenerateDataKeyOutput {
        ciphertext_blob: Blob(blob),
        plaintext: with_plaintext.then_some(SecretBlob(plaintext)),
        key_id: arn_of(&key),
    })
}

pub async fn generate_data_key(
    kms: &Kms,
    ctx: &RequestContext,
    input: GenerateDataKeyInput,
) -> Result<GenerateDataKeyOutput, KmsError> {
    data_key(kms, ctx, input, true).await
}

pub async fn generate_data_key_without_plaintext(
    kms: &Kms,
    ctx: &RequestContext,
    input: GenerateDataKeyInput,
) -> Result<GenerateDataKeyOutput, KmsError> {
    data_key(kms, ctx, input, false).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateRandomInput {
    number_of_bytes: Option<i32>,
    custom_key_store_id: Option<String>,
    recipient: Option<serde_json::Value>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateRandomOutput {
    plaintext: SecretBlob,
}

pub async fn generate_random(
    _kms: &Kms,
    _ctx: &RequestContext,
    input: GenerateRandomInput,
) -> Result<GenerateRandomOutput, KmsError> {
    if input.custom_key_store_id.is_some() || input.recipient.is_some() {
        return Err(KmsError::UnsupportedOperation(
            "Custom key stores and Nitro Enclave attestation are not supported.".to_owned(),
        ));
    }
    let n = input
        .number_of_bytes
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| KmsError::Validation("NumberOfBytes is required.".to_owned()))?;
    let bytes = coffer_crypto::random::secret_bytes(n).map_err(crate::error::crypto::<KmsError>)?;
    Ok(GenerateRandomOutput {
        plaintext: SecretBlob(bytes),
    })
}
