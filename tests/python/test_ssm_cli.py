"""The real ``aws`` CLI against coffer's Parameter Store, typed as the seed document types it.

The seed's commands run as written, plus ``--endpoint-url`` (the AwsCli helper adds it). The seed's
KMS key, ``arn:aws:kms:us-east-1:012345678901:key/mrk-abc123``, belongs to account 012345678901,
so the server runs with that default account and the key is created once with the id the seed
uses (``_custom_id_`` tag), exactly as a team would set up a local environment for the guide.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coffer_harness import AwsCli, CofferServer, files_under, stored_bytes

SEED_ACCOUNT = "012345678901"
SEED_KEY = "arn:aws:kms:us-east-1:012345678901:key/mrk-abc123"
DB_URL = "postgresql://payments:password@prod-db.cluster.us-east-1.rds.amazonaws.com/payments"
FLAGS = '{"new-checkout":true,"legacy-payments":false}'


@pytest.fixture
def seed_cli(start_server, tmp_path: Path) -> tuple[CofferServer, AwsCli]:
    server = start_server(extra_args=["--account-id", SEED_ACCOUNT])
    aws = AwsCli(server, tmp_path / "cli-home")
    key = aws.json("kms", "create-key", "--multi-region", "--tags", "TagKey=_custom_id_,TagValue=mrk-abc123")
    assert key["KeyMetadata"]["Arn"] == SEED_KEY
    return server, aws


def test_seed_parameter_store_commands(seed_cli):
    server, aws = seed_cli

    # Create a SecureString parameter (encrypted with KMS)
    out = aws.json(
        "ssm", "put-parameter",
        "--name", "/prod/payments-api/database-url",
        "--value", DB_URL,
        "--type", "SecureString",
        "--key-id", "arn:aws:kms:us-east-1:012345678901:key/mrk-abc123",
        "--description", "Production payments database connection URL",
    )
    assert out == {"Version": 1, "Tier": "Standard"}

    # Create a String parameter (unencrypted — use for non-sensitive config)
    assert aws.json(
        "ssm", "put-parameter",
        "--name", "/prod/payments-api/feature-flags",
        "--value", FLAGS,
        "--type", "String",
    )["Version"] == 1

    # Retrieve a parameter
    assert aws.text(
        "ssm", "get-parameter",
        "--name", "/prod/payments-api/database-url",
        "--with-decryption",
        "--query", "Parameter.Value",
    ) == DB_URL

    # Retrieve all parameters under a path
    listed = aws.json(
        "ssm", "get-parameters-by-path",
        "--path", "/prod/payments-api/",
        "--with-decryption",
        "--recursive",
    )["Parameters"]
    assert {p["Name"]: p["Value"] for p in listed} == {
        "/prod/payments-api/database-url": DB_URL,
        "/prod/payments-api/feature-flags": FLAGS,
    }
    assert {p["ARN"] for p in listed} == {
        f"arn:aws:ssm:us-east-1:{SEED_ACCOUNT}:parameter/prod/payments-api/database-url",
        f"arn:aws:ssm:us-east-1:{SEED_ACCOUNT}:parameter/prod/payments-api/feature-flags",
    }

    # Versions 2-5, then "Retrieve a specific version".
    for i in range(2, 6):
        aws.json("ssm", "put-parameter", "--name", "/prod/payments-api/database-url",
                 "--value", f"{DB_URL}?rev={i}", "--type", "SecureString", "--overwrite")
    v5 = aws.json(
        "ssm", "get-parameter",
        "--name", "/prod/payments-api/database-url:5",
        "--with-decryption",
    )["Parameter"]
    assert (v5["Value"], v5["Version"], v5["Selector"]) == (f"{DB_URL}?rev=5", 5, ":5")

    # List version history
    history = aws.json(
        "ssm", "get-parameter-history",
        "--name", "/prod/payments-api/database-url",
    )["Parameters"]
    assert [h["Version"] for h in history] == [1, 2, 3, 4, 5]
    assert all(h["KeyId"] == SEED_KEY for h in history)
    assert all("payments:password" not in h["Value"] for h in history)

    # "To roll back to a previous value, read the previous version and put-parameter with --overwrite."
    previous = aws.text("ssm", "get-parameter", "--name", "/prod/payments-api/database-url:4",
                        "--with-decryption", "--query", "Parameter.Value")
    assert aws.json("ssm", "put-parameter", "--name", "/prod/payments-api/database-url",
                    "--value", previous, "--type", "SecureString", "--overwrite")["Version"] == 6
    assert aws.text("ssm", "get-parameter", "--name", "/prod/payments-api/database-url",
                    "--with-decryption", "--query", "Parameter.Value") == f"{DB_URL}?rev=4"

    # Without --with-decryption the CLI shows ciphertext, never the URL.
    hidden = aws.text("ssm", "get-parameter", "--name", "/prod/payments-api/database-url",
                      "--query", "Parameter.Value")
    assert "payments:password" not in hidden

    server.stop()
    for path in files_under(server.data_dir):
        assert b"payments:password" not in stored_bytes(path), f"plaintext in {path.name}"
    assert "payments:password" not in server.log_text()


def test_cli_errors_and_labels(aws: AwsCli):
    code, _, err = aws("ssm", "get-parameter", "--name", "/cli/missing")
    assert code != 0 and "ParameterNotFound" in err
    code, _, err = aws("ssm", "put-parameter", "--name", "/aws/mine", "--value", "v", "--type", "String")
    assert code != 0 and "AccessDeniedException" in err and "No access to reserved parameter name" in err
    aws.json("ssm", "put-parameter", "--name", "/cli/labelled", "--value", "one", "--type", "String")
    aws.json("ssm", "put-parameter", "--name", "/cli/labelled", "--value", "two", "--type", "String", "--overwrite")
    out = aws.json("ssm", "label-parameter-version", "--name", "/cli/labelled", "--parameter-version", "1",
                   "--labels", "golden", "2fast")
    assert out == {"InvalidLabels": ["2fast"], "ParameterVersion": 1}
    assert aws.text("ssm", "get-parameter", "--name", "/cli/labelled:golden", "--query", "Parameter.Value") == "one"
    code, _, err = aws("ssm", "put-parameter", "--name", "/cli/labelled", "--value", "x", "--type", "String")
    assert code != 0 and "ParameterAlreadyExists" in err
    code, _, err = aws("ssm", "get-parameters-by-path", "--path", "/cli", "--max-results", "11")
    assert code != 0 and "ValidationException" in err


def test_cli_describe_tags_and_settings(aws: AwsCli):
    aws.json("ssm", "put-parameter", "--name", "/cli2/a", "--value", "x", "--type", "String",
             "--tags", "Key=team,Value=payments")
    aws.json("ssm", "put-parameter", "--name", "/cli2/b", "--value", "x", "--type", "StringList")
    names = aws.json("ssm", "describe-parameters", "--parameter-filters", "Key=Path,Values=/cli2",
                     "--query", "Parameters[].Name")
    assert names == ["/cli2/a", "/cli2/b"]
    tagged = aws.json("ssm", "describe-parameters", "--parameter-filters", "Key=tag:team,Values=payments",
                      "--query", "Parameters[].Name")
    assert tagged == ["/cli2/a"]
    tags = aws.json("ssm", "list-tags-for-resource", "--resource-type", "Parameter", "--resource-id", "/cli2/a")
    assert tags["TagList"] == [{"Key": "team", "Value": "payments"}]
    setting = aws.json("ssm", "get-service-setting", "--setting-id", "/ssm/parameter-store/high-throughput-enabled")
    assert setting["ServiceSetting"]["SettingValue"] == "false"
    deleted = aws.json("ssm", "delete-parameters", "--names", "/cli2/a", "/cli2/nope")
    assert deleted == {"DeletedParameters": ["/cli2/a"], "InvalidParameters": ["/cli2/nope"]}
    policies = json.dumps([{"Type": "NoChangeNotification", "Attributes": {"After": "2", "Unit": "Days"}}])
    out = aws.json("ssm", "put-parameter", "--name", "/cli2/c", "--value", "x", "--type", "String",
                   "--tier", "Advanced", "--policies", policies)
    assert out["Tier"] == "Advanced"
