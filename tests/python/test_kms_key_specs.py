"""KMS key specs beyond the common ones (issue 20), each checked by an independent
implementation — Python's hmac and the `cryptography` package — against a spawned server:
HMAC_224/256/384/512 with imported known material and with generated keys, ECDH on NIST P-384
and P-521, and RSA_3072/RSA_4096 KMS keys and data key pairs.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

import pytest

pytest.importorskip("cryptography")
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa  # noqa: E402

from test_kms_asymmetric import _code  # noqa: E402
from test_kms_import import _import  # noqa: E402

HMAC_SPECS = {
    # spec: (MacAlgorithm, hashlib digest, length of the imported material: within AWS's range)
    "HMAC_224": ("HMAC_SHA_224", hashlib.sha224, 40),
    "HMAC_256": ("HMAC_SHA_256", hashlib.sha256, 48),
    "HMAC_384": ("HMAC_SHA_384", hashlib.sha384, 96),
    "HMAC_512": ("HMAC_SHA_512", hashlib.sha512, 128),
}


@pytest.fixture(scope="module")
def kms(server):
    return server.client("kms")


@pytest.mark.parametrize("spec", sorted(HMAC_SPECS))
def test_hmac_specs_with_known_material_match_python(kms, tmp_path: Path, spec: str) -> None:
    algorithm, digest, size = HMAC_SPECS[spec]
    key = kms.create_key(Origin="EXTERNAL", KeySpec=spec, KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    material = os.urandom(size)
    _import(kms, key, material, tmp_path)
    for message in (b"payload", os.urandom(4096)):  # 4096 bytes: the most GenerateMac takes
        out = kms.generate_mac(KeyId=key, Message=message, MacAlgorithm=algorithm)
        assert out["MacAlgorithm"] == algorithm
        assert out["Mac"] == hmac.new(material, message, digest).digest()
        assert kms.verify_mac(KeyId=key, Message=message, Mac=out["Mac"], MacAlgorithm=algorithm)["MacValid"] is True
    # A MAC Python made with the same material verifies in coffer; a changed one does not.
    theirs = hmac.new(material, b"from python", digest).digest()
    assert kms.verify_mac(KeyId=key, Message=b"from python", Mac=theirs, MacAlgorithm=algorithm)["MacValid"] is True
    bad = bytes([theirs[0] ^ 1]) + theirs[1:]
    assert _code(lambda: kms.verify_mac(KeyId=key, Message=b"from python", Mac=bad, MacAlgorithm=algorithm)) == "KMSInvalidMacException"


@pytest.mark.parametrize("spec", sorted(HMAC_SPECS))
def test_generated_hmac_keys_round_trip(kms, spec: str) -> None:
    algorithm, digest, _ = HMAC_SPECS[spec]
    meta = kms.create_key(KeySpec=spec, KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    assert meta["MacAlgorithms"] == [algorithm]
    mac = kms.generate_mac(KeyId=meta["KeyId"], Message=b"round trip", MacAlgorithm=algorithm)["Mac"]
    assert len(mac) == digest().digest_size
    assert kms.verify_mac(KeyId=meta["KeyId"], Message=b"round trip", Mac=mac, MacAlgorithm=algorithm)["MacValid"] is True
    assert _code(lambda: kms.verify_mac(KeyId=meta["KeyId"], Message=b"round trip!", Mac=mac, MacAlgorithm=algorithm)) == "KMSInvalidMacException"


@pytest.mark.parametrize(("spec", "curve"), [("ECC_NIST_P384", ec.SECP384R1()), ("ECC_NIST_P521", ec.SECP521R1())])
def test_ecdh_on_p384_and_p521_agrees_with_cryptography(kms, spec: str, curve) -> None:
    key = kms.create_key(KeySpec=spec, KeyUsage="KEY_AGREEMENT")["KeyMetadata"]["KeyId"]
    coffer_public = serialization.load_der_public_key(kms.get_public_key(KeyId=key)["PublicKey"])
    assert isinstance(coffer_public, ec.EllipticCurvePublicKey) and coffer_public.curve.name == curve.name
    peer = ec.generate_private_key(curve)
    peer_der = peer.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    out = kms.derive_shared_secret(KeyId=key, KeyAgreementAlgorithm="ECDH", PublicKey=peer_der)
    assert out["SharedSecret"] == peer.exchange(ec.ECDH(), coffer_public)
    assert len(out["SharedSecret"]) == (curve.key_size + 7) // 8
    # A public key on another curve is not one to agree with.
    other = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert _code(lambda: kms.derive_shared_secret(KeyId=key, KeyAgreementAlgorithm="ECDH", PublicKey=other)) == "ValidationException"


@pytest.mark.parametrize(("spec", "bits"), [("RSA_3072", 3072), ("RSA_4096", 4096)])
def test_rsa_3072_and_4096_keys_and_data_key_pairs(kms, spec: str, bits: int) -> None:
    # Signing keys: coffer's signatures verify with cryptography.
    signing = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    public = serialization.load_der_public_key(kms.get_public_key(KeyId=signing)["PublicKey"])
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == bits
    message = b"signed with a large RSA key"
    pss = kms.sign(KeyId=signing, Message=message, SigningAlgorithm="RSASSA_PSS_SHA_512")["Signature"]
    assert len(pss) == bits // 8
    public.verify(pss, message, padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=hashes.SHA512().digest_size), hashes.SHA512())
    pkcs1 = kms.sign(KeyId=signing, Message=message, SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_384")["Signature"]
    public.verify(pkcs1, message, padding.PKCS1v15(), hashes.SHA384())
    # Encryption keys: cryptography encrypts to the public key, coffer decrypts; AWS's limits.
    crypt = kms.create_key(KeySpec=spec, KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
    enc_public = serialization.load_der_public_key(kms.get_public_key(KeyId=crypt)["PublicKey"])
    ciphertext = enc_public.encrypt(b"to coffer", padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
    assert kms.decrypt(KeyId=crypt, CiphertextBlob=ciphertext, EncryptionAlgorithm="RSAES_OAEP_SHA_256")["Plaintext"] == b"to coffer"
    limit = bits // 8 - 2 * 32 - 2
    kms.encrypt(KeyId=crypt, Plaintext=b"x" * limit, EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    assert _code(lambda: kms.encrypt(KeyId=crypt, Plaintext=b"x" * (limit + 1), EncryptionAlgorithm="RSAES_OAEP_SHA_256")) == "ValidationException"
    # Data key pairs: the private key is a real PKCS#8 key of that size matching the public key.
    wrapping = kms.create_key()["KeyMetadata"]["KeyId"]
    pair = kms.generate_data_key_pair(KeyId=wrapping, KeyPairSpec=spec)
    private = serialization.load_der_private_key(pair["PrivateKeyPlaintext"], password=None)
    assert isinstance(private, rsa.RSAPrivateKey) and private.key_size == bits
    assert private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) == pair["PublicKey"]
    assert kms.decrypt(CiphertextBlob=pair["PrivateKeyCiphertextBlob"])["Plaintext"] == pair["PrivateKeyPlaintext"]
    bare = kms.generate_data_key_pair_without_plaintext(KeyId=wrapping, KeyPairSpec=spec)
    assert "PrivateKeyPlaintext" not in bare
    opened = serialization.load_der_private_key(kms.decrypt(CiphertextBlob=bare["PrivateKeyCiphertextBlob"])["Plaintext"], password=None)
    assert opened.key_size == bits
