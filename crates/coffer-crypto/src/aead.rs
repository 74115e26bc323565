//! AES-256-GCM with a fresh random nonce per message.
//!
//! Output layout: `nonce (12) || ciphertext || tag (16)`. Random nonces are safe here because each
//! key seals few messages: a data key seals one secret version; key material seals at most the
//! requests made while it is current, far below the 2^32 bound for random 96-bit nonces.

use crate::{CryptoError, KEY_LEN};
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use coffer_types::SecretBytes;

/// Bytes added by [`seal`]: nonce plus tag.
pub const OVERHEAD: usize = NONCE_LEN + 16;

fn key(k: &[u8]) -> Result<LessSafeKey, CryptoError> {
    if k.len() != KEY_LEN {
        return Err(CryptoError::Internal("AES-256 key must be 32 bytes"));
    }
    let unbound =
        UnboundKey::new(&AES_256_GCM, k).map_err(|_| CryptoError::Internal("bad AES key"))?;
    Ok(LessSafeKey::new(unbound))
}

/// Encrypt `plaintext` under `k`, authenticating `aad` too.
pub fn seal(k: &[u8], plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let key = key(k)?;
    let mut nonce = [0u8; NONCE_LEN];
    crate::random::fill(&mut nonce)?;
    let mut out = Vec::with_capacity(OVERHEAD + plaintext.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut out[NONCE_LEN..],
        )
        .map_err(|_| CryptoError::Internal("seal failed"))?;
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

/// Decrypt what [`seal`] produced with the same key and `aad`.
pub fn open(k: &[u8], sealed: &[u8], aad: &[u8]) -> Result<SecretBytes, CryptoError> {
    let key = key(k)?;
    if sealed.len() < OVERHEAD {
        return Err(CryptoError::InvalidCiphertext);
    }
    let (nonce, rest) = sealed.split_at(NONCE_LEN);
    let nonce =
        Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::InvalidCiphertext)?;
    // Decrypt into a buffer that is itself a SecretBytes, so the plaintext is zeroed however this
    // function returns.
    let mut buf = SecretBytes::from(rest);
    let n = key
        .open_in_place(nonce, Aad::from(aad), buf.as_mut_vec())
        .map_err(|_| CryptoError::InvalidCiphertext)?
        .len();
    // Shrinking never reallocates; the dropped tail is the tag, which is not secret.
    buf.as_mut_vec().truncate(n);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trip(pt in proptest::collection::vec(any::<u8>(), 0..2048), aad in proptest::collection::vec(any::<u8>(), 0..64)) {
            let k = [7u8; 32];
            let sealed = seal(&k, &pt, &aad).unwrap();
            prop_assert_eq!(sealed.len(), pt.len() + OVERHEAD);
            let opened = open(&k, &sealed, &aad).unwrap();
            prop_assert_eq!(opened.expose(), &pt[..]);
        }

        #[test]
        fn any_flipped_bit_is_rejected(pt in proptest::collection::vec(any::<u8>(), 1..256), bit in any::<usize>()) {
            let k = [9u8; 32];
            let mut sealed = seal(&k, &pt, b"ctx").unwrap();
            let i = bit % (sealed.len() * 8);
            sealed[i / 8] ^= 1 << (i % 8);
            prop_assert_eq!(open(&k, &sealed, b"ctx"), Err(CryptoError::InvalidCiphertext));
        }
    }

    #[test]
    fn wrong_aad_or_key_is_rejected() {
        let k = [1u8; 32];
        let sealed = seal(&k, b"secret", b"a").unwrap();
        assert_eq!(open(&k, &sealed, b"b"), Err(CryptoError::InvalidCiphertext));
        assert_eq!(
            open(&[2u8; 32], &sealed, b"a"),
            Err(CryptoError::InvalidCiphertext)
        );
        assert_eq!(
            open(&k, &sealed[..10], b"a"),
            Err(CryptoError::InvalidCiphertext)
        );
    }

    #[test]
    fn nonces_differ() {
        let k = [1u8; 32];
        assert_ne!(seal(&k, b"x", b"").unwrap(), seal(&k, b"x", b"").unwrap());
    }
}
