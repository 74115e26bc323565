//! The master key: 256 bits that seal everything else coffer stores (KMS key material, access
//! keys). It never encrypts a secret value directly — that is the data keys' job — so rotating or
//! re-wrapping it touches only small rows.

use crate::{CryptoError, KEY_LEN, aead};
use coffer_types::SecretBytes;
use std::fmt;

/// The associated data that proves a master key is the one a data directory was made with.
const CHECK_AAD: &[u8] = b"coffer master key check v1";
const CHECK_PLAINTEXT: &[u8] = b"coffer";

pub struct MasterKey(SecretBytes);

/// PBKDF2 rounds for passphrase-derived master keys (OWASP's 2023 figure for HMAC-SHA256).
pub const PASSPHRASE_ITERATIONS: u32 = 600_000;
/// Shortest passphrase accepted.
pub const MIN_PASSPHRASE_LEN: usize = 16;

impl MasterKey {
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self(crate::random::secret_bytes(KEY_LEN)?))
    }

    pub fn from_bytes(bytes: SecretBytes) -> Result<Self, CryptoError> {
        if bytes.len() != KEY_LEN {
            return Err(CryptoError::Internal("master key must be exactly 32 bytes"));
        }
        Ok(Self(bytes))
    }

    /// The raw key, to write to the key file on first start.
    pub fn expose(&self) -> &[u8] {
        self.0.expose()
    }

    /// Seal a small value (key material, an access key). `purpose` names what it is and where it
    /// belongs (for example `kms-material|<key arn>|<version>`), so a wrapped value copied into
    /// another row does not open.
    pub fn wrap(&self, plaintext: &[u8], purpose: &str) -> Result<Vec<u8>, CryptoError> {
        aead::seal(self.0.expose(), plaintext, purpose.as_bytes())
    }

    pub fn unwrap(&self, wrapped: &[u8], purpose: &str) -> Result<SecretBytes, CryptoError> {
        aead::open(self.0.expose(), wrapped, purpose.as_bytes())
    }

    /// A value to store beside the data: [`MasterKey::verify_check`] succeeds only with this key.
    /// The master key derived from a passphrase: PBKDF2-HMAC-SHA256 with `PASSPHRASE_ITERATIONS`
    /// rounds over a per-deployment random salt (stored beside the data; it is not secret).
    pub fn from_passphrase(passphrase: &[u8], salt: &[u8]) -> Result<Self, CryptoError> {
        if passphrase.len() < MIN_PASSPHRASE_LEN {
            return Err(CryptoError::Internal("passphrase too short"));
        }
        let mut key = SecretBytes::new(vec![0u8; KEY_LEN]);
        let rounds = std::num::NonZeroU32::new(PASSPHRASE_ITERATIONS)
            .ok_or(CryptoError::Internal("iterations"))?;
        aws_lc_rs::pbkdf2::derive(
            aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA256,
            rounds,
            salt,
            passphrase,
            key.as_mut_vec(),
        );
        Self::from_bytes(key)
    }

    /// A 256-bit key for `purpose`, derived from the master key (HMAC-SHA256), for uses that
    /// need a key of their own but nothing stored (the audit digest signatures).
    pub fn derive(&self, purpose: &str) -> SecretBytes {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, self.expose());
        let tag = aws_lc_rs::hmac::sign(&key, format!("coffer-derive-v1\0{purpose}").as_bytes());
        SecretBytes::new(tag.as_ref().to_vec())
    }

    pub fn check_value(&self) -> Result<Vec<u8>, CryptoError> {
        aead::seal(self.0.expose(), CHECK_PLAINTEXT, CHECK_AAD)
    }

    pub fn verify_check(&self, check: &[u8]) -> bool {
        aead::open(self.0.expose(), check, CHECK_AAD).is_ok_and(|p| p.expose() == CHECK_PLAINTEXT)
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn wrap_binds_purpose() {
        let mk = MasterKey::generate().unwrap();
        let w = mk.wrap(b"material", "kms|a|1").unwrap();
        assert_eq!(mk.unwrap(&w, "kms|a|1").unwrap().expose(), b"material");
        assert!(mk.unwrap(&w, "kms|b|1").is_err());
    }

    #[test]
    fn check_value_identifies_the_key() {
        let a = MasterKey::generate().unwrap();
        let b = MasterKey::generate().unwrap();
        let check = a.check_value().unwrap();
        assert!(a.verify_check(&check));
        assert!(!b.verify_check(&check));
        assert!(!format!("{a:?}").contains(&format!("{:?}", &a.expose()[..4])));
    }

    #[test]
    fn passphrases_derive_stable_salted_keys() {
        let a = MasterKey::from_passphrase(b"correct horse battery staple", b"salt-1").unwrap();
        let again = MasterKey::from_passphrase(b"correct horse battery staple", b"salt-1").unwrap();
        let salted =
            MasterKey::from_passphrase(b"correct horse battery staple", b"salt-2").unwrap();
        assert_eq!(a.expose(), again.expose());
        assert_ne!(a.expose(), salted.expose());
        assert!(MasterKey::from_passphrase(b"short", b"salt").is_err());
    }

    #[test]
    fn rejects_short_keys() {
        assert!(MasterKey::from_bytes(SecretBytes::from(vec![0u8; 16])).is_err());
    }
}
