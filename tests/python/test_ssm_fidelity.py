"""Parameter Store fidelity against a spawned server with boto3: names echoed as requested, reads
that validate names as PutParameter does, GetParameters' order, and parameters shared with another
account through their resource policy (identity AND resource policy, and the KMS key policy for
SecureString), as AWS shares parameters.
<https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-shared-parameters.html>
<https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameters.html>"""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

from coffer_harness import ACCESS_KEY, ACCOUNT, REGION, SECRET_KEY, coffer_binary, error_code, make_client, make_session

B = "111111111111"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def arn(name: str, account: str = ACCOUNT) -> str:
    return f"arn:aws:ssm:{REGION}:{account}:parameter/{name.lstrip('/')}"


def code_of(call, **kwargs) -> str | None:
    try:
        call(**kwargs)
    except ClientError as e:
        return error_code(e)
    return None


@pytest.fixture(scope="module")
def ssm(server):
    return make_client(make_session(), "ssm", server.endpoint)


def client(server, service, creds):
    session = boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds.get("SessionToken"),
        region_name=REGION,
    )
    return make_client(session, service, server.endpoint)


def test_names_are_echoed_as_requested(ssm):
    bare = unique("bare")
    ssm.put_parameter(Name=bare, Value="b", Type="String")
    slashed = "/" + unique("slashed")
    ssm.put_parameter(Name=slashed, Value="s", Type="String")

    # `/bare` and `bare` are one parameter; the answer names it as the request did.
    p = ssm.get_parameter(Name=f"/{bare}")["Parameter"]
    assert (p["Name"], p["Value"], p["ARN"]) == (f"/{bare}", "b", arn(bare))
    assert ssm.get_parameter(Name=bare)["Parameter"]["Name"] == bare
    assert ssm.get_parameter(Name=slashed[1:])["Parameter"]["Name"] == slashed[1:]
    p = ssm.get_parameter(Name=f"/{bare}:1")["Parameter"]
    assert (p["Name"], p["Selector"]) == (f"/{bare}", ":1")
    got = ssm.get_parameters(Names=[f"/{bare}", slashed[1:]])
    assert sorted(p["Name"] for p in got["Parameters"]) == sorted([f"/{bare}", slashed[1:]])
    assert got["InvalidParameters"] == []
    history = ssm.get_parameter_history(Name=f"/{bare}")["Parameters"]
    assert [h["Name"] for h in history] == [f"/{bare}"]
    # An ARN names the parameter, whose name is answered.
    assert ssm.get_parameter(Name=arn(slashed))["Parameter"]["Name"] == slashed


def test_reads_validate_names_as_put_does(ssm):
    base = "/" + unique("valid")
    ssm.put_parameter(Name=f"{base}/db", Value="v", Type="String")
    relative = f"{base[1:]}/db"  # a path without its leading slash
    for bad in [relative, f"{base}//db", f"/{base}/db", f"{base}/db/", f"{base}/d b", f"{base}/db*"]:
        assert code_of(ssm.get_parameter, Name=bad) == "ValidationException", bad
        assert code_of(ssm.get_parameters, Names=[bad]) == "ValidationException", bad
        assert code_of(ssm.get_parameter_history, Name=bad) == "ValidationException", bad
        assert code_of(ssm.label_parameter_version, Name=bad, Labels=["l"]) == "ValidationException", bad
        assert code_of(ssm.delete_parameter, Name=bad) == "ValidationException", bad
        assert code_of(ssm.delete_parameters, Names=[bad]) == "ValidationException", bad
        assert code_of(ssm.list_tags_for_resource, ResourceType="Parameter", ResourceId=bad) == "InvalidResourceId", bad
    err = pytest.raises(ClientError, ssm.get_parameter, Name=relative).value
    assert err.response["Error"]["Message"] == "Parameter name must be a fully qualified name."
    # The ARN form follows the same rules: `parameter//x` is not `parameter/x`.
    assert code_of(ssm.get_parameter, Name=f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{base}/db") == "ValidationException"
    # Nothing resolved to the parameter meanwhile: it is there, unlabelled, undeleted.
    p = ssm.get_parameter(Name=f"{base}/db")["Parameter"]
    assert p["Value"] == "v"
    assert ssm.get_parameter_history(Name=f"{base}/db")["Parameters"][0]["Labels"] == []


def test_get_parameters_answers_in_alphabetical_order(ssm):
    base = "/" + unique("order")
    for n in ["m", "z", "a"]:
        ssm.put_parameter(Name=f"{base}/{n}", Value=n, Type="String")
    got = ssm.get_parameters(Names=[f"{base}/z", f"{base}/a", f"{base}/m"])["Parameters"]
    assert [p["Name"] for p in got] == [f"{base}/a", f"{base}/m", f"{base}/z"]


# --- Sharing with another account ---------------------------------------------------------------


def create_account(server, account_id):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
    out = subprocess.run(
        [str(coffer_binary()), "admin", "create-account", "--account-id", account_id, "--endpoint-url", server.endpoint],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def reader(server):
    """Account B's user `reader`, whose identity policy allows reading parameters and
    decrypting anywhere; what it may read of account A is up to A's policies."""
    admin_b = create_account(server, B)
    iam = client(server, "iam", admin_b)
    iam.create_user(UserName="reader")
    iam.put_user_policy(
        UserName="reader",
        PolicyName="read-parameters",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParameterHistory", "ssm:DeleteParameter", "ssm:LabelParameterVersion", "kms:Decrypt"],
                        "Resource": "*",
                    }
                ],
            }
        ),
    )
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    return {"ssm": client(server, "ssm", key), "admin": client(server, "ssm", admin_b)}


def share_policy(resource: str, actions: list[str], principal: str = B) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": principal}, "Action": actions, "Resource": resource}],
        }
    )


READS = ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParameterHistory"]


def test_shared_parameter_is_readable_by_arn(ssm, reader):
    name = "/" + unique("shared") + "/config"
    ssm.put_parameter(Name=name, Value="shared-value", Type="String", Tier="Advanced")
    theirs = reader["ssm"]

    # Not shared yet: refused, as a parameter that does not exist is.
    assert code_of(theirs.get_parameter, Name=arn(name)) == "AccessDeniedException"
    assert code_of(theirs.get_parameter, Name=arn(name + "-absent")) == "AccessDeniedException"

    ssm.put_resource_policy(ResourceArn=arn(name), Policy=share_policy(arn(name), READS))
    p = theirs.get_parameter(Name=arn(name))["Parameter"]
    assert (p["Name"], p["Value"], p["ARN"], p["Version"]) == (name, "shared-value", arn(name), 1)
    assert theirs.get_parameter(Name=arn(name) + ":1")["Parameter"]["Selector"] == ":1"
    got = theirs.get_parameters(Names=[arn(name)])
    assert [p["Value"] for p in got["Parameters"]] == ["shared-value"] and got["InvalidParameters"] == []
    assert [h["Value"] for h in theirs.get_parameter_history(Name=arn(name))["Parameters"]] == ["shared-value"]
    # The account's root reads it too (its identity allows everything; the policy names B).
    assert reader["admin"].get_parameter(Name=arn(name))["Parameter"]["Value"] == "shared-value"

    # By name, B names its own account's parameters: there is none.
    assert code_of(theirs.get_parameter, Name=name) == "ParameterNotFound"
    # Shared parameters are read-only for the consumer.
    assert code_of(theirs.delete_parameter, Name=arn(name)) == "AccessDeniedException"
    assert code_of(theirs.label_parameter_version, Name=arn(name), Labels=["mine"]) == "AccessDeniedException"
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "shared-value"


def test_resource_policy_is_evaluated(ssm, reader):
    theirs = reader["ssm"]
    # A policy for another account shares nothing with B.
    other = "/" + unique("other") + "/config"
    ssm.put_parameter(Name=other, Value="o", Type="String", Tier="Advanced")
    ssm.put_resource_policy(ResourceArn=arn(other), Policy=share_policy(arn(other), READS, principal="222222222222"))
    assert code_of(theirs.get_parameter, Name=arn(other)) == "AccessDeniedException"

    # Only the actions the policy names.
    narrow = "/" + unique("narrow") + "/config"
    ssm.put_parameter(Name=narrow, Value="n", Type="String", Tier="Advanced")
    ssm.put_resource_policy(ResourceArn=arn(narrow), Policy=share_policy(arn(narrow), ["ssm:GetParameter"]))
    assert theirs.get_parameter(Name=arn(narrow))["Parameter"]["Value"] == "n"
    assert code_of(theirs.get_parameter_history, Name=arn(narrow)) == "AccessDeniedException"
    assert code_of(theirs.get_parameters, Names=[arn(narrow)]) == "AccessDeniedException"

    # Deleting the policy stops the sharing at once.
    policy = ssm.get_resource_policies(ResourceArn=arn(narrow))["Policies"][0]
    ssm.delete_resource_policy(ResourceArn=arn(narrow), PolicyId=policy["PolicyId"], PolicyHash=policy["PolicyHash"])
    assert code_of(theirs.get_parameter, Name=arn(narrow)) == "AccessDeniedException"


def test_shared_secure_string_needs_the_key_policy(server, ssm, reader):
    kms = make_client(make_session(), "kms", server.endpoint)
    owner_only = {"Sid": "owner", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}
    key = kms.create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": [owner_only]}))["KeyMetadata"]["Arn"]
    name = "/" + unique("secure") + "/password"
    ssm.put_parameter(Name=name, Value="s3cr3t", Type="SecureString", KeyId=key, Tier="Advanced")
    ssm.put_resource_policy(ResourceArn=arn(name), Policy=share_policy(arn(name), READS))
    theirs = reader["ssm"]

    # Without decryption no key is used: the ciphertext.
    assert "s3cr3t" not in theirs.get_parameter(Name=arn(name))["Parameter"]["Value"]
    # The key policy does not let B decrypt.
    assert code_of(theirs.get_parameter, Name=arn(name), WithDecryption=True) == "AccessDeniedException"
    decrypt_for_b = {"Sid": "b", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{B}:root"}, "Action": "kms:Decrypt", "Resource": "*"}
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps({"Version": "2012-10-17", "Statement": [owner_only, decrypt_for_b]}))
    assert theirs.get_parameter(Name=arn(name), WithDecryption=True)["Parameter"]["Value"] == "s3cr3t"
    history = theirs.get_parameter_history(Name=arn(name), WithDecryption=True)["Parameters"]
    assert [h["Value"] for h in history] == ["s3cr3t"]
