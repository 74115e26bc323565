"""boto3 against a real coffer server: the KMS and STS flows an application goes through."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from botocore.exceptions import ClientError

from coffer_harness import ACCOUNT, REGION, ROOT_ARN, CofferServer, make_client, make_session
from helpers import expect_error, new_key, unique


def test_create_key_metadata(kms):
    meta = new_key(kms, Description="metadata check")
    assert meta["KeyState"] == "Enabled"
    assert meta["Enabled"] is True
    assert meta["KeyManager"] == "CUSTOMER"
    assert meta["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert meta["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert meta["AWSAccountId"] == ACCOUNT
    assert meta["Arn"] == f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{meta['KeyId']}"
    uuid.UUID(meta["KeyId"])  # a key id is a UUID
    described = kms.describe_key(KeyId=meta["Arn"])["KeyMetadata"]
    assert described["KeyId"] == meta["KeyId"]
    assert described["Description"] == "metadata check"
    kms.update_key_description(KeyId=meta["KeyId"], Description="changed")
    assert kms.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]["Description"] == "changed"


def test_encrypt_by_alias_with_context_and_decrypt(kms):
    meta = new_key(kms, Description="alias flow")
    alias = unique("alias/app")
    kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
    expect_error("AlreadyExistsException", kms.create_alias, AliasName=alias, TargetKeyId=meta["KeyId"])

    secret = b"payments-db-password"
    ctx = {"app": "payments", "env": "prod"}
    enc = kms.encrypt(KeyId=alias, Plaintext=secret, EncryptionContext=ctx)
    blob = enc["CiphertextBlob"]
    assert enc["KeyId"] == meta["Arn"]
    assert enc["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert secret not in blob
    # Encryption is randomised: the same input twice gives different blobs.
    assert kms.encrypt(KeyId=alias, Plaintext=secret, EncryptionContext=ctx)["CiphertextBlob"] != blob

    # Decrypt without naming the key: it is inferred from the ciphertext.
    dec = kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx)
    assert dec["Plaintext"] == secret
    assert dec["KeyId"] == meta["Arn"]
    # Naming the key by alias works too; naming another key does not.
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx, KeyId=alias)["Plaintext"] == secret
    other = new_key(kms)
    expect_error("IncorrectKeyException", kms.decrypt, CiphertextBlob=blob, EncryptionContext=ctx, KeyId=other["KeyId"])

    # The encryption context is bound to the ciphertext.
    expect_error("InvalidCiphertextException", kms.decrypt, CiphertextBlob=blob, EncryptionContext={"app": "other", "env": "prod"})
    expect_error("InvalidCiphertextException", kms.decrypt, CiphertextBlob=blob)
    # A tampered ciphertext does not decrypt.
    tampered = bytearray(blob)
    tampered[-1] ^= 0x01
    expect_error("InvalidCiphertextException", kms.decrypt, CiphertextBlob=bytes(tampered), EncryptionContext=ctx)


def test_alias_update_list_and_delete(kms):
    a = new_key(kms)["KeyId"]
    b = new_key(kms)["KeyId"]
    alias = unique("alias/move")
    kms.create_alias(AliasName=alias, TargetKeyId=a)
    blob = kms.encrypt(KeyId=alias, Plaintext=b"first")["CiphertextBlob"]
    kms.update_alias(AliasName=alias, TargetKeyId=b)
    listed = {x["AliasName"]: x for x in kms.list_aliases(KeyId=b)["Aliases"]}
    assert alias in listed and listed[alias]["TargetKeyId"] == b
    assert listed[alias]["AliasArn"] == f"arn:aws:kms:{REGION}:{ACCOUNT}:{alias}"
    assert alias not in {x["AliasName"] for x in kms.list_aliases(KeyId=a)["Aliases"]}
    # New encryptions under the alias use key b; the old blob still names key a.
    assert kms.encrypt(KeyId=alias, Plaintext=b"second")["KeyId"].endswith(b)
    assert kms.decrypt(CiphertextBlob=blob)["KeyId"].endswith(a)
    kms.delete_alias(AliasName=alias)
    expect_error("NotFoundException", kms.describe_key, KeyId=alias)
    expect_error("NotFoundException", kms.delete_alias, AliasName=alias)


def test_generate_data_key_and_without_plaintext(kms):
    key = new_key(kms)
    ctx = {"purpose": "envelope"}
    dk = kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256", EncryptionContext=ctx)
    assert len(dk["Plaintext"]) == 32
    assert dk["KeyId"] == key["Arn"]
    assert dk["Plaintext"] not in dk["CiphertextBlob"]
    back = kms.decrypt(CiphertextBlob=dk["CiphertextBlob"], EncryptionContext=ctx)
    assert back["Plaintext"] == dk["Plaintext"]
    expect_error("InvalidCiphertextException", kms.decrypt, CiphertextBlob=dk["CiphertextBlob"])

    assert len(kms.generate_data_key(KeyId=key["Arn"], KeySpec="AES_128")["Plaintext"]) == 16
    assert len(kms.generate_data_key(KeyId=key["KeyId"], NumberOfBytes=7)["Plaintext"]) == 7

    bare = kms.generate_data_key_without_plaintext(KeyId=key["KeyId"], NumberOfBytes=64)
    assert "Plaintext" not in bare
    plain = kms.decrypt(CiphertextBlob=bare["CiphertextBlob"])["Plaintext"]
    assert len(plain) == 64

    bare256 = kms.generate_data_key_without_plaintext(KeyId=key["KeyId"], KeySpec="AES_256", EncryptionContext=ctx)
    assert "Plaintext" not in bare256
    assert len(kms.decrypt(CiphertextBlob=bare256["CiphertextBlob"], EncryptionContext=ctx)["Plaintext"]) == 32


def test_generate_data_key_needs_a_size(kms_raw):
    key = new_key(kms_raw)["KeyId"]
    err = expect_error("ValidationException", kms_raw.generate_data_key, KeyId=key)
    assert "number of bytes or key spec" in err.response["Error"]["Message"]


def test_re_encrypt_moves_ciphertext_to_another_key(kms):
    src = new_key(kms)
    dst = new_key(kms)
    secret = b"re-encrypt me"
    blob = kms.encrypt(KeyId=src["KeyId"], Plaintext=secret, EncryptionContext={"a": "1"})["CiphertextBlob"]
    re = kms.re_encrypt(
        CiphertextBlob=blob,
        SourceEncryptionContext={"a": "1"},
        DestinationKeyId=dst["KeyId"],
        DestinationEncryptionContext={"b": "2"},
    )
    assert re["SourceKeyId"] == src["Arn"]
    assert re["KeyId"] == dst["Arn"]
    assert re["CiphertextBlob"] != blob
    out = kms.decrypt(CiphertextBlob=re["CiphertextBlob"], EncryptionContext={"b": "2"})
    assert out["Plaintext"] == secret
    assert out["KeyId"] == dst["Arn"]
    # The source context is still checked on the way in.
    expect_error("InvalidCiphertextException", kms.re_encrypt, CiphertextBlob=blob, DestinationKeyId=dst["KeyId"])


def test_rotation_keeps_old_material(kms):
    key = new_key(kms)
    kid = key["KeyId"]
    assert kms.get_key_rotation_status(KeyId=kid)["KeyRotationEnabled"] is False
    old_blob = kms.encrypt(KeyId=kid, Plaintext=b"before rotation")["CiphertextBlob"]

    kms.rotate_key_on_demand(KeyId=kid)
    rotations = kms.list_key_rotations(KeyId=kid)["Rotations"]
    assert len(rotations) == 1
    assert rotations[0]["RotationType"] == "ON_DEMAND"

    new_blob = kms.encrypt(KeyId=kid, Plaintext=b"after rotation")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=old_blob)["Plaintext"] == b"before rotation"
    assert kms.decrypt(CiphertextBlob=new_blob)["Plaintext"] == b"after rotation"

    kms.enable_key_rotation(KeyId=kid)
    status = kms.get_key_rotation_status(KeyId=kid)
    assert status["KeyRotationEnabled"] is True
    assert status["RotationPeriodInDays"] == 365
    kms.disable_key_rotation(KeyId=kid)
    assert kms.get_key_rotation_status(KeyId=kid)["KeyRotationEnabled"] is False


def test_disabled_key_refuses_and_enable_restores(kms):
    meta = new_key(kms)
    kid = meta["KeyId"]
    alias = unique("alias/disable")
    kms.create_alias(AliasName=alias, TargetKeyId=kid)
    blob = kms.encrypt(KeyId=alias, Plaintext=b"x", EncryptionContext={"k": "v"})["CiphertextBlob"]

    kms.disable_key(KeyId=kid)
    described = kms.describe_key(KeyId=kid)["KeyMetadata"]
    assert (described["KeyState"], described["Enabled"]) == ("Disabled", False)
    expect_error("DisabledException", kms.decrypt, CiphertextBlob=blob, EncryptionContext={"k": "v"})
    expect_error("DisabledException", kms.encrypt, KeyId=alias, Plaintext=b"x")
    expect_error("DisabledException", kms.generate_data_key, KeyId=kid, KeySpec="AES_256")

    kms.enable_key(KeyId=kid)
    assert kms.describe_key(KeyId=kid)["KeyMetadata"]["KeyState"] == "Enabled"
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={"k": "v"})["Plaintext"] == b"x"


def test_schedule_and_cancel_key_deletion(kms):
    kid = new_key(kms)["KeyId"]
    blob = kms.encrypt(KeyId=kid, Plaintext=b"doomed")["CiphertextBlob"]
    sched = kms.schedule_key_deletion(KeyId=kid, PendingWindowInDays=7)
    assert sched["PendingWindowInDays"] == 7
    assert sched["KeyState"] == "PendingDeletion"
    meta = kms.describe_key(KeyId=kid)["KeyMetadata"]
    assert meta["KeyState"] == "PendingDeletion"
    assert "DeletionDate" in meta
    expect_error("KMSInvalidStateException", kms.encrypt, KeyId=kid, Plaintext=b"x")
    expect_error("KMSInvalidStateException", kms.decrypt, CiphertextBlob=blob)
    expect_error("KMSInvalidStateException", kms.schedule_key_deletion, KeyId=kid, PendingWindowInDays=7)

    kms.cancel_key_deletion(KeyId=kid)
    assert kms.describe_key(KeyId=kid)["KeyMetadata"]["KeyState"] == "Disabled"
    expect_error("DisabledException", kms.decrypt, CiphertextBlob=blob)
    kms.enable_key(KeyId=kid)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"doomed"


@pytest.mark.parametrize("days", [6, 31])
def test_pending_window_outside_7_to_30_is_refused(kms_raw, days):
    kid = new_key(kms_raw)["KeyId"]
    try:
        expect_error("ValidationException", kms_raw.schedule_key_deletion, KeyId=kid, PendingWindowInDays=days)
    finally:
        if kms_raw.describe_key(KeyId=kid)["KeyMetadata"]["KeyState"] == "PendingDeletion":
            kms_raw.cancel_key_deletion(KeyId=kid)


def test_restart_keeps_keys_aliases_and_ciphertexts(fresh_server: CofferServer):
    kms = fresh_server.client("kms")
    meta = new_key(kms, Description="durable", Tags=[{"TagKey": "team", "TagValue": "infra"}])
    kms.create_alias(AliasName="alias/durable", TargetKeyId=meta["KeyId"])
    ctx = {"app": "payments"}
    blob = kms.encrypt(KeyId="alias/durable", Plaintext=b"survives restarts", EncryptionContext=ctx)["CiphertextBlob"]
    kms.rotate_key_on_demand(KeyId=meta["KeyId"])
    rotated_blob = kms.encrypt(KeyId="alias/durable", Plaintext=b"after rotation")["CiphertextBlob"]
    kms.disable_key(KeyId=new_key(kms, Description="stays disabled")["KeyId"])

    fresh_server.restart()
    kms = fresh_server.client("kms")

    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx)["Plaintext"] == b"survives restarts"
    assert kms.decrypt(CiphertextBlob=rotated_blob)["Plaintext"] == b"after rotation"
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    assert aliases.get("alias/durable") == meta["KeyId"]
    assert kms.describe_key(KeyId="alias/durable")["KeyMetadata"]["Description"] == "durable"
    assert kms.list_resource_tags(KeyId=meta["KeyId"])["Tags"] == [{"TagKey": "team", "TagValue": "infra"}]
    assert len(kms.list_key_rotations(KeyId=meta["KeyId"])["Rotations"]) == 1
    states = {k["KeyId"]: kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"] for k in kms.list_keys()["Keys"]}
    assert sorted(m["Description"] for m in states.values()) == ["durable", "stays disabled"]
    assert [m["KeyState"] for m in states.values() if m["Description"] == "stays disabled"] == ["Disabled"]


def test_tags_round_trip(kms):
    kid = new_key(kms, Tags=[{"TagKey": "env", "TagValue": "prod"}, {"TagKey": "team", "TagValue": "a"}])["KeyId"]
    kms.tag_resource(KeyId=kid, Tags=[{"TagKey": "team", "TagValue": "b"}, {"TagKey": "cost", "TagValue": "42"}])
    tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=kid)["Tags"]}
    assert tags == {"env": "prod", "team": "b", "cost": "42"}
    kms.untag_resource(KeyId=kid, TagKeys=["env", "cost"])
    assert kms.list_resource_tags(KeyId=kid)["Tags"] == [{"TagKey": "team", "TagValue": "b"}]
    expect_error("TagException", kms.tag_resource, KeyId=kid, Tags=[{"TagKey": "aws:reserved", "TagValue": "x"}])


def test_key_policy_round_trip(kms):
    kid = new_key(kms)["KeyId"]
    assert kms.list_key_policies(KeyId=kid)["PolicyNames"] == ["default"]
    default = json.loads(kms.get_key_policy(KeyId=kid, PolicyName="default")["Policy"])
    assert default["Version"] == "2012-10-17"
    principals = [s["Principal"]["AWS"] for s in default["Statement"]]
    assert ROOT_ARN in principals

    policy = {
        "Version": "2012-10-17",
        "Id": "custom",
        "Statement": [
            {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": ROOT_ARN}, "Action": "kms:*", "Resource": "*"},
            {
                "Sid": "App",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/app"},
                "Action": ["kms:Decrypt"],
                "Resource": "*",
            },
        ],
    }
    kms.put_key_policy(KeyId=kid, PolicyName="default", Policy=json.dumps(policy))
    assert json.loads(kms.get_key_policy(KeyId=kid, PolicyName="default")["Policy"]) == policy
    # Policy name defaults to "default" in newer models.
    assert json.loads(kms.get_key_policy(KeyId=kid)["Policy"]) == policy


def test_key_policy_must_be_json(kms):
    kid = new_key(kms)["KeyId"]
    expect_error("MalformedPolicyDocumentException", kms.put_key_policy, KeyId=kid, PolicyName="default", Policy="not json")


def _walk(call, item_key: str, id_key: str, **kwargs) -> tuple[list[str], int]:
    seen, pages, marker = [], 0, None
    while True:
        page = call(Limit=2, **({"Marker": marker} if marker else {}), **kwargs)
        pages += 1
        assert len(page[item_key]) <= 2
        seen.extend(item[id_key] for item in page[item_key])
        if not page["Truncated"]:
            assert "NextMarker" not in page
            return seen, pages
        marker = page["NextMarker"]
        assert pages < 50, "pagination does not end"


def test_pagination_visits_every_item_once(fresh_server: CofferServer):
    kms = fresh_server.client("kms")
    created = [new_key(kms)["KeyId"] for _ in range(5)]
    aliases = [f"alias/page-{i}" for i in range(5)]
    for name, kid in zip(aliases, created):
        kms.create_alias(AliasName=name, TargetKeyId=kid)

    keys, pages = _walk(kms.list_keys, "Keys", "KeyId")
    assert len(keys) == len(set(keys)) == 5
    assert set(keys) == set(created)
    assert pages == 3

    names, pages = _walk(kms.list_aliases, "Aliases", "AliasName")
    assert len(names) == len(set(names))
    assert set(aliases) <= set(names)
    assert pages >= 3

    # boto3's own paginator agrees.
    paged = [k["KeyId"] for p in kms.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 2}) for k in p["Keys"]]
    assert sorted(paged) == sorted(created)

    expect_error("InvalidMarkerException", kms.list_keys, Limit=2, Marker="not-a-marker")


def test_generate_random(kms, kms_raw):
    for n in (1, 32, 1024):
        assert len(kms.generate_random(NumberOfBytes=n)["Plaintext"]) == n
    assert kms.generate_random(NumberOfBytes=32)["Plaintext"] != kms.generate_random(NumberOfBytes=32)["Plaintext"]
    err = expect_error("ValidationException", kms_raw.generate_random, NumberOfBytes=1025)
    assert "less than or equal to 1024" in err.response["Error"]["Message"]
    expect_error("ValidationException", kms_raw.generate_random, NumberOfBytes=0)


def test_oversized_plaintext_is_a_validation_error_without_the_plaintext(kms):
    plaintext = (b"TOP-SECRET-PLAINTEXT-" * 200)[:4097]
    assert len(plaintext) == 4097
    err = expect_error("ValidationException", kms.encrypt, KeyId="alias/aws/ssm", Plaintext=plaintext)
    message = err.response["Error"]["Message"]
    assert message.startswith("1 validation error detected: ")
    assert "less than or equal to 4096" in message
    assert "TOP-SECRET" not in message
    assert base64.b64encode(plaintext)[:40].decode() not in message
    # 4096 bytes is fine.
    assert kms.encrypt(KeyId="alias/aws/ssm", Plaintext=plaintext[:4096])["CiphertextBlob"]


@pytest.mark.parametrize(
    "op, kwargs, fragment",
    [
        ("encrypt", {"KeyId": "alias/aws/ssm", "Plaintext": b""}, "at 'plaintext' failed to satisfy constraint: Member must have length greater than or equal to 1"),
        ("list_keys", {"Limit": 0}, "Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"),
        ("list_keys", {"Limit": 1001}, "Value '1001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 1000"),
        ("list_aliases", {"Limit": 0}, "at 'limit'"),
        ("describe_key", {"KeyId": ""}, "Value '' at 'keyId' failed to satisfy constraint: Member must have length greater than or equal to 1"),
        ("create_key", {"Description": "d" * 8193}, "at 'description' failed to satisfy constraint: Member must have length less than or equal to 8192"),
        ("create_key", {"KeySpec": "NOPE"}, "Value 'NOPE' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set"),
        ("generate_data_key", {"KeyId": "alias/aws/ssm", "NumberOfBytes": 1025}, "Value '1025' at 'numberOfBytes'"),
        ("create_alias", {"AliasName": "alias/" + "a" * 251, "TargetKeyId": "alias/aws/ssm"}, "at 'aliasName' failed to satisfy constraint: Member must have length less than or equal to 256"),
        ("schedule_key_deletion", {"KeyId": "alias/aws/ssm", "PendingWindowInDays": 366}, "Value '366' at 'pendingWindowInDays'"),
    ],
)
def test_model_limits_are_enforced(kms_raw, op, kwargs, fragment):
    err = expect_error("ValidationException", getattr(kms_raw, op), **kwargs)
    message = err.response["Error"]["Message"]
    assert message.startswith("1 validation error detected: "), message
    assert fragment in message, message


def test_alias_names_are_checked(kms):
    kid = new_key(kms)["KeyId"]
    err = expect_error("NotAuthorizedException", kms.create_alias, AliasName="alias/aws/x", TargetKeyId=kid)
    assert "alias/aws/" in err.response["Error"]["Message"]
    err = expect_error("ValidationException", kms.create_alias, AliasName="alias/has space!", TargetKeyId=kid)
    assert err.response["Error"]["Message"].startswith("1 validation error detected: ")
    assert "regular expression pattern" in err.response["Error"]["Message"]
    expect_error("ValidationException", kms.create_alias, AliasName="no-prefix", TargetKeyId=kid)
    expect_error("NotFoundException", kms.create_alias, AliasName=unique("alias/dangling"), TargetKeyId=str(uuid.uuid4()))


def test_aws_managed_key(kms):
    managed = kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]
    assert managed["KeyManager"] == "AWS"
    assert managed["KeyState"] == "Enabled"
    # Created once: a second lookup gives the same key.
    assert kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]["KeyId"] == managed["KeyId"]
    assert managed["KeyId"] in {k["KeyId"] for k in kms.list_keys(Limit=1000)["Keys"]}
    expect_error("UnsupportedOperationException", kms.disable_key, KeyId=managed["KeyId"])
    assert kms.describe_key(KeyId=managed["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"
    # It still encrypts for the caller.
    blob = kms.encrypt(KeyId="alias/aws/secretsmanager", Plaintext=b"managed")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"managed"
    # alias/aws/ssm is a different managed key.
    assert kms.describe_key(KeyId="alias/aws/ssm")["KeyMetadata"]["KeyId"] != managed["KeyId"]


def test_unknown_keys_are_not_found(kms):
    expect_error("NotFoundException", kms.describe_key, KeyId="alias/does-not-exist")
    expect_error("NotFoundException", kms.describe_key, KeyId=str(uuid.uuid4()))
    expect_error("NotFoundException", kms.encrypt, KeyId="alias/does-not-exist", Plaintext=b"x")


def test_regions_are_separate(server: CofferServer, kms):
    """The region comes from the credential scope; keys live in their region only."""
    eu = make_client(make_session(), "kms", server.endpoint, region_name="eu-west-1")
    key = new_key(eu)
    assert key["Arn"].startswith(f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/")
    blob = eu.encrypt(KeyId=key["KeyId"], Plaintext=b"eu only")["CiphertextBlob"]
    assert eu.decrypt(CiphertextBlob=blob)["Plaintext"] == b"eu only"
    assert key["KeyId"] not in {k["KeyId"] for k in kms.list_keys(Limit=1000)["Keys"]}
    expect_error("NotFoundException", kms.describe_key, KeyId=key["Arn"])
    with pytest.raises(ClientError):
        kms.decrypt(CiphertextBlob=blob)


def test_sts_get_caller_identity(sts):
    me = sts.get_caller_identity()
    assert me["Account"] == ACCOUNT
    assert me["Arn"] == ROOT_ARN
    assert me["UserId"]
