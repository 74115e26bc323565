"""Secret values never reach the disk or the log in clear: not in the data dir (WAL included), not in
the debug log, while the server runs and after it stops. The Secrets Manager twin of
``test_secrets_hygiene.py``."""

from __future__ import annotations

import json
import uuid

import botocore.config
from botocore.exceptions import ClientError

from helpers import assert_nowhere
from coffer_harness import CofferServer, files_under, make_client, make_session, stored_bytes

STRING_CORE = "Kx7qPz3-coffer-sm-string-distinctive"
STRING_VALUE = '{"password":"' + STRING_CORE + '-\u2713-value","user":"hygiene"}'
BINARY_CORE = b"Wm4vR8-coffer-sm-binary-distinctive"
BINARY_VALUE = b"\x00\x01\xfe" + BINARY_CORE + b"\xff\x80\x00"
PUT_CORE = "Tj2nB6-coffer-sm-put-distinctive"
UPDATE_CORE = "Hd9sL1-coffer-sm-update-distinctive"
REFUSED_CORE = "Qc5yE0-coffer-sm-refused-distinctive"


def test_secret_values_are_not_stored_or_logged(start_server):
    server: CofferServer = start_server(log_level="debug")
    sm = server.client("secretsmanager")
    kms = server.client("kms")
    key = kms.create_key(Description="sm hygiene")["KeyMetadata"]["KeyId"]

    # Create, with string and binary values, under the default key and a customer key.
    s_name, b_name = "hygiene/string", "hygiene/binary"
    sm.create_secret(Name=s_name, SecretString=STRING_VALUE, Description="hygiene string")
    sm.create_secret(Name=b_name, SecretBinary=BINARY_VALUE, KmsKeyId=key)

    # Put, with a custom label and an idempotent retry.
    token = str(uuid.uuid4())
    put_value = f"{PUT_CORE}-value"
    sm.put_secret_value(SecretId=s_name, SecretString=put_value, ClientRequestToken=token, VersionStages=["AWSCURRENT", "blue"])
    sm.put_secret_value(SecretId=s_name, SecretString=put_value, ClientRequestToken=token, VersionStages=["AWSCURRENT", "blue"])

    # Update with a new value.
    update_value = f"{UPDATE_CORE}-value"
    sm.update_secret(SecretId=b_name, SecretString=update_value)

    # A password from GetRandomPassword, stored as a value too, and one that is only generated.
    password = sm.get_random_password(PasswordLength=64, ExcludePunctuation=True)["RandomPassword"]
    only_generated = sm.get_random_password(PasswordLength=64, ExcludePunctuation=True)["RandomPassword"]
    sm.create_secret(Name="hygiene/password", SecretString=password)

    # Every read path.
    assert sm.get_secret_value(SecretId=s_name, VersionStage="AWSPREVIOUS")["SecretString"] == STRING_VALUE
    assert sm.get_secret_value(SecretId=s_name)["SecretString"] == put_value
    assert sm.get_secret_value(SecretId=b_name, VersionStage="AWSPREVIOUS")["SecretBinary"] == BINARY_VALUE
    assert sm.get_secret_value(SecretId=b_name)["SecretString"] == update_value
    batch = sm.batch_get_secret_value(SecretIdList=[s_name, b_name, "hygiene/password"])
    assert sorted(v.get("SecretString", "") for v in batch["SecretValues"]) == sorted([put_value, update_value, password])
    by_filter = sm.batch_get_secret_value(Filters=[{"Key": "name", "Values": ["hygiene/"]}])
    assert len(by_filter["SecretValues"]) == 3

    # Refused writes must not echo their values either.
    refused = f"{REFUSED_CORE}-value"
    raw = make_client(
        make_session(), "secretsmanager", server.endpoint,
        config=botocore.config.Config(parameter_validation=False, retries={"total_max_attempts": 1}),
    )
    for call, kwargs in (
        (sm.put_secret_value, {"SecretId": s_name, "SecretString": refused, "ClientRequestToken": token}),
        (sm.create_secret, {"Name": "hygiene/both", "SecretString": refused, "SecretBinary": b"x"}),
        (raw.put_secret_value, {"SecretId": s_name, "SecretString": (refused + "-") * (65537 // len(refused) + 1)}),
        (sm.create_secret, {"Name": "hygiene/bad name", "SecretString": refused}),
    ):
        try:
            call(**kwargs)
        except ClientError as e:
            assert REFUSED_CORE not in json.dumps(e.response, default=str), e.response
        else:
            raise AssertionError(f"{call.__name__} {list(kwargs)} was accepted")
    kms.disable_key(KeyId=key)
    try:
        sm.get_secret_value(SecretId=b_name)
    except ClientError as e:
        assert UPDATE_CORE not in json.dumps(e.response, default=str)
    else:
        raise AssertionError("a secret under a disabled key was readable")
    kms.enable_key(KeyId=key)

    assert "DEBUG" in server.log_text(), "the server did not log at debug level"
    values = {
        "the create SecretString": STRING_VALUE.encode(),
        "the create SecretString's core": STRING_CORE.encode(),
        "the SecretBinary": BINARY_VALUE,
        "the SecretBinary's core": BINARY_CORE,
        "the put value": PUT_CORE.encode(),
        "the update value": UPDATE_CORE.encode(),
        "the refused value": REFUSED_CORE.encode(),
        "a stored GetRandomPassword": password.encode(),
        "a generated GetRandomPassword": only_generated.encode(),
    }
    # While running (the WAL holds the recent writes) and after a graceful stop (checkpointed).
    for what, value in values.items():
        assert_nowhere(value, server, what)
    server.stop()
    for what, value in values.items():
        assert_nowhere(value, server, what)


def test_secret_names_and_metadata_are_findable_but_values_not(start_server):
    """A control for the test above: the search does find what is stored in clear (names and
    descriptions are metadata, not secret), so a miss for values means something."""
    server: CofferServer = start_server(log_level="debug")
    sm = server.client("secretsmanager")
    marker = "Zr3uM7-visible-description-marker"
    sm.create_secret(Name="hygiene/control", SecretString=f"{STRING_CORE}-control", Description=marker)
    server.stop()
    found = any(marker.encode() in stored_bytes(p) for p in files_under(server.data_dir))
    assert found, "the description (stored in clear) was not found: the hygiene search looks in the wrong place"
    assert_nowhere(STRING_CORE.encode(), server, "the control value")
