//! The audit trail's hash chain and signed digests, as pure functions.
//!
//! Each record's hash covers its predecessor's hash, its sequence number and its bytes, so
//! altering, removing or reordering any record breaks every later link. Periodic digests sign
//! (sequence, hash, time) with a key derived from the master key, so the chain cannot be rebuilt
//! by someone who can write the database but does not hold the master key — the role CloudTrail's
//! signed digest files play.
//! <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-intro.html>

use aws_lc_rs::{digest, hmac};

/// Length of a chain hash and of a digest signature.
pub const HASH_LEN: usize = 32;

/// The hash before the first record.
pub const GENESIS: [u8; HASH_LEN] = [0u8; HASH_LEN];

/// The hash of record `seq` with bytes `record`, following `prev`.
pub fn link(prev: &[u8], seq: i64, record: &[u8]) -> [u8; HASH_LEN] {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(b"coffer-audit-v1\0");
    ctx.update(prev);
    ctx.update(&seq.to_be_bytes());
    ctx.update(record);
    let mut out = [0u8; HASH_LEN];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// The signature of a digest: "the chain reached `seq` with `hash` at `time`".
pub fn sign_digest(key: &[u8], seq: i64, hash: &[u8], time: i64) -> [u8; HASH_LEN] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(b"coffer-audit-digest-v1\0");
    ctx.update(&seq.to_be_bytes());
    ctx.update(hash);
    ctx.update(&time.to_be_bytes());
    let mut out = [0u8; HASH_LEN];
    out.copy_from_slice(ctx.sign().as_ref());
    out
}

/// Check a digest signature in constant time.
pub fn verify_digest(key: &[u8], seq: i64, hash: &[u8], time: i64, signature: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    let expected = sign_digest(key, seq, hash, time);
    expected.as_slice().ct_eq(signature).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_input_changes_the_link() {
        let base = link(&GENESIS, 1, b"record");
        assert_ne!(base, link(&GENESIS, 2, b"record"));
        assert_ne!(base, link(&[1u8; 32], 1, b"record"));
        assert_ne!(base, link(&GENESIS, 1, b"recorD"));
        assert_eq!(base, link(&GENESIS, 1, b"record"));
    }

    #[test]
    fn digests_verify_only_with_their_key_and_content() {
        let sig = sign_digest(b"key", 7, &[9u8; 32], 100);
        assert!(verify_digest(b"key", 7, &[9u8; 32], 100, &sig));
        assert!(!verify_digest(b"other", 7, &[9u8; 32], 100, &sig));
        assert!(!verify_digest(b"key", 8, &[9u8; 32], 100, &sig));
        assert!(!verify_digest(b"key", 7, &[8u8; 32], 100, &sig));
        assert!(!verify_digest(b"key", 7, &[9u8; 32], 101, &sig));
    }
}
