//! Envelope encryption for coffer, as pure functions over byte slices (no I/O, no clock).
//!
//! - [`aead`]: AES-256-GCM seal/open with random 96-bit nonces; the building block of everything.
//! - [`backup`]: the backup file's chunked AES-256-GCM format (master-key or passphrase key).
//! - [`asymmetric`]: KMS's RSA, ECC and HMAC keys: signatures, RSA-OAEP, ECDH, MACs.
//! - [`master`]: the 256-bit master key, which wraps KMS key material and stored access keys and
//!   never touches a secret value directly.
//! - [`blob`]: the KMS ciphertext blob: names the key ARN and material version it was made with,
//!   binds the encryption context as associated data.
//! - [`chain`]: the audit trail's hash chain and HMAC-signed digests.
//! - [`random`]: CSPRNG output for key material, data keys and `GenerateRandom`.
//!
//! Every plaintext leaves this crate inside [`coffer_types::SecretBytes`].

pub mod aead;
pub mod asymmetric;
pub mod backup;
pub mod blob;
pub mod chain;
pub mod master;
pub mod random;

pub use aead::{open, seal};
pub use blob::{BlobHeader, EncryptionContext};
pub use master::MasterKey;

/// Failures of the crypto layer. Deliberately coarse: callers must not learn *why* an
/// authenticated decryption failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// Wrong key, wrong associated data, truncated or tampered input.
    #[error("ciphertext is invalid or was not made with this key and context")]
    InvalidCiphertext,
    /// Key of the wrong size, RNG failure: a bug or a broken platform, never user input.
    #[error("crypto backend failure: {0}")]
    Internal(&'static str),
}

/// Length of every symmetric key coffer uses (AES-256).
pub const KEY_LEN: usize = 32;
