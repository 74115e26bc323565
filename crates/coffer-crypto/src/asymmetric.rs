//! KMS's asymmetric and HMAC keys, on aws-lc-rs: generation, public keys, signatures (raw
//! messages and precomputed digests), RSA-OAEP encryption, ECDH and HMAC.
//! <https://docs.aws.amazon.com/kms/latest/developerguide/symm-asymm-choose-key-spec.html>
//!
//! Private keys are PKCS#8 DER (RSA, ECC) or raw bytes (HMAC), always inside [`SecretBytes`];
//! public keys are DER `SubjectPublicKeyInfo`, as KMS's GetPublicKey returns them.

use crate::CryptoError;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{self, KeyPair as _};
use aws_lc_rs::{agreement, digest, hmac, rsa};
use coffer_types::SecretBytes;

/// The key specs with material of their own kind (SYMMETRIC_DEFAULT is [`crate::blob`]'s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spec {
    Rsa2048,
    Rsa3072,
    Rsa4096,
    EccNistP256,
    EccNistP384,
    EccNistP521,
    EccSecgP256k1,
    Hmac224,
    Hmac256,
    Hmac384,
    Hmac512,
}

impl Spec {
    /// KMS's name of the spec.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "RSA_2048" => Self::Rsa2048,
            "RSA_3072" => Self::Rsa3072,
            "RSA_4096" => Self::Rsa4096,
            "ECC_NIST_P256" => Self::EccNistP256,
            "ECC_NIST_P384" => Self::EccNistP384,
            "ECC_NIST_P521" => Self::EccNistP521,
            "ECC_SECG_P256K1" => Self::EccSecgP256k1,
            "HMAC_224" => Self::Hmac224,
            "HMAC_256" => Self::Hmac256,
            "HMAC_384" => Self::Hmac384,
            "HMAC_512" => Self::Hmac512,
            _ => return None,
        })
    }

    pub fn is_rsa(self) -> bool {
        matches!(self, Self::Rsa2048 | Self::Rsa3072 | Self::Rsa4096)
    }

    pub fn is_ecc(self) -> bool {
        matches!(
            self,
            Self::EccNistP256 | Self::EccNistP384 | Self::EccNistP521 | Self::EccSecgP256k1
        )
    }

    pub fn is_hmac(self) -> bool {
        matches!(
            self,
            Self::Hmac224 | Self::Hmac256 | Self::Hmac384 | Self::Hmac512
        )
    }

    /// KMS's signing algorithms for the spec (none for HMAC).
    pub fn signing_algorithms(self) -> &'static [&'static str] {
        match self {
            Self::Rsa2048 | Self::Rsa3072 | Self::Rsa4096 => &[
                "RSASSA_PSS_SHA_256",
                "RSASSA_PSS_SHA_384",
                "RSASSA_PSS_SHA_512",
                "RSASSA_PKCS1_V1_5_SHA_256",
                "RSASSA_PKCS1_V1_5_SHA_384",
                "RSASSA_PKCS1_V1_5_SHA_512",
            ],
            Self::EccNistP256 | Self::EccSecgP256k1 => &["ECDSA_SHA_256"],
            Self::EccNistP384 => &["ECDSA_SHA_384"],
            Self::EccNistP521 => &["ECDSA_SHA_512"],
            _ => &[],
        }
    }

    /// KMS's encryption algorithms for the spec (RSA only).
    pub fn encryption_algorithms(self) -> &'static [&'static str] {
        if self.is_rsa() {
            &["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
        } else {
            &[]
        }
    }

    /// The MAC algorithm of an HMAC spec.
    pub fn mac_algorithm(self) -> Option<&'static str> {
        Some(match self {
            Self::Hmac224 => "HMAC_SHA_224",
            Self::Hmac256 => "HMAC_SHA_256",
            Self::Hmac384 => "HMAC_SHA_384",
            Self::Hmac512 => "HMAC_SHA_512",
            _ => return None,
        })
    }

    /// Whether the spec can do ECDH (`KEY_AGREEMENT`): the NIST curves.
    pub fn can_agree(self) -> bool {
        matches!(
            self,
            Self::EccNistP256 | Self::EccNistP384 | Self::EccNistP521
        )
    }

    /// Largest plaintext RSA-OAEP takes under `algorithm`, as KMS documents it.
    pub fn max_plaintext(self, algorithm: &str) -> Option<usize> {
        let modulus = match self {
            Self::Rsa2048 => 256,
            Self::Rsa3072 => 384,
            Self::Rsa4096 => 512,
            _ => return None,
        };
        let hash = match algorithm {
            "RSAES_OAEP_SHA_1" => 20,
            "RSAES_OAEP_SHA_256" => 32,
            _ => return None,
        };
        Some(modulus - 2 * hash - 2)
    }

    fn ecdsa(self) -> Option<&'static signature::EcdsaSigningAlgorithm> {
        Some(match self {
            Self::EccNistP256 => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            Self::EccNistP384 => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
            Self::EccNistP521 => &signature::ECDSA_P521_SHA512_ASN1_SIGNING,
            Self::EccSecgP256k1 => &signature::ECDSA_P256K1_SHA256_ASN1_SIGNING,
            _ => return None,
        })
    }

    fn ecdh(self) -> Option<&'static agreement::Algorithm> {
        Some(match self {
            Self::EccNistP256 => &agreement::ECDH_P256,
            Self::EccNistP384 => &agreement::ECDH_P384,
            Self::EccNistP521 => &agreement::ECDH_P521,
            _ => return None,
        })
    }

    fn hmac(self) -> Option<hmac::Algorithm> {
        Some(match self {
            Self::Hmac224 => hmac::HMAC_SHA224,
            Self::Hmac256 => hmac::HMAC_SHA256,
            Self::Hmac384 => hmac::HMAC_SHA384,
            Self::Hmac512 => hmac::HMAC_SHA512,
            _ => return None,
        })
    }
}

const BACKEND: CryptoError = CryptoError::Internal("asymmetric key operation failed");

/// New private key material for `spec`.
pub fn generate(spec: Spec) -> Result<SecretBytes, CryptoError> {
    if spec.is_rsa() {
        let size = match spec {
            Spec::Rsa2048 => rsa::KeySize::Rsa2048,
            Spec::Rsa3072 => rsa::KeySize::Rsa3072,
            _ => rsa::KeySize::Rsa4096,
        };
        let pair = signature::RsaKeyPair::generate(size).map_err(|_| BACKEND)?;
        let der = pair.as_der().map_err(|_| BACKEND)?;
        return Ok(SecretBytes::new(der.as_ref().to_vec()));
    }
    if let Some(alg) = spec.ecdsa() {
        let pair = signature::EcdsaKeyPair::generate(alg).map_err(|_| BACKEND)?;
        let der = pair.to_pkcs8v1().map_err(|_| BACKEND)?;
        return Ok(SecretBytes::new(der.as_ref().to_vec()));
    }
    // HMAC keys are as long as the hash's output.
    let len = spec.hmac().ok_or(BACKEND)?.digest_algorithm().output_len;
    crate::random::secret_bytes(len)
}

fn rsa_pair(private: &SecretBytes) -> Result<signature::RsaKeyPair, CryptoError> {
    signature::RsaKeyPair::from_pkcs8(private.expose()).map_err(|_| BACKEND)
}

fn ec_pair(spec: Spec, private: &SecretBytes) -> Result<signature::EcdsaKeyPair, CryptoError> {
    signature::EcdsaKeyPair::from_pkcs8(spec.ecdsa().ok_or(BACKEND)?, private.expose())
        .map_err(|_| BACKEND)
}

/// The DER `SubjectPublicKeyInfo` of an RSA or ECC private key.
pub fn public_key(spec: Spec, private: &SecretBytes) -> Result<Vec<u8>, CryptoError> {
    let der = if spec.is_rsa() {
        rsa_pair(private)?
            .public_key()
            .as_der()
            .map_err(|_| BACKEND)?
            .as_ref()
            .to_vec()
    } else {
        ec_pair(spec, private)?
            .public_key()
            .as_der()
            .map_err(|_| BACKEND)?
            .as_ref()
            .to_vec()
    };
    Ok(der)
}

/// What a signature covers: the message itself, or the digest of it the caller computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message {
    Raw,
    Digest,
}

/// The hash of a signing algorithm (`..._SHA_256` → SHA-256).
fn hash_of(algorithm: &str) -> Option<&'static digest::Algorithm> {
    if algorithm.ends_with("SHA_256") {
        Some(&digest::SHA256)
    } else if algorithm.ends_with("SHA_384") {
        Some(&digest::SHA384)
    } else if algorithm.ends_with("SHA_512") {
        Some(&digest::SHA512)
    } else {
        None
    }
}

/// Length of the digest a `DIGEST` message must be for `algorithm`.
pub fn digest_len(algorithm: &str) -> Option<usize> {
    hash_of(algorithm).map(|h| h.output_len)
}

fn rsa_padding(algorithm: &str) -> Option<&'static dyn signature::RsaEncoding> {
    Some(match algorithm {
        "RSASSA_PSS_SHA_256" => &signature::RSA_PSS_SHA256,
        "RSASSA_PSS_SHA_384" => &signature::RSA_PSS_SHA384,
        "RSASSA_PSS_SHA_512" => &signature::RSA_PSS_SHA512,
        "RSASSA_PKCS1_V1_5_SHA_256" => &signature::RSA_PKCS1_SHA256,
        "RSASSA_PKCS1_V1_5_SHA_384" => &signature::RSA_PKCS1_SHA384,
        "RSASSA_PKCS1_V1_5_SHA_512" => &signature::RSA_PKCS1_SHA512,
        _ => return None,
    })
}

fn rsa_verification(algorithm: &str) -> Option<&'static signature::RsaParameters> {
    Some(match algorithm {
        "RSASSA_PSS_SHA_256" => &signature::RSA_PSS_2048_8192_SHA256,
        "RSASSA_PSS_SHA_384" => &signature::RSA_PSS_2048_8192_SHA384,
        "RSASSA_PSS_SHA_512" => &signature::RSA_PSS_2048_8192_SHA512,
        "RSASSA_PKCS1_V1_5_SHA_256" => &signature::RSA_PKCS1_2048_8192_SHA256,
        "RSASSA_PKCS1_V1_5_SHA_384" => &signature::RSA_PKCS1_2048_8192_SHA384,
        "RSASSA_PKCS1_V1_5_SHA_512" => &signature::RSA_PKCS1_2048_8192_SHA512,
        _ => return None,
    })
}

fn ecdsa_verification(spec: Spec) -> Option<&'static signature::EcdsaVerificationAlgorithm> {
    Some(match spec {
        Spec::EccNistP256 => &signature::ECDSA_P256_SHA256_ASN1,
        Spec::EccNistP384 => &signature::ECDSA_P384_SHA384_ASN1,
        Spec::EccNistP521 => &signature::ECDSA_P521_SHA512_ASN1,
        Spec::EccSecgP256k1 => &signature::ECDSA_P256K1_SHA256_ASN1,
        _ => return None,
    })
}

/// Sign `message` with `algorithm`, which the caller checked is one of `spec`'s. A `Digest`
/// message must be the algorithm's digest length (checked by the caller too).
pub fn sign(
    spec: Spec,
    algorithm: &str,
    private: &SecretBytes,
    message: &[u8],
    kind: Message,
) -> Result<Vec<u8>, CryptoError> {
    let hash = hash_of(algorithm).ok_or(BACKEND)?;
    let digest = match kind {
        Message::Raw => digest::digest(hash, message),
        Message::Digest => digest::Digest::import_less_safe(message, hash).map_err(|_| BACKEND)?,
    };
    if spec.is_rsa() {
        let pair = rsa_pair(private)?;
        let mut sig = vec![0; pair.public_modulus_len()];
        pair.sign_digest(rsa_padding(algorithm).ok_or(BACKEND)?, &digest, &mut sig)
            .map_err(|_| BACKEND)?;
        return Ok(sig);
    }
    let sig = ec_pair(spec, private)?
        .sign_digest(&digest)
        .map_err(|_| BACKEND)?;
    Ok(sig.as_ref().to_vec())
}

/// Whether `sig` is `algorithm`'s signature of `message` by the key `private`.
pub fn verify(
    spec: Spec,
    algorithm: &str,
    private: &SecretBytes,
    message: &[u8],
    kind: Message,
    sig: &[u8],
) -> Result<bool, CryptoError> {
    let hash = hash_of(algorithm).ok_or(BACKEND)?;
    let digest = match kind {
        Message::Raw => digest::digest(hash, message),
        Message::Digest => digest::Digest::import_less_safe(message, hash).map_err(|_| BACKEND)?,
    };
    let ok = if spec.is_rsa() {
        let pair = rsa_pair(private)?;
        let key = signature::UnparsedPublicKey::new(
            rsa_verification(algorithm).ok_or(BACKEND)?,
            pair.public_key().as_ref(),
        );
        key.verify_digest(&digest, sig).is_ok()
    } else {
        let pair = ec_pair(spec, private)?;
        let key = signature::UnparsedPublicKey::new(
            ecdsa_verification(spec).ok_or(BACKEND)?,
            pair.public_key().as_ref(),
        );
        key.verify_digest(&digest, sig).is_ok()
    };
    Ok(ok)
}

fn oaep(algorithm: &str) -> Option<&'static rsa::OaepAlgorithm> {
    match algorithm {
        "RSAES_OAEP_SHA_1" => Some(&rsa::OAEP_SHA1_MGF1SHA1),
        "RSAES_OAEP_SHA_256" => Some(&rsa::OAEP_SHA256_MGF1SHA256),
        _ => None,
    }
}

/// RSA-OAEP encryption with the public half of `private`.
pub fn rsa_encrypt(
    algorithm: &str,
    private: &SecretBytes,
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let key = rsa::PrivateDecryptingKey::from_pkcs8(private.expose()).map_err(|_| BACKEND)?;
    let public = rsa::OaepPublicEncryptingKey::new(key.public_key()).map_err(|_| BACKEND)?;
    let mut out = vec![0; public.ciphertext_size()];
    let n = public
        .encrypt(oaep(algorithm).ok_or(BACKEND)?, plaintext, &mut out, None)
        .map_err(|_| BACKEND)?
        .len();
    out.truncate(n);
    Ok(out)
}

/// RSA-OAEP decryption; a ciphertext not made for this key and algorithm is
/// [`CryptoError::InvalidCiphertext`].
pub fn rsa_decrypt(
    algorithm: &str,
    private: &SecretBytes,
    ciphertext: &[u8],
) -> Result<SecretBytes, CryptoError> {
    let key = rsa::PrivateDecryptingKey::from_pkcs8(private.expose()).map_err(|_| BACKEND)?;
    let key = rsa::OaepPrivateDecryptingKey::new(key).map_err(|_| BACKEND)?;
    let mut out = SecretBytes::new(vec![0; key.min_output_size()]);
    let n = key
        .decrypt(
            oaep(algorithm).ok_or(BACKEND)?,
            ciphertext,
            out.as_mut_vec(),
            None,
        )
        .map_err(|_| CryptoError::InvalidCiphertext)?
        .len();
    out.as_mut_vec().truncate(n);
    Ok(out)
}

/// ECDH of `private` with the peer's DER `SubjectPublicKeyInfo`: the raw shared secret, or
/// `None` when the peer's key is not a valid point of the same curve.
pub fn derive_shared_secret(
    spec: Spec,
    private: &SecretBytes,
    peer_spki: &[u8],
) -> Result<Option<SecretBytes>, CryptoError> {
    let alg = spec.ecdh().ok_or(BACKEND)?;
    let key =
        agreement::PrivateKey::from_private_key_der(alg, private.expose()).map_err(|_| BACKEND)?;
    let peer = agreement::UnparsedPublicKey::new(alg, peer_spki);
    Ok(agreement::agree(&key, peer, (), |secret| {
        Ok(SecretBytes::new(secret.to_vec()))
    })
    .ok())
}

/// Whether `material` is a private key of `spec` (PKCS#8 DER of an RSA key of its size or an EC
/// key of its curve), or key bytes of a length an HMAC spec accepts: checked before an import.
/// <https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys-get-public-key-and-token.html>
pub fn material_fits(spec: Spec, material: &SecretBytes) -> bool {
    if spec.is_rsa() {
        let bits = match spec {
            Spec::Rsa2048 => 2048,
            Spec::Rsa3072 => 3072,
            _ => 4096,
        };
        return rsa_pair(material).is_ok_and(|p| p.public_modulus_len() * 8 == bits);
    }
    if spec.is_ecc() {
        return ec_pair(spec, material).is_ok();
    }
    let range = match spec {
        Spec::Hmac224 => 28..=64,
        Spec::Hmac256 => 32..=64,
        Spec::Hmac384 => 48..=128,
        _ => 64..=128,
    };
    range.contains(&material.len())
}

/// Open key material a client wrapped for import with the RSA wrapping key `wrapping`:
/// RSA-OAEP directly (`RSAES_OAEP_SHA_1`/`_256`), or RSA-OAEP of an AES-256 key followed by
/// the material under AES key wrap with padding (RFC 5649; `RSA_AES_KEY_WRAP_SHA_1`/`_256`).
/// Anything that does not open is [`CryptoError::InvalidCiphertext`].
pub fn unwrap_import(
    wrapping: &SecretBytes,
    algorithm: &str,
    encrypted: &[u8],
) -> Result<SecretBytes, CryptoError> {
    use aws_lc_rs::key_wrap::{AES_256, AesKek, KeyWrapPadded as _};
    let oaep_alg = match algorithm {
        "RSAES_OAEP_SHA_1" | "RSAES_OAEP_SHA_256" => {
            return rsa_decrypt(algorithm, wrapping, encrypted);
        }
        "RSA_AES_KEY_WRAP_SHA_1" => "RSAES_OAEP_SHA_1",
        "RSA_AES_KEY_WRAP_SHA_256" => "RSAES_OAEP_SHA_256",
        _ => return Err(BACKEND),
    };
    let modulus = rsa_pair(wrapping)?.public_modulus_len();
    if encrypted.len() <= modulus {
        return Err(CryptoError::InvalidCiphertext);
    }
    let (wrapped_aes, wrapped_material) = encrypted.split_at(modulus);
    let aes = rsa_decrypt(oaep_alg, wrapping, wrapped_aes)?;
    let kek = AesKek::new(&AES_256, aes.expose()).map_err(|_| CryptoError::InvalidCiphertext)?;
    let mut out = SecretBytes::new(vec![0; wrapped_material.len()]);
    let n = kek
        .unwrap_with_padding(wrapped_material, out.as_mut_vec())
        .map_err(|_| CryptoError::InvalidCiphertext)?
        .len();
    out.as_mut_vec().truncate(n);
    Ok(out)
}

/// HMAC of `message` under the key `private` of HMAC `spec`.
pub fn mac(spec: Spec, private: &SecretBytes, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let key = hmac::Key::new(spec.hmac().ok_or(BACKEND)?, private.expose());
    Ok(hmac::sign(&key, message).as_ref().to_vec())
}

/// Whether `tag` is the HMAC of `message` (compared in constant time).
pub fn verify_mac(
    spec: Spec,
    private: &SecretBytes,
    message: &[u8],
    tag: &[u8],
) -> Result<bool, CryptoError> {
    let key = hmac::Key::new(spec.hmac().ok_or(BACKEND)?, private.expose());
    Ok(hmac::verify(&key, message, tag).is_ok())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_signing_spec_signs_and_verifies_raw_and_digest() {
        for spec in [
            Spec::Rsa2048,
            Spec::EccNistP256,
            Spec::EccNistP384,
            Spec::EccNistP521,
            Spec::EccSecgP256k1,
        ] {
            let key = generate(spec).unwrap();
            assert!(!public_key(spec, &key).unwrap().is_empty());
            for alg in spec.signing_algorithms() {
                let sig = sign(spec, alg, &key, b"hello", Message::Raw).unwrap();
                assert!(
                    verify(spec, alg, &key, b"hello", Message::Raw, &sig).unwrap(),
                    "{spec:?} {alg}"
                );
                assert!(!verify(spec, alg, &key, b"hellO", Message::Raw, &sig).unwrap());
                let h = digest::digest(hash_of(alg).unwrap(), b"hello");
                assert!(
                    verify(spec, alg, &key, h.as_ref(), Message::Digest, &sig).unwrap(),
                    "{spec:?} {alg} digest"
                );
            }
        }
    }

    #[test]
    fn rsa_oaep_round_trips_and_refuses_other_algorithms_ciphertexts() {
        let key = generate(Spec::Rsa2048).unwrap();
        for alg in Spec::Rsa2048.encryption_algorithms() {
            let max = Spec::Rsa2048.max_plaintext(alg).unwrap();
            let pt = vec![7u8; max];
            let ct = rsa_encrypt(alg, &key, &pt).unwrap();
            assert_eq!(rsa_decrypt(alg, &key, &ct).unwrap().expose(), &pt[..]);
        }
        let ct = rsa_encrypt("RSAES_OAEP_SHA_1", &key, b"x").unwrap();
        assert_eq!(
            rsa_decrypt("RSAES_OAEP_SHA_256", &key, &ct).err(),
            Some(CryptoError::InvalidCiphertext)
        );
    }

    #[test]
    fn ecdh_agrees_both_ways_and_hmac_verifies() {
        let a = generate(Spec::EccNistP256).unwrap();
        let b = generate(Spec::EccNistP256).unwrap();
        let ab = derive_shared_secret(
            Spec::EccNistP256,
            &a,
            &public_key(Spec::EccNistP256, &b).unwrap(),
        )
        .unwrap()
        .unwrap();
        let ba = derive_shared_secret(
            Spec::EccNistP256,
            &b,
            &public_key(Spec::EccNistP256, &a).unwrap(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(ab.expose(), ba.expose());
        assert!(
            derive_shared_secret(Spec::EccNistP256, &a, b"junk")
                .unwrap()
                .is_none()
        );
        let k = generate(Spec::Hmac256).unwrap();
        let tag = mac(Spec::Hmac256, &k, b"m").unwrap();
        assert!(verify_mac(Spec::Hmac256, &k, b"m", &tag).unwrap());
        assert!(!verify_mac(Spec::Hmac256, &k, b"n", &tag).unwrap());
    }
}
