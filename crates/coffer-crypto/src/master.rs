//! The master key: 256 bits that seal everything else coffer stores (KMS key material, access
//! keys). It never encrypts a secret value directly — that is the data keys' job — so rotating or
//! re-wrapping it touches only small rows.

use crate::{CryptoError, KEY_LEN, aead};
use coffer_types::SecretBytes;
use std::fmt;

/// The associated data that proves a master key is the one a data directory was made with.
const CHECK_AAD: &[u8] = b"coffer master key check v1";
const CHECK_PLAINTEXT: &[u8] = b"coffer";

/// The master key in force, and during a master-key rotation the one it replaces
/// (`COFFER_PREVIOUS_MASTER_KEY`): [`MasterKey::unwrap`] opens values sealed by either, until
/// `coffer admin rotate-master-key` has re-wrapped everything under the new key.
pub struct MasterKey(SecretBytes, Option<Box<MasterKey>>);

/// Which key a stored check value names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckMatch {
    /// The key in force: nothing to do.
    Current,
    /// The previous key: a rotation is under way (or not started).
    Previous,
    /// Neither.
    Neither,
}

/// PBKDF2 rounds for passphrase-derived master keys (OWASP's 2023 figure for HMAC-SHA256).
pub const PASSPHRASE_ITERATIONS: u32 = 600_000;
/// Shortest passphrase accepted.
pub const MIN_PASSPHRASE_LEN: usize = 16;

impl MasterKey {
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self(crate::random::secret_bytes(KEY_LEN)?, None))
    }

    pub fn from_bytes(bytes: SecretBytes) -> Result<Self, CryptoError> {
        if bytes.len() != KEY_LEN {
            return Err(CryptoError::Internal("master key must be exactly 32 bytes"));
        }
        Ok(Self(bytes, None))
    }

    /// This key, also opening values sealed by `previous` (the key it replaces in a rotation).
    /// Only one generation is kept: `previous`'s own previous key is dropped.
    pub fn with_previous(self, previous: MasterKey) -> Self {
        Self(self.0, Some(Box::new(Self(previous.0, None))))
    }

    /// The key this one replaces, while a rotation is under way.
    pub fn previous(&self) -> Option<&MasterKey> {
        self.1.as_deref()
    }

    /// A short public name of the key (16 hex digits of a derived value), to tell keys apart in
    /// messages and to check that a server holds the key an operator means, without revealing it.
    pub fn key_id(&self) -> String {
        self.derive("key-id").expose()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Whether `wrapped` opens under the key in force (not the previous one).
    pub fn opens_with_current(&self, wrapped: &[u8], purpose: &str) -> bool {
        aead::open(self.0.expose(), wrapped, purpose.as_bytes()).is_ok()
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

    /// Open a value sealed by this key or, during a rotation, by the previous one.
    pub fn unwrap(&self, wrapped: &[u8], purpose: &str) -> Result<SecretBytes, CryptoError> {
        match aead::open(self.0.expose(), wrapped, purpose.as_bytes()) {
            Ok(p) => Ok(p),
            Err(e) => match &self.1 {
                Some(previous) => previous.unwrap(wrapped, purpose),
                None => Err(e),
            },
        }
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

    /// Whether `check` was made by this key (the key in force only).
    pub fn verify_check(&self, check: &[u8]) -> bool {
        aead::open(self.0.expose(), check, CHECK_AAD).is_ok_and(|p| p.expose() == CHECK_PLAINTEXT)
    }

    /// Which of this key and its previous one made `check`.
    pub fn check_match(&self, check: &[u8]) -> CheckMatch {
        if self.verify_check(check) {
            CheckMatch::Current
        } else if self.1.as_ref().is_some_and(|p| p.verify_check(check)) {
            CheckMatch::Previous
        } else {
            CheckMatch::Neither
        }
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
    fn previous_key_opens_until_rotated() {
        let old = MasterKey::generate().unwrap();
        let sealed = old.wrap(b"material", "p").unwrap();
        let check = old.check_value().unwrap();
        let old_again = MasterKey::from_bytes(SecretBytes::from(old.expose().to_vec())).unwrap();
        let new = MasterKey::generate().unwrap().with_previous(old_again);
        assert_eq!(new.unwrap(&sealed, "p").unwrap().expose(), b"material");
        assert!(!new.opens_with_current(&sealed, "p"));
        assert_eq!(new.check_match(&check), CheckMatch::Previous);
        let fresh = new.wrap(b"material", "p").unwrap();
        assert!(new.opens_with_current(&fresh, "p"));
        assert!(old.unwrap(&fresh, "p").is_err());
        assert_eq!(
            old.check_match(&new.check_value().unwrap()),
            CheckMatch::Neither
        );
        assert_ne!(old.key_id(), new.key_id());
    }

    #[test]
    fn rejects_short_keys() {
        assert!(MasterKey::from_bytes(SecretBytes::from(vec![0u8; 16])).is_err());
    }
}
