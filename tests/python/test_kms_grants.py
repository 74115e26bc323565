"""KMS grants end to end (coffer issue 20): CreateGrant, ListGrants, ListRetirableGrants,
RetireGrant, RevokeGrant, with boto3 against a spawned server.

The grantee is a role with no permission of its own (no identity policy; the key policy only
delegates to the account's IAM policies): it can use a key for the granted operations only,
at once, and not after the grant is retired or revoked. AWS references:
<https://docs.aws.amazon.com/kms/latest/developerguide/grants.html>,
<https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html>."""

from __future__ import annotations

import json

import pytest

from coffer_harness import ACCOUNT
from helpers import expect_error, unique
from test_access_control import client, create_account

OTHER = "222222222222"


def trust(account: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRole"}],
        }
    )


def assumed(server, iam, sts, account: str, name: str) -> tuple[str, dict]:
    """A role with no policies in `account`, and a session of it: (role ARN, credentials)."""
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(account))["Role"]["Arn"]
    creds = sts.assume_role(RoleArn=arn, RoleSessionName="session")["Credentials"]
    return arn, creds


@pytest.fixture(scope="module")
def world(server):
    iam = server.client("iam")
    sts = server.client("sts")
    role, creds = assumed(server, iam, sts, ACCOUNT, "grantee")
    other_role, other_creds = assumed(server, iam, sts, ACCOUNT, "bystander")
    return {
        "kms": server.client("kms"),
        "iam": iam,
        "role": role,
        "grantee": client(server, "kms", creds),
        "other_role": other_role,
        "bystander": client(server, "kms", other_creds),
    }


def new_key(kms, **kw) -> str:
    return kms.create_key(Description=unique("grants"), **kw)["KeyMetadata"]["Arn"]


def test_grantee_uses_the_key_only_for_granted_operations(world):
    kms, grantee = world["kms"], world["grantee"]
    key = new_key(kms)
    expect_error("AccessDeniedException", grantee.encrypt, KeyId=key, Plaintext=b"x")
    out = kms.create_grant(KeyId=key, GranteePrincipal=world["role"], Operations=["Encrypt", "DescribeKey"])
    assert len(out["GrantId"]) == 64
    # At once, with the grant token and without it.
    blob = grantee.encrypt(KeyId=key, Plaintext=b"x", GrantTokens=[out["GrantToken"]])["CiphertextBlob"]
    grantee.encrypt(KeyId=key, Plaintext=b"y")
    assert grantee.describe_key(KeyId=key)["KeyMetadata"]["Arn"] == key
    # Only what was granted, only on that key, only for the grantee.
    expect_error("AccessDeniedException", grantee.decrypt, CiphertextBlob=blob)
    expect_error("AccessDeniedException", grantee.generate_data_key, KeyId=key, KeySpec="AES_256")
    expect_error("AccessDeniedException", grantee.encrypt, KeyId=new_key(kms), Plaintext=b"x")
    expect_error("AccessDeniedException", world["bystander"].encrypt, KeyId=key, Plaintext=b"x")
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"


def test_retired_and_revoked_grants_allow_nothing(world):
    kms, grantee = world["kms"], world["grantee"]
    key = new_key(kms)
    g1 = kms.create_grant(KeyId=key, GranteePrincipal=world["role"], Operations=["Encrypt"], RetiringPrincipal=world["role"])
    grantee.encrypt(KeyId=key, Plaintext=b"x")
    # The retiring principal retires it by token; afterwards the grantee is refused.
    grantee.retire_grant(GrantToken=g1["GrantToken"])
    expect_error("AccessDeniedException", grantee.encrypt, KeyId=key, Plaintext=b"x")
    expect_error("NotFoundException", grantee.retire_grant, GrantToken=g1["GrantToken"])

    # Revoked by the key's administrator.
    g2 = kms.create_grant(KeyId=key, GranteePrincipal=world["role"], Operations=["Encrypt"])
    grantee.encrypt(KeyId=key, Plaintext=b"x")
    kms.revoke_grant(KeyId=key, GrantId=g2["GrantId"])
    expect_error("AccessDeniedException", grantee.encrypt, KeyId=key, Plaintext=b"x")
    expect_error("NotFoundException", kms.revoke_grant, KeyId=key, GrantId=g2["GrantId"])

    # Who may retire: not a bystander, not a grantee without RetireGrant; the grantee with it.
    g3 = kms.create_grant(KeyId=key, GranteePrincipal=world["role"], Operations=["Encrypt"])
    expect_error("AccessDeniedException", world["bystander"].retire_grant, KeyId=key, GrantId=g3["GrantId"])
    expect_error("AccessDeniedException", grantee.retire_grant, KeyId=key, GrantId=g3["GrantId"])
    g4 = kms.create_grant(KeyId=key, GranteePrincipal=world["role"], Operations=["Encrypt", "RetireGrant"])
    grantee.retire_grant(KeyId=key, GrantId=g4["GrantId"])
    # The issuing account (its root) may retire any grant it made.
    kms.retire_grant(KeyId=key, GrantId=g3["GrantId"])
    assert kms.list_grants(KeyId=key)["Grants"] == []
    # The grantee needs kms:RevokeGrant from a policy to revoke.
    g5 = kms.create_grant(KeyId=key, GranteePrincipal=world["role"], Operations=["Encrypt"])
    expect_error("AccessDeniedException", grantee.revoke_grant, KeyId=key, GrantId=g5["GrantId"])


def test_encryption_context_constraints(world):
    kms, grantee = world["kms"], world["grantee"]
    key = new_key(kms)
    kms.create_grant(
        KeyId=key,
        GranteePrincipal=world["role"],
        Operations=["Encrypt", "Decrypt"],
        Constraints={"EncryptionContextSubset": {"app": "payments"}},
    )
    blob = grantee.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"app": "payments", "env": "prod"})["CiphertextBlob"]
    assert grantee.decrypt(CiphertextBlob=blob, EncryptionContext={"app": "payments", "env": "prod"})["Plaintext"] == b"x"
    expect_error("AccessDeniedException", grantee.encrypt, KeyId=key, Plaintext=b"x", EncryptionContext={"app": "search"})
    expect_error("AccessDeniedException", grantee.encrypt, KeyId=key, Plaintext=b"x")

    exact = new_key(kms)
    kms.create_grant(
        KeyId=exact,
        GranteePrincipal=world["role"],
        Operations=["Encrypt"],
        Constraints={"EncryptionContextEquals": {"app": "payments"}},
    )
    grantee.encrypt(KeyId=exact, Plaintext=b"x", EncryptionContext={"app": "payments"})
    expect_error("AccessDeniedException", grantee.encrypt, KeyId=exact, Plaintext=b"x", EncryptionContext={"app": "payments", "env": "prod"})


def test_explicit_deny_beats_a_grant(world, server):
    kms, iam = world["kms"], world["iam"]
    arn, creds = assumed(server, iam, server.client("sts"), ACCOUNT, "denied-grantee")
    user = client(server, "kms", creds)
    key = new_key(kms)
    kms.create_grant(KeyId=key, GranteePrincipal=arn, Operations=["Encrypt"])
    user.encrypt(KeyId=key, Plaintext=b"x")
    iam.put_role_policy(
        RoleName="denied-grantee",
        PolicyName="no-encrypt",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "kms:Encrypt", "Resource": "*"}]}),
    )
    expect_error("AccessDeniedException", user.encrypt, KeyId=key, Plaintext=b"x")


def test_grantee_passes_on_only_what_it_has(world):
    kms, grantee = world["kms"], world["grantee"]
    key = new_key(kms)
    kms.create_grant(
        KeyId=key,
        GranteePrincipal=world["role"],
        Operations=["Encrypt", "Decrypt", "CreateGrant"],
        Constraints={"EncryptionContextSubset": {"app": "payments"}},
    )
    child = dict(KeyId=key, GranteePrincipal=world["other_role"])
    grantee.create_grant(**child, Operations=["Encrypt"], Constraints={"EncryptionContextSubset": {"app": "payments", "env": "prod"}})
    world["bystander"].encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"app": "payments", "env": "prod"})
    # More operations, or looser constraints, than its own grant: refused.
    expect_error("AccessDeniedException", grantee.create_grant, **child, Operations=["GenerateDataKey"], Constraints={"EncryptionContextSubset": {"app": "payments"}})
    expect_error("AccessDeniedException", grantee.create_grant, **child, Operations=["Encrypt"])


def test_list_grants(world):
    kms = world["kms"]
    key = new_key(kms)
    assert kms.list_grants(KeyId=key)["Grants"] == []
    a = kms.create_grant(
        KeyId=key,
        GranteePrincipal=world["role"],
        RetiringPrincipal=world["other_role"],
        Operations=["Decrypt", "Encrypt"],
        Constraints={"EncryptionContextEquals": {"k": "v"}},
        Name="first",
    )
    b = kms.create_grant(KeyId=key, GranteePrincipal=world["other_role"], Operations=["DescribeKey"])
    grants = kms.list_grants(KeyId=key)
    assert grants["Truncated"] is False and "NextMarker" not in grants
    first = grants["Grants"][0]
    assert first["GrantId"] == a["GrantId"] and first["KeyId"] == key and first["Name"] == "first"
    assert first["GranteePrincipal"] == world["role"] and first["RetiringPrincipal"] == world["other_role"]
    assert first["IssuingAccount"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert sorted(first["Operations"]) == ["Decrypt", "Encrypt"]
    assert first["Constraints"] == {"EncryptionContextEquals": {"k": "v"}}
    assert "CreationDate" in first
    assert "Name" not in grants["Grants"][1] and "Constraints" not in grants["Grants"][1]
    # Pages, filters.
    page = kms.list_grants(KeyId=key, Limit=1)
    assert page["Truncated"] is True and [g["GrantId"] for g in page["Grants"]] == [a["GrantId"]]
    rest = kms.list_grants(KeyId=key, Limit=1, Marker=page["NextMarker"])
    assert [g["GrantId"] for g in rest["Grants"]] == [b["GrantId"]] and rest["Truncated"] is False
    by_grantee = kms.list_grants(KeyId=key, GranteePrincipal=world["other_role"])["Grants"]
    assert [g["GrantId"] for g in by_grantee] == [b["GrantId"]]
    assert [g["GrantId"] for g in kms.list_grants(KeyId=key, GrantId=a["GrantId"])["Grants"]] == [a["GrantId"]]
    # The paginator follows markers.
    pages = kms.get_paginator("list_grants").paginate(KeyId=key, PaginationConfig={"PageSize": 1})
    assert sum(len(p["Grants"]) for p in pages) == 2
    # Retirable grants of a principal.
    retirable = kms.list_retirable_grants(RetiringPrincipal=world["other_role"])["Grants"]
    assert a["GrantId"] in [g["GrantId"] for g in retirable]


def test_named_grants_are_idempotent(world):
    kms = world["kms"]
    key = new_key(kms)
    args = dict(KeyId=key, GranteePrincipal=world["role"], Operations=["Encrypt"], Name="app-encrypt")
    one = kms.create_grant(**args)
    two = kms.create_grant(**args)
    assert one["GrantId"] == two["GrantId"] and one["GrantToken"] != two["GrantToken"]
    other = kms.create_grant(**dict(args, Operations=["Encrypt", "Decrypt"]))
    assert other["GrantId"] != one["GrantId"]
    assert len(kms.list_grants(KeyId=key)["Grants"]) == 2


def test_grant_errors(world, kms_raw):
    kms = world["kms"]
    key = new_key(kms)
    role = world["role"]
    expect_error("ValidationException", kms.create_grant, KeyId=key, GranteePrincipal=role, Operations=["Sign"])
    expect_error(
        "ValidationException",
        kms.create_grant,
        KeyId=key,
        GranteePrincipal=role,
        Operations=["GetPublicKey"],
        Constraints={"EncryptionContextSubset": {"a": "b"}},
    )
    expect_error("InvalidArnException", kms.create_grant, KeyId=key, GranteePrincipal="bob", Operations=["Encrypt"])
    expect_error("NotFoundException", kms.create_grant, KeyId=key.replace(key[-4:], "0000"), GranteePrincipal=role, Operations=["Encrypt"])
    expect_error("ValidationException", kms_raw.create_grant, KeyId=key, GranteePrincipal=role, Operations=["Fly"])
    # A grant on a disabled key is refused as the key state table says.
    disabled = new_key(kms)
    kms.disable_key(KeyId=disabled)
    expect_error("DisabledException", kms.create_grant, KeyId=disabled, GranteePrincipal=role, Operations=["Encrypt"])
    # DryRun: authorised and checked, nothing created.
    expect_error("DryRunOperationException", kms.create_grant, KeyId=key, GranteePrincipal=role, Operations=["Encrypt"], DryRun=True)
    assert kms.list_grants(KeyId=key)["Grants"] == []
    # Tokens and ids of no grant coffer issued.
    expect_error("InvalidGrantTokenException", kms.encrypt, KeyId=key, Plaintext=b"x", GrantTokens=["not-a-token"])
    expect_error("InvalidGrantTokenException", kms.retire_grant, GrantToken="not-a-token")
    expect_error("ValidationException", kms.retire_grant)
    expect_error("InvalidGrantIdException", kms.list_grants, KeyId=key, GrantId="nope")
    expect_error("InvalidGrantIdException", kms.revoke_grant, KeyId=key, GrantId="nope")
    missing = "0" * 64
    expect_error("NotFoundException", kms.revoke_grant, KeyId=key, GrantId=missing)
    expect_error("NotFoundException", kms.retire_grant, KeyId=key, GrantId=missing)
    g = kms.create_grant(KeyId=key, GranteePrincipal=role, Operations=["Encrypt"])
    expect_error("DryRunOperationException", kms.revoke_grant, KeyId=key, GrantId=g["GrantId"], DryRun=True)
    expect_error("DryRunOperationException", kms.retire_grant, GrantToken=g["GrantToken"], DryRun=True)
    assert len(kms.list_grants(KeyId=key)["Grants"]) == 1


def test_cross_account_grantee(server, world):
    """A grant to another account's role lets it use the key by ARN with no key policy
    statement for it; a grant to the other account itself is delegated by that account's IAM."""
    kms = world["kms"]
    admin = create_account(server, OTHER)
    iam_o, sts_o = client(server, "iam", admin), client(server, "sts", admin)
    role, creds = assumed(server, iam_o, sts_o, OTHER, "partner")
    partner = client(server, "kms", creds)
    key = new_key(kms)
    expect_error("AccessDeniedException", partner.encrypt, KeyId=key, Plaintext=b"x")
    kms.create_grant(KeyId=key, GranteePrincipal=role, Operations=["Encrypt", "Decrypt"])
    blob = partner.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    assert partner.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"

    # Granted to the account: its role needs its own IAM permission too.
    key2 = new_key(kms)
    kms.create_grant(KeyId=key2, GranteePrincipal=f"arn:aws:iam::{OTHER}:root", Operations=["Encrypt"])
    expect_error("AccessDeniedException", partner.encrypt, KeyId=key2, Plaintext=b"x")
    iam_o.put_role_policy(
        RoleName="partner",
        PolicyName="use-shared-key",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:Encrypt", "Resource": key2}]}),
    )
    partner.encrypt(KeyId=key2, Plaintext=b"x")
    # The other account's principals' retirable grants are not listed to this account.
    assert kms.list_retirable_grants(RetiringPrincipal=role)["Grants"] == []


def test_re_encrypt_needs_re_encrypt_from_on_the_source(world):
    """ReEncrypt is authorised as kms:ReEncryptFrom on the source key (not kms:Decrypt) and
    kms:ReEncryptTo on the destination, as AWS documents; grants name those operations."""
    kms, grantee = world["kms"], world["grantee"]
    source, dest = new_key(kms), new_key(kms)
    blob = kms.encrypt(KeyId=source, Plaintext=b"x")["CiphertextBlob"]
    kms.create_grant(KeyId=dest, GranteePrincipal=world["role"], Operations=["ReEncryptTo"])
    kms.create_grant(KeyId=source, GranteePrincipal=world["role"], Operations=["Decrypt"])
    expect_error("AccessDeniedException", grantee.re_encrypt, CiphertextBlob=blob, DestinationKeyId=dest)
    kms.create_grant(KeyId=source, GranteePrincipal=world["role"], Operations=["ReEncryptFrom"])
    out = grantee.re_encrypt(CiphertextBlob=blob, DestinationKeyId=dest)
    assert out["SourceKeyId"] == source and out["KeyId"] == dest
    assert kms.decrypt(CiphertextBlob=out["CiphertextBlob"])["Plaintext"] == b"x"
