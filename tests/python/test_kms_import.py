"""KMS imported key material (issue 20) against a spawned server, with openssl wrapping the
material: GetParametersForImport, ImportKeyMaterial, DeleteImportedKeyMaterial, expiry, and
re-import of the same material.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from helpers import assert_nowhere, leak_forms
from test_kms_asymmetric import _code, _openssl

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl wraps the key material")


@pytest.fixture(scope="module")
def kms(server):
    return server.client("kms")


def _wrapping_pem(params: dict, d: Path) -> Path:
    der, pem = d / "wrap.der", d / "wrap.pem"
    der.write_bytes(params["PublicKey"])
    _openssl("pkey", "-pubin", "-inform", "DER", "-in", str(der), "-out", str(pem))
    return pem


def _oaep(pem: Path, data: bytes, md: str = "sha256") -> bytes:
    return _openssl(
        "pkeyutl", "-encrypt", "-pubin", "-inkey", str(pem),
        "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", f"rsa_oaep_md:{md}", "-pkeyopt", f"rsa_mgf1_md:{md}",
        input=data,
    )


def _import(kms, key: str, material: bytes, d: Path, **extra) -> None:
    params = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    wrapped = _oaep(_wrapping_pem(params, d), material)
    extra.setdefault("ExpirationModel", "KEY_MATERIAL_DOES_NOT_EXPIRE")
    kms.import_key_material(KeyId=key, ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped, **extra)


def test_symmetric_import_delete_and_reimport(kms, tmp_path: Path) -> None:
    meta = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]
    key = meta["KeyId"]
    assert meta["Origin"] == "EXTERNAL" and meta["KeyState"] == "PendingImport" and not meta["Enabled"]
    assert _code(lambda: kms.encrypt(KeyId=key, Plaintext=b"x")) == "KMSInvalidStateException"
    assert _code(lambda: kms.enable_key(KeyId=key)) == "KMSInvalidStateException"
    # Deletion scheduled and cancelled: still waiting for material.
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    kms.cancel_key_deletion(KeyId=key)
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingImport"

    material = os.urandom(32)
    _import(kms, key, material, tmp_path)
    described = kms.describe_key(KeyId=key)["KeyMetadata"]
    assert described["KeyState"] == "Enabled" and described["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE"
    ct = kms.encrypt(KeyId=key, Plaintext=b"made with imported material")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=ct)["Plaintext"] == b"made with imported material"
    assert _code(lambda: kms.rotate_key_on_demand(KeyId=key)) == "UnsupportedOperationException"

    kms.delete_imported_key_material(KeyId=key)
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingImport"
    assert _code(lambda: kms.decrypt(CiphertextBlob=ct)) == "KMSInvalidStateException"

    # Other material is refused; the same material brings the old ciphertexts back.
    assert _code(lambda: _import(kms, key, os.urandom(32), tmp_path)) == "IncorrectKeyMaterialException"
    _import(kms, key, material, tmp_path)
    assert kms.decrypt(CiphertextBlob=ct)["Plaintext"] == b"made with imported material"


def test_import_errors(kms, tmp_path: Path) -> None:
    key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    other = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    generated = kms.create_key()["KeyMetadata"]["KeyId"]
    assert _code(lambda: kms.get_parameters_for_import(KeyId=generated, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")) == "UnsupportedOperationException"
    assert _code(lambda: kms.delete_imported_key_material(KeyId=generated)) == "UnsupportedOperationException"
    params = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_3072")
    assert params["ParametersValidTo"].timestamp() > time.time() + 23 * 3600
    wrapped = _oaep(_wrapping_pem(params, tmp_path), os.urandom(32))
    # A token of another key, a tampered token, undecryptable material, a missing ValidTo.
    assert _code(lambda: kms.import_key_material(KeyId=other, ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")) == "InvalidImportTokenException"
    bad = bytearray(params["ImportToken"])
    bad[-1] ^= 1
    assert _code(lambda: kms.import_key_material(KeyId=key, ImportToken=bytes(bad), EncryptedKeyMaterial=wrapped, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")) == "InvalidImportTokenException"
    assert _code(lambda: kms.import_key_material(KeyId=key, ImportToken=params["ImportToken"], EncryptedKeyMaterial=os.urandom(384), ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")) == "InvalidCiphertextException"
    assert _code(lambda: kms.import_key_material(KeyId=key, ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped)) == "ValidationException"
    # Material of the wrong size for the key.
    short = _oaep(_wrapping_pem(params, tmp_path), os.urandom(16))
    assert _code(lambda: kms.import_key_material(KeyId=key, ImportToken=params["ImportToken"], EncryptedKeyMaterial=short, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")) == "IncorrectKeyMaterialException"
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingImport", "failed imports changed nothing"


def test_material_expires_at_valid_to(kms, tmp_path: Path) -> None:
    key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    _import(kms, key, os.urandom(32), tmp_path, ExpirationModel="KEY_MATERIAL_EXPIRES", ValidTo=time.time() + 3)
    described = kms.describe_key(KeyId=key)["KeyMetadata"]
    assert described["ExpirationModel"] == "KEY_MATERIAL_EXPIRES" and "ValidTo" in described
    kms.encrypt(KeyId=key, Plaintext=b"x")
    time.sleep(3.5)
    assert _code(lambda: kms.encrypt(KeyId=key, Plaintext=b"x")) == "KMSInvalidStateException"
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingImport"


def test_asymmetric_material_wrapped_with_rsa_aes_key_wrap(kms, tmp_path: Path) -> None:
    """An EC private key made by openssl, wrapped the hybrid way, signs in coffer; openssl verifies
    the signature with its own public key."""
    key = kms.create_key(Origin="EXTERNAL", KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    private_pem = tmp_path / "ec.pem"
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(private_pem))
    pkcs8 = _openssl("pkcs8", "-topk8", "-nocrypt", "-in", str(private_pem), "-outform", "DER")
    params = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSA_AES_KEY_WRAP_SHA_256", WrappingKeySpec="RSA_4096")
    aes = os.urandom(32)
    (tmp_path / "ec.der").write_bytes(pkcs8)
    wrapped_material = _openssl("enc", "-id-aes256-wrap-pad", "-K", aes.hex(), "-iv", "A65959A6", "-in", str(tmp_path / "ec.der"))
    encrypted = _oaep(_wrapping_pem(params, tmp_path), aes) + wrapped_material
    kms.import_key_material(KeyId=key, ImportToken=params["ImportToken"], EncryptedKeyMaterial=encrypted, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    public = kms.get_public_key(KeyId=key)["PublicKey"]
    assert public == _openssl("pkey", "-in", str(private_pem), "-pubout", "-outform", "DER")
    message = b"signed with imported material"
    sig = kms.sign(KeyId=key, Message=message, SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    (tmp_path / "msg").write_bytes(message)
    (tmp_path / "sig").write_bytes(sig)
    pub_pem = tmp_path / "ec-pub.pem"
    _openssl("pkey", "-in", str(private_pem), "-pubout", "-out", str(pub_pem))
    assert b"Verified OK" in _openssl("dgst", "-sha256", "-verify", str(pub_pem), "-signature", str(tmp_path / "sig"), str(tmp_path / "msg"))
    # An RSA key is not material for an ECC key.
    other = kms.create_key(Origin="EXTERNAL", KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    rsa_pem = tmp_path / "rsa.pem"
    _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(rsa_pem))
    (tmp_path / "rsa.der").write_bytes(_openssl("pkcs8", "-topk8", "-nocrypt", "-in", str(rsa_pem), "-outform", "DER"))
    params = kms.get_parameters_for_import(KeyId=other, WrappingAlgorithm="RSA_AES_KEY_WRAP_SHA_256", WrappingKeySpec="RSA_2048")
    wrapped_material = _openssl("enc", "-id-aes256-wrap-pad", "-K", aes.hex(), "-iv", "A65959A6", "-in", str(tmp_path / "rsa.der"))
    encrypted = _oaep(_wrapping_pem(params, tmp_path), aes) + wrapped_material
    assert _code(lambda: kms.import_key_material(KeyId=other, ImportToken=params["ImportToken"], EncryptedKeyMaterial=encrypted, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")) == "IncorrectKeyMaterialException"


def test_hmac_material_imports_and_macs_as_python_computes(kms, tmp_path: Path) -> None:
    import hashlib
    import hmac

    key = kms.create_key(Origin="EXTERNAL", KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    material = os.urandom(48)
    _import(kms, key, material, tmp_path)
    mac = kms.generate_mac(KeyId=key, Message=b"payload", MacAlgorithm="HMAC_SHA_256")["Mac"]
    assert mac == hmac.new(material, b"payload", hashlib.sha256).digest()
    # 16 bytes is below what an HMAC_256 key takes.
    other = kms.create_key(Origin="EXTERNAL", KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    assert _code(lambda: _import(kms, other, os.urandom(16), tmp_path)) == "IncorrectKeyMaterialException"


def _lookup_events_text(server) -> bytes:
    """Every event LookupEvents returns (the CloudTrailEvent documents included), as bytes."""
    trail = server.client("cloudtrail")
    out, token = [], None
    while True:
        page = trail.lookup_events(MaxResults=50, **({"NextToken": token} if token else {}))
        out.extend(page["Events"])
        token = page.get("NextToken")
        if not token:
            return json.dumps(out, default=str).encode()


def test_private_key_material_is_nowhere_after_use(server, kms, tmp_path: Path) -> None:
    """Imported private keys (PKCS#8 DER) and HMAC key bytes, the AES key that wrapped them, and a
    data key pair's private key: after they were imported and used, none of them is in the data
    directory, the server log or the audit trail that LookupEvents returns — raw, base64 at
    every alignment, hex, UTF-16 or JSON-escaped."""
    secrets: dict[str, bytes] = {}
    # An EC and an RSA private key, imported the hybrid way, then used to sign.
    for spec, gen in (("ECC_NIST_P384", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]), ("RSA_2048", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])):
        key = kms.create_key(Origin="EXTERNAL", KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
        pem = tmp_path / f"{spec}.pem"
        _openssl("genpkey", *gen, "-out", str(pem))
        der = _openssl("pkcs8", "-topk8", "-nocrypt", "-in", str(pem), "-outform", "DER")
        (tmp_path / f"{spec}.der").write_bytes(der)
        aes = os.urandom(32)
        params = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSA_AES_KEY_WRAP_SHA_256", WrappingKeySpec="RSA_3072")
        wrapped = _openssl("enc", "-id-aes256-wrap-pad", "-K", aes.hex(), "-iv", "A65959A6", "-in", str(tmp_path / f"{spec}.der"))
        kms.import_key_material(
            KeyId=key, ImportToken=params["ImportToken"], EncryptedKeyMaterial=_oaep(_wrapping_pem(params, tmp_path), aes) + wrapped,
            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
        )
        alg = "ECDSA_SHA_384" if spec.startswith("ECC") else "RSASSA_PSS_SHA_256"
        sig = kms.sign(KeyId=key, Message=b"leak check", SigningAlgorithm=alg)["Signature"]
        assert kms.verify(KeyId=key, Message=b"leak check", Signature=sig, SigningAlgorithm=alg)["SignatureValid"]
        secrets[f"{spec} PKCS#8 private key"] = der
        secrets[f"{spec} wrapping AES key"] = aes
    # HMAC key bytes, imported and used.
    hmac_key = kms.create_key(Origin="EXTERNAL", KeySpec="HMAC_512", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    material = os.urandom(64)
    _import(kms, hmac_key, material, tmp_path)
    mac = kms.generate_mac(KeyId=hmac_key, Message=b"leak check", MacAlgorithm="HMAC_SHA_512")["Mac"]
    assert kms.verify_mac(KeyId=hmac_key, Message=b"leak check", Mac=mac, MacAlgorithm="HMAC_SHA_512")["MacValid"]
    secrets["HMAC key"] = material
    # A data key pair's private key, which only the caller may ever see.
    pair = kms.generate_data_key_pair(KeyId=kms.create_key()["KeyMetadata"]["KeyId"], KeyPairSpec="ECC_NIST_P256")
    secrets["data key pair private key"] = pair["PrivateKeyPlaintext"]

    trail = _lookup_events_text(server)
    assert b"ImportKeyMaterial" in trail and b"GenerateMac" in trail and b"GenerateDataKeyPair" in trail, "the calls are audited"
    for what, secret in secrets.items():
        assert_nowhere(secret, server, what)
        for form, needle in leak_forms(secret).items():
            assert needle not in trail, f"{what} ({form}) in LookupEvents"
