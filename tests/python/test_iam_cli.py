"""IAM over the query protocol with the aws CLI: users, keys, roles, groups, inline and managed
policies (versions, attachments), tags, delete conflicts, and that what IAM stores is enforced."""

from __future__ import annotations

import json

from coffer_harness import AwsCli
from helpers import fails

ALLOW_SSM_READ = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*"}]}
)
ALLOW_SSM_PUT = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["ssm:PutParameter", "ssm:GetParameter"], "Resource": "*"}]}
)
TRUST = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"}, "Action": "sts:AssumeRole"}]}
)


def test_iam_with_the_cli(aws: AwsCli, server, tmp_path):
    user = aws.json("iam", "create-user", "--user-name", "deployer", "--path", "/ci/", "--tags", "Key=team,Value=payments")["User"]
    assert user["Arn"] == "arn:aws:iam::000000000000:user/ci/deployer"
    assert user["UserId"].startswith("AIDA")
    assert "EntityAlreadyExists" in fails(aws, "iam", "create-user", "--user-name", "deployer")
    assert [u["UserName"] for u in aws.json("iam", "list-users", "--path-prefix", "/ci/")["Users"]] == ["deployer"]
    assert "NoSuchEntity" in fails(aws, "iam", "get-user", "--user-name", "nobody")

    # Groups with policies, managed policies with versions.
    aws.json("iam", "create-group", "--group-name", "readers")
    aws.json("iam", "add-user-to-group", "--group-name", "readers", "--user-name", "deployer")
    policy = aws.json("iam", "create-policy", "--policy-name", "ssm-read", "--policy-document", ALLOW_SSM_READ)["Policy"]
    arn = policy["Arn"]
    assert arn == "arn:aws:iam::000000000000:policy/ssm-read" and policy["DefaultVersionId"] == "v1"
    aws.json("iam", "attach-group-policy", "--group-name", "readers", "--policy-arn", arn)
    assert aws.json("iam", "get-policy", "--policy-arn", arn)["Policy"]["AttachmentCount"] == 1
    v2 = aws.json("iam", "create-policy-version", "--policy-arn", arn, "--policy-document", ALLOW_SSM_PUT, "--set-as-default")
    assert v2["PolicyVersion"]["VersionId"] == "v2"
    doc = aws.json("iam", "get-policy-version", "--policy-arn", arn, "--version-id", "v2")["PolicyVersion"]
    assert doc["IsDefaultVersion"] and doc["Document"]["Statement"][0]["Action"] == ["ssm:PutParameter", "ssm:GetParameter"]
    assert "DeleteConflict" in fails(aws, "iam", "delete-policy", "--policy-arn", arn)

    # The user's key gets what the group's managed policy (v2) grants, and nothing else.
    key = aws.json("iam", "create-access-key", "--user-name", "deployer")["AccessKey"]
    assert [k["Status"] for k in aws.json("iam", "list-access-keys", "--user-name", "deployer")["AccessKeyMetadata"]] == ["Active"]
    me = AwsCli(server, tmp_path / "deployer", key["AccessKeyId"], key["SecretAccessKey"])
    assert me.json("sts", "get-caller-identity")["Arn"] == user["Arn"]
    me.json("ssm", "put-parameter", "--name", "/ci/build", "--value", "1", "--type", "String")
    assert "AccessDenied" in fails(me, "ssm", "delete-parameter", "--name", "/ci/build")
    assert "AccessDenied" in fails(me, "iam", "list-users")
    # An inline Deny on the user beats the group's Allow.
    aws.json(
        "iam", "put-user-policy", "--user-name", "deployer", "--policy-name", "no-put",
        "--policy-document", json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "ssm:PutParameter", "Resource": "*"}]}),
    )
    assert aws.json("iam", "list-user-policies", "--user-name", "deployer")["PolicyNames"] == ["no-put"]
    assert "AccessDenied" in fails(me, "ssm", "put-parameter", "--name", "/ci/build", "--value", "2", "--type", "String", "--overwrite")
    assert me.json("ssm", "get-parameter", "--name", "/ci/build")["Parameter"]["Value"] == "1"

    # Identity policies may not name principals; trust policies must.
    assert "MalformedPolicyDocument" in fails(aws, "iam", "put-user-policy", "--user-name", "deployer", "--policy-name", "x", "--policy-document", TRUST)
    assert "MalformedPolicyDocument" in fails(aws, "iam", "create-role", "--role-name", "r", "--assume-role-policy-document", ALLOW_SSM_READ)

    # Roles.
    role = aws.json("iam", "create-role", "--role-name", "builder", "--assume-role-policy-document", TRUST, "--max-session-duration", "7200")["Role"]
    assert role["RoleId"].startswith("AROA") and role["MaxSessionDuration"] == 7200
    assert aws.json("iam", "get-role", "--role-name", "builder")["Role"]["AssumeRolePolicyDocument"] == json.loads(TRUST)
    aws.json("iam", "tag-role", "--role-name", "builder", "--tags", "Key=env,Value=ci")
    assert aws.json("iam", "get-role", "--role-name", "builder")["Role"]["Tags"] == [{"Key": "env", "Value": "ci"}]
    aws.json("iam", "put-role-policy", "--role-name", "builder", "--policy-name", "read", "--policy-document", ALLOW_SSM_READ)
    aws.json("iam", "attach-role-policy", "--role-name", "builder", "--policy-arn", arn)
    assert [p["PolicyArn"] for p in aws.json("iam", "list-attached-role-policies", "--role-name", "builder")["AttachedPolicies"]] == [arn]
    creds = aws.json("sts", "assume-role", "--role-arn", role["Arn"], "--role-session-name", "ci", "--duration-seconds", "7200")["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    assert "DeleteConflict" in fails(aws, "iam", "delete-role", "--role-name", "builder")
    aws.json("iam", "delete-role-policy", "--role-name", "builder", "--policy-name", "read")
    aws.json("iam", "detach-role-policy", "--role-name", "builder", "--policy-arn", arn)
    aws.json("iam", "delete-role", "--role-name", "builder")

    # Keys: Inactive keys stop working; a user with keys cannot be deleted.
    aws.json("iam", "update-access-key", "--user-name", "deployer", "--access-key-id", key["AccessKeyId"], "--status", "Inactive")
    assert "InvalidClientTokenId" in fails(me, "sts", "get-caller-identity")
    assert "DeleteConflict" in fails(aws, "iam", "delete-user", "--user-name", "deployer")
    aws.json("iam", "delete-access-key", "--user-name", "deployer", "--access-key-id", key["AccessKeyId"])
