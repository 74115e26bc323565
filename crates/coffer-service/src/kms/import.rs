//! Imported key material (keys of origin EXTERNAL): GetParametersForImport,
//! ImportKeyMaterial, DeleteImportedKeyMaterial.
//! <https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys.html>
//!
//! The import token is stateless: the wrapping private key, the key ARN, the wrapping algorithm
//! and the token's expiry, sealed by the master key with the key ARN as associated data. A key
//! records a keyed fingerprint of the first material imported, so that material imported again
//! after deletion or expiry must be the same, as AWS requires; ciphertexts made before then
//! decrypt again.

use super::keys::Empty;
use super::resolve::{Accept, Authorize, arn_of, require_customer_managed};
use super::{Kms, KmsError};
use crate::RequestContext;
use crate::wire::{Blob, Epoch};
use coffer_crypto::asymmetric::{self, Spec};
use coffer_store::{KeyRecord, KeyState, StoreError};
use coffer_types::SecretBytes;
use serde::{Deserialize, Serialize};

/// Import tokens and their public keys are good for 24 hours, as AWS's.
const TOKEN_LIFETIME_MS: i64 = 86_400_000;
/// Imported material may be set to expire at most a year ahead.
const MAX_VALID_TO_MS: i64 = 365 * 86_400_000;
const TOKEN_VERSION: u8 = 1;

fn token_purpose(arn: &str) -> String {
    format!("kms-import-token|{arn}")
}

fn wrapping_algorithms() -> &'static [&'static str] {
    &[
        "RSAES_OAEP_SHA_1",
        "RSAES_OAEP_SHA_256",
        "RSA_AES_KEY_WRAP_SHA_1",
        "RSA_AES_KEY_WRAP_SHA_256",
    ]
}

fn require_external(key: &KeyRecord, operation: &str) -> Result<(), KmsError> {
    if key.origin == "EXTERNAL" {
        Ok(())
    } else {
        Err(KmsError::UnsupportedOperation(format!(
            "{} origin is {} which is not valid for this operation.",
            arn_of(key),
            key.origin
        )))
        .inspect_err(|_| tracing::debug!(operation, "import operation on a non-EXTERNAL key"))
    }
}

fn require_not_deleting(key: &KeyRecord) -> Result<(), KmsError> {
    if key.state == KeyState::PendingDeletion {
        Err(KmsError::InvalidState(format!(
            "{} is pending deletion.",
            arn_of(key)
        )))
    } else {
        Ok(())
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParametersForImportInput {
    key_id: String,
    wrapping_algorithm: String,
    wrapping_key_spec: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParametersForImportOutput {
    key_id: String,
    import_token: Blob,
    public_key: Blob,
    parameters_valid_to: Epoch,
}

pub async fn get_parameters_for_import(
    kms: &Kms,
    ctx: &RequestContext,
    input: GetParametersForImportInput,
) -> Result<GetParametersForImportOutput, KmsError> {
    let key = kms
        .resolve(
            ctx,
            &input.key_id,
            Accept::KeyOnly,
            Authorize::Action("kms:GetParametersForImport"),
        )
        .await?;
    require_customer_managed(&key, "GetParametersForImport")?;
    require_external(&key, "GetParametersForImport")?;
    require_not_deleting(&key)?;
    let spec = match input.wrapping_key_spec.as_str() {
        "RSA_2048" => Spec::Rsa2048,
        "RSA_3072" => Spec::Rsa3072,
        "RSA_4096" => Spec::Rsa4096,
        other => {
            return Err(KmsError::UnsupportedOperation(format!(
                "WrappingKeySpec {other} is not supported in this Region."
            )));
        }
    };
    let algorithm = wrapping_algorithms()
        .iter()
        .position(|a| *a == input.wrapping_algorithm)
        .ok_or_else(|| {
            KmsError::UnsupportedOperation(format!(
                "WrappingAlgorithm {} is not supported: use RSAES_OAEP_SHA_256, RSAES_OAEP_SHA_1, RSA_AES_KEY_WRAP_SHA_256 or RSA_AES_KEY_WRAP_SHA_1.",
                input.wrapping_algorithm
            ))
        })?;
    let wrapping = asymmetric::generate(spec).map_err(crate::error::crypto::<KmsError>)?;
    let public =
        asymmetric::public_key(spec, &wrapping).map_err(crate::error::crypto::<KmsError>)?;
    let expires = ctx.now + TOKEN_LIFETIME_MS;
    let mut token = SecretBytes::new(Vec::with_capacity(10 + wrapping.len()));
    token.as_mut_vec().push(TOKEN_VERSION);
    token
        .as_mut_vec()
        .push(u8::try_from(algorithm).unwrap_or(u8::MAX));
    token.as_mut_vec().extend_from_slice(&expires.to_be_bytes());
    token.as_mut_vec().extend_from_slice(wrapping.expose());
    let sealed = kms
        .master
        .wrap(token.expose(), &token_purpose(&arn_of(&key)))
        .map_err(crate::error::crypto::<KmsError>)?;
    Ok(GetParametersForImportOutput {
        key_id: arn_of(&key),
        import_token: Blob(sealed),
        public_key: Blob(public),
        parameters_valid_to: Epoch(expires),
    })
}

/// The wrapping key and algorithm an import token holds, if it was made for `key` and is
/// unexpired.
fn open_token(
    kms: &Kms,
    key: &KeyRecord,
    token: &[u8],
    now: i64,
) -> Result<(SecretBytes, &'static str), KmsError> {
    let invalid = || KmsError::InvalidImportToken("Import token is invalid.".to_owned());
    let opened = kms
        .master
        .unwrap(token, &token_purpose(&arn_of(key)))
        .map_err(|_| invalid())?;
    let bytes = opened.expose();
    if bytes.len() < 10 || bytes[0] != TOKEN_VERSION {
        return Err(invalid());
    }
    let algorithm = *wrapping_algorithms()
        .get(usize::from(bytes[1]))
        .ok_or_else(invalid)?;
    let mut expiry = [0u8; 8];
    expiry.copy_from_slice(&bytes[2..10]);
    if i64::from_be_bytes(expiry) <= now {
        return Err(KmsError::ExpiredImportToken(
            "The import token has expired: call GetParametersForImport for a new one.".to_owned(),
        ));
    }
    Ok((SecretBytes::new(bytes[10..].to_vec()), algorithm))
}

const FINGERPRINT_PURPOSE: &str = "kms-import-fingerprint";

/// The fingerprint that ties a key to its imported material: HMAC-SHA-256 under a key derived
/// from the master key, over the key ARN and the material.
fn fingerprint(secret: &SecretBytes, arn: &str, material: &SecretBytes) -> Vec<u8> {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.expose());
    let mut ctx = aws_lc_rs::hmac::Context::with_key(&key);
    ctx.update(arn.as_bytes());
    ctx.update(&[0]);
    ctx.update(material.expose());
    ctx.sign().as_ref().to_vec()
}

fn material_fits(key: &KeyRecord, material: &SecretBytes) -> bool {
    match Spec::parse(&key.key_spec) {
        Some(spec) => asymmetric::material_fits(spec, material),
        None => material.len() == coffer_crypto::KEY_LEN,
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImportKeyMaterialInput {
    key_id: String,
    import_token: Blob,
    encrypted_key_material: Blob,
    valid_to: Option<f64>,
    expiration_model: Option<String>,
}

/// When the material expires, from ValidTo and ExpirationModel, in AWS's words when they clash.
fn expiry(input: &ImportKeyMaterialInput, now: i64) -> Result<Option<i64>, KmsError> {
    let model = input
        .expiration_model
        .as_deref()
        .unwrap_or("KEY_MATERIAL_EXPIRES");
    match (model, input.valid_to) {
        ("KEY_MATERIAL_DOES_NOT_EXPIRE", None) => Ok(None),
        ("KEY_MATERIAL_DOES_NOT_EXPIRE", Some(_)) => Err(KmsError::Validation(
            "A validTo date must not be set if the ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE"
                .to_owned(),
        )),
        (_, None) => Err(KmsError::Validation(
            "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES".to_owned(),
        )),
        (_, Some(secs)) => {
            #[allow(clippy::cast_possible_truncation)] // epoch seconds, checked against now below
            let at = (secs * 1000.0) as i64;
            if at <= now || at > now + MAX_VALID_TO_MS {
                return Err(KmsError::Validation(
                    "ValidTo must be in the future and at most 365 days from now.".to_owned(),
                ));
            }
            Ok(Some(at))
        }
    }
}

pub async fn import_key_material(
    kms: &Kms,
    ctx: &RequestContext,
    input: ImportKeyMaterialInput,
) -> Result<Empty, KmsError> {
    let valid_to = expiry(&input, ctx.now)?;
    for _ in 0..3 {
        let key = kms
            .resolve(
                ctx,
                &input.key_id,
                Accept::KeyOnly,
                Authorize::Action("kms:ImportKeyMaterial"),
            )
            .await?;
        require_customer_managed(&key, "ImportKeyMaterial")?;
        require_external(&key, "ImportKeyMaterial")?;
        require_not_deleting(&key)?;
        let (wrapping, algorithm) = open_token(kms, &key, &input.import_token.0, ctx.now)?;
        let material =
            asymmetric::unwrap_import(&wrapping, algorithm, &input.encrypted_key_material.0)
                .map_err(|_| KmsError::InvalidCiphertext(String::new()))?;
        if !material_fits(&key, &material) {
            return Err(KmsError::IncorrectKeyMaterial(format!(
                "The key material is not valid for a {} key.",
                key.key_spec
            )));
        }
        let arn = arn_of(&key);
        let print = fingerprint(&kms.master.derive(FINGERPRINT_PURPOSE), &arn, &material);
        // A fingerprint made under a master key since rotated is checked with its retired key.
        let same = match &key.material_fingerprint {
            None => true,
            Some(known) => {
                crate::admin::rekey::derived_keys(&kms.store, &kms.master, FINGERPRINT_PURPOSE)
                    .await
                    .map_err(KmsError::from)?
                    .iter()
                    .any(|(k, _)| {
                        aws_lc_rs::constant_time::verify_slices_are_equal(
                            known,
                            &fingerprint(k, &arn, &material),
                        )
                        .is_ok()
                    })
            }
        };
        if !same {
            return Err(KmsError::IncorrectKeyMaterial(
                "The key material doesn't match the key material that was previously imported into this key.".to_owned(),
            ));
        }
        let mut updated = key.clone();
        updated.state = match key.state {
            KeyState::PendingImport => KeyState::Enabled,
            other => other,
        };
        updated.valid_to = valid_to;
        updated.material_fingerprint = Some(print);
        let record = kms.seal_material(&arn, key.current_material, ctx.now, false, &material)?;
        match kms
            .store
            .replace_key_material(&updated, Some(&record))
            .await
        {
            Ok(()) => {
                kms.forget_material(&key);
                return Ok(Empty {});
            }
            Err(StoreError::Conflict) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(KmsError::Internal(
        "the key kept changing during ImportKeyMaterial".to_owned(),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteImportedKeyMaterialInput {
    key_id: String,
    key_material_id: Option<String>,
}

pub async fn delete_imported_key_material(
    kms: &Kms,
    ctx: &RequestContext,
    input: DeleteImportedKeyMaterialInput,
) -> Result<Empty, KmsError> {
    let _ = input.key_material_id;
    for _ in 0..3 {
        let key = kms
            .resolve(
                ctx,
                &input.key_id,
                Accept::KeyOnly,
                Authorize::Action("kms:DeleteImportedKeyMaterial"),
            )
            .await?;
        require_customer_managed(&key, "DeleteImportedKeyMaterial")?;
        require_external(&key, "DeleteImportedKeyMaterial")?;
        require_not_deleting(&key)?;
        if kms.remove_imported_material(&key).await? {
            return Ok(Empty {});
        }
    }
    Err(KmsError::Internal(
        "the key kept changing during DeleteImportedKeyMaterial".to_owned(),
    ))
}

impl Kms {
    /// Delete a key's imported material (at DeleteImportedKeyMaterial, or when it expires): the
    /// key becomes PendingImport. `Ok(false)` if the key changed meanwhile (look again).
    pub(crate) async fn remove_imported_material(&self, key: &KeyRecord) -> Result<bool, KmsError> {
        let mut updated = key.clone();
        updated.state = KeyState::PendingImport;
        updated.valid_to = None;
        match self.store.replace_key_material(&updated, None).await {
            Ok(()) => {
                self.forget_material(key);
                Ok(true)
            }
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}
