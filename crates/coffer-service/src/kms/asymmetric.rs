//! Asymmetric and HMAC keys: Sign, Verify, GetPublicKey, GenerateMac, VerifyMac,
//! DeriveSharedSecret, GenerateDataKeyPair, GenerateDataKeyPairWithoutPlaintext.
//! (RSA encryption is in [`super::crypto`], with the symmetric operations it shares.)
//! <https://docs.aws.amazon.com/kms/latest/developerguide/symmetric-asymmetric.html>
//!
//! The model validates lengths and enums (Message 1–4096 bytes, the algorithm names); what is
//! checked here is what depends on the key: its state, usage, spec and the algorithm's fit.

use super::crypto::{dry_run, require_symmetric_encryption};
use super::keys::algorithms;
use super::resolve::{Accept, Authorize, arn_of, require_enabled, require_usage};
use super::{Kms, KmsError};
use crate::RequestContext;
use crate::wire::{Blob, SecretBlob};
use coffer_crypto::EncryptionContext;
use coffer_crypto::asymmetric::{self, Message, Spec};
use coffer_store::KeyRecord;
use coffer_types::SecretBytes;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

/// An enabled key of `usage` for `operation`, authorised as `kms:OPERATION`; its spec and its
/// private material.
async fn usable(
    kms: &Kms,
    ctx: &RequestContext,
    key_ref: &str,
    action: &'static str,
    usage: &str,
) -> Result<(KeyRecord, Spec, std::sync::Arc<SecretBytes>), KmsError> {
    let key = kms
        .resolve(ctx, key_ref, Accept::KeyOrAlias, Authorize::Action(action))
        .await?;
    require_enabled(&key)?;
    let operation = action.trim_start_matches("kms:");
    require_usage(&key, usage, operation)?;
    let spec = Spec::parse(&key.key_spec).ok_or_else(|| {
        KmsError::InvalidKeyUsage(format!(
            "{} key KeySpec is {} which is not valid for {operation}.",
            arn_of(&key),
            key.key_spec
        ))
    })?;
    let material = kms.material(&key, key.current_material).await?;
    Ok((key, spec, material))
}

fn incompatible(algorithm: &str, key: &KeyRecord) -> KmsError {
    KmsError::InvalidKeyUsage(format!(
        "Algorithm {algorithm} is incompatible with key spec {}.",
        key.key_spec
    ))
}

/// The signing algorithm, if the key's spec offers it, and the message kind (a DIGEST must be
/// exactly the algorithm's digest length).
fn signing_input(
    spec: Spec,
    key: &KeyRecord,
    algorithm: &str,
    message_type: Option<&str>,
    message: &[u8],
) -> Result<Message, KmsError> {
    if !spec.signing_algorithms().contains(&algorithm) {
        return Err(incompatible(algorithm, key));
    }
    match message_type.unwrap_or("RAW") {
        "DIGEST" => {
            if asymmetric::digest_len(algorithm) != Some(message.len()) {
                return Err(KmsError::Validation(format!(
                    "Digest is invalid length for algorithm {algorithm}."
                )));
            }
            Ok(Message::Digest)
        }
        _ => Ok(Message::Raw),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SignInput {
    key_id: String,
    message: SecretBlob,
    message_type: Option<String>,
    signing_algorithm: String,
    dry_run: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SignOutput {
    key_id: String,
    signature: Blob,
    signing_algorithm: String,
}

pub async fn sign(
    kms: &Kms,
    ctx: &RequestContext,
    input: SignInput,
) -> Result<SignOutput, KmsError> {
    let (key, spec, private) = usable(kms, ctx, &input.key_id, "kms:Sign", "SIGN_VERIFY").await?;
    let message = input.message.0.expose();
    let kind = signing_input(
        spec,
        &key,
        &input.signing_algorithm,
        input.message_type.as_deref(),
        message,
    )?;
    dry_run(input.dry_run)?;
    let signature = asymmetric::sign(spec, &input.signing_algorithm, &private, message, kind)
        .map_err(crate::error::crypto::<KmsError>)?;
    Ok(SignOutput {
        key_id: arn_of(&key),
        signature: Blob(signature),
        signing_algorithm: input.signing_algorithm,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerifyInput {
    key_id: String,
    message: SecretBlob,
    message_type: Option<String>,
    signature: Blob,
    signing_algorithm: String,
    dry_run: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerifyOutput {
    key_id: String,
    signature_valid: bool,
    signing_algorithm: String,
}

pub async fn verify(
    kms: &Kms,
    ctx: &RequestContext,
    input: VerifyInput,
) -> Result<VerifyOutput, KmsError> {
    let (key, spec, private) = usable(kms, ctx, &input.key_id, "kms:Verify", "SIGN_VERIFY").await?;
    let message = input.message.0.expose();
    let kind = signing_input(
        spec,
        &key,
        &input.signing_algorithm,
        input.message_type.as_deref(),
        message,
    )?;
    dry_run(input.dry_run)?;
    let valid = asymmetric::verify(
        spec,
        &input.signing_algorithm,
        &private,
        message,
        kind,
        &input.signature.0,
    )
    .map_err(crate::error::crypto::<KmsError>)?;
    if !valid {
        // AWS answers a bad signature with this error, never SignatureValid = false.
        return Err(KmsError::InvalidSignature(String::new()));
    }
    Ok(VerifyOutput {
        key_id: arn_of(&key),
        signature_valid: true,
        signing_algorithm: input.signing_algorithm,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetPublicKeyInput {
    key_id: String,
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetPublicKeyOutput {
    key_id: String,
    public_key: Blob,
    customer_master_key_spec: String,
    key_spec: String,
    key_usage: String,
    encryption_algorithms: Option<Vec<&'static str>>,
    signing_algorithms: Option<Vec<&'static str>>,
    key_agreement_algorithms: Option<Vec<&'static str>>,
}

pub async fn get_public_key(
    kms: &Kms,
    ctx: &RequestContext,
    input: GetPublicKeyInput,
) -> Result<GetPublicKeyOutput, KmsError> {
    let key = kms
        .resolve(
            ctx,
            &input.key_id,
            Accept::KeyOrAlias,
            Authorize::Action("kms:GetPublicKey"),
        )
        .await?;
    require_enabled(&key)?;
    let spec = Spec::parse(&key.key_spec)
        .filter(|s| s.is_rsa() || s.is_ecc())
        .ok_or_else(|| {
            KmsError::UnsupportedOperation(format!(
                "{} is not an asymmetric KMS key: it has no public key.",
                arn_of(&key)
            ))
        })?;
    let private = kms.material(&key, key.current_material).await?;
    let public =
        asymmetric::public_key(spec, &private).map_err(crate::error::crypto::<KmsError>)?;
    Ok(GetPublicKeyOutput {
        key_id: arn_of(&key),
        public_key: Blob(public),
        customer_master_key_spec: key.key_spec.clone(),
        key_spec: key.key_spec.clone(),
        key_usage: key.key_usage.clone(),
        encryption_algorithms: algorithms::encryption(&key),
        signing_algorithms: algorithms::signing(&key),
        key_agreement_algorithms: algorithms::agreement(&key),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateMacInput {
    key_id: String,
    message: SecretBlob,
    mac_algorithm: String,
    dry_run: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateMacOutput {
    mac: Blob,
    mac_algorithm: String,
    key_id: String,
}

async fn mac_key(
    kms: &Kms,
    ctx: &RequestContext,
    key_ref: &str,
    action: &'static str,
    algorithm: &str,
) -> Result<(KeyRecord, Spec, std::sync::Arc<SecretBytes>), KmsError> {
    let (key, spec, private) = usable(kms, ctx, key_ref, action, "GENERATE_VERIFY_MAC").await?;
    if spec.mac_algorithm() != Some(algorithm) {
        return Err(incompatible(algorithm, &key));
    }
    Ok((key, spec, private))
}

pub async fn generate_mac(
    kms: &Kms,
    ctx: &RequestContext,
    input: GenerateMacInput,
) -> Result<GenerateMacOutput, KmsError> {
    let (key, spec, private) = mac_key(
        kms,
        ctx,
        &input.key_id,
        "kms:GenerateMac",
        &input.mac_algorithm,
    )
    .await?;
    dry_run(input.dry_run)?;
    let mac = asymmetric::mac(spec, &private, input.message.0.expose())
        .map_err(crate::error::crypto::<KmsError>)?;
    Ok(GenerateMacOutput {
        mac: Blob(mac),
        mac_algorithm: input.mac_algorithm,
        key_id: arn_of(&key),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerifyMacInput {
    key_id: String,
    message: SecretBlob,
    mac_algorithm: String,
    mac: Blob,
    dry_run: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerifyMacOutput {
    key_id: String,
    mac_valid: bool,
    mac_algorithm: String,
}

pub async fn verify_mac(
    kms: &Kms,
    ctx: &RequestContext,
    input: VerifyMacInput,
) -> Result<VerifyMacOutput, KmsError> {
    let (key, spec, private) = mac_key(
        kms,
        ctx,
        &input.key_id,
        "kms:VerifyMac",
        &input.mac_algorithm,
    )
    .await?;
    dry_run(input.dry_run)?;
    let valid = asymmetric::verify_mac(spec, &private, input.message.0.expose(), &input.mac.0)
        .map_err(crate::error::crypto::<KmsError>)?;
    if !valid {
        return Err(KmsError::InvalidMac(String::new()));
    }
    Ok(VerifyMacOutput {
        key_id: arn_of(&key),
        mac_valid: true,
        mac_algorithm: input.mac_algorithm,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeriveSharedSecretInput {
    key_id: String,
    key_agreement_algorithm: String,
    public_key: Blob,
    recipient: Option<serde_json::Value>,
    dry_run: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeriveSharedSecretOutput {
    key_id: String,
    shared_secret: SecretBlob,
    key_agreement_algorithm: String,
    key_origin: String,
}

pub async fn derive_shared_secret(
    kms: &Kms,
    ctx: &RequestContext,
    input: DeriveSharedSecretInput,
) -> Result<DeriveSharedSecretOutput, KmsError> {
    if input.recipient.is_some() {
        return Err(KmsError::UnsupportedOperation(
            "Nitro Enclave attestation (Recipient) is not supported.".to_owned(),
        ));
    }
    let (key, spec, private) = usable(
        kms,
        ctx,
        &input.key_id,
        "kms:DeriveSharedSecret",
        "KEY_AGREEMENT",
    )
    .await?;
    dry_run(input.dry_run)?;
    let secret = asymmetric::derive_shared_secret(spec, &private, &input.public_key.0)
        .map_err(crate::error::crypto::<KmsError>)?
        .ok_or_else(|| {
            KmsError::Validation(format!(
                "PublicKey is not a valid DER-encoded SubjectPublicKeyInfo of a {} public key.",
                key.key_spec
            ))
        })?;
    Ok(DeriveSharedSecretOutput {
        key_id: arn_of(&key),
        shared_secret: SecretBlob(secret),
        key_agreement_algorithm: input.key_agreement_algorithm,
        key_origin: key.origin.clone(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyPairInput {
    key_id: String,
    key_pair_spec: String,
    #[serde(default)]
    encryption_context: EncryptionContext,
    recipient: Option<serde_json::Value>,
    dry_run: Option<bool>,
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyPairOutput {
    private_key_ciphertext_blob: Blob,
    private_key_plaintext: Option<SecretBlob>,
    public_key: Blob,
    key_id: String,
    key_pair_spec: String,
}

async fn data_key_pair(
    kms: &Kms,
    ctx: &RequestContext,
    input: GenerateDataKeyPairInput,
    with_plaintext: bool,
) -> Result<GenerateDataKeyPairOutput, KmsError> {
    if input.recipient.is_some() {
        return Err(KmsError::UnsupportedOperation(
            "Nitro Enclave attestation (Recipient) is not supported.".to_owned(),
        ));
    }
    let (action, operation) = if with_plaintext {
        ("kms:GenerateDataKeyPair", "GenerateDataKeyPair")
    } else {
        (
            "kms:GenerateDataKeyPairWithoutPlaintext",
            "GenerateDataKeyPairWithoutPlaintext",
        )
    };
    let spec = Spec::parse(&input.key_pair_spec)
        .filter(|s| s.is_rsa() || s.is_ecc())
        .ok_or_else(|| {
            KmsError::UnsupportedOperation(format!(
                "KeyPairSpec {} is not supported in this Region.",
                input.key_pair_spec
            ))
        })?;
    let key = kms
        .resolve(
            ctx,
            &input.key_id,
            Accept::KeyOrAlias,
            Authorize::Skip {
                why: "authorised with the encryption context below",
            },
        )
        .await?;
    kms.authorize_key_with(ctx, &key, action, Some(&input.encryption_context))
        .await?;
    require_enabled(&key)?;
    require_symmetric_encryption(&key, operation)?;
    dry_run(input.dry_run)?;
    let private = asymmetric::generate(spec).map_err(crate::error::crypto::<KmsError>)?;
    let public =
        asymmetric::public_key(spec, &private).map_err(crate::error::crypto::<KmsError>)?;
    let blob = kms
        .encrypt_under(&key, &input.encryption_context, private.expose())
        .await?;
    Ok(GenerateDataKeyPairOutput {
        private_key_ciphertext_blob: Blob(blob),
        private_key_plaintext: with_plaintext.then_some(SecretBlob(private)),
        public_key: Blob(public),
        key_id: arn_of(&key),
        key_pair_spec: input.key_pair_spec,
    })
}

pub async fn generate_data_key_pair(
    kms: &Kms,
    ctx: &RequestContext,
    input: GenerateDataKeyPairInput,
) -> Result<GenerateDataKeyPairOutput, KmsError> {
    data_key_pair(kms, ctx, input, true).await
}

pub async fn generate_data_key_pair_without_plaintext(
    kms: &Kms,
    ctx: &RequestContext,
    input: GenerateDataKeyPairInput,
) -> Result<GenerateDataKeyPairOutput, KmsError> {
    data_key_pair(kms, ctx, input, false).await
}
