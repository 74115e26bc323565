"""KMS asymmetric and HMAC keys against a spawned server (issue 20), with openssl as the
independent judge: coffer's signatures verify with the public key GetPublicKey returns, openssl's
RSA-OAEP ciphertexts decrypt in coffer, ECDH agrees with openssl's, data key pairs are real keys.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from coffer_harness import error_code, files_under, stored_bytes

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is the independent judge")


def _openssl(*args: str, input: bytes | None = None) -> bytes:
    out = subprocess.run(["openssl", *args], input=input, capture_output=True)
    assert out.returncode == 0, out.stderr.decode()
    return out.stdout


def _code(call) -> str:
    with pytest.raises(ClientError) as e:
        call()
    return error_code(e.value)


def _public_pem(kms, key_id: str, d: Path) -> Path:
    der = d / f"{key_id}.der"
    der.write_bytes(kms.get_public_key(KeyId=key_id)["PublicKey"])
    pem = d / f"{key_id}.pem"
    _openssl("pkey", "-pubin", "-inform", "DER", "-in", str(der), "-out", str(pem))
    return pem


@pytest.fixture(scope="module")
def kms(server):
    return server.client("kms")


def _key(kms, spec: str, usage: str) -> str:
    return kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]["KeyId"]


def test_create_key_specs_and_usages(kms) -> None:
    meta = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    assert meta["KeySpec"] == "RSA_2048" and meta["KeyUsage"] == "SIGN_VERIFY"
    assert "RSASSA_PSS_SHA_256" in meta["SigningAlgorithms"]
    assert "EncryptionAlgorithms" not in meta
    meta = kms.create_key(KeySpec="RSA_3072", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
    assert meta["EncryptionAlgorithms"] == ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
    meta = kms.create_key(KeySpec="HMAC_384", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    assert meta["MacAlgorithms"] == ["HMAC_SHA_384"]
    meta = kms.create_key(KeySpec="ECC_NIST_P384", KeyUsage="KEY_AGREEMENT")["KeyMetadata"]
    assert meta["KeyAgreementAlgorithms"] == ["ECDH"]
    assert kms.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]["KeySpec"] == "ECC_NIST_P384"
    # Usages a spec does not have, and SM2 outside China.
    assert _code(lambda: kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="ENCRYPT_DECRYPT")) == "ValidationException"
    assert _code(lambda: kms.create_key(KeySpec="ECC_SECG_P256K1", KeyUsage="KEY_AGREEMENT")) == "ValidationException"
    assert _code(lambda: kms.create_key(KeySpec="HMAC_256", KeyUsage="SIGN_VERIFY")) == "ValidationException"
    assert _code(lambda: kms.create_key(KeySpec="SM2", KeyUsage="SIGN_VERIFY")) == "UnsupportedOperationException"
    # Rotation is for symmetric keys only.
    rsa = _key(kms, "RSA_2048", "SIGN_VERIFY")
    assert _code(lambda: kms.enable_key_rotation(KeyId=rsa)) == "UnsupportedOperationException"
    assert _code(lambda: kms.rotate_key_on_demand(KeyId=rsa)) == "UnsupportedOperationException"


@pytest.mark.parametrize(
    "spec,algorithms",
    [
        ("RSA_2048", ["RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512", "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512"]),
        ("RSA_4096", ["RSASSA_PSS_SHA_256"]),
        ("ECC_NIST_P256", ["ECDSA_SHA_256"]),
        ("ECC_NIST_P384", ["ECDSA_SHA_384"]),
        ("ECC_NIST_P521", ["ECDSA_SHA_512"]),
        ("ECC_SECG_P256K1", ["ECDSA_SHA_256"]),
    ],
)
def test_signatures_verify_in_coffer_and_with_openssl(kms, tmp_path: Path, spec: str, algorithms: list[str]) -> None:
    key = _key(kms, spec, "SIGN_VERIFY")
    pem = _public_pem(kms, key, tmp_path)
    message = b"the message coffer signs " * 10
    (tmp_path / "msg").write_bytes(message)
    for alg in algorithms:
        hash_name = "sha" + alg.rsplit("_", 1)[1]
        for message_type, payload in (("RAW", message), ("DIGEST", hashlib.new(hash_name, message).digest())):
            out = kms.sign(KeyId=key, Message=payload, MessageType=message_type, SigningAlgorithm=alg)
            assert out["SigningAlgorithm"] == alg and out["KeyId"].endswith(key)
            sig = out["Signature"]
            ok = kms.verify(KeyId=key, Message=payload, MessageType=message_type, Signature=sig, SigningAlgorithm=alg)
            assert ok["SignatureValid"] is True
            (tmp_path / "sig").write_bytes(sig)
            opts = []
            if "PSS" in alg:
                opts = ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest"]
            verified = _openssl("dgst", f"-{hash_name}", "-verify", str(pem), "-signature", str(tmp_path / "sig"), *opts, str(tmp_path / "msg"))
            assert b"Verified OK" in verified, (alg, message_type)
    alg = algorithms[0]
    sig = kms.sign(KeyId=key, Message=message, SigningAlgorithm=alg)["Signature"]
    assert _code(lambda: kms.verify(KeyId=key, Message=message + b"!", Signature=sig, SigningAlgorithm=alg)) == "KMSInvalidSignatureException"
    assert _code(lambda: kms.sign(KeyId=key, Message=b"short", MessageType="DIGEST", SigningAlgorithm=alg)) == "ValidationException"
    other = "ECDSA_SHA_256" if spec.startswith("RSA") else "RSASSA_PSS_SHA_256"
    if other == "ECDSA_SHA_256" or spec != "ECC_NIST_P256":
        assert _code(lambda: kms.sign(KeyId=key, Message=message, SigningAlgorithm=other)) == "InvalidKeyUsageException"


def test_usage_and_state_are_enforced(kms) -> None:
    signing = _key(kms, "ECC_NIST_P256", "SIGN_VERIFY")
    symmetric = kms.create_key()["KeyMetadata"]["KeyId"]
    assert _code(lambda: kms.encrypt(KeyId=signing, Plaintext=b"x")) == "InvalidKeyUsageException"
    assert _code(lambda: kms.generate_data_key(KeyId=signing, KeySpec="AES_256")) == "InvalidKeyUsageException"
    assert _code(lambda: kms.sign(KeyId=symmetric, Message=b"x", SigningAlgorithm="ECDSA_SHA_256")) == "InvalidKeyUsageException"
    assert _code(lambda: kms.get_public_key(KeyId=symmetric)) == "UnsupportedOperationException"
    assert _code(lambda: kms.sign(KeyId=signing, Message=b"x", SigningAlgorithm="ECDSA_SHA_256", DryRun=True)) == "DryRunOperationException"
    kms.disable_key(KeyId=signing)
    assert _code(lambda: kms.sign(KeyId=signing, Message=b"x", SigningAlgorithm="ECDSA_SHA_256")) == "DisabledException"
    kms.enable_key(KeyId=signing)
    kms.schedule_key_deletion(KeyId=signing, PendingWindowInDays=7)
    assert _code(lambda: kms.sign(KeyId=signing, Message=b"x", SigningAlgorithm="ECDSA_SHA_256")) == "KMSInvalidStateException"


def _error(call) -> tuple[str, str]:
    with pytest.raises(ClientError) as e:
        call()
    return error_code(e.value), e.value.response["Error"]["Message"]


def test_disabled_and_pending_deletion_keys_refuse_every_operation(kms) -> None:
    """AWS's key-state table (developerguide/key-state.html): a disabled key refuses with
    DisabledException "<key ARN> is disabled.", a key pending deletion with
    KMSInvalidStateException "<key ARN> is pending deletion." — for the operations of
    asymmetric, HMAC and key-agreement keys too, and GenerateDataKeyPair's symmetric key."""
    signing = _key(kms, "ECC_NIST_P256", "SIGN_VERIFY")
    hmac = _key(kms, "HMAC_256", "GENERATE_VERIFY_MAC")
    agreement = _key(kms, "ECC_NIST_P256", "KEY_AGREEMENT")
    symmetric = kms.create_key()["KeyMetadata"]["KeyId"]
    peer = kms.get_public_key(KeyId=_key(kms, "ECC_NIST_P256", "KEY_AGREEMENT"))["PublicKey"]
    signature = kms.sign(KeyId=signing, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    mac = kms.generate_mac(KeyId=hmac, Message=b"m", MacAlgorithm="HMAC_SHA_256")["Mac"]
    calls = {
        "Sign": (signing, lambda: kms.sign(KeyId=signing, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")),
        "Verify": (signing, lambda: kms.verify(KeyId=signing, Message=b"m", Signature=signature, SigningAlgorithm="ECDSA_SHA_256")),
        "GenerateMac": (hmac, lambda: kms.generate_mac(KeyId=hmac, Message=b"m", MacAlgorithm="HMAC_SHA_256")),
        "VerifyMac": (hmac, lambda: kms.verify_mac(KeyId=hmac, Message=b"m", Mac=mac, MacAlgorithm="HMAC_SHA_256")),
        "DeriveSharedSecret": (agreement, lambda: kms.derive_shared_secret(KeyId=agreement, KeyAgreementAlgorithm="ECDH", PublicKey=peer)),
        "GenerateDataKeyPair": (symmetric, lambda: kms.generate_data_key_pair(KeyId=symmetric, KeyPairSpec="ECC_NIST_P256")),
        "GenerateDataKeyPairWithoutPlaintext": (
            symmetric,
            lambda: kms.generate_data_key_pair_without_plaintext(KeyId=symmetric, KeyPairSpec="RSA_2048"),
        ),
    }
    arns = {k: kms.describe_key(KeyId=k)["KeyMetadata"]["Arn"] for k in (signing, hmac, agreement, symmetric)}
    for k in arns:
        kms.disable_key(KeyId=k)
    for op, (key, call) in calls.items():
        assert _error(call) == ("DisabledException", f"{arns[key]} is disabled."), op
    for k in arns:
        kms.enable_key(KeyId=k)
        kms.schedule_key_deletion(KeyId=k, PendingWindowInDays=7)
    for op, (key, call) in calls.items():
        assert _error(call) == ("KMSInvalidStateException", f"{arns[key]} is pending deletion."), op


def test_usage_and_algorithm_messages_are_aws_words(kms) -> None:
    """The InvalidKeyUsageException and ValidationException texts AWS sends for a key used
    against its usage, its key spec or its algorithms (as recorded against AWS by LocalStack's
    validated KMS tests and local-kms): "<key ARN> key usage is USAGE which is not valid for
    Operation.", "<key ARN> key KeySpec is SPEC which is not valid for Operation.", "Algorithm
    ALG is incompatible with key spec SPEC.", "Algorithm ALG and key spec SPEC cannot encrypt data
    larger than N bytes."."""
    arn = lambda k: kms.describe_key(KeyId=k)["KeyMetadata"]["Arn"]  # noqa: E731
    signing = _key(kms, "ECC_NIST_P256", "SIGN_VERIFY")
    symmetric = kms.create_key()["KeyMetadata"]["KeyId"]
    rsa = _key(kms, "RSA_2048", "ENCRYPT_DECRYPT")
    hmac = _key(kms, "HMAC_256", "GENERATE_VERIFY_MAC")
    peer = kms.get_public_key(KeyId=_key(kms, "ECC_NIST_P256", "KEY_AGREEMENT"))["PublicKey"]
    usage = "InvalidKeyUsageException"
    cases = [
        (lambda: kms.encrypt(KeyId=signing, Plaintext=b"x"), usage, f"{arn(signing)} key usage is SIGN_VERIFY which is not valid for Encrypt."),
        (lambda: kms.generate_data_key(KeyId=signing, KeySpec="AES_256"), usage, f"{arn(signing)} key usage is SIGN_VERIFY which is not valid for GenerateDataKey."),
        (lambda: kms.sign(KeyId=symmetric, Message=b"x", SigningAlgorithm="ECDSA_SHA_256"), usage, f"{arn(symmetric)} key usage is ENCRYPT_DECRYPT which is not valid for Sign."),
        (lambda: kms.generate_mac(KeyId=signing, Message=b"x", MacAlgorithm="HMAC_SHA_256"), usage, f"{arn(signing)} key usage is SIGN_VERIFY which is not valid for GenerateMac."),
        (
            lambda: kms.derive_shared_secret(KeyId=signing, KeyAgreementAlgorithm="ECDH", PublicKey=peer),
            usage,
            f"{arn(signing)} key usage is SIGN_VERIFY which is not valid for DeriveSharedSecret.",
        ),
        (lambda: kms.generate_data_key(KeyId=rsa, KeySpec="AES_256"), usage, f"{arn(rsa)} key KeySpec is RSA_2048 which is not valid for GenerateDataKey."),
        (lambda: kms.sign(KeyId=signing, Message=b"x", SigningAlgorithm="RSASSA_PSS_SHA_256"), usage, "Algorithm RSASSA_PSS_SHA_256 is incompatible with key spec ECC_NIST_P256."),
        (lambda: kms.generate_mac(KeyId=hmac, Message=b"x", MacAlgorithm="HMAC_SHA_384"), usage, "Algorithm HMAC_SHA_384 is incompatible with key spec HMAC_256."),
        (lambda: kms.encrypt(KeyId=rsa, Plaintext=b"x"), usage, "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048."),
        (
            lambda: kms.encrypt(KeyId=symmetric, Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256"),
            usage,
            "Algorithm RSAES_OAEP_SHA_256 is incompatible with key spec SYMMETRIC_DEFAULT.",
        ),
        (
            lambda: kms.encrypt(KeyId=rsa, Plaintext=b"x" * 191, EncryptionAlgorithm="RSAES_OAEP_SHA_256"),
            "ValidationException",
            "Algorithm RSAES_OAEP_SHA_256 and key spec RSA_2048 cannot encrypt data larger than 190 bytes.",
        ),
    ]
    for i, (call, code, message) in enumerate(cases):
        assert _error(call) == (code, message), i


def test_rsa_encryption_both_ways_with_openssl(kms, tmp_path: Path) -> None:
    key = _key(kms, "RSA_2048", "ENCRYPT_DECRYPT")
    pem = _public_pem(kms, key, tmp_path)
    for alg, md in (("RSAES_OAEP_SHA_1", "sha1"), ("RSAES_OAEP_SHA_256", "sha256")):
        out = kms.encrypt(KeyId=key, Plaintext=b"coffer to coffer", EncryptionAlgorithm=alg)
        assert out["EncryptionAlgorithm"] == alg and len(out["CiphertextBlob"]) == 256
        back = kms.decrypt(KeyId=key, CiphertextBlob=out["CiphertextBlob"], EncryptionAlgorithm=alg)
        assert back["Plaintext"] == b"coffer to coffer" and back["EncryptionAlgorithm"] == alg
        made_by_openssl = _openssl(
            "pkeyutl", "-encrypt", "-pubin", "-inkey", str(pem),
            "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", f"rsa_oaep_md:{md}", "-pkeyopt", f"rsa_mgf1_md:{md}",
            input=b"openssl to coffer",
        )
        assert kms.decrypt(KeyId=key, CiphertextBlob=made_by_openssl, EncryptionAlgorithm=alg)["Plaintext"] == b"openssl to coffer"
    # AWS's size limits, the algorithm the key needs, and KeyId required.
    assert _code(lambda: kms.encrypt(KeyId=key, Plaintext=b"x" * 191, EncryptionAlgorithm="RSAES_OAEP_SHA_256")) == "ValidationException"
    kms.encrypt(KeyId=key, Plaintext=b"x" * 190, EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    assert _code(lambda: kms.encrypt(KeyId=key, Plaintext=b"x")) == "InvalidKeyUsageException"
    ct = kms.encrypt(KeyId=key, Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_1")["CiphertextBlob"]
    assert _code(lambda: kms.decrypt(CiphertextBlob=ct, EncryptionAlgorithm="RSAES_OAEP_SHA_1")) == "ValidationException"
    assert _code(lambda: kms.decrypt(KeyId=key, CiphertextBlob=ct, EncryptionAlgorithm="RSAES_OAEP_SHA_256")) == "InvalidCiphertextException"
    # ReEncrypt from RSA to a symmetric key and back out.
    symmetric = kms.create_key()["KeyMetadata"]["KeyId"]
    re = kms.re_encrypt(CiphertextBlob=ct, SourceKeyId=key, SourceEncryptionAlgorithm="RSAES_OAEP_SHA_1", DestinationKeyId=symmetric)
    assert re["SourceEncryptionAlgorithm"] == "RSAES_OAEP_SHA_1" and re["DestinationEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert kms.decrypt(CiphertextBlob=re["CiphertextBlob"])["Plaintext"] == b"x"


def test_hmac(kms) -> None:
    key = _key(kms, "HMAC_256", "GENERATE_VERIFY_MAC")
    mac = kms.generate_mac(KeyId=key, Message=b"payload", MacAlgorithm="HMAC_SHA_256")
    assert len(mac["Mac"]) == 32 and mac["MacAlgorithm"] == "HMAC_SHA_256"
    again = kms.generate_mac(KeyId=key, Message=b"payload", MacAlgorithm="HMAC_SHA_256")["Mac"]
    assert again == mac["Mac"]
    assert kms.verify_mac(KeyId=key, Message=b"payload", MacAlgorithm="HMAC_SHA_256", Mac=mac["Mac"])["MacValid"] is True
    assert _code(lambda: kms.verify_mac(KeyId=key, Message=b"payloaD", MacAlgorithm="HMAC_SHA_256", Mac=mac["Mac"])) == "KMSInvalidMacException"
    assert _code(lambda: kms.generate_mac(KeyId=key, Message=b"p", MacAlgorithm="HMAC_SHA_512")) == "InvalidKeyUsageException"
    other = _key(kms, "HMAC_256", "GENERATE_VERIFY_MAC")
    assert kms.generate_mac(KeyId=other, Message=b"payload", MacAlgorithm="HMAC_SHA_256")["Mac"] != mac["Mac"]
    assert _code(lambda: kms.encrypt(KeyId=key, Plaintext=b"x")) == "InvalidKeyUsageException"


def test_derive_shared_secret_agrees_with_openssl(kms, tmp_path: Path) -> None:
    key = _key(kms, "ECC_NIST_P256", "KEY_AGREEMENT")
    coffer_pub = _public_pem(kms, key, tmp_path)
    peer = tmp_path / "peer.pem"
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(peer))
    peer_der = _openssl("pkey", "-in", str(peer), "-pubout", "-outform", "DER")
    out = kms.derive_shared_secret(KeyId=key, KeyAgreementAlgorithm="ECDH", PublicKey=peer_der)
    expected = _openssl("pkeyutl", "-derive", "-inkey", str(peer), "-peerkey", str(coffer_pub))
    assert out["SharedSecret"] == expected
    assert _code(lambda: kms.derive_shared_secret(KeyId=key, KeyAgreementAlgorithm="ECDH", PublicKey=b"not a key")) == "ValidationException"
    signing = _key(kms, "ECC_NIST_P256", "SIGN_VERIFY")
    assert _code(lambda: kms.derive_shared_secret(KeyId=signing, KeyAgreementAlgorithm="ECDH", PublicKey=peer_der)) == "InvalidKeyUsageException"


def test_data_key_pairs_are_real_keys_sealed_by_kms(server, kms, tmp_path: Path) -> None:
    wrapping = kms.create_key()["KeyMetadata"]["KeyId"]
    for spec in ("RSA_2048", "ECC_NIST_P256", "ECC_SECG_P256K1"):
        out = kms.generate_data_key_pair(KeyId=wrapping, KeyPairSpec=spec, EncryptionContext={"purpose": "test"})
        private = out["PrivateKeyPlaintext"]
        (tmp_path / "priv.der").write_bytes(private)
        derived_public = _openssl("pkey", "-inform", "DER", "-in", str(tmp_path / "priv.der"), "-pubout", "-outform", "DER")
        assert derived_public == out["PublicKey"], spec
        opened = kms.decrypt(CiphertextBlob=out["PrivateKeyCiphertextBlob"], EncryptionContext={"purpose": "test"})
        assert opened["Plaintext"] == private
        assert _code(lambda: kms.decrypt(CiphertextBlob=out["PrivateKeyCiphertextBlob"])) == "InvalidCiphertextException"
        # The private key reaches neither the data directory nor the log.
        for f in files_under(server.data_dir):
            assert private not in stored_bytes(f), f
        assert private not in server.log_bytes()
    bare = kms.generate_data_key_pair_without_plaintext(KeyId=wrapping, KeyPairSpec="ECC_NIST_P384")
    assert "PrivateKeyPlaintext" not in bare and bare["KeyPairSpec"] == "ECC_NIST_P384"
    signing = _key(kms, "RSA_2048", "SIGN_VERIFY")
    assert _code(lambda: kms.generate_data_key_pair(KeyId=signing, KeyPairSpec="RSA_2048")) == "InvalidKeyUsageException"
    assert _code(lambda: kms.generate_data_key_pair(KeyId=wrapping, KeyPairSpec="SM2")) == "UnsupportedOperationException"
