"""KMS answers as AWS does where coffer used to differ (coffer issue 16): malformed key ids,
alias names, tag checks, CurrentKeyMaterialId, error members, GenerateRandom, ListAliases.

Each test failed against coffer before its fix. AWS references:
<https://docs.aws.amazon.com/kms/latest/APIReference/API_DescribeKey.html>,
<https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html>,
<https://docs.aws.amazon.com/kms/latest/developerguide/tagging-keys.html>."""

from __future__ import annotations

import base64
import re

import pytest

from coffer_harness import ACCOUNT, CofferServer, make_client, make_session
from helpers import expect_error, kms_call, new_key, unique


def message(err) -> str:
    return err.response["Error"]["Message"]


@pytest.mark.parametrize("bad", ["not-a-key", "1234", "mrk-xyz", "12345678-1234-1234-1234-12345678901"])
def test_malformed_key_id_is_invalid_key_id(kms, bad):
    for call, extra in [(kms.describe_key, {}), (kms.enable_key, {}), (kms.encrypt, {"Plaintext": b"x"})]:
        err = expect_error("NotFoundException", call, KeyId=bad, **extra)
        assert message(err) == f"Invalid keyId '{bad}'"


def test_well_formed_unknown_key_id_does_not_exist(kms):
    kid = "12345678-1234-1234-1234-123456789012"
    err = expect_error("NotFoundException", kms.describe_key, KeyId=kid)
    assert message(err) == f"Key 'arn:aws:kms:us-east-1:{ACCOUNT}:key/{kid}' does not exist"


def test_arn_of_another_region_is_invalid_arn_region(kms):
    key = new_key(kms)
    other = key["Arn"].replace(":us-east-1:", ":eu-west-3:")
    for call, extra in [(kms.describe_key, {}), (kms.encrypt, {"Plaintext": b"x"}), (kms.disable_key, {})]:
        err = expect_error("NotFoundException", call, KeyId=other, **extra)
        assert message(err) == "Invalid arn eu-west-3"


def test_create_alias_names_and_targets(kms):
    kid = new_key(kms)["KeyId"]
    err = expect_error("ValidationException", kms.create_alias, AliasName="no-prefix", TargetKeyId=kid)
    assert message(err) == (
        'Alias must start with the prefix "alias/". Please see '
        "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html"
    )
    expect_error("NotAuthorizedException", kms.create_alias, AliasName="alias/aws/mine", TargetKeyId=kid)
    err = expect_error("ValidationException", kms.create_alias, AliasName="alias/a:b", TargetKeyId=kid)
    assert message(err) == "alias/a:b contains invalid characters for an alias"
    name = "alias/" + unique("target")
    kms.create_alias(AliasName=name, TargetKeyId=kid)
    for target in [name, f"arn:aws:kms:us-east-1:{ACCOUNT}:{name}", "alias/aws/ssm"]:
        err = expect_error("ValidationException", kms.create_alias, AliasName="alias/" + unique("x"), TargetKeyId=target)
        assert message(err) == "Aliases must refer to keys. Not aliases"
    # UpdateAlias checks its names the same way.
    err = expect_error("ValidationException", kms.update_alias, AliasName="no-prefix", TargetKeyId=kid)
    assert message(err).startswith('Alias must start with the prefix "alias/".')


def test_tag_checks_are_tag_exceptions(kms):
    for tags, text in [
        ([{"TagKey": "a", "TagValue": "1"}, {"TagKey": "a", "TagValue": "2"}], "Duplicate tag keys"),
        ([{"TagKey": f"k{i}", "TagValue": "v"} for i in range(51)], "Too many tags"),
        ([{"TagKey": "aws:x", "TagValue": "v"}], "Tags beginning with aws: are reserved"),
        ([{"TagKey": "AWS:x", "TagValue": "v"}], "Tags beginning with aws: are reserved"),
        ([{"TagKey": "Aws:Name", "TagValue": "v"}], "Tags beginning with aws: are reserved"),
    ]:
        err = expect_error("TagException", kms.create_key, Tags=tags)
        assert message(err) == text
    kid = new_key(kms, Tags=[{"TagKey": f"k{i}", "TagValue": "v"} for i in range(50)])["KeyId"]
    err = expect_error("TagException", kms.tag_resource, KeyId=kid, Tags=[{"TagKey": "one-more", "TagValue": "v"}])
    assert message(err) == "Too many tags"
    err = expect_error("TagException", kms.tag_resource, KeyId=kid, Tags=[{"TagKey": "aWs:k", "TagValue": "v"}])
    assert message(err) == "Tags beginning with aws: are reserved"


def test_current_key_material_id_changes_with_rotation(kms):
    created = new_key(kms)
    first = created["CurrentKeyMaterialId"]
    assert re.fullmatch(r"[0-9a-f]{64}", first), first
    assert kms.describe_key(KeyId=created["KeyId"])["KeyMetadata"]["CurrentKeyMaterialId"] == first
    assert new_key(kms)["CurrentKeyMaterialId"] != first
    kms.rotate_key_on_demand(KeyId=created["KeyId"])
    second = kms.describe_key(KeyId=created["KeyId"])["KeyMetadata"]["CurrentKeyMaterialId"]
    assert re.fullmatch(r"[0-9a-f]{64}", second) and second != first
    # ListKeyRotations names the material each rotation made.
    rotations = kms.list_key_rotations(KeyId=created["KeyId"])["Rotations"]
    assert [r["KeyMaterialId"] for r in rotations] == [second]


def test_invalid_ciphertext_has_no_message_member(server: CofferServer, kms):
    blob = bytearray(kms.encrypt(KeyId=new_key(kms)["KeyId"], Plaintext=b"hello")["CiphertextBlob"])
    blob[-1] ^= 1
    status, body = kms_call(server, "Decrypt", {"CiphertextBlob": base64.b64encode(bytes(blob)).decode()})
    assert status == 400
    assert body["__type"] == "InvalidCiphertextException"
    assert "message" not in body and "Message" not in body, body


def test_generate_random_needs_number_of_bytes(kms_raw):
    err = expect_error("ValidationException", kms_raw.generate_random)
    assert message(err) == "NumberOfBytes is required."


def test_list_aliases_shows_predefined_aliases_before_first_use(start_server):
    server = start_server()
    kms = make_client(make_session(), "kms", server.endpoint)
    listed = {a["AliasName"]: a for a in kms.list_aliases()["Aliases"]}
    for name in ["alias/aws/secretsmanager", "alias/aws/ssm"]:
        assert listed[name]["AliasArn"] == f"arn:aws:kms:us-east-1:{ACCOUNT}:{name}"
        assert "TargetKeyId" not in listed[name], listed[name]
    # After first use it has its key, and is listed once.
    kid = kms.describe_key(KeyId="alias/aws/ssm")["KeyMetadata"]["KeyId"]
    aliases = kms.list_aliases()["Aliases"]
    assert [a.get("TargetKeyId") for a in aliases if a["AliasName"] == "alias/aws/ssm"] == [kid]
    # Pages of one: every alias exactly once, in name order.
    kms.create_alias(AliasName="alias/zeta", TargetKeyId=new_key(kms)["KeyId"])
    kms.create_alias(AliasName="alias/alpha", TargetKeyId=new_key(kms)["KeyId"])
    names, marker = [], None
    while True:
        page = kms.list_aliases(Limit=1, **({"Marker": marker} if marker else {}))
        names += [a["AliasName"] for a in page["Aliases"]]
        if not page["Truncated"]:
            break
        marker = page["NextMarker"]
    assert names == ["alias/alpha", "alias/aws/secretsmanager", "alias/aws/ssm", "alias/zeta"]
    # A KeyId filter lists only that key's aliases.
    assert kms.list_aliases(KeyId=kid)["Aliases"][0]["AliasName"] == "alias/aws/ssm"


def test_on_demand_rotation_limit_answers_as_aws(kms):
    """The eleventh RotateKeyOnDemand is refused with AWS's LimitExceededException wording
    (as LocalStack's AWS-validated snapshot records it)."""
    key = new_key(kms)
    for _ in range(10):
        kms.rotate_key_on_demand(KeyId=key["KeyId"])
    err = expect_error("LimitExceededException", kms.rotate_key_on_demand, KeyId=key["KeyId"])
    assert message(err) == (
        "The on-demand rotations limit has been reached for the given keyId. "
        f"No more on-demand rotations can be performed for this key: {key['Arn']}"
    )
