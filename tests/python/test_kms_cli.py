"""The real ``aws`` CLI (v1) against a real coffer server, typed the way a person would.

CLI v1 notes: blob arguments such as ``--plaintext`` take the raw text, ``--ciphertext-blob``
needs ``fileb://path`` for binary input, and blob outputs are printed base64-encoded.
"""

from __future__ import annotations

import base64
from pathlib import Path

from coffer_harness import ACCOUNT, REGION, ROOT_ARN, AwsCli


def test_cli_encrypt_decrypt_flow(aws: AwsCli, tmp_path: Path):
    key = aws.json("kms", "create-key", "--description", "made by the cli")["KeyMetadata"]
    key_id = key["KeyId"]
    assert key["KeyState"] == "Enabled"
    assert key["Arn"] == f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}"

    assert aws.json("kms", "create-alias", "--alias-name", "alias/cli-flow", "--target-key-id", key_id) is None

    ciphertext_b64 = aws.text(
        "kms", "encrypt", "--key-id", "alias/cli-flow", "--plaintext", "hello", "--query", "CiphertextBlob"
    )
    ciphertext = base64.b64decode(ciphertext_b64, validate=True)
    assert b"hello" not in ciphertext
    blob_file = tmp_path / "secret.bin"
    blob_file.write_bytes(ciphertext)

    out = aws.json("kms", "decrypt", "--ciphertext-blob", f"fileb://{blob_file}")
    assert base64.b64decode(out["Plaintext"]) == b"hello"
    assert out["KeyId"] == key["Arn"]

    # The shell idiom: just the plaintext, as text.
    plain_b64 = aws.text("kms", "decrypt", "--ciphertext-blob", f"fileb://{blob_file}", "--query", "Plaintext")
    assert base64.b64decode(plain_b64) == b"hello"

    # Disable the key: decrypt fails with the AWS error on stderr and a non-zero exit.
    assert aws.json("kms", "disable-key", "--key-id", key_id) is None
    code, stdout, stderr = aws("kms", "decrypt", "--ciphertext-blob", f"fileb://{blob_file}")
    assert code != 0
    assert "DisabledException" in stderr
    assert "hello" not in stdout + stderr
    assert aws.json("kms", "describe-key", "--key-id", "alias/cli-flow")["KeyMetadata"]["KeyState"] == "Disabled"

    assert aws.json("kms", "enable-key", "--key-id", key_id) is None
    out = aws.json("kms", "decrypt", "--ciphertext-blob", f"fileb://{blob_file}")
    assert base64.b64decode(out["Plaintext"]) == b"hello"


def test_cli_encryption_context(aws: AwsCli, tmp_path: Path):
    key_id = aws.text("kms", "create-key", "--query", "KeyMetadata.KeyId")
    blob = base64.b64decode(
        aws.text(
            "kms", "encrypt", "--key-id", key_id, "--plaintext", "ctx-bound",
            "--encryption-context", "app=payments", "--query", "CiphertextBlob",
        )
    )
    f = tmp_path / "ctx.bin"
    f.write_bytes(blob)
    ok = aws.json("kms", "decrypt", "--ciphertext-blob", f"fileb://{f}", "--encryption-context", "app=payments")
    assert base64.b64decode(ok["Plaintext"]) == b"ctx-bound"
    code, _, stderr = aws("kms", "decrypt", "--ciphertext-blob", f"fileb://{f}", "--encryption-context", "app=other")
    assert code != 0
    assert "InvalidCiphertextException" in stderr


def test_cli_listing_and_rotation(aws: AwsCli):
    key_id = aws.text("kms", "create-key", "--description", "listing", "--query", "KeyMetadata.KeyId")
    aws.json("kms", "create-alias", "--alias-name", "alias/cli-list", "--target-key-id", key_id)

    aliases = aws.json("kms", "list-aliases")["Aliases"]
    mine = [a for a in aliases if a["AliasName"] == "alias/cli-list"]
    assert len(mine) == 1 and mine[0]["TargetKeyId"] == key_id
    assert aws.text("kms", "list-aliases", "--key-id", key_id, "--query", "Aliases[].AliasName") == "alias/cli-list"

    described = aws.json("kms", "describe-key", "--key-id", "alias/cli-list")["KeyMetadata"]
    assert described["KeyId"] == key_id
    assert described["Description"] == "listing"

    keys = aws.json("kms", "list-keys")["Keys"]
    assert key_id in {k["KeyId"] for k in keys}
    # The CLI paginates list-keys itself; a tiny page size still returns every key, once.
    paged = aws.json("kms", "list-keys", "--page-size", "1")["Keys"]
    assert sorted(k["KeyId"] for k in paged) == sorted(k["KeyId"] for k in keys)

    assert aws.json("kms", "get-key-rotation-status", "--key-id", key_id)["KeyRotationEnabled"] is False
    assert aws.json("kms", "enable-key-rotation", "--key-id", key_id) is None
    status = aws.json("kms", "get-key-rotation-status", "--key-id", key_id)
    assert status["KeyRotationEnabled"] is True
    assert status["RotationPeriodInDays"] == 365


def test_cli_generate_data_key_and_random(aws: AwsCli, tmp_path: Path):
    dk = aws.json("kms", "generate-data-key", "--key-id", "alias/aws/ssm", "--key-spec", "AES_256")
    plain = base64.b64decode(dk["Plaintext"])
    assert len(plain) == 32
    f = tmp_path / "dk.bin"
    f.write_bytes(base64.b64decode(dk["CiphertextBlob"]))
    assert base64.b64decode(aws.json("kms", "decrypt", "--ciphertext-blob", f"fileb://{f}")["Plaintext"]) == plain
    rnd = aws.text("kms", "generate-random", "--number-of-bytes", "24", "--query", "Plaintext")
    assert len(base64.b64decode(rnd)) == 24


def test_cli_errors_exit_nonzero(aws: AwsCli):
    code, _, stderr = aws("kms", "describe-key", "--key-id", "alias/nope")
    assert code != 0
    assert "NotFoundException" in stderr
    code, _, stderr = aws("kms", "create-alias", "--alias-name", "alias/aws/mine", "--target-key-id", "alias/aws/ssm")
    assert code != 0
    assert "NotAuthorizedException" in stderr  # alias/aws/ is reserved


def test_cli_sts_get_caller_identity(aws: AwsCli):
    me = aws.json("sts", "get-caller-identity")
    assert me["Account"] == ACCOUNT
    assert me["Arn"] == ROOT_ARN
    assert aws.text("sts", "get-caller-identity", "--query", "Account") == ACCOUNT


def test_cli_ignores_user_configuration(aws: AwsCli):
    """The harness's isolation holds: credentials and region come from the variables it sets, no profile."""
    env = aws.env()
    assert Path(env["HOME"]) == aws.home
    assert "AWS_PROFILE" not in env
    code, out, err = aws("configure", "list")
    assert code == 0, err
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    assert rows["profile"][:2] == ["<not", "set>"]
    assert rows["access_key"][0].endswith(aws.access_key[-4:]) and rows["access_key"][1] == "env"
    assert rows["region"][:2] == [REGION, "env"]
