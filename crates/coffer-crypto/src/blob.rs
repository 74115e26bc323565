//! The KMS ciphertext blob.
//!
//! AWS's blobs are opaque to clients, but `Decrypt` infers the key from them, so ours name the key:
//!
//! ```text
//! 0x01 | len(key ARN) u8 | key ARN | material version u32 BE | nonce 12 | ciphertext | tag 16
//! ```
//!
//! The header (everything before the nonce) and the canonical encryption context are the AES-GCM
//! associated data, so neither the key reference nor the context can be changed without the blob
//! failing to open — the encryption context semantics of
//! <https://docs.aws.amazon.com/kms/latest/developerguide/encrypt_context.html>.

use crate::{CryptoError, aead};
use coffer_types::SecretBytes;
use std::collections::BTreeMap;

const FORMAT: u8 = 1;

/// Key/value pairs bound to a ciphertext; order-insensitive, as on AWS.
pub type EncryptionContext = BTreeMap<String, String>;

/// What a blob says about the key that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobHeader {
    pub key_arn: String,
    pub material_version: u32,
}

impl BlobHeader {
    fn encode(&self) -> Result<Vec<u8>, CryptoError> {
        let arn = self.key_arn.as_bytes();
        let len = u8::try_from(arn.len()).map_err(|_| CryptoError::Internal("key ARN too long"))?;
        let mut out = Vec::with_capacity(6 + arn.len());
        out.push(FORMAT);
        out.push(len);
        out.extend_from_slice(arn);
        out.extend_from_slice(&self.material_version.to_be_bytes());
        Ok(out)
    }

    /// Read the header of a blob, returning it and the length it occupies.
    pub fn parse(blob: &[u8]) -> Result<(Self, usize), CryptoError> {
        let bad = CryptoError::InvalidCiphertext;
        let (&format, rest) = blob.split_first().ok_or(bad.clone())?;
        let (&len, rest) = rest.split_first().ok_or(bad.clone())?;
        if format != FORMAT || rest.len() < usize::from(len) + 4 + aead::OVERHEAD {
            return Err(bad);
        }
        let (arn, rest) = rest.split_at(usize::from(len));
        let key_arn = std::str::from_utf8(arn)
            .map_err(|_| bad.clone())?
            .to_owned();
        let version: [u8; 4] = rest[..4].try_into().map_err(|_| bad)?;
        let header = Self {
            key_arn,
            material_version: u32::from_be_bytes(version),
        };
        Ok((header, 2 + usize::from(len) + 4))
    }
}

fn aad(header: &[u8], context: &EncryptionContext) -> Vec<u8> {
    let mut aad = header.to_vec();
    // Length-prefixed so that {"a":"bc"} and {"ab":"c"} differ.
    for (k, v) in context {
        for part in [k, v] {
            aad.extend_from_slice(&(part.len() as u64).to_be_bytes());
            aad.extend_from_slice(part.as_bytes());
        }
    }
    aad
}

/// Encrypt `plaintext` with KMS key material.
pub fn encrypt(
    material: &SecretBytes,
    header: &BlobHeader,
    context: &EncryptionContext,
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let head = header.encode()?;
    let sealed = aead::seal(material.expose(), plaintext, &aad(&head, context))?;
    let mut out = head;
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Decrypt a blob whose header the caller has parsed and resolved to `material`.
pub fn decrypt(
    material: &SecretBytes,
    blob: &[u8],
    context: &EncryptionContext,
) -> Result<SecretBytes, CryptoError> {
    let (_, head_len) = BlobHeader::parse(blob)?;
    let (head, sealed) = blob.split_at(head_len);
    aead::open(material.expose(), sealed, &aad(head, context))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn header() -> BlobHeader {
        BlobHeader {
            key_arn: "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab"
                .into(),
            material_version: 3,
        }
    }

    fn ctx(pairs: &[(&str, &str)]) -> EncryptionContext {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn header_round_trips() {
        let m = crate::random::secret_bytes(32).unwrap();
        let blob = encrypt(&m, &header(), &ctx(&[]), b"hello").unwrap();
        assert_eq!(BlobHeader::parse(&blob).unwrap().0, header());
        assert_eq!(decrypt(&m, &blob, &ctx(&[])).unwrap().expose(), b"hello");
    }

    #[test]
    fn context_is_bound() {
        let m = crate::random::secret_bytes(32).unwrap();
        let blob = encrypt(&m, &header(), &ctx(&[("a", "bc")]), b"x").unwrap();
        assert!(decrypt(&m, &blob, &ctx(&[("a", "bc")])).is_ok());
        assert!(decrypt(&m, &blob, &ctx(&[("ab", "c")])).is_err());
        assert!(decrypt(&m, &blob, &ctx(&[])).is_err());
    }

    #[test]
    fn header_is_bound() {
        let m = crate::random::secret_bytes(32).unwrap();
        let mut blob = encrypt(&m, &header(), &ctx(&[]), b"x").unwrap();
        // Change the material version in the header: the blob must not open any more.
        let at = 2 + header().key_arn.len() + 3;
        blob[at] ^= 1;
        assert_eq!(
            decrypt(&m, &blob, &ctx(&[])),
            Err(CryptoError::InvalidCiphertext)
        );
    }

    #[test]
    fn garbage_is_invalid_ciphertext() {
        assert!(BlobHeader::parse(b"").is_err());
        assert!(BlobHeader::parse(b"\x01\xff").is_err());
        assert!(BlobHeader::parse(&[2u8; 100]).is_err());
    }

    proptest! {
        #[test]
        fn tampering_anywhere_is_detected(pt in proptest::collection::vec(any::<u8>(), 0..512), bit in any::<usize>()) {
            let m = crate::random::secret_bytes(32).unwrap();
            let mut blob = encrypt(&m, &header(), &ctx(&[("k", "v")]), &pt).unwrap();
            let i = bit % (blob.len() * 8);
            blob[i / 8] ^= 1 << (i % 8);
            prop_assert!(decrypt(&m, &blob, &ctx(&[("k", "v")])).is_err());
        }
    }
}
