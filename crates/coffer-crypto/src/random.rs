//! The system CSPRNG (aws-lc's), for keys, nonces and `GenerateRandom`.

use crate::CryptoError;
use coffer_types::SecretBytes;

pub fn fill(buf: &mut [u8]) -> Result<(), CryptoError> {
    aws_lc_rs::rand::fill(buf).map_err(|_| CryptoError::Internal("system RNG failed"))
}

/// `n` random bytes that are themselves secret (keys, passwords).
pub fn secret_bytes(n: usize) -> Result<SecretBytes, CryptoError> {
    let mut v = SecretBytes::new(vec![0u8; n]);
    fill(v.as_mut_vec())?;
    Ok(v)
}
