"""boto3 against a real coffer server: the Secrets Manager API as AWS documents it.

The specification is the botocore model (``secretsmanager/2017-10-17/service-2.json``) for shapes,
limits and error codes, and AWS's Secrets Manager API reference for semantics. Every test uses
names of its own, so the module shares one server; the restart test has a server of its own.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import string
import time
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

from coffer_harness import (
    ACCESS_KEY,
    ACCOUNT,
    REGION,
    SECRET_KEY,
    CofferServer,
    error_code,
    make_client,
)
from helpers import expect_error, expect_error_in, new_key, unique

PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

SEED_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111111111111:role/CrossAccountReader"},
            "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            "Resource": "*",
        }
    ],
}

PUBLIC_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}
    ],
}


def arn_pattern(name: str, region: str = REGION, account: str = ACCOUNT) -> re.Pattern:
    return re.compile(rf"^arn:aws:secretsmanager:{region}:{account}:secret:{re.escape(name)}-[A-Za-z0-9]{{6}}$")


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def stages(sm, secret_id: str) -> dict[str, list[str]]:
    """DescribeSecret's VersionIdsToStages with every label list sorted."""
    desc = sm.describe_secret(SecretId=secret_id)
    return {v: sorted(s) for v, s in desc.get("VersionIdsToStages", {}).items()}


def all_versions(sm, secret_id: str, include_deprecated: bool = True) -> list[dict]:
    out, token = [], None
    while True:
        kwargs = {"SecretId": secret_id, "IncludeDeprecated": include_deprecated, "MaxResults": 100}
        if token:
            kwargs["NextToken"] = token
        page = sm.list_secret_version_ids(**kwargs)
        out.extend(page["Versions"])
        token = page.get("NextToken")
        if not token:
            return out


def list_names(sm, filters=None, **kwargs) -> list[str]:
    """Every secret name ListSecrets returns, over all pages, in order."""
    names, token = [], None
    while True:
        args = dict(kwargs)
        if filters is not None:
            args["Filters"] = filters
        if token:
            args["NextToken"] = token
        page = sm.list_secrets(**args)
        names.extend(s["Name"] for s in page["SecretList"])
        token = page.get("NextToken")
        if not token:
            return names


def key_id_of(kms, key_ref: str) -> str:
    """Whatever form coffer reports a KMS key in (id, ARN, alias), the key id it designates."""
    return kms.describe_key(KeyId=key_ref)["KeyMetadata"]["KeyId"]


# -- create and get ---------------------------------------------------------------------------


def test_create_string_secret_and_get_by_name_arn_and_partial_arn(sm):
    name = unique("app/db")
    created = sm.create_secret(
        Name=name,
        SecretString='{"user":"app","password":"s3cr3t"}',
        Description="app database",
        Tags=[{"Key": "env", "Value": "test"}, {"Key": "team", "Value": "core"}],
    )
    arn = created["ARN"]
    assert arn_pattern(name).match(arn), arn
    assert created["Name"] == name
    uuid.UUID(created["VersionId"])  # without a ClientRequestToken the SDK sends a UUID

    partial = arn[: -len("-XXXXXX")]
    for secret_id in (name, arn, partial):
        got = sm.get_secret_value(SecretId=secret_id)
        assert got["ARN"] == arn
        assert got["Name"] == name
        assert got["VersionId"] == created["VersionId"]
        assert got["SecretString"] == '{"user":"app","password":"s3cr3t"}'
        assert "SecretBinary" not in got
        assert got["VersionStages"] == ["AWSCURRENT"]
        assert isinstance(got["CreatedDate"], dt.datetime)
        assert abs((got["CreatedDate"] - now()).total_seconds()) < 300

    # A full ARN whose random suffix is not this secret's names nothing.
    other_suffix = "AAAAAA" if not arn.endswith("AAAAAA") else "BBBBBB"
    expect_error("ResourceNotFoundException", sm.get_secret_value, SecretId=partial + "-" + other_suffix)
    expect_error("ResourceNotFoundException", sm.get_secret_value, SecretId=unique("no/such/secret"))
    expect_error("ResourceExistsException", sm.create_secret, Name=name, SecretString="again")


def test_create_secret_answers_exactly_the_fields_aws_does(sm):
    """botocore's own example of CreateSecret (examples-1.json) answers ARN, Name and VersionId; a
    secret that is not replicated has no ReplicationStatus."""
    created = sm.create_secret(Name=unique("fields"), SecretString="x")
    assert set(created) - {"ResponseMetadata"} == {"ARN", "Name", "VersionId"}, created


def test_create_binary_secret(sm):
    name = unique("bin")
    payload = bytes(range(256)) + b"\x00\xff\xfe"
    created = sm.create_secret(Name=name, SecretBinary=payload)
    got = sm.get_secret_value(SecretId=created["ARN"])
    assert got["SecretBinary"] == payload
    assert "SecretString" not in got
    assert got["VersionId"] == created["VersionId"]


def test_create_without_a_value_has_no_version(sm):
    name = unique("empty")
    created = sm.create_secret(Name=name, Description="value comes later")
    assert arn_pattern(name).match(created["ARN"])
    assert "VersionId" not in created
    assert stages(sm, name) == {}
    expect_error("ResourceNotFoundException", sm.get_secret_value, SecretId=name)
    put = sm.put_secret_value(SecretId=name, SecretString="now it has one")
    assert put["VersionStages"] == ["AWSCURRENT"]
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "now it has one"


def test_the_first_version_always_gets_awscurrent(sm):
    """PutSecretValue: "If this operation creates the first version for the secret, then Secrets
    Manager automatically attaches the staging label AWSCURRENT to it" - even when VersionStages
    names other labels."""
    name = unique("first-version")
    sm.create_secret(Name=name)
    put = sm.put_secret_value(SecretId=name, SecretString="first", VersionStages=["blue"])
    assert stages(sm, name) == {put["VersionId"]: ["AWSCURRENT", "blue"]}
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "first"


def test_create_with_a_customer_key_by_id_arn_and_alias(sm, kms):
    key = new_key(kms, Description="for secrets")
    alias = unique("alias/sm")
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    alias_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:{alias}"
    for i, ref in enumerate((key["KeyId"], key["Arn"], alias, alias_arn)):
        name = unique(f"cmk{i}")
        sm.create_secret(Name=name, SecretString=f"under-cmk-{i}", KmsKeyId=ref)
        assert sm.get_secret_value(SecretId=name)["SecretString"] == f"under-cmk-{i}"
        desc = sm.describe_secret(SecretId=name)
        assert "KmsKeyId" in desc, desc
        assert key_id_of(kms, desc["KmsKeyId"]) == key["KeyId"]

    # The default key: DescribeSecret omits KmsKeyId for aws/secretsmanager.
    plain = unique("default-key")
    sm.create_secret(Name=plain, SecretString="default")
    assert "KmsKeyId" not in sm.describe_secret(SecretId=plain)

    # A key that does not exist: the secret is not created.
    missing = unique("missing-key")
    expect_error_in(
        {"ResourceNotFoundException", "InvalidParameterException", "InvalidRequestException", "EncryptionFailure"},
        sm.create_secret,
        Name=missing,
        SecretString="x",
        KmsKeyId=str(uuid.uuid4()),
    )
    expect_error("ResourceNotFoundException", sm.describe_secret, SecretId=missing)


def test_region_comes_from_the_signing_scope(server: CofferServer, sm):
    session = boto3.Session(aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name="eu-west-1")
    eu = make_client(session, "secretsmanager", server.endpoint)
    name = unique("regional")
    arn = eu.create_secret(Name=name, SecretString="in eu")["ARN"]
    assert arn_pattern(name, region="eu-west-1").match(arn), arn
    assert eu.get_secret_value(SecretId=name)["SecretString"] == "in eu"
    # Secrets Manager is regional: us-east-1 does not see it.
    expect_error("ResourceNotFoundException", sm.describe_secret, SecretId=name)


# -- versions and staging labels --------------------------------------------------------------


def test_put_secret_value_moves_current_and_previous(sm):
    name = unique("rotate")
    v1 = sm.create_secret(Name=name, SecretString="one")["VersionId"]
    put2 = sm.put_secret_value(SecretId=name, SecretString="two")
    v2 = put2["VersionId"]
    assert put2["Name"] == name and arn_pattern(name).match(put2["ARN"])
    assert put2["VersionStages"] == ["AWSCURRENT"]
    assert stages(sm, name) == {v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT"]}

    v3 = sm.put_secret_value(SecretId=name, SecretBinary=b"three")["VersionId"]
    # v1 lost its last label: it is deprecated and no longer in VersionIdsToStages.
    assert stages(sm, name) == {v2: ["AWSPREVIOUS"], v3: ["AWSCURRENT"]}

    assert sm.get_secret_value(SecretId=name)["SecretBinary"] == b"three"
    prev = sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")
    assert prev["SecretString"] == "two" and prev["VersionId"] == v2 and prev["VersionStages"] == ["AWSPREVIOUS"]
    # A deprecated version is still readable by its id.
    old = sm.get_secret_value(SecretId=name, VersionId=v1)
    assert old["SecretString"] == "one"
    assert old.get("VersionStages", []) == []
    assert sm.get_secret_value(SecretId=name, VersionId=v3, VersionStage="AWSCURRENT")["VersionId"] == v3
    expect_error("ResourceNotFoundException", sm.get_secret_value, SecretId=name, VersionStage="NOSUCHSTAGE")
    expect_error("ResourceNotFoundException", sm.get_secret_value, SecretId=name, VersionId=str(uuid.uuid4()))
    expect_error("ResourceNotFoundException", sm.put_secret_value, SecretId=unique("nope"), SecretString="x")


def test_version_id_and_stage_must_name_the_same_version(sm):
    """GetSecretValue: "If you specify both this parameter and VersionStage, the two parameters must
    refer to the same secret version." A mismatch is InvalidRequestException ("You provided a
    VersionStage that is not associated to the provided VersionId."), as moto reproduces it."""
    name = unique("mismatch")
    v1 = sm.create_secret(Name=name, SecretString="one")["VersionId"]
    v2 = sm.put_secret_value(SecretId=name, SecretString="two")["VersionId"]
    assert sm.get_secret_value(SecretId=name, VersionId=v1, VersionStage="AWSPREVIOUS")["SecretString"] == "one"
    assert sm.get_secret_value(SecretId=name, VersionId=v2, VersionStage="AWSCURRENT")["SecretString"] == "two"
    err = expect_error("InvalidRequestException", sm.get_secret_value, SecretId=name, VersionId=v1, VersionStage="AWSCURRENT")
    assert "SecretString" not in err.response


def test_custom_version_stages(sm):
    name = unique("stages")
    v1 = sm.create_secret(Name=name, SecretString="live")["VersionId"]
    blue = sm.put_secret_value(SecretId=name, SecretString="candidate", VersionStages=["blue", "AWSPENDING"])
    v2 = blue["VersionId"]
    assert sorted(blue["VersionStages"]) == ["AWSPENDING", "blue"]
    # AWSCURRENT did not move.
    assert stages(sm, name) == {v1: ["AWSCURRENT"], v2: ["AWSPENDING", "blue"]}
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "live"
    assert sm.get_secret_value(SecretId=name, VersionStage="blue")["SecretString"] == "candidate"
    assert sm.get_secret_value(SecretId=name, VersionStage="AWSPENDING")["VersionId"] == v2

    # A label lives on one version only: "blue" moves, AWSCURRENT moves and leaves AWSPREVIOUS behind.
    v3 = sm.put_secret_value(SecretId=name, SecretString="promoted", VersionStages=["blue", "AWSCURRENT"])["VersionId"]
    assert stages(sm, name) == {v1: ["AWSPREVIOUS"], v2: ["AWSPENDING"], v3: ["AWSCURRENT", "blue"]}


def test_update_secret_version_stage_rollback(sm):
    name = unique("rollback")
    v1 = sm.create_secret(Name=name, SecretString="good")["VersionId"]
    v2 = sm.put_secret_value(SecretId=name, SecretString="bad")["VersionId"]
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "bad"

    # AWSCURRENT is on v2: moving it without naming where it comes from is refused...
    expect_error(
        "InvalidParameterException",
        sm.update_secret_version_stage,
        SecretId=name,
        VersionStage="AWSCURRENT",
        MoveToVersionId=v1,
    )
    # ...and so is naming a version that does not hold it.
    expect_error(
        "InvalidParameterException",
        sm.update_secret_version_stage,
        SecretId=name,
        VersionStage="AWSCURRENT",
        MoveToVersionId=v1,
        RemoveFromVersionId=v1,
    )
    assert stages(sm, name) == {v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT"]}, "a refused call changed the labels"

    out = sm.update_secret_version_stage(
        SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=v1, RemoveFromVersionId=v2
    )
    assert out["Name"] == name and arn_pattern(name).match(out["ARN"])
    # Rolled back; AWSPREVIOUS followed to the version AWSCURRENT left.
    assert stages(sm, name) == {v1: ["AWSCURRENT"], v2: ["AWSPREVIOUS"]}
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "good"
    assert sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"] == "bad"

    # A custom label: attach, then remove with RemoveFromVersionId alone.
    sm.update_secret_version_stage(SecretId=name, VersionStage="canary", MoveToVersionId=v2)
    assert stages(sm, name) == {v1: ["AWSCURRENT"], v2: ["AWSPREVIOUS", "canary"]}
    sm.update_secret_version_stage(SecretId=name, VersionStage="canary", RemoveFromVersionId=v2)
    assert stages(sm, name) == {v1: ["AWSCURRENT"], v2: ["AWSPREVIOUS"]}

    expect_error(
        "ResourceNotFoundException",
        sm.update_secret_version_stage,
        SecretId=name,
        VersionStage="canary",
        MoveToVersionId=str(uuid.uuid4()),
    )


def test_client_request_token_is_idempotent(sm, sm_raw):
    name = unique("idem")
    t1 = str(uuid.uuid4())
    created = sm.create_secret(Name=name, SecretString="first", ClientRequestToken=t1)
    assert created["VersionId"] == t1

    t2 = "tok-" + uuid.uuid4().hex  # any 32-64 characters
    put = sm.put_secret_value(SecretId=name, SecretString="second", ClientRequestToken=t2)
    assert put["VersionId"] == t2
    before = sorted(v["VersionId"] for v in all_versions(sm, name))
    assert before == sorted([t1, t2])

    # The same token and value again: success, same version, no new one, labels untouched.
    again = sm.put_secret_value(SecretId=name, SecretString="second", ClientRequestToken=t2)
    assert again["VersionId"] == t2
    # A retry of an older write is ignored too: AWSCURRENT stays on t2.
    retry_old = sm.put_secret_value(SecretId=name, SecretString="first", ClientRequestToken=t1)
    assert retry_old["VersionId"] == t1
    assert sorted(v["VersionId"] for v in all_versions(sm, name)) == before
    assert stages(sm, name) == {t1: ["AWSPREVIOUS"], t2: ["AWSCURRENT"]}
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "second"

    # The same token with another value is a conflict, and the stored value is unchanged.
    expect_error("ResourceExistsException", sm.put_secret_value, SecretId=name, SecretString="other", ClientRequestToken=t2)
    expect_error("ResourceExistsException", sm.put_secret_value, SecretId=name, SecretBinary=b"second", ClientRequestToken=t2)
    assert sm.get_secret_value(SecretId=name, VersionId=t2)["SecretString"] == "second"

    # Binary values are compared too.
    t3 = str(uuid.uuid4())
    sm.put_secret_value(SecretId=name, SecretBinary=b"\x01\x02", ClientRequestToken=t3)
    assert sm.put_secret_value(SecretId=name, SecretBinary=b"\x01\x02", ClientRequestToken=t3)["VersionId"] == t3
    expect_error("ResourceExistsException", sm.put_secret_value, SecretId=name, SecretBinary=b"\x01\x03", ClientRequestToken=t3)

    # UpdateSecret takes the token as the new version's id as well.
    t4 = str(uuid.uuid4())
    assert sm.update_secret(SecretId=name, SecretString="fourth", ClientRequestToken=t4)["VersionId"] == t4

    # The token is 32-64 characters.
    expect_error("ValidationException", sm_raw.put_secret_value, SecretId=name, SecretString="x", ClientRequestToken="short")
    expect_error("ValidationException", sm_raw.put_secret_value, SecretId=name, SecretString="x", ClientRequestToken="x" * 65)


def test_list_secret_version_ids_deprecated_and_paging(sm):
    name = unique("versions")
    ids = [sm.create_secret(Name=name, SecretString="v0")["VersionId"]]
    for i in range(1, 5):
        ids.append(sm.put_secret_value(SecretId=name, SecretString=f"v{i}")["VersionId"])

    page = sm.list_secret_version_ids(SecretId=name)
    assert page["Name"] == name and arn_pattern(name).match(page["ARN"])
    labelled = {v["VersionId"]: sorted(v["VersionStages"]) for v in page["Versions"]}
    assert labelled == {ids[4]: ["AWSCURRENT"], ids[3]: ["AWSPREVIOUS"]}
    for v in page["Versions"]:
        assert isinstance(v["CreatedDate"], dt.datetime)

    every = sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
    assert sorted(v["VersionId"] for v in every) == sorted(ids)

    seen, token, pages = [], None, 0
    while True:
        kwargs = {"SecretId": name, "IncludeDeprecated": True, "MaxResults": 2}
        if token:
            kwargs["NextToken"] = token
        page = sm.list_secret_version_ids(**kwargs)
        assert len(page["Versions"]) <= 2
        seen.extend(v["VersionId"] for v in page["Versions"])
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert pages >= 3
    assert sorted(seen) == sorted(ids), "paging lost or repeated a version"
    expect_error("InvalidNextTokenException", sm.list_secret_version_ids, SecretId=name, NextToken="not-a-token")


def test_describe_secret_fields(server: CofferServer, sm, kms):
    key = new_key(kms)
    name = unique("describe")
    created = sm.create_secret(
        Name=name,
        SecretString="v1",
        Description="described",
        KmsKeyId=key["Arn"],
        Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": ""}],
    )
    v2 = sm.put_secret_value(SecretId=name, SecretString="v2", VersionStages=["AWSCURRENT", "extra"])["VersionId"]
    sm.get_secret_value(SecretId=name)

    # The wire format: dates are epoch seconds (numbers), as botocore's model says.
    raw: dict = {}

    def capture(http_response, **_):
        raw["body"] = json.loads(http_response.content)

    client = server.client("secretsmanager")
    client.meta.events.register("after-call.secrets-manager.DescribeSecret", capture)
    desc = client.describe_secret(SecretId=name)

    assert desc["ARN"] == created["ARN"]
    assert desc["Name"] == name
    assert desc["Description"] == "described"
    assert key_id_of(kms, desc["KmsKeyId"]) == key["KeyId"]
    assert sorted((t["Key"], t["Value"]) for t in desc["Tags"]) == [("a", "1"), ("b", "")]
    assert {k: sorted(v) for k, v in desc["VersionIdsToStages"].items()} == {
        created["VersionId"]: ["AWSPREVIOUS"],
        v2: ["AWSCURRENT", "extra"],
    }
    for field in ("CreatedDate", "LastChangedDate", "LastAccessedDate"):
        assert isinstance(desc[field], dt.datetime), field
        assert isinstance(raw["body"][field], (int, float)), (field, raw["body"][field])
    assert abs(raw["body"]["CreatedDate"] - time.time()) < 300
    assert desc["CreatedDate"] <= desc["LastChangedDate"]
    # LastAccessedDate is the day of the last read (AWS rounds it down to the date).
    assert desc["LastAccessedDate"] <= now() + dt.timedelta(seconds=5)
    assert desc["LastAccessedDate"].astimezone(dt.timezone.utc).time() == dt.time(0, 0), desc["LastAccessedDate"]
    assert (now() - desc["LastAccessedDate"]).total_seconds() < 2 * 86400
    assert "DeletedDate" not in desc
    assert "OwningService" not in desc


def test_update_secret(sm, kms):
    key_a = new_key(kms, Description="old key")
    key_b = new_key(kms, Description="new key")
    name = unique("update")
    v1 = sm.create_secret(Name=name, SecretString="under A", KmsKeyId=key_a["KeyId"], Description="first")["VersionId"]
    changed_before = sm.describe_secret(SecretId=name)["LastChangedDate"]

    # Metadata only: no new version.
    out = sm.update_secret(SecretId=name, Description="second")
    assert out["Name"] == name and arn_pattern(name).match(out["ARN"])
    assert "VersionId" not in out
    desc = sm.describe_secret(SecretId=name)
    assert desc["Description"] == "second"
    assert desc["LastChangedDate"] >= changed_before
    assert stages(sm, name) == {v1: ["AWSCURRENT"]}

    # A new key applies to new versions; the old version stays readable.
    sm.update_secret(SecretId=name, KmsKeyId=key_b["Arn"])
    assert key_id_of(kms, sm.describe_secret(SecretId=name)["KmsKeyId"]) == key_b["KeyId"]
    assert sm.get_secret_value(SecretId=name, VersionId=v1)["SecretString"] == "under A"

    # A new value: a new AWSCURRENT version, the old one AWSPREVIOUS.
    out = sm.update_secret(SecretId=name, SecretString="under B")
    v2 = out["VersionId"]
    assert stages(sm, name) == {v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT"]}
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "under B"
    assert sm.get_secret_value(SecretId=name, VersionId=v1)["SecretString"] == "under A"
    # ListSecretVersionIds names the key of each version.
    keys = {v["VersionId"]: v.get("KmsKeyIds", []) for v in all_versions(sm, name)}
    assert [key_id_of(kms, k) for k in keys[v2]] == [key_b["KeyId"]], keys
    assert key_a["KeyId"] in [key_id_of(kms, k) for k in keys[v1]], keys

    # The new version is encrypted under key B: it does not need key A.
    kms.disable_key(KeyId=key_a["KeyId"])
    try:
        assert sm.get_secret_value(SecretId=name)["SecretString"] == "under B"
    finally:
        kms.enable_key(KeyId=key_a["KeyId"])
    assert sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"] == "under A"

    expect_error("ResourceNotFoundException", sm.update_secret, SecretId=unique("nope"), Description="x")


# -- deletion ---------------------------------------------------------------------------------


def test_delete_with_recovery_window_and_restore(sm, sm_raw):
    name = unique("delete")
    arn = sm.create_secret(Name=name, SecretString="keep me")["ARN"]

    out = sm.delete_secret(SecretId=name)
    assert out["ARN"] == arn and out["Name"] == name
    expected = now() + dt.timedelta(days=30)
    assert abs((out["DeletionDate"] - expected).total_seconds()) < 600, out["DeletionDate"]

    desc = sm.describe_secret(SecretId=name)  # still describable
    assert isinstance(desc["DeletedDate"], dt.datetime)
    for call, kwargs in (
        (sm.get_secret_value, {}),
        (sm.put_secret_value, {"SecretString": "new"}),
        (sm.update_secret, {"Description": "new"}),
    ):
        err = expect_error("InvalidRequestException", call, SecretId=name, **kwargs)
        assert "keep me" not in json.dumps(err.response, default=str)
    # Deleting it again (without force) is refused the same way.
    expect_error("InvalidRequestException", sm.delete_secret, SecretId=name, RecoveryWindowInDays=7)

    restored = sm.restore_secret(SecretId=name)
    assert restored["ARN"] == arn and restored["Name"] == name
    assert "DeletedDate" not in sm.describe_secret(SecretId=name)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "keep me"

    out = sm.delete_secret(SecretId=arn, RecoveryWindowInDays=7)
    assert abs((out["DeletionDate"] - (now() + dt.timedelta(days=7))).total_seconds()) < 600
    sm.restore_secret(SecretId=arn)
    out = sm.delete_secret(SecretId=arn, RecoveryWindowInDays=30)
    assert abs((out["DeletionDate"] - (now() + dt.timedelta(days=30))).total_seconds()) < 600
    sm.restore_secret(SecretId=arn)

    for days in (0, 6, 31, 365):
        expect_error("InvalidParameterException", sm_raw.delete_secret, SecretId=name, RecoveryWindowInDays=days)
    expect_error(
        "InvalidParameterException",
        sm.delete_secret,
        SecretId=name,
        RecoveryWindowInDays=7,
        ForceDeleteWithoutRecovery=True,
    )
    # None of the refused calls deleted anything.
    assert "DeletedDate" not in sm.describe_secret(SecretId=name)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "keep me"

    expect_error("ResourceNotFoundException", sm.delete_secret, SecretId=unique("missing"))
    expect_error("ResourceNotFoundException", sm.restore_secret, SecretId=unique("missing"))


def test_force_delete_frees_the_name_at_once(sm):
    name = unique("force")
    old_arn = sm.create_secret(Name=name, SecretString="old")["ARN"]
    out = sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    assert out["ARN"] == old_arn and out["Name"] == name
    assert isinstance(out["DeletionDate"], dt.datetime)
    expect_error("ResourceNotFoundException", sm.describe_secret, SecretId=name)
    expect_error("ResourceNotFoundException", sm.get_secret_value, SecretId=old_arn)
    expect_error("ResourceNotFoundException", sm.restore_secret, SecretId=name)

    new_arn = sm.create_secret(Name=name, SecretString="new")["ARN"]
    assert arn_pattern(name).match(new_arn)
    assert new_arn != old_arn, "a recreated secret must get a new random ARN suffix"
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "new"
    # The old ARN does not reach the new secret.
    expect_error("ResourceNotFoundException", sm.get_secret_value, SecretId=old_arn)

    # A secret already scheduled for deletion can be force-deleted too.
    sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    expect_error("ResourceNotFoundException", sm.describe_secret, SecretId=name)
    assert name not in list_names(sm, [{"Key": "name", "Values": [name]}], IncludePlannedDeletion=True)


# -- listing ----------------------------------------------------------------------------------


def test_list_secrets_filters(sm, sm_raw):
    p = "lf" + uuid.uuid4().hex[:8]
    sm.create_secret(
        Name=f"{p}/alpha",
        SecretString="1",
        Description="Payments database credentials",
        Tags=[{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "payments"}],
    )
    sm.create_secret(
        Name=f"{p}/Beta",
        SecretString="2",
        Description="Reporting cache",
        Tags=[{"Key": "env", "Value": "staging"}],
    )
    sm.create_secret(
        Name=f"{p}/alphabet",
        SecretString="3",
        Description="payments ledger",
        Tags=[{"Key": "owner", "Value": "Prod-team"}],
    )
    mine = {"Key": "name", "Values": [p]}

    def names(*filters) -> list[str]:
        return sorted(n.split("/", 1)[1] for n in list_names(sm, [mine, *filters]))

    assert names() == ["Beta", "alpha", "alphabet"]
    # name: prefix, case-sensitive.
    assert sorted(list_names(sm, [{"Key": "name", "Values": [f"{p}/alpha"]}])) == [f"{p}/alpha", f"{p}/alphabet"]
    assert list_names(sm, [{"Key": "name", "Values": [f"{p}/Alpha"]}]) == []
    assert list_names(sm, [{"Key": "name", "Values": [f"{p}/B"]}]) == [f"{p}/Beta"]
    assert list_names(sm, [{"Key": "name", "Values": [p.upper()]}]) == []
    # description: prefix, not case-sensitive.
    assert names({"Key": "description", "Values": ["payments"]}) == ["alpha", "alphabet"]
    assert names({"Key": "description", "Values": ["PAYMENTS"]}) == ["alpha", "alphabet"]
    assert names({"Key": "description", "Values": ["reporting"]}) == ["Beta"]
    # tag-key and tag-value: prefix, case-sensitive.
    assert names({"Key": "tag-key", "Values": ["env"]}) == ["Beta", "alpha"]
    assert names({"Key": "tag-key", "Values": ["ENV"]}) == []
    assert names({"Key": "tag-key", "Values": ["ow"]}) == ["alphabet"]
    assert names({"Key": "tag-value", "Values": ["prod"]}) == ["alpha"]
    assert names({"Key": "tag-value", "Values": ["Prod"]}) == ["alphabet"]
    assert names({"Key": "tag-value", "Values": ["stag"]}) == ["Beta"]
    # Several values of one filter: any of them.
    assert names({"Key": "tag-value", "Values": ["prod", "stag"]}) == ["Beta", "alpha"]
    # all: every attribute, not case-sensitive.
    assert names({"Key": "all", "Values": ["REPORTING"]}) == ["Beta"]
    assert names({"Key": "all", "Values": ["ledger"]}) == ["alphabet"]
    # ! negates.
    assert names({"Key": "tag-key", "Values": ["!env"]}) == ["alphabet"]
    assert names({"Key": "description", "Values": ["!payments"]}) == ["Beta"]
    # Several filters: all of them.
    assert names({"Key": "description", "Values": ["payments"]}, {"Key": "tag-key", "Values": ["team"]}) == ["alpha"]
    assert names({"Key": "tag-key", "Values": ["env"]}, {"Key": "tag-value", "Values": ["staging"]}) == ["Beta"]
    assert names({"Key": "tag-key", "Values": ["env"]}, {"Key": "description", "Values": ["ledger"]}) == []

    # Filter keys and values are checked against the model.
    expect_error("ValidationException", sm_raw.list_secrets, Filters=[{"Key": "colour", "Values": ["red"]}])
    expect_error("ValidationException", sm_raw.list_secrets, Filters=[{"Key": "name", "Values": ["semi;colon"]}])
    expect_error("ValidationException", sm_raw.list_secrets, Filters=[{"Key": "name", "Values": [f"v{i}" for i in range(11)]}])

    listed = {s["Name"]: s for s in sm.list_secrets(Filters=[mine])["SecretList"]}
    alpha = listed[f"{p}/alpha"]
    assert arn_pattern(f"{p}/alpha").match(alpha["ARN"])
    assert alpha["Description"] == "Payments database credentials"
    assert sorted((t["Key"], t["Value"]) for t in alpha["Tags"]) == [("env", "prod"), ("team", "payments")]
    assert isinstance(alpha["CreatedDate"], dt.datetime)
    assert list(alpha["SecretVersionsToStages"].values()) == [["AWSCURRENT"]]


def test_list_secrets_planned_deletion_and_sort_order(sm):
    p = "ls" + uuid.uuid4().hex[:8]
    order = []
    for i in range(3):
        if i:
            time.sleep(1.1)  # distinct CreatedDate seconds
        order.append(f"{p}/s{2 - i}-{uuid.uuid4().hex[:4]}")  # names sort opposite to creation
        sm.create_secret(Name=order[-1], SecretString=str(i))
    mine = [{"Key": "name", "Values": [p]}]
    # By CreatedDate (the default sort key).
    assert list_names(sm, mine, SortOrder="asc") == order
    assert list_names(sm, mine, SortOrder="desc") == order[::-1]
    assert list_names(sm, mine, SortOrder="asc", MaxResults=1) == order
    # SortBy name.
    assert list_names(sm, mine, SortBy="name", SortOrder="asc") == sorted(order)
    assert list_names(sm, mine, SortBy="name", SortOrder="desc") == sorted(order, reverse=True)

    sm.delete_secret(SecretId=order[1], RecoveryWindowInDays=7)
    assert list_names(sm, mine, SortOrder="asc") == [order[0], order[2]]
    assert list_names(sm, mine, SortOrder="asc", IncludePlannedDeletion=True) == order
    deleted = [s for s in sm.list_secrets(Filters=mine, IncludePlannedDeletion=True)["SecretList"] if s["Name"] == order[1]]
    assert len(deleted) == 1 and isinstance(deleted[0]["DeletedDate"], dt.datetime)


def test_list_secrets_paging_is_stable_while_secrets_are_added(sm, sm_raw):
    p = "pg" + uuid.uuid4().hex[:8]
    initial = {f"{p}/{i:02d}-{uuid.uuid4().hex[:4]}" for i in range(7)}
    for n in sorted(initial):
        sm.create_secret(Name=n, SecretString="x")
    mine = [{"Key": "name", "Values": [p]}]

    for sort in ("asc", "desc"):
        seen: list[str] = []
        added: set[str] = set()
        token, pages = None, 0
        while True:
            kwargs = {"Filters": mine, "MaxResults": 3, "SortOrder": sort}
            if token:
                kwargs["NextToken"] = token
            page = sm.list_secrets(**kwargs)
            assert len(page["SecretList"]) <= 3
            seen.extend(s["Name"] for s in page["SecretList"])
            pages += 1
            token = page.get("NextToken")
            if not token:
                break
            # New secrets appear between pages.
            for _ in range(2):
                n = f"{p}/new-{uuid.uuid4().hex[:6]}"
                sm.create_secret(Name=n, SecretString="y")
                added.add(n)
            assert pages < 50, "paging does not end"
        assert len(seen) == len(set(seen)), f"a secret was listed twice: {seen}"
        missing = initial - set(seen)
        assert not missing, f"secrets existing at the start were skipped ({sort}): {missing}"
        assert set(seen) <= initial | added
        initial |= added  # the next pass starts with these

    # Without filters too, no secret appears twice.
    everything = list_names(sm, MaxResults=5)
    assert len(everything) == len(set(everything))
    assert initial <= set(everything)

    expect_error("InvalidNextTokenException", sm.list_secrets, NextToken="garbage-token")
    expect_error("ValidationException", sm_raw.list_secrets, MaxResults=101)


# -- batch get --------------------------------------------------------------------------------


def test_batch_get_by_id_list(sm):
    a = unique("batch-a")
    b = unique("batch-b")
    gone = unique("batch-deleted")
    arn_a = sm.create_secret(Name=a, SecretString="alpha-value")["ARN"]
    arn_b = sm.create_secret(Name=b, SecretBinary=b"\x00beta")["ARN"]
    sm.create_secret(Name=gone, SecretString="deleted-value")
    sm.delete_secret(SecretId=gone, RecoveryWindowInDays=7)
    missing = unique("batch-missing")

    out = sm.batch_get_secret_value(SecretIdList=[a, arn_b, missing, gone])
    values = {v["Name"]: v for v in out["SecretValues"]}
    assert set(values) == {a, b}
    assert values[a]["ARN"] == arn_a and values[a]["SecretString"] == "alpha-value"
    assert values[b]["ARN"] == arn_b and values[b]["SecretBinary"] == b"\x00beta"
    for v in values.values():
        assert v["VersionStages"] == ["AWSCURRENT"]
        uuid.UUID(v["VersionId"])
        assert isinstance(v["CreatedDate"], dt.datetime)
    errors = {e["SecretId"]: e for e in out["Errors"]}
    assert set(errors) == {missing, gone}
    assert errors[missing]["ErrorCode"] == "ResourceNotFoundException"
    assert errors[gone]["ErrorCode"] == "InvalidRequestException"
    assert errors[missing]["Message"]
    assert "deleted-value" not in json.dumps(out, default=str)


def test_batch_get_by_filters_with_paging(sm):
    p = "bg" + uuid.uuid4().hex[:8]
    expected = {}
    for i in range(5):
        n = f"{p}/{i}"
        sm.create_secret(Name=n, SecretString=f"value-{i}")
        expected[n] = f"value-{i}"
    sm.create_secret(Name=f"{p}-other", SecretString="not mine", Description="outside")

    got: dict[str, str] = {}
    token, pages = None, 0
    while True:
        kwargs = {"Filters": [{"Key": "name", "Values": [f"{p}/"]}], "MaxResults": 2}
        if token:
            kwargs["NextToken"] = token
        page = sm.batch_get_secret_value(**kwargs)
        assert len(page["SecretValues"]) <= 2
        for v in page["SecretValues"]:
            assert v["Name"] not in got, "a secret was returned twice"
            got[v["Name"]] = v["SecretString"]
        assert page.get("Errors", []) == []
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert pages >= 3
    assert got == expected


# -- tags -------------------------------------------------------------------------------------


def tag_pairs(sm, name) -> list[tuple[str, str]]:
    return sorted((t["Key"], t["Value"]) for t in sm.describe_secret(SecretId=name).get("Tags", []))


def test_tag_and_untag(sm, sm_raw):
    name = unique("tags")
    sm.create_secret(Name=name, SecretString="x", Tags=[{"Key": "env", "Value": "dev"}, {"Key": "keep", "Value": "1"}])
    assert sm.tag_resource(SecretId=name, Tags=[{"Key": "env", "Value": "prod"}, {"Key": "cost", "Value": "42"}])
    assert tag_pairs(sm, name) == [("cost", "42"), ("env", "prod"), ("keep", "1")]
    sm.untag_resource(SecretId=name, TagKeys=["env", "not-there"])
    assert tag_pairs(sm, name) == [("cost", "42"), ("keep", "1")]

    # Up to 50 tags.
    sm.tag_resource(SecretId=name, Tags=[{"Key": f"k{i:02d}", "Value": str(i)} for i in range(48)])
    assert len(tag_pairs(sm, name)) == 50
    expect_error_in(
        {"InvalidParameterException", "LimitExceededException", "ValidationException"},
        sm.tag_resource,
        SecretId=name,
        Tags=[{"Key": "one-too-many", "Value": "x"}],
    )
    assert len(tag_pairs(sm, name)) == 50
    # Overwriting an existing key does not add one.
    sm.tag_resource(SecretId=name, Tags=[{"Key": "k00", "Value": "changed"}])
    assert ("k00", "changed") in tag_pairs(sm, name)

    # The aws: prefix is reserved.
    other = unique("tags-aws")
    sm.create_secret(Name=other, SecretString="x")
    for key in ("aws:owner", "AWS:owner"):
        expect_error_in(
            {"InvalidParameterException", "ValidationException"},
            sm.tag_resource,
            SecretId=other,
            Tags=[{"Key": key, "Value": "me"}],
        )
    assert tag_pairs(sm, other) == []
    expect_error_in(
        {"InvalidParameterException", "ValidationException"},
        sm.create_secret,
        Name=unique("tags-aws-create"),
        SecretString="x",
        Tags=[{"Key": "aws:x", "Value": "y"}],
    )
    too_many = unique("tags-51")
    expect_error_in(
        {"InvalidParameterException", "LimitExceededException", "ValidationException"},
        sm.create_secret,
        Name=too_many,
        SecretString="x",
        Tags=[{"Key": f"t{i}", "Value": "v"} for i in range(51)],
    )
    expect_error("ResourceNotFoundException", sm.describe_secret, SecretId=too_many)
    # Key and value lengths come from the model.
    expect_error("ValidationException", sm_raw.tag_resource, SecretId=other, Tags=[{"Key": "k" * 129, "Value": "v"}])
    expect_error("ValidationException", sm_raw.tag_resource, SecretId=other, Tags=[{"Key": "k", "Value": "v" * 257}])
    sm.tag_resource(SecretId=other, Tags=[{"Key": "k" * 128, "Value": "v" * 256}])
    assert tag_pairs(sm, other) == [("k" * 128, "v" * 256)]
    expect_error("ResourceNotFoundException", sm.tag_resource, SecretId=unique("nope"), Tags=[{"Key": "a", "Value": "b"}])


# -- resource policies ------------------------------------------------------------------------


def test_resource_policy_round_trip(sm):
    name = unique("policy")
    arn = sm.create_secret(Name=name, SecretString="x")["ARN"]
    empty = sm.get_resource_policy(SecretId=name)
    assert empty["ARN"] == arn and empty["Name"] == name
    assert "ResourcePolicy" not in empty

    out = sm.put_resource_policy(SecretId=name, ResourcePolicy=json.dumps(SEED_POLICY))
    assert out["ARN"] == arn and out["Name"] == name
    got = sm.get_resource_policy(SecretId=arn)
    assert got["ARN"] == arn and got["Name"] == name
    assert json.loads(got["ResourcePolicy"]) == SEED_POLICY

    out = sm.delete_resource_policy(SecretId=name)
    assert out["ARN"] == arn and out["Name"] == name
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId=name)


def test_resource_policy_is_checked(sm, sm_raw):
    name = unique("policy-check")
    sm.create_secret(Name=name, SecretString="x")
    # At most 20480 characters (the model's NonEmptyResourcePolicyType).
    huge = dict(SEED_POLICY, Id="x" * 20480)
    expect_error("ValidationException", sm_raw.put_resource_policy, SecretId=name, ResourcePolicy=json.dumps(huge))
    expect_error("MalformedPolicyDocumentException", sm.put_resource_policy, SecretId=name, ResourcePolicy="{not json")
    expect_error(
        "MalformedPolicyDocumentException", sm.put_resource_policy, SecretId=name, ResourcePolicy='["a", "list"]'
    )
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId=name)

    # BlockPublicPolicy refuses a policy open to everyone; by default it is not blocked.
    expect_error(
        "PublicPolicyException",
        sm.put_resource_policy,
        SecretId=name,
        ResourcePolicy=json.dumps(PUBLIC_POLICY),
        BlockPublicPolicy=True,
    )
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId=name)
    sm.put_resource_policy(SecretId=name, ResourcePolicy=json.dumps(SEED_POLICY), BlockPublicPolicy=True)
    sm.put_resource_policy(SecretId=name, ResourcePolicy=json.dumps(PUBLIC_POLICY))
    assert json.loads(sm.get_resource_policy(SecretId=name)["ResourcePolicy"]) == PUBLIC_POLICY


def test_validate_resource_policy(sm):
    ok = sm.validate_resource_policy(ResourcePolicy=json.dumps(SEED_POLICY))
    assert ok["PolicyValidationPassed"] is True
    assert ok.get("ValidationErrors", []) == []

    name = unique("validate")
    sm.create_secret(Name=name, SecretString="x")
    ok = sm.validate_resource_policy(SecretId=name, ResourcePolicy=json.dumps(SEED_POLICY))
    assert ok["PolicyValidationPassed"] is True

    # Broad access is reported.
    public = sm.validate_resource_policy(ResourcePolicy=json.dumps(PUBLIC_POLICY))
    assert public["PolicyValidationPassed"] is False
    assert public["ValidationErrors"], public
    for e in public["ValidationErrors"]:
        assert e.get("CheckName") and e.get("ErrorMessage"), e

    # A policy that is JSON but not a valid policy is reported, either as a failed validation or as
    # MalformedPolicyDocumentException; it must not pass.
    bad = {"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}
    try:
        res = sm.validate_resource_policy(ResourcePolicy=json.dumps(bad))
    except ClientError as e:
        assert error_code(e) == "MalformedPolicyDocumentException", e.response
    else:
        assert res["PolicyValidationPassed"] is False and res["ValidationErrors"], res
    expect_error("MalformedPolicyDocumentException", sm.validate_resource_policy, ResourcePolicy="{{{")
    expect_error(
        "ResourceNotFoundException",
        sm.validate_resource_policy,
        SecretId=unique("nope"),
        ResourcePolicy=json.dumps(SEED_POLICY),
    )


# -- random passwords -------------------------------------------------------------------------


def classes_in(pw: str) -> set[str]:
    out = set()
    for c in pw:
        if c in string.ascii_lowercase:
            out.add("lower")
        elif c in string.ascii_uppercase:
            out.add("upper")
        elif c in string.digits:
            out.add("digit")
        elif c in PUNCTUATION:
            out.add("punct")
        elif c == " ":
            out.add("space")
        else:
            out.add("other")
    return out


def test_get_random_password(sm, sm_raw):
    seen = set()
    for _ in range(10):
        pw = sm.get_random_password()["RandomPassword"]
        assert len(pw) == 32
        # RequireEachIncludedType defaults to true; no space unless asked for.
        assert classes_in(pw) == {"lower", "upper", "digit", "punct"}, pw
        seen.add(pw)
    assert len(seen) == 10, "random passwords repeat"

    assert len(sm.get_random_password(PasswordLength=4096)["RandomPassword"]) == 4096
    assert len(sm.get_random_password(PasswordLength=1, RequireEachIncludedType=False)["RandomPassword"]) == 1

    excluded = "abcdefABCDEF012345!@#"
    for _ in range(5):
        pw = sm.get_random_password(PasswordLength=200, ExcludeCharacters=excluded)["RandomPassword"]
        assert not set(pw) & set(excluded), pw

    pw = sm.get_random_password(PasswordLength=100, ExcludeNumbers=True, ExcludePunctuation=True)["RandomPassword"]
    assert classes_in(pw) == {"lower", "upper"}
    pw = sm.get_random_password(PasswordLength=100, ExcludeUppercase=True, ExcludeLowercase=True)["RandomPassword"]
    assert classes_in(pw) == {"digit", "punct"}
    pw = sm.get_random_password(PasswordLength=100, IncludeSpace=True)["RandomPassword"]
    assert classes_in(pw) == {"lower", "upper", "digit", "punct", "space"}
    # With each type required and length 4, one character of each of the 4 types.
    for _ in range(5):
        pw = sm.get_random_password(PasswordLength=4, RequireEachIncludedType=True)["RandomPassword"]
        assert classes_in(pw) == {"lower", "upper", "digit", "punct"} and len(pw) == 4, pw

    expect_error(
        "InvalidParameterException",
        sm.get_random_password,
        ExcludeNumbers=True,
        ExcludePunctuation=True,
        ExcludeUppercase=True,
        ExcludeLowercase=True,
    )
    expect_error(
        "InvalidParameterException",
        sm.get_random_password,
        ExcludeNumbers=True,
        ExcludePunctuation=True,
        ExcludeUppercase=True,
        ExcludeCharacters=string.ascii_lowercase,
    )
    expect_error("ValidationException", sm_raw.get_random_password, PasswordLength=0)
    expect_error("ValidationException", sm_raw.get_random_password, PasswordLength=4097)


# -- KMS key state ----------------------------------------------------------------------------


def test_disabled_key_blocks_reads_until_enabled(sm, kms):
    key = new_key(kms)
    name = unique("disabled-key")
    v1 = sm.create_secret(Name=name, SecretString="needs-the-key-9f3", KmsKeyId=key["KeyId"])["VersionId"]
    # Read once first: the version's unwrapped data key is remembered now, and must not open
    # the value past the key's state.
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "needs-the-key-9f3"
    kms.disable_key(KeyId=key["KeyId"])
    try:
        err = expect_error("DecryptionFailure", sm.get_secret_value, SecretId=name)
        assert "SecretString" not in err.response and "SecretBinary" not in err.response
        assert "needs-the-key-9f3" not in json.dumps(err.response, default=str)
        # BatchGet reports the failure for that secret instead of a value.
        out = sm.batch_get_secret_value(SecretIdList=[name])
        assert out["SecretValues"] == []
        assert [e["ErrorCode"] for e in out["Errors"]] == ["DecryptionFailure"]
        # A new version cannot be encrypted either, and nothing is stored.
        expect_error("EncryptionFailure", sm.put_secret_value, SecretId=name, SecretString="new")
        assert [v["VersionId"] for v in all_versions(sm, name)] == [v1]
        # Metadata is still readable.
        assert sm.describe_secret(SecretId=name)["Name"] == name
    finally:
        kms.enable_key(KeyId=key["KeyId"])
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "needs-the-key-9f3"


def test_a_key_policy_denial_refuses_a_secret_read_just_made(sm, kms):
    """The remembered data key of a version saves its unwrap only: the key policy still decides."""
    key = new_key(kms)
    name = unique("denied-key")
    sm.create_secret(Name=name, SecretString="policy-guarded-51c", KmsKeyId=key["KeyId"])
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "policy-guarded-51c"
    account = key["Arn"].split(":")[4]
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"},
            {"Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"},
        ],
    }
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=json.dumps(deny))
    with pytest.raises(ClientError) as e:
        sm.get_secret_value(SecretId=name)
    assert "policy-guarded-51c" not in json.dumps(e.value.response, default=str)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] < 500


def test_key_pending_deletion_blocks_reads(sm, kms):
    key = new_key(kms)
    name = unique("doomed-key")
    sm.create_secret(Name=name, SecretString="pending-deletion-value", KmsKeyId=key["Arn"])
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    err = expect_error("DecryptionFailure", sm.get_secret_value, SecretId=name)
    assert "pending-deletion-value" not in json.dumps(err.response, default=str)
    kms.cancel_key_deletion(KeyId=key["KeyId"])
    kms.enable_key(KeyId=key["KeyId"])  # a cancelled deletion leaves the key disabled
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "pending-deletion-value"


# -- limits -----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["has space", "hash#tag", "star*", "percent%", "quote'", "semi;colon", "tilde~", "caf\u00e9"])
def test_names_with_illegal_characters_are_refused(sm, bad):
    expect_error("ValidationException", sm.create_secret, Name=f"{bad}-{uuid.uuid4().hex[:6]}", SecretString="x")


def test_every_legal_character_is_accepted(sm):
    name = f"AZaz09/_+=.@-{uuid.uuid4().hex[:6]}"
    arn = sm.create_secret(Name=name, SecretString="ok")["ARN"]
    assert arn_pattern(name).match(arn)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "ok"
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == "ok"


def test_limits_from_the_model(sm, sm_raw):
    # Name: 1-512 characters.
    long_name = ("n" + uuid.uuid4().hex) * 16
    long_name = long_name[:512]
    sm.create_secret(Name=long_name, SecretString="x")
    assert sm.describe_secret(SecretId=long_name)["Name"] == long_name
    expect_error("ValidationException", sm_raw.create_secret, Name=long_name + "x", SecretString="x")
    expect_error("ValidationException", sm_raw.create_secret, Name="", SecretString="x")

    # Description: at most 2048.
    name = unique("limits")
    sm.create_secret(Name=name, SecretString="x", Description="d" * 2048)
    expect_error("ValidationException", sm_raw.create_secret, Name=unique("limits"), SecretString="x", Description="d" * 2049)
    expect_error("ValidationException", sm_raw.update_secret, SecretId=name, Description="d" * 2049)
    assert sm.describe_secret(SecretId=name)["Description"] == "d" * 2048

    # Values: 1-65536.
    big = "v" * 65536
    sm.put_secret_value(SecretId=name, SecretString=big)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == big
    sm.put_secret_value(SecretId=name, SecretBinary=b"\xab" * 65536)
    assert sm.get_secret_value(SecretId=name)["SecretBinary"] == b"\xab" * 65536
    expect_error("ValidationException", sm_raw.put_secret_value, SecretId=name, SecretString="v" * 65537)
    expect_error("ValidationException", sm_raw.put_secret_value, SecretId=name, SecretBinary=b"\xab" * 65537)
    expect_error("ValidationException", sm_raw.create_secret, Name=unique("huge"), SecretString="v" * 65537)
    expect_error("ValidationException", sm_raw.put_secret_value, SecretId=name, SecretString="")
    assert sm.get_secret_value(SecretId=name)["SecretBinary"] == b"\xab" * 65536, "a refused write changed the value"

    # Both kinds of value at once.
    expect_error(
        "InvalidParameterException", sm.create_secret, Name=unique("both"), SecretString="s", SecretBinary=b"b"
    )
    expect_error("InvalidParameterException", sm.put_secret_value, SecretId=name, SecretString="s", SecretBinary=b"b")
    expect_error("InvalidParameterException", sm.update_secret, SecretId=name, SecretString="s", SecretBinary=b"b")


def test_twenty_labels_per_version(sm):
    name = unique("labels")
    sm.create_secret(Name=name, SecretString="x")
    labels = ["AWSCURRENT"] + [f"L{i}" for i in range(19)]
    v = sm.put_secret_value(SecretId=name, SecretString="y", VersionStages=labels)["VersionId"]
    assert sorted(stages(sm, name)[v]) == sorted(labels)
    expect_error_in(
        {"LimitExceededException", "InvalidParameterException", "ValidationException"},
        sm.update_secret_version_stage,
        SecretId=name,
        VersionStage="L20",
        MoveToVersionId=v,
    )
    assert len(stages(sm, name)[v]) == 20


# -- durability -------------------------------------------------------------------------------


def test_everything_survives_a_restart(fresh_server: CofferServer):
    sm = fresh_server.client("secretsmanager")
    kms = fresh_server.client("kms")
    key = new_key(kms)["KeyId"]

    written: dict[str, dict[str, object]] = {}  # name -> version id -> value
    for i in range(4):
        name = f"durable/{i}"
        kwargs = {"KmsKeyId": key} if i % 2 else {}
        v = sm.create_secret(Name=name, SecretString=f"s{i}-0", Description=f"d{i}", Tags=[{"Key": "i", "Value": str(i)}], **kwargs)["VersionId"]
        written[name] = {v: f"s{i}-0"}
        for j in range(1, 4):
            if j == 2:
                out = sm.put_secret_value(SecretId=name, SecretBinary=f"b{i}-{j}".encode() + b"\x00\xff")
                written[name][out["VersionId"]] = f"b{i}-{j}".encode() + b"\x00\xff"
            else:
                out = sm.put_secret_value(SecretId=name, SecretString=f"s{i}-{j}", VersionStages=["AWSCURRENT", f"custom{j}"])
                written[name][out["VersionId"]] = f"s{i}-{j}"
    sm.put_resource_policy(SecretId="durable/0", ResourcePolicy=json.dumps(SEED_POLICY))
    sm.delete_secret(SecretId="durable/3", RecoveryWindowInDays=7)
    sm.create_secret(Name="durable/forced", SecretString="gone")
    sm.delete_secret(SecretId="durable/forced", ForceDeleteWithoutRecovery=True)

    before = {n: sm.describe_secret(SecretId=n) for n in written}
    for d in before.values():
        d.pop("ResponseMetadata")

    fresh_server.restart()
    sm = fresh_server.client("secretsmanager")

    for name, versions in written.items():
        after = sm.describe_secret(SecretId=name)
        after.pop("ResponseMetadata")
        assert after == before[name], name
        if name == "durable/3":
            expect_error("InvalidRequestException", sm.get_secret_value, SecretId=name)
            sm.restore_secret(SecretId=name)
        for version_id, value in versions.items():
            got = sm.get_secret_value(SecretId=name, VersionId=version_id)
            if isinstance(value, bytes):
                assert got["SecretBinary"] == value
            else:
                assert got["SecretString"] == value
        assert sorted(v["VersionId"] for v in all_versions(sm, name)) == sorted(versions)
    assert json.loads(sm.get_resource_policy(SecretId="durable/0")["ResourcePolicy"]) == SEED_POLICY
    expect_error("ResourceNotFoundException", sm.describe_secret, SecretId="durable/forced")
    # Still writable after the restart.
    sm.put_secret_value(SecretId="durable/1", SecretString="after restart")
    assert sm.get_secret_value(SecretId="durable/1")["SecretString"] == "after restart"
