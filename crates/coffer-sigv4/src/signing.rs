//! Signing key derivation and the HMAC over the string to sign.

use aws_lc_rs::{digest, hmac};
use zeroize::{Zeroize, Zeroizing};

/// The only algorithm this crate speaks.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The credential scope terminator for SigV4.
pub(crate) const TERMINATOR: &str = "aws4_request";

/// A derived SigV4 signing key (`kSigning`), good for one date, region and service.
///
/// Deriving costs four HMACs, so servers cache these. The HMAC key schedule is prepared once, at
/// derivation, so each verification starts hashing straight away. The raw bytes are wiped on
/// drop (aws-lc likewise cleanses the prepared HMAC state when it is freed), and `Debug` never
/// shows them.
#[derive(Clone)]
pub struct SigningKey {
    bytes: Zeroizing<[u8; 32]>,
    hmac: hmac::Key,
}

impl SigningKey {
    /// Wraps an already-derived 32-byte `kSigning`.
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let bytes = Zeroizing::new(bytes);
        let hmac = hmac::Key::new(hmac::HMAC_SHA256, bytes.as_slice());
        Self { bytes, hmac }
    }

    /// The raw key. Only for handing to another SigV4 implementation (tests compare against the
    /// AWS SDK's derivation); never log it.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    pub(crate) fn hmac_key(&self) -> &hmac::Key {
        &self.hmac
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Zeroizing<[u8; 32]> {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data);
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(tag.as_ref());
    out
}

/// Derives `kSigning` = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service),
/// "aws4_request"). `date` is the credential scope's `YYYYMMDD`.
#[must_use]
pub fn derive_signing_key(
    secret_access_key: &[u8],
    date: &str,
    region: &str,
    service: &str,
) -> SigningKey {
    let mut k_secret = Zeroizing::new(Vec::with_capacity(4 + secret_access_key.len()));
    k_secret.extend_from_slice(b"AWS4");
    k_secret.extend_from_slice(secret_access_key);
    let k_date = hmac_sha256(&k_secret, date.as_bytes());
    let k_region = hmac_sha256(k_date.as_slice(), region.as_bytes());
    let k_service = hmac_sha256(k_region.as_slice(), service.as_bytes());
    let mut k_signing = hmac_sha256(k_service.as_slice(), TERMINATOR.as_bytes());
    let key = SigningKey::from_bytes(*k_signing);
    k_signing.zeroize();
    key
}

/// The string to sign: algorithm, request time, credential scope and the hex SHA-256 of the
/// canonical request, one per line.
#[must_use]
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    let hash = digest::digest(&digest::SHA256, canonical_request.as_bytes());
    let mut out = String::with_capacity(ALGORITHM.len() + amz_date.len() + scope.len() + 67);
    out.push_str(ALGORITHM);
    out.push('\n');
    out.push_str(amz_date);
    out.push('\n');
    out.push_str(scope);
    out.push('\n');
    out.push_str(&hex::encode(hash.as_ref()));
    out
}

/// The signature over `string_to_sign`, as lowercase hex.
#[must_use]
pub fn sign(key: &SigningKey, string_to_sign: &str) -> String {
    hex::encode(hmac::sign(key.hmac_key(), string_to_sign.as_bytes()).as_ref())
}

/// The pieces of a credential scope, for signing without building the scope string.
pub(crate) struct Scope<'a> {
    pub(crate) date: &'a str,
    pub(crate) region: &'a str,
    pub(crate) service: &'a str,
}

/// Signs the string to sign for (`amz_date`, `scope`, canonical request hash) straight into an
/// HMAC context, returning the signature as lowercase hex in a stack buffer.
pub(crate) fn signature_hex(
    key: &SigningKey,
    amz_date: &str,
    scope: &Scope<'_>,
    canonical_hash: &digest::Digest,
) -> [u8; 64] {
    let mut hash_hex = [0u8; 64];
    // Both buffers are exactly twice the input length, so encoding cannot fail.
    let _ = hex::encode_to_slice(canonical_hash.as_ref(), &mut hash_hex);
    let mut ctx = hmac::Context::with_key(key.hmac_key());
    for piece in [
        ALGORITHM.as_bytes(),
        b"\n",
        amz_date.as_bytes(),
        b"\n",
        scope.date.as_bytes(),
        b"/",
        scope.region.as_bytes(),
        b"/",
        scope.service.as_bytes(),
        b"/",
        TERMINATOR.as_bytes(),
        b"\n",
        &hash_hex,
    ] {
        ctx.update(piece);
    }
    let mut out = [0u8; 64];
    let _ = hex::encode_to_slice(ctx.sign().as_ref(), &mut out);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    #[test]
    fn known_signing_key() {
        // From AWS's SigV4 documentation example (20150830/us-east-1/iam).
        let key = derive_signing_key(SECRET, "20150830", "us-east-1", "iam");
        assert_eq!(
            hex::encode(key.as_bytes()),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
    }

    #[test]
    fn streamed_signature_matches_string_version() {
        let key = derive_signing_key(SECRET, "20150830", "us-east-1", "service");
        let creq = "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let sts = string_to_sign(
            "20150830T123600Z",
            "20150830/us-east-1/service/aws4_request",
            creq,
        );
        let expected = sign(&key, &sts);
        assert_eq!(
            expected,
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        let scope = Scope {
            date: "20150830",
            region: "us-east-1",
            service: "service",
        };
        let hash = digest::digest(&digest::SHA256, creq.as_bytes());
        let streamed = signature_hex(&key, "20150830T123600Z", &scope, &hash);
        assert_eq!(&streamed[..], expected.as_bytes());
    }

    #[test]
    fn debug_is_redacted() {
        let key = SigningKey::from_bytes([0xAB; 32]);
        let shown = format!("{key:?} {:?}", key.clone());
        assert_eq!(shown, "SigningKey(<redacted>) SigningKey(<redacted>)");
        assert!(!shown.to_lowercase().contains("ab"));
    }
}
