"""KMS DryRun (coffer issue 20) on every operation that has the member — CreateGrant, Decrypt,
DeriveSharedSecret, Encrypt, GenerateDataKey, GenerateDataKeyPair,
GenerateDataKeyPairWithoutPlaintext, GenerateDataKeyWithoutPlaintext, GenerateMac, ReEncrypt,
RetireGrant, RevokeGrant, Sign, Verify, VerifyMac — with boto3 against a spawned server.

AWS: "Checks if your request will succeed. DryRun is an optional parameter. To learn more about
how to use this parameter, see Testing your permissions" — a caller the request would be allowed
for gets DryRunOperationException and nothing happens; a caller it would be refused for gets
AccessDeniedException (<https://docs.aws.amazon.com/kms/latest/developerguide/testing-permissions.html>).
"""

from __future__ import annotations

import pytest

from coffer_harness import ACCOUNT, error_code
from test_access_control import client
from test_kms_grants import assumed

DRY_RUN_OPERATIONS = [
    "CreateGrant",
    "Decrypt",
    "DeriveSharedSecret",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateMac",
    "ReEncrypt",
    "RetireGrant",
    "RevokeGrant",
    "Sign",
    "Verify",
    "VerifyMac",
]


@pytest.fixture(scope="module")
def world(server):
    kms = server.client("kms")
    iam, sts = server.client("iam"), server.client("sts")
    _, creds = assumed(server, iam, sts, ACCOUNT, "dry-run-nobody")
    # The grants of the test go to another role: the caller refused has no permission at all.
    role, _ = assumed(server, iam, sts, ACCOUNT, "dry-run-grantee")
    sym = kms.create_key(Description="dry-run symmetric")["KeyMetadata"]["Arn"]
    sym2 = kms.create_key(Description="dry-run destination")["KeyMetadata"]["Arn"]
    rsa = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    hmac = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["Arn"]
    ecdh = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="KEY_AGREEMENT")["KeyMetadata"]["Arn"]
    peer = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="KEY_AGREEMENT")["KeyMetadata"]["Arn"]
    blob = kms.encrypt(KeyId=sym, Plaintext=b"dry run")["CiphertextBlob"]
    signature = kms.sign(KeyId=rsa, Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256")["Signature"]
    mac = kms.generate_mac(KeyId=hmac, Message=b"m", MacAlgorithm="HMAC_SHA_256")["Mac"]
    return {
        "kms": kms,
        "nobody": client(server, "kms", creds),
        "role": role,
        "sym": sym,
        "sym2": sym2,
        "rsa": rsa,
        "hmac": hmac,
        "ecdh": ecdh,
        "peer_public": kms.get_public_key(KeyId=peer)["PublicKey"],
        "blob": blob,
        "signature": signature,
        "mac": mac,
    }


def _grant(w) -> dict:
    return w["kms"].create_grant(KeyId=w["sym"], GranteePrincipal=w["role"], Operations=["Encrypt"], RetiringPrincipal=f"arn:aws:iam::{ACCOUNT}:root")


def _call(w, kms, op: str):
    """Call `op` with DryRun=True and valid arguments on `kms`."""
    args = {
        "CreateGrant": lambda: kms.create_grant(KeyId=w["sym"], GranteePrincipal=w["role"], Operations=["Decrypt"], DryRun=True),
        "Decrypt": lambda: kms.decrypt(CiphertextBlob=w["blob"], DryRun=True),
        "DeriveSharedSecret": lambda: kms.derive_shared_secret(KeyId=w["ecdh"], KeyAgreementAlgorithm="ECDH", PublicKey=w["peer_public"], DryRun=True),
        "Encrypt": lambda: kms.encrypt(KeyId=w["sym"], Plaintext=b"x", DryRun=True),
        "GenerateDataKey": lambda: kms.generate_data_key(KeyId=w["sym"], KeySpec="AES_256", DryRun=True),
        "GenerateDataKeyPair": lambda: kms.generate_data_key_pair(KeyId=w["sym"], KeyPairSpec="ECC_NIST_P256", DryRun=True),
        "GenerateDataKeyPairWithoutPlaintext": lambda: kms.generate_data_key_pair_without_plaintext(KeyId=w["sym"], KeyPairSpec="RSA_2048", DryRun=True),
        "GenerateDataKeyWithoutPlaintext": lambda: kms.generate_data_key_without_plaintext(KeyId=w["sym"], NumberOfBytes=32, DryRun=True),
        "GenerateMac": lambda: kms.generate_mac(KeyId=w["hmac"], Message=b"m", MacAlgorithm="HMAC_SHA_256", DryRun=True),
        "ReEncrypt": lambda: kms.re_encrypt(CiphertextBlob=w["blob"], DestinationKeyId=w["sym2"], DryRun=True),
        "RetireGrant": lambda: kms.retire_grant(KeyId=w["sym"], GrantId=w["grant"]["GrantId"], DryRun=True),
        "RevokeGrant": lambda: kms.revoke_grant(KeyId=w["sym"], GrantId=w["grant"]["GrantId"], DryRun=True),
        "Sign": lambda: kms.sign(KeyId=w["rsa"], Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256", DryRun=True),
        "Verify": lambda: kms.verify(KeyId=w["rsa"], Message=b"m", Signature=w["signature"], SigningAlgorithm="RSASSA_PSS_SHA_256", DryRun=True),
        "VerifyMac": lambda: kms.verify_mac(KeyId=w["hmac"], Message=b"m", Mac=w["mac"], MacAlgorithm="HMAC_SHA_256", DryRun=True),
    }
    assert set(args) == set(DRY_RUN_OPERATIONS)
    try:
        args[op]()
    except Exception as e:  # noqa: BLE001 (the code is what is checked)
        return e
    return None


def _state(w) -> tuple:
    """What a call could change: the keys' metadata and the grants on the symmetric key."""
    kms = w["kms"]
    keys = tuple(repr(kms.describe_key(KeyId=w[k])["KeyMetadata"]) for k in ("sym", "sym2", "rsa", "hmac", "ecdh"))
    grants = tuple(sorted(g["GrantId"] for g in kms.list_grants(KeyId=w["sym"])["Grants"]))
    return keys, grants


def test_every_dry_run_operation_is_modelled(world):
    """The list above is exactly the KMS operations whose input has a DryRun member."""
    model = world["kms"].meta.service_model
    with_dry_run = {op for op in model.operation_names if "DryRun" in (model.operation_model(op).input_shape.members if model.operation_model(op).input_shape else {})}
    assert with_dry_run == set(DRY_RUN_OPERATIONS)


@pytest.mark.parametrize("op", DRY_RUN_OPERATIONS)
def test_dry_run_allowed_changes_nothing(world, op):
    world["grant"] = _grant(world)
    before = _state(world)
    e = _call(world, world["kms"], op)
    assert e is not None and error_code(e) == "DryRunOperationException", (op, e)
    assert e.response["Error"]["Message"] == "The request would have succeeded, but the DryRun option is set."
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert _state(world) == before, f"{op} with DryRun changed something"


@pytest.mark.parametrize("op", DRY_RUN_OPERATIONS)
def test_dry_run_not_allowed_is_access_denied(world, op):
    world["grant"] = _grant(world)
    before = _state(world)
    e = _call(world, world["nobody"], op)
    assert e is not None and error_code(e) == "AccessDeniedException", (op, e)
    assert _state(world) == before
