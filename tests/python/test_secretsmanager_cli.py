"""The real ``aws`` CLI (v1) against coffer: the seed document's Secrets Manager commands, verbatim
plus ``--endpoint-url``, and the everyday commands around them.

The seed uses account 012345678901 and the multi-Region key ``mrk-abc123``, so this module's server
runs as that account and first creates that key (coffer takes a key id from the ``_custom_id_``
tag of CreateKey).
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from coffer_harness import REGION, AwsCli, CofferServer
from helpers import error_of, shell

SEED_ACCOUNT = "012345678901"
SEED_KEY_ARN = f"arn:aws:kms:us-east-1:{SEED_ACCOUNT}:key/mrk-abc123"
SEED_NAME = "prod/payments-api/database"
SEED_SECRET_STRING = (
    '{"username":"payments","password":"initial-password",'
    '"host":"prod-db.cluster-abc.us-east-1.rds.amazonaws.com","port":5432,"dbname":"payments"}'
)
# The seed's policy, as typed there (a multi-line shell argument).
SEED_POLICY_TEXT = """{
 "Version": "2012-10-17",
 "Statement": [
 {
 "Effect": "Allow",
 "Principal": {
 "AWS": "arn:aws:iam::111111111111:role/CrossAccountReader"
 },
 "Action": [
 "secretsmanager:GetSecretValue",
 "secretsmanager:DescribeSecret"
 ],
 "Resource": "*"
 }
 ]
 }"""


@pytest.fixture(scope="module")
def seed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CofferServer]:
    s = CofferServer(tmp_path_factory.mktemp("coffer-seed"), env={"COFFER_ACCOUNT_ID": SEED_ACCOUNT})
    s.start()
    try:
        yield s
    finally:
        s.kill()


@pytest.fixture(scope="module")
def aws(seed_server: CofferServer, tmp_path_factory: pytest.TempPathFactory) -> AwsCli:
    return AwsCli(seed_server, tmp_path_factory.mktemp("cli-home"))


@pytest.fixture(scope="module")
def seed_key(aws: AwsCli) -> dict:
    key = aws.json("kms", "create-key", "--multi-region", "--tags", "TagKey=_custom_id_,TagValue=mrk-abc123")[
        "KeyMetadata"
    ]
    assert key["KeyId"] == "mrk-abc123"
    assert key["Arn"] == SEED_KEY_ARN
    assert key["MultiRegion"] is True
    return key


def test_seed_secrets_manager_commands(aws: AwsCli, seed_key: dict, seed_server: CofferServer):
    # Create a secret
    created = aws.json(
        "secretsmanager", "create-secret",
        "--name", "prod/payments-api/database",
        "--description", "Production payments database credentials",
        "--secret-string", SEED_SECRET_STRING,
        "--kms-key-id", "arn:aws:kms:us-east-1:012345678901:key/mrk-abc123",
    )
    assert re.fullmatch(
        rf"arn:aws:secretsmanager:{REGION}:{SEED_ACCOUNT}:secret:prod/payments-api/database-[A-Za-z0-9]{{6}}",
        created["ARN"],
    ), created
    assert created["Name"] == SEED_NAME
    first_version = created["VersionId"]

    # Retrieve the secret value, the seed's pipeline through jq.
    proc = shell(
        aws,
        "aws secretsmanager get-secret-value \\\n"
        " --secret-id prod/payments-api/database \\\n"
        " --query SecretString \\\n"
        " --output text | jq .",
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == json.loads(SEED_SECRET_STRING)
    assert '"password": "initial-password"' in proc.stdout  # jq pretty-printed it

    # A new value, then the seed's "Retrieve a specific version".
    rotated = json.loads(SEED_SECRET_STRING) | {"password": "second-password"}
    put = aws.json(
        "secretsmanager", "put-secret-value", "--secret-id", SEED_NAME, "--secret-string", json.dumps(rotated)
    )
    assert put["VersionStages"] == ["AWSCURRENT"]
    previous = aws.json(
        "secretsmanager", "get-secret-value",
        "--secret-id", "prod/payments-api/database",
        "--version-stage", "AWSPREVIOUS",
    )
    assert previous["VersionId"] == first_version
    assert previous["VersionStages"] == ["AWSPREVIOUS"]
    assert json.loads(previous["SecretString"]) == json.loads(SEED_SECRET_STRING)
    assert json.loads(aws.text("secretsmanager", "get-secret-value", "--secret-id", SEED_NAME, "--query", "SecretString")) == rotated

    # Resource policy (cross-account access), verbatim.
    out = aws.json(
        "secretsmanager", "put-resource-policy",
        "--secret-id", "prod/payments-api/database",
        "--resource-policy", SEED_POLICY_TEXT,
    )
    assert out["ARN"] == created["ARN"] and out["Name"] == SEED_NAME
    policy = aws.json("secretsmanager", "get-resource-policy", "--secret-id", SEED_NAME)
    assert json.loads(policy["ResourcePolicy"]) == json.loads(SEED_POLICY_TEXT)

    desc = aws.json("secretsmanager", "describe-secret", "--secret-id", SEED_NAME)
    assert desc["ARN"] == created["ARN"]
    assert desc["Description"] == "Production payments database credentials"
    assert desc["KmsKeyId"] == SEED_KEY_ARN
    assert {k: sorted(v) for k, v in desc["VersionIdsToStages"].items()} == {
        first_version: ["AWSPREVIOUS"],
        put["VersionId"]: ["AWSCURRENT"],
    }
    # The CLI prints dates as epoch seconds, as AWS sends them.
    assert isinstance(desc["CreatedDate"], (int, float))
    assert isinstance(desc["LastChangedDate"], (int, float))

    # The seed's "List replicas": not replicated, so nothing (AWS omits ReplicationStatus).
    code, outp, err = aws(
        "secretsmanager", "describe-secret", "--secret-id", "prod/payments-api/database", "--query", "ReplicationStatus"
    )
    assert code == 0, err
    assert outp.strip() == "null"

    # The secret is really under the seed's key: disabling it stops reads.
    aws.json("kms", "disable-key", "--key-id", "mrk-abc123")
    try:
        code, outp, err = aws("secretsmanager", "get-secret-value", "--secret-id", SEED_NAME)
        assert code != 0
        assert error_of(err) == "DecryptionFailure"
        assert "second-password" not in outp + err
    finally:
        aws.json("kms", "enable-key", "--key-id", "mrk-abc123")
    assert aws.text("secretsmanager", "get-secret-value", "--secret-id", SEED_NAME, "--query", "VersionId") == put["VersionId"]


def test_seed_rotation_commands_fail_cleanly(aws: AwsCli, seed_key: dict, seed_server: CofferServer):
    """The seed's rotation commands on a secret that is not a database secret: RotateSecret is
    accepted (rotation is asynchronous, as on AWS), the built-in PostgreSQL rotator fails at
    createSecret, AWSCURRENT stays, and --rotate-immediately is refused because that rotation is not
    complete (test_rotation_cli.py rotates a real database); the server stays up. (The seed's
    replication commands run in test_replication.py.)"""
    name = "prod/payments-api/rotation-" + uuid.uuid4().hex[:6]
    aws.json("secretsmanager", "create-secret", "--name", name, "--secret-string", "x", "--kms-key-id", SEED_KEY_ARN)
    before = aws.json("secretsmanager", "get-secret-value", "--secret-id", name)
    out = aws.json(
        "secretsmanager", "rotate-secret",
        "--secret-id", name,
        "--rotation-lambda-arn",
        "arn:aws:lambda:us-east-1:012345678901:function:SecretsManagerRDSPostgreSQLRotationSingleUser",
        "--rotation-rules", "AutomaticallyAfterDays=30",
    )
    assert out["Name"] == name and out["VersionId"]
    code, _, err = aws("secretsmanager", "rotate-secret", "--secret-id", name, "--rotate-immediately")
    assert code != 0
    assert error_of(err) == "InvalidRequestException", err
    assert "A previous rotation isn't complete. That rotation will be reattempted." in err
    assert seed_server.running
    after = aws.json("secretsmanager", "get-secret-value", "--secret-id", name)
    assert after["VersionId"] == before["VersionId"] and after["SecretString"] == "x"
    described = aws.json("secretsmanager", "describe-secret", "--secret-id", name)
    assert described["RotationEnabled"] is True
    assert described["RotationRules"] == {"AutomaticallyAfterDays": 30}


def test_cli_binary_secret_and_versions(aws: AwsCli, tmp_path: Path):
    name = "cli/binary-" + uuid.uuid4().hex[:6]
    payload = bytes(range(256))
    f = tmp_path / "blob.bin"
    f.write_bytes(payload)
    created = aws.json("secretsmanager", "create-secret", "--name", name, "--secret-binary", f"fileb://{f}")
    got = aws.json("secretsmanager", "get-secret-value", "--secret-id", created["ARN"])
    assert base64.b64decode(got["SecretBinary"]) == payload
    assert "SecretString" not in got

    token = uuid.uuid4().hex  # 32 characters
    put = aws.json(
        "secretsmanager", "put-secret-value", "--secret-id", name, "--secret-string", "text now",
        "--client-request-token", token, "--version-stages", "AWSCURRENT", "green",
    )
    assert put["VersionId"] == token
    # The same token and value: idempotent. Another value: ResourceExistsException.
    again = aws.json(
        "secretsmanager", "put-secret-value", "--secret-id", name, "--secret-string", "text now",
        "--client-request-token", token,
    )
    assert again["VersionId"] == token
    code, _, err = aws(
        "secretsmanager", "put-secret-value", "--secret-id", name, "--secret-string", "different",
        "--client-request-token", token,
    )
    assert code != 0 and error_of(err) == "ResourceExistsException"

    versions = aws.json("secretsmanager", "list-secret-version-ids", "--secret-id", name)["Versions"]
    assert {v["VersionId"]: sorted(v["VersionStages"]) for v in versions} == {
        created["VersionId"]: ["AWSPREVIOUS"],
        token: ["AWSCURRENT", "green"],
    }

    # Roll back with update-secret-version-stage.
    aws.json(
        "secretsmanager", "update-secret-version-stage", "--secret-id", name, "--version-stage", "AWSCURRENT",
        "--move-to-version-id", created["VersionId"], "--remove-from-version-id", token,
    )
    back = aws.json("secretsmanager", "get-secret-value", "--secret-id", name)
    assert back["VersionId"] == created["VersionId"]
    assert base64.b64decode(back["SecretBinary"]) == payload
    code, _, err = aws(
        "secretsmanager", "update-secret-version-stage", "--secret-id", name, "--version-stage", "AWSCURRENT",
        "--move-to-version-id", token,
    )
    assert code != 0 and error_of(err) == "InvalidParameterException"


def test_cli_list_filters_and_auto_pagination(aws: AwsCli):
    prefix = "cli-list-" + uuid.uuid4().hex[:6]
    names = [f"{prefix}/{i}" for i in range(5)]
    for i, n in enumerate(names):
        aws.json(
            "secretsmanager", "create-secret", "--name", n, "--secret-string", str(i),
            "--tags", f"Key=idx,Value=v{i}", "Key=group,Value=cli",
        )
    listed = aws.json("secretsmanager", "list-secrets", "--filters", f"Key=name,Values={prefix}/")["SecretList"]
    assert sorted(s["Name"] for s in listed) == names
    # The CLI pages by itself: a page size of 1 still gives every secret once.
    paged = aws.json("secretsmanager", "list-secrets", "--filters", f"Key=name,Values={prefix}/", "--page-size", "1")[
        "SecretList"
    ]
    assert sorted(s["Name"] for s in paged) == names
    tagged = aws.text(
        "secretsmanager", "list-secrets",
        "--filters", f"Key=name,Values={prefix}/", "Key=tag-value,Values=v3",
        "--query", "SecretList[].Name",
    )
    assert tagged == names[3]
    negated = aws.json(
        "secretsmanager", "list-secrets", "--filters", f"Key=name,Values={prefix}/", "Key=tag-value,Values=!v3",
    )["SecretList"]
    assert sorted(s["Name"] for s in negated) == [n for n in names if n != names[3]]

    batch = aws.json("secretsmanager", "batch-get-secret-value", "--secret-id-list", names[0], names[1], f"{prefix}/missing")
    assert sorted((v["Name"], v["SecretString"]) for v in batch["SecretValues"]) == [(names[0], "0"), (names[1], "1")]
    assert [(e["SecretId"], e["ErrorCode"]) for e in batch["Errors"]] == [(f"{prefix}/missing", "ResourceNotFoundException")]
    by_filter = aws.json("secretsmanager", "batch-get-secret-value", "--filters", f"Key=name,Values={prefix}/")
    assert sorted(v["SecretString"] for v in by_filter["SecretValues"]) == ["0", "1", "2", "3", "4"]

    aws.json("secretsmanager", "tag-resource", "--secret-id", names[0], "--tags", "Key=extra,Value=yes")
    aws.json("secretsmanager", "untag-resource", "--secret-id", names[0], "--tag-keys", "group")
    tags = aws.json("secretsmanager", "describe-secret", "--secret-id", names[0])["Tags"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("extra", "yes"), ("idx", "v0")]


def test_cli_delete_restore_and_force_delete(aws: AwsCli):
    name = "cli/delete-" + uuid.uuid4().hex[:6]
    arn = aws.json("secretsmanager", "create-secret", "--name", name, "--secret-string", "precious")["ARN"]
    out = aws.json("secretsmanager", "delete-secret", "--secret-id", name, "--recovery-window-in-days", "7")
    assert out["ARN"] == arn and isinstance(out["DeletionDate"], (int, float))
    code, stdout, err = aws("secretsmanager", "get-secret-value", "--secret-id", name)
    assert code != 0 and error_of(err) == "InvalidRequestException"
    assert "precious" not in stdout + err
    aws.json("secretsmanager", "restore-secret", "--secret-id", name)
    assert aws.text("secretsmanager", "get-secret-value", "--secret-id", name, "--query", "SecretString") == "precious"

    code, _, err = aws("secretsmanager", "delete-secret", "--secret-id", name, "--recovery-window-in-days", "3")
    assert code != 0 and error_of(err) == "InvalidParameterException"
    code, _, err = aws(
        "secretsmanager", "delete-secret", "--secret-id", name, "--recovery-window-in-days", "7",
        "--force-delete-without-recovery",
    )
    assert code != 0 and error_of(err) == "InvalidParameterException"

    aws.json("secretsmanager", "delete-secret", "--secret-id", name, "--force-delete-without-recovery")
    code, _, err = aws("secretsmanager", "describe-secret", "--secret-id", name)
    assert code != 0 and error_of(err) == "ResourceNotFoundException"
    new_arn = aws.json("secretsmanager", "create-secret", "--name", name, "--secret-string", "reborn")["ARN"]
    assert new_arn != arn


def test_cli_errors_and_random_password(aws: AwsCli):
    code, _, err = aws("secretsmanager", "get-secret-value", "--secret-id", "cli/does-not-exist")
    assert code != 0 and error_of(err) == "ResourceNotFoundException"
    code, _, err = aws("secretsmanager", "create-secret", "--name", "cli/bad name", "--secret-string", "x")
    assert code != 0 and error_of(err) == "ValidationException"
    code, _, err = aws("secretsmanager", "put-resource-policy", "--secret-id", "cli/does-not-exist", "--resource-policy", SEED_POLICY_TEXT)
    assert code != 0 and error_of(err) == "ResourceNotFoundException"

    pw = aws.text(
        "secretsmanager", "get-random-password", "--password-length", "40", "--exclude-punctuation",
        "--exclude-characters", "abc", "--query", "RandomPassword",
    )
    assert len(pw) == 40
    assert pw.isalnum() and not set(pw) & set("abc"), pw
    code, _, err = aws(
        "secretsmanager", "get-random-password", "--exclude-numbers", "--exclude-punctuation",
        "--exclude-uppercase", "--exclude-lowercase",
    )
    assert code != 0 and error_of(err) == "InvalidParameterException"
