"""Secrets Manager fidelity with boto3 (coffer issue 16): cross-account writes never encrypt under
the caller's keys, AWS's refusal of the default key across accounts, secret-id validation,
forced deletes of missing secrets, ClientRequestToken reuse, labels, DescribeSecret's omissions
and ListSecrets' word matching."""

from __future__ import annotations

import json
import uuid

import botocore.exceptions
import pytest

from coffer_harness import error_code
from helpers import json_call
from test_access_control import client, create_account
from test_limits import _metrics, _value

A = "000000000000"
B = "222222222222"
DEFAULT_KEY_REFUSAL = (
    "You can't access a secret from a different AWS account if you encrypt the secret with the default KMS service key."
)
INVALID_NAME = (
    "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!"
)


def refused(call, **kwargs):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(**kwargs)
    return error_code(e.value), e.value.response["Error"]["Message"]


@pytest.fixture(scope="module")
def other(server):
    """Account B's administrator: its Secrets Manager and KMS clients."""
    admin_b = create_account(server, B)
    return {"sm": client(server, "secretsmanager", admin_b), "kms": client(server, "kms", admin_b)}


def allow_b(sm, arn):
    sm.put_resource_policy(
        SecretId=arn,
        ResourcePolicy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{B}:root"},
                        "Action": "secretsmanager:*",
                        "Resource": "*",
                    }
                ],
            }
        ),
    )


def shared_key(kms, account_b_too: bool):
    statements = [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": "kms:*", "Resource": "*"}
    ]
    if account_b_too:
        statements.append(
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{B}:root"},
                "Action": ["kms:GenerateDataKey", "kms:Decrypt", "kms:DescribeKey"],
                "Resource": "*",
            }
        )
    return kms.create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))["KeyMetadata"]["Arn"]


def version_keys(sm, arn):
    return {v["VersionId"]: v["KmsKeyIds"] for v in sm.list_secret_version_ids(SecretId=arn, IncludeDeprecated=True)["Versions"]}


def test_cross_account_write_and_read_under_the_default_key_are_refused(server, other):
    sm = server.client("secretsmanager")
    arn = sm.create_secret(Name=f"fid/default-{uuid.uuid4().hex[:6]}", SecretString="owner")["ARN"]
    allow_b(sm, arn)
    for call, kwargs in [
        (other["sm"].put_secret_value, {"SecretId": arn, "SecretString": "intruder"}),
        (other["sm"].update_secret, {"SecretId": arn, "SecretString": "intruder"}),
        (other["sm"].get_secret_value, {"SecretId": arn}),
    ]:
        assert refused(call, **kwargs) == ("InvalidRequestException", DEFAULT_KEY_REFUSAL)
    # Nothing was written: the owner reads its value, under its own key, and B has no key.
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == "owner"
    assert len(version_keys(sm, arn)) == 1
    assert all(k.split(":")[4] == A for keys in version_keys(sm, arn).values() for k in keys)


def test_no_cross_account_write_encrypts_under_the_callers_key(server, other):
    """The secret names its key by alias; account B has an alias of the same name. Every write
    path B can take (PutSecretValue, UpdateSecret with a value, UpdateSecret with a new KmsKeyId,
    rotation's createSecret) encrypts under A's key, and A keeps reading its secret."""
    kms, sm = server.client("kms"), server.client("secretsmanager")
    suffix = uuid.uuid4().hex[:6]
    alias = f"alias/fid-shared-{suffix}"
    key_a = shared_key(kms, account_b_too=True)
    kms.create_alias(AliasName=alias, TargetKeyId=key_a)
    key_a2 = shared_key(kms, account_b_too=True)
    kms.create_alias(AliasName=f"{alias}-2", TargetKeyId=key_a2)
    # B's look-alikes.
    for name in (alias, f"{alias}-2"):
        other["kms"].create_alias(AliasName=name, TargetKeyId=other["kms"].create_key()["KeyMetadata"]["KeyId"])

    arn = sm.create_secret(Name=f"fid/cmk-{suffix}", SecretString='{"password":"v1"}', KmsKeyId=alias)["ARN"]
    allow_b(sm, arn)
    v2 = other["sm"].put_secret_value(SecretId=arn, SecretString='{"password":"v2"}')["VersionId"]
    assert version_keys(sm, arn)[v2] == [key_a]
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == '{"password":"v2"}'

    v3 = other["sm"].update_secret(SecretId=arn, SecretString='{"password":"v3"}')["VersionId"]
    assert version_keys(sm, arn)[v3] == [key_a]
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == '{"password":"v3"}'

    v4 = other["sm"].update_secret(SecretId=arn, KmsKeyId=f"{alias}-2", SecretString='{"password":"v4"}')["VersionId"]
    assert version_keys(sm, arn)[v4] == [key_a2]
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == '{"password":"v4"}'

    completed = _value(_metrics(server), "coffer_rotations_total", outcome="completed")
    rotated = other["sm"].rotate_secret(
        SecretId=arn, RotationLambdaARN=f"arn:aws:lambda:us-east-1:{A}:function:CofferRandomPasswordRotation"
    )["VersionId"]
    # The rotation run is counted by its outcome in /metrics.
    assert _value(_metrics(server), "coffer_rotations_total", outcome="completed") == completed + 1
    assert version_keys(sm, arn)[rotated] == [key_a2]
    assert sm.get_secret_value(SecretId=arn)["VersionId"] == rotated
    assert json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])["password"] != "v4"


@pytest.mark.parametrize("bad", ["has space", "semi;colon", "star*", "ünï"])
def test_secret_ids_outside_the_name_alphabet_are_validation_errors(server, bad):
    sm = server.client("secretsmanager")
    assert refused(sm.create_secret, Name=bad, SecretString="x") == ("ValidationException", INVALID_NAME)
    for call, kwargs in [
        (sm.get_secret_value, {}),
        (sm.describe_secret, {}),
        (sm.put_secret_value, {"SecretString": "x"}),
        (sm.update_secret, {"Description": "d"}),
        (sm.delete_secret, {"ForceDeleteWithoutRecovery": True}),
        (sm.restore_secret, {}),
        (sm.tag_resource, {"Tags": [{"Key": "k", "Value": "v"}]}),
        (sm.untag_resource, {"TagKeys": ["k"]}),
        (sm.list_secret_version_ids, {}),
        (sm.get_resource_policy, {}),
        (sm.cancel_rotate_secret, {}),
    ]:
        assert refused(call, SecretId=bad, **kwargs) == ("ValidationException", INVALID_NAME), call
    # The ARN form is checked on its name part.
    arn = f"arn:aws:secretsmanager:us-east-1:{A}:secret:{bad}-AbCdEf"
    assert refused(sm.describe_secret, SecretId=arn) == ("ValidationException", INVALID_NAME)


def test_forced_delete_of_a_missing_secret_answers_as_if_it_existed(server):
    sm = server.client("secretsmanager")
    name = f"fid/never-{uuid.uuid4().hex[:6]}"
    out = sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    assert out["Name"] == name
    assert out["ARN"].startswith(f"arn:aws:secretsmanager:us-east-1:{A}:secret:{name}-")
    assert "DeletionDate" in out
    # Without the force it is still not found.
    assert refused(sm.delete_secret, SecretId=name)[0] == "ResourceNotFoundException"


def test_a_reused_client_request_token_names_itself_and_the_secret(server):
    sm = server.client("secretsmanager")
    arn = sm.create_secret(Name=f"fid/token-{uuid.uuid4().hex[:6]}", SecretString="a")["ARN"]
    token = str(uuid.uuid4())
    sm.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString="b")
    # The same request again is fine; another value is not.
    sm.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString="b")
    assert refused(sm.put_secret_value, SecretId=arn, ClientRequestToken=token, SecretString="c") == (
        "ResourceExistsException",
        f"You can't use ClientRequestToken {token} because that value is already in use for a version of secret {arn}.",
    )


def test_the_old_current_version_keeps_only_previous(server):
    sm = server.client("secretsmanager")
    arn = sm.create_secret(Name=f"fid/labels-{uuid.uuid4().hex[:6]}", SecretString="1")["ARN"]
    v1 = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
    (v1,) = v1
    v2 = sm.put_secret_value(SecretId=arn, SecretString="2", VersionStages=["AWSPENDING"])["VersionId"]
    sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=v2, RemoveFromVersionId=v1)
    assert sorted(sm.describe_secret(SecretId=arn)["VersionIdsToStages"][v2]) == ["AWSCURRENT", "AWSPENDING"]
    v3 = sm.put_secret_value(SecretId=arn, SecretString="3")["VersionId"]
    stages = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
    assert stages[v3] == ["AWSCURRENT"]
    assert stages[v2] == ["AWSPREVIOUS"]
    assert v1 not in stages


def test_describe_omits_empty_description_and_version_map(server):
    sm = server.client("secretsmanager")
    name = f"fid/empty-{uuid.uuid4().hex[:6]}"
    sm.create_secret(Name=name, Description="")
    d = sm.describe_secret(SecretId=name)
    assert "Description" not in d
    assert "VersionIdsToStages" not in d
    listed = sm.list_secrets(Filters=[{"Key": "name", "Values": [name]}])["SecretList"]
    assert [s["Name"] for s in listed] == [name]
    assert "SecretVersionsToStages" not in listed[0]


def test_describe_lists_empty_tags_once_every_tag_was_removed(server):
    """Never tagged: no Tags member. Tagged, then every tag removed: `"Tags": []`, as AWS."""
    sm = server.client("secretsmanager")
    name = f"fid/tags-{uuid.uuid4().hex[:6]}"
    sm.create_secret(Name=name, SecretString="v")
    assert "Tags" not in sm.describe_secret(SecretId=name)
    sm.tag_resource(SecretId=name, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    sm.untag_resource(SecretId=name, TagKeys=["a"])
    assert sm.describe_secret(SecretId=name)["Tags"] == [{"Key": "b", "Value": "2"}]
    sm.untag_resource(SecretId=name, TagKeys=["b"])
    assert sm.describe_secret(SecretId=name)["Tags"] == []
    # Removing tags a secret never had changes nothing.
    other = f"fid/tags-{uuid.uuid4().hex[:6]}"
    sm.create_secret(Name=other, SecretString="v")
    sm.untag_resource(SecretId=other, TagKeys=["a"])
    assert "Tags" not in sm.describe_secret(SecretId=other)


def test_list_filters_match_every_word_as_a_prefix_of_a_word(server):
    """description and all: every word of the value (split at separators and at the last
    capital of an upper-case run followed by lower case) is a prefix of some word, any case;
    repeated filters of one key are ANDed. name stays a case-sensitive prefix (API_Filter)."""
    sm = server.client("secretsmanager")
    run = uuid.uuid4().hex[:8]
    mine = ("name", [f"x{run}"])
    names = {
        "camel": (f"x{run}/a", "credsDatabase vault"),
        "upper": (f"x{run}/b", "COMPANYthings"),
        "plain": (f"x{run}/c", "prod-payments.api"),
    }
    for key, (name, description) in names.items():
        sm.create_secret(Name=name, Description=description, Tags=[{"Key": f"team{key.capitalize()}", "Value": "blueSky"}])

    def found(*filters):
        out = sm.list_secrets(Filters=[{"Key": k, "Values": v} for k, v in filters])["SecretList"]
        return sorted(n for n in (s["Name"] for s in out) if run in n)

    camel, upper, plain = (names[k][0] for k in ("camel", "upper", "plain"))
    assert found(mine, ("description", ["database"])) == [camel]
    assert found(mine, ("description", ["CREDS data"])) == [camel]
    assert found(mine, ("description", ["ythings"])) == [upper]
    assert found(mine, ("description", ["things"])) == []
    assert found(mine, ("description", ["api pay"])) == [plain]
    assert found(mine, ("description", ["api other"])) == []
    # Repeated filters of one key: both must match.
    assert found(mine, ("description", ["prod"]), ("description", ["creds"])) == []
    assert found(mine, ("description", ["prod"]), ("description", ["pay"])) == [plain]
    # all: every word, in any attribute.
    assert found(mine, ("all", ["sky camel creds"])) == [camel]
    assert found(mine, ("all", ["sky camel prod"])) == []


TOKEN_REQUIRED = "You must provide a ClientRequestToken value. We recommend a UUID-type value."


def sm_call(server, op: str, body: dict) -> tuple[int, dict]:
    return json_call(server, "secretsmanager", f"secretsmanager.{op}", body)


def test_raw_writes_without_client_request_token_are_refused(server, sm):
    """The SDKs always send a token; a raw request without one is refused, and writes nothing."""
    name = f"fidelity/token-{uuid.uuid4().hex[:8]}"
    status, body = sm_call(server, "CreateSecret", {"Name": name, "SecretString": "v1"})
    assert (status, body.get("__type"), body.get("Message")) == (400, "InvalidRequestException", TOKEN_REQUIRED)
    refused_create = refused(sm.describe_secret, SecretId=name)
    assert refused_create[0] == "ResourceNotFoundException"

    created = sm.create_secret(Name=name, SecretString="v1")
    for op, extra in [("PutSecretValue", {"SecretString": "v2"}), ("UpdateSecret", {"SecretString": "v2"})]:
        status, body = sm_call(server, op, {"SecretId": name, **extra})
        assert (status, body.get("__type"), body.get("Message")) == (400, "InvalidRequestException", TOKEN_REQUIRED), op
    # UpdateSecret without a value makes no version and needs no token.
    status, body = sm_call(server, "UpdateSecret", {"SecretId": name, "Description": "d"})
    assert status == 200, body
    status, body = sm_call(
        server,
        "RotateSecret",
        {
            "SecretId": name,
            "RotationLambdaARN": "arn:aws:lambda:us-east-1:000000000000:function:CofferRandomPasswordRotation",
            "RotationRules": {"AutomaticallyAfterDays": 30},
        },
    )
    assert (status, body.get("__type"), body.get("Message")) == (400, "InvalidParameterException", TOKEN_REQUIRED)
    # Nothing was written by the refused calls.
    current = sm.get_secret_value(SecretId=name)
    assert (current["VersionId"], current["SecretString"]) == (created["VersionId"], "v1")
    assert not sm.describe_secret(SecretId=name).get("RotationEnabled")
    # With a token, a raw write works.
    status, body = sm_call(
        server, "PutSecretValue", {"SecretId": name, "SecretString": "v2", "ClientRequestToken": str(uuid.uuid4())}
    )
    assert status == 200, body
