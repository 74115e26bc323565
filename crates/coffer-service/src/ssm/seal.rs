//! SecureString values: envelope encryption with a fresh data key per version.
//! <https://docs.aws.amazon.com/kms/latest/developerguide/services-parameter-store.html>
//!
//! A version's value is sealed (AES-256-GCM) under 32 random bytes; KMS wraps those bytes with the
//! parameter's key and the encryption context `{"PARAMETER_ARN": <arn>}`, as Parameter Store does
//! on AWS, so a wrapped data key only unwraps for its own parameter. The value's associated data
//! binds the ARN and version, so a sealed value copied to another row or version does not open.

use super::error::from_kms;
use super::{Ssm, SsmError, ValueOut};
use crate::RequestContext;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use coffer_crypto::EncryptionContext;
use coffer_store::StoredValue;
use coffer_types::SecretBytes;

/// Parameter Store's default key.
pub const DEFAULT_KEY: &str = "alias/aws/ssm";

fn context(arn: &str) -> EncryptionContext {
    EncryptionContext::from([("PARAMETER_ARN".to_owned(), arn.to_owned())])
}

fn associated_data(arn: &str, version: i64) -> String {
    format!("ssm-parameter|{arn}|{version}")
}

impl Ssm {
    /// Seal `value` as version `version` of the parameter `arn` under `key_ref` (id, ARN or alias).
    pub(super) async fn seal(
        &self,
        ctx: &RequestContext,
        key_ref: &str,
        arn: &str,
        version: i64,
        value: &SecretBytes,
    ) -> Result<StoredValue, SsmError> {
        let data_key = coffer_crypto::random::secret_bytes(coffer_crypto::KEY_LEN)
            .map_err(crate::error::crypto::<SsmError>)?;
        let (wrapped, key) = self
            .kms
            .encrypt_with(&ctx.via("ssm"), key_ref, &context(arn), data_key.expose())
            .await
            .map_err(|e| from_kms(e, &ctx.request_id))?;
        let ciphertext = coffer_crypto::seal(
            data_key.expose(),
            value.expose(),
            associated_data(arn, version).as_bytes(),
        )
        .map_err(crate::error::crypto::<SsmError>)?;
        Ok(StoredValue::Sealed {
            key_arn: crate::kms::key_arn(&key.region, &key.account_id, &key.key_id),
            data_key: wrapped,
            ciphertext,
        })
    }

    /// The plaintext of a stored value; KMS refusals (a disabled key, one pending deletion) come
    /// back as AWS's `InvalidKeyId`, never as the value.
    pub(super) async fn open(
        &self,
        ctx: &RequestContext,
        arn: &str,
        version: i64,
        stored: &StoredValue,
    ) -> Result<SecretBytes, SsmError> {
        match stored {
            StoredValue::Plain(v) => Ok(SecretBytes::from(v.as_bytes())),
            StoredValue::Sealed {
                data_key,
                ciphertext,
                ..
            } => {
                let key = self
                    .kms
                    .decrypt_data_key(&ctx.via("ssm"), data_key, &context(arn))
                    .await
                    .map_err(|e| from_kms(e, &ctx.request_id))?;
                coffer_crypto::open(
                    key.expose(),
                    ciphertext,
                    associated_data(arn, version).as_bytes(),
                )
                .map_err(|_| {
                    SsmError::Internal(format!("version {version} of {arn} does not open"))
                })
            }
        }
    }

    /// The value as a read returns it: String and StringList as stored; SecureString decrypted
    /// when asked, otherwise the ciphertext, base64-encoded, as AWS returns it.
    pub(super) async fn value_out(
        &self,
        ctx: &RequestContext,
        arn: &str,
        version: i64,
        stored: &StoredValue,
        decrypt: bool,
    ) -> Result<ValueOut, SsmError> {
        match stored {
            StoredValue::Plain(v) => Ok(ValueOut::Plain(v.clone())),
            StoredValue::Sealed { .. } if decrypt => Ok(ValueOut::Secret(
                self.open(ctx, arn, version, stored).await?,
            )),
            StoredValue::Sealed {
                data_key,
                ciphertext,
                ..
            } => Ok(ValueOut::Plain(envelope(data_key, ciphertext))),
        }
    }
}

/// The opaque ciphertext a read without decryption shows: the wrapped data key and the sealed
/// value, length-prefixed, base64.
fn envelope(data_key: &[u8], ciphertext: &[u8]) -> String {
    let len = u16::try_from(data_key.len()).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(3 + data_key.len() + ciphertext.len());
    out.push(1);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(data_key);
    out.extend_from_slice(ciphertext);
    STANDARD.encode(out)
}
