//! The one wrapper every plaintext secret, key and password travels in.

use std::fmt;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Bytes that must never be logged, printed or left in memory: secret values, data keys, key
/// material, secret access keys. `Debug` prints only the length; the bytes are zeroed on drop;
/// equality runs in constant time (for equal lengths) so comparisons do not leak a prefix.
#[derive(Clone, Default, Zeroize, ZeroizeOnDrop)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// Borrow the plaintext. Call sites that do this are the places to audit.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Mutable access for filling in place (RNG output, in-place decryption). Do not grow the
    /// vector through it: a reallocation would leave an unzeroed copy behind.
    pub fn as_mut_vec(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(v: Vec<u8>) -> Self {
        Self(v)
    }
}

impl From<&[u8]> for SecretBytes {
    fn from(v: &[u8]) -> Self {
        Self(v.to_vec())
    }
}

impl PartialEq for SecretBytes {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for SecretBytes {}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes(<redacted {} bytes>)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = SecretBytes::from(b"hunter2".as_slice());
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("7 bytes"));
    }

    #[test]
    fn equality_compares_contents() {
        assert_eq!(
            SecretBytes::from(b"a".as_slice()),
            SecretBytes::from(b"a".as_slice())
        );
        assert_ne!(
            SecretBytes::from(b"a".as_slice()),
            SecretBytes::from(b"b".as_slice())
        );
        assert_ne!(
            SecretBytes::from(b"a".as_slice()),
            SecretBytes::from(b"ab".as_slice())
        );
    }
}
