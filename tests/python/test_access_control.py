"""Access control end to end: accounts, IAM, STS AssumeRole, identity/resource/key policies.

The seed's cross-account pattern (put-resource-policy + key policy) with the aws CLI and boto3,
including its pitfalls; path-scoped identity policies and explicit Deny in Parameter Store."""

from __future__ import annotations

import json
import os
import subprocess

import botocore.exceptions
import pytest

from coffer_harness import ACCESS_KEY, SECRET_KEY, AwsCli, coffer_binary, error_code, make_client

import boto3
import botocore
import botocore.config

A = "000000000000"
B = "111111111111"
ROLE = "CrossAccountReader"
ROLE_ARN = f"arn:aws:iam::{B}:role/{ROLE}"


class SessionCli(AwsCli):
    """The aws CLI with temporary credentials."""

    def __init__(self, server, home, access_key, secret_key, token=None):
        super().__init__(server, home, access_key, secret_key)
        self.token = token

    def env(self):
        env = super().env()
        if self.token:
            env["AWS_SESSION_TOKEN"] = self.token
        return env


def client(server, service, creds):
    session = boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds.get("SessionToken"),
        region_name="us-east-1",
    )
    return make_client(session, service, server.endpoint)


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


def seed_resource_policy():
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": ROLE_ARN},
                    "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                    "Resource": "*",
                }
            ],
        }
    )


def key_policy(with_role: bool):
    statements = [
        {
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if with_role:
        statements.append(
            {
                "Effect": "Allow",
                "Principal": {"AWS": ROLE_ARN},
                "Action": ["kms:Decrypt", "kms:DescribeKey"],
                "Resource": "*",
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


@pytest.fixture(scope="module")
def world(server, tmp_path_factory):
    """Account B with the role CrossAccountReader (trusting B's root, allowed to read secrets
    and decrypt), and an assumed session of it."""
    admin_b = create_account(server, B)
    iam_b = client(server, "iam", admin_b)
    iam_b.create_role(
        RoleName=ROLE,
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{B}:root"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )
    iam_b.put_role_policy(
        RoleName=ROLE,
        PolicyName="read-shared-secrets",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "kms:Decrypt", "kms:DescribeKey"],
                        "Resource": "*",
                    }
                ],
            }
        ),
    )
    sts_b = client(server, "sts", admin_b)
    creds = sts_b.assume_role(RoleArn=ROLE_ARN, RoleSessionName="reader")["Credentials"]
    cli = SessionCli(server, tmp_path_factory.mktemp("cli-b"), creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    return {"admin_b": admin_b, "creds": creds, "cli": cli}


def test_assumed_role_identity(server, world):
    ident = client(server, "sts", world["creds"]).get_caller_identity()
    assert ident["Arn"] == f"arn:aws:sts::{B}:assumed-role/{ROLE}/reader"
    assert ident["Account"] == B
    assert world["cli"].json("sts", "get-caller-identity")["Arn"] == ident["Arn"]


def test_altered_and_foreign_tokens_are_refused(server, world):
    creds = dict(world["creds"])
    token = creds["SessionToken"]
    creds["SessionToken"] = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        client(server, "sts", creds).get_caller_identity()
    assert error_code(e.value) == "InvalidClientTokenId"
    # A long-term key id presented with a token is not that token's key.
    creds = dict(world["creds"], AccessKeyId=ACCESS_KEY, SecretAccessKey=SECRET_KEY)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        client(server, "sts", creds).get_caller_identity()
    assert error_code(e.value) == "InvalidClientTokenId"


def test_assume_role_needs_trust(server, world):
    # Account A's root is not trusted by the role.
    sts_a = make_client(boto3.Session(aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name="us-east-1"), "sts", server.endpoint)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        sts_a.assume_role(RoleArn=ROLE_ARN, RoleSessionName="intruder")
    assert error_code(e.value) == "AccessDenied"
    # DurationSeconds above the role's MaxSessionDuration.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        client(server, "sts", world["admin_b"]).assume_role(RoleArn=ROLE_ARN, RoleSessionName="long", DurationSeconds=7200)
    assert error_code(e.value) == "ValidationError"


def _cross_account(server, world, aws, name, reader_get):
    """The seed's pattern step by step; `reader_get(arn)` reads as the role and returns
    (ok, error code)."""
    kms = server.client("kms")
    sm = server.client("secretsmanager")
    key = kms.create_key(Description=f"shared {name}", Policy=key_policy(False))["KeyMetadata"]["Arn"]
    arn = sm.create_secret(Name=name, SecretString='{"password":"s3cr3t"}', KmsKeyId=key)["ARN"]
    managed_arn = sm.create_secret(Name=f"{name}-managed-key", SecretString="x")["ARN"]

    # No resource policy: refused.
    assert reader_get(arn) == (False, "AccessDeniedException")
    # The seed's put-resource-policy (with the aws CLI), but the key policy does not name the role.
    aws.json("secretsmanager", "put-resource-policy", "--secret-id", name, "--resource-policy", seed_resource_policy())
    assert reader_get(arn) == (False, "AccessDeniedException")
    # Pitfall 1: a secret under aws/secretsmanager can never be read from another account
    # (once the resource policy allows, AWS says why: InvalidRequestException).
    sm.put_resource_policy(SecretId=managed_arn, ResourcePolicy=seed_resource_policy())
    assert reader_get(managed_arn) == (False, "InvalidRequestException")
    # All three line up: resource policy, key policy, the role's identity policy.
    aws.json("kms", "put-key-policy", "--key-id", key, "--policy-name", "default", "--policy", key_policy(True))
    assert reader_get(arn) == (True, None)
    # Still refused under the managed key.
    assert reader_get(managed_arn) == (False, "InvalidRequestException")
    # And the owner's root keeps reading its own secret.
    assert sm.get_secret_value(SecretId=name)["SecretString"] == '{"password":"s3cr3t"}'


def test_cross_account_secret_with_boto3(server, world, aws):
    sm = client(server, "secretsmanager", world["creds"])

    def get(arn):
        try:
            assert sm.get_secret_value(SecretId=arn)["SecretString"] == '{"password":"s3cr3t"}'
            return True, None
        except botocore.exceptions.ClientError as e:
            return False, error_code(e)

    _cross_account(server, world, aws, "prod/payments-api/database", get)


def test_cross_account_secret_with_cli(server, world, aws):
    cli = world["cli"]

    def get(arn):
        code, out, err = cli("secretsmanager", "get-secret-value", "--secret-id", arn, "--output", "json")
        if code == 0:
            assert json.loads(out)["SecretString"] == '{"password":"s3cr3t"}'
            return True, None
        for code in ("AccessDeniedException", "InvalidRequestException"):
            if code in err:
                return False, code
        return False, err

    _cross_account(server, world, aws, "prod/payments-api/cli-database", get)


def test_cross_account_secret_by_name_is_not_found_for_the_role(server, world):
    sm = client(server, "secretsmanager", world["creds"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        sm.get_secret_value(SecretId="prod/payments-api/database")
    assert error_code(e.value) == "ResourceNotFoundException"


def test_path_scoped_identity_policy_and_explicit_deny(server):
    iam = server.client("iam")
    ssm = server.client("ssm")
    for name in ["/prod/payments-api/db-url", "/prod/payments-api/nested/flag", "/prod/payments-api/secret-key", "/prod/other/db-url", "/prod/payments-api-evil/x"]:
        ssm.put_parameter(Name=name, Value="v", Type="SecureString")
    iam.create_user(UserName="payments")
    iam.put_user_policy(
        UserName="payments",
        PolicyName="payments-params",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"],
                        "Resource": "arn:aws:ssm:*:*:parameter/prod/payments-api/*",
                    },
                    {
                        "Effect": "Deny",
                        "Action": "ssm:*",
                        "Resource": "arn:aws:ssm:*:*:parameter/prod/payments-api/secret-*",
                    },
                ],
            }
        ),
    )
    key = iam.create_access_key(UserName="payments")["AccessKey"]
    user = client(server, "ssm", key)

    assert user.get_parameter(Name="/prod/payments-api/db-url", WithDecryption=True)["Parameter"]["Value"] == "v"
    assert user.get_parameter(Name="/prod/payments-api/nested/flag")["Parameter"]["Name"] == "/prod/payments-api/nested/flag"
    listed = user.get_parameters_by_path(Path="/prod/payments-api", Recursive=True)["Parameters"]
    assert "/prod/payments-api/db-url" in {p["Name"] for p in listed}
    for name in ["/prod/other/db-url", "/prod/payments-api-evil/x", "/prod/payments-api/secret-key"]:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            user.get_parameter(Name=name)
        assert error_code(e.value) == "AccessDeniedException", name
        assert "arn:aws:iam::000000000000:user/payments" in str(e.value)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        user.get_parameters_by_path(Path="/prod")
    assert error_code(e.value) == "AccessDeniedException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        user.put_parameter(Name="/prod/payments-api/new", Value="v", Type="String")
    assert error_code(e.value) == "AccessDeniedException"

    # Inactive keys are refused at authentication.
    iam.update_access_key(UserName="payments", AccessKeyId=key["AccessKeyId"], Status="Inactive")
    import time

    time.sleep(0.1)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        client(server, "sts", key).get_caller_identity()
    assert error_code(e.value) == "InvalidClientTokenId"


def test_session_policy_narrows_the_role(server, world):
    sts_b = client(server, "sts", world["admin_b"])
    narrow = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:DescribeKey", "Resource": "*"}]})
    creds = sts_b.assume_role(RoleArn=ROLE_ARN, RoleSessionName="narrow", Policy=narrow)["Credentials"]
    sm = client(server, "secretsmanager", creds)
    arn = server.client("secretsmanager").describe_secret(SecretId="prod/payments-api/database")["ARN"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        sm.get_secret_value(SecretId=arn)
    assert error_code(e.value) == "AccessDeniedException"


# -- web identity (OIDC) ----------------------------------------------------------------------

import base64
import time as _time

ISSUER = "https://oidc.example.com/cluster"
ISSUER_HOST = "oidc.example.com/cluster"
SUB = "system:serviceaccount:payments:api"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _openssl(*args, input=None):
    return subprocess.run(["openssl", *args], input=input, capture_output=True, check=True).stdout


class KeyPair:
    """An RSA key made and used with the openssl CLI (no Python JWT library needed)."""

    def __init__(self, directory, kid):
        self.kid = kid
        self.pem = directory / f"{kid}.pem"
        _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(self.pem))
        modulus = _openssl("rsa", "-in", str(self.pem), "-noout", "-modulus").decode().strip().split("=", 1)[1]
        self.jwk = {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": _b64(bytes.fromhex(modulus)), "e": "AQAB"}

    def token(self, claims, kid=None):
        header = {"alg": "RS256", "typ": "JWT", "kid": kid or self.kid}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = _openssl("dgst", "-sha256", "-sign", str(self.pem), input=signing_input.encode())
        return f"{signing_input}.{_b64(signature)}"


def test_web_identity(start_server, tmp_path):
    import shutil

    if shutil.which("openssl") is None:
        pytest.skip("the openssl CLI makes the test OIDC key pair")
    good = KeyPair(tmp_path, "k1")
    other = KeyPair(tmp_path, "k2")
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [good.jwk]}))
    server = start_server(env={"COFFER_OIDC_JWKS": f"{ISSUER}={jwks}"})
    iam = server.client("iam")
    provider = iam.create_open_id_connect_provider(Url=ISSUER, ClientIDList=["sts.amazonaws.com"], ThumbprintList=["a" * 40])[
        "OpenIDConnectProviderArn"
    ]
    assert provider == f"arn:aws:iam::{A}:oidc-provider/{ISSUER_HOST}"
    iam.create_role(
        RoleName="PaymentsApi",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Federated": provider},
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Condition": {"StringEquals": {f"{ISSUER_HOST}:sub": SUB, f"{ISSUER_HOST}:aud": "sts.amazonaws.com"}},
                    }
                ],
            }
        ),
    )
    role_arn = f"arn:aws:iam::{A}:role/PaymentsApi"
    now = int(_time.time())
    claims = {"iss": ISSUER, "sub": SUB, "aud": "sts.amazonaws.com", "iat": now, "exp": now + 600}
    sts = boto3.Session(region_name="us-east-1").client(
        "sts", endpoint_url=server.endpoint, config=botocore.config.Config(signature_version=botocore.UNSIGNED, retries={"total_max_attempts": 1})
    )

    out = sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="pod-1", WebIdentityToken=good.token(claims))
    assert out["SubjectFromWebIdentityToken"] == SUB
    ident = client(server, "sts", out["Credentials"]).get_caller_identity()
    assert ident["Arn"] == f"arn:aws:sts::{A}:assumed-role/PaymentsApi/pod-1"

    def refused(token):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="pod-1", WebIdentityToken=token)
        return error_code(e.value)

    # The trust policy checks sub.
    assert refused(good.token(dict(claims, sub="system:serviceaccount:other:api"))) == "AccessDenied"
    # A bad signature: signed by a key that is not the issuer's, under the issuer's key id.
    assert refused(other.token(claims, kid="k1")) == "InvalidIdentityToken"
    # A tampered payload.
    token = good.token(claims)
    head, _, sig = token.split(".")
    assert refused(f"{head}.{_b64(json.dumps(dict(claims, sub=SUB + 'x')).encode())}.{sig}") == "InvalidIdentityToken"
    # The wrong audience, an expired token, an unknown issuer.
    assert refused(good.token(dict(claims, aud="someone-else"))) == "InvalidIdentityToken"
    assert refused(good.token(dict(claims, exp=now - 60))) == "ExpiredTokenException"
    assert refused(good.token(dict(claims, iss="https://elsewhere.example"))) == "InvalidIdentityToken"


def test_principal_tags_version_stage_and_audit_access(server):
    iam = server.client("iam")
    server.client("ssm").put_parameter(Name="/payments/db", Value="p", Type="String")
    server.client("ssm").put_parameter(Name="/search/db", Value="s", Type="String")
    sm = server.client("secretsmanager")
    sm.create_secret(Name="tagged/app", SecretString="v1")
    sm.put_secret_value(SecretId="tagged/app", SecretString="v2")
    iam.create_user(UserName="tagged", Tags=[{"Key": "team", "Value": "payments"}])
    iam.put_user_policy(
        UserName="tagged",
        PolicyName="by-tag",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "arn:aws:ssm:*:*:parameter/${aws:PrincipalTag/team}/*"},
                    {
                        "Effect": "Allow",
                        "Action": "secretsmanager:GetSecretValue",
                        "Resource": "*",
                        "Condition": {"StringEquals": {"secretsmanager:VersionStage": "AWSPREVIOUS"}},
                    },
                ],
            }
        ),
    )
    key = iam.create_access_key(UserName="tagged")["AccessKey"]
    ssm = client(server, "ssm", key)
    assert ssm.get_parameter(Name="/payments/db")["Parameter"]["Value"] == "p"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ssm.get_parameter(Name="/search/db")
    assert error_code(e.value) == "AccessDeniedException"

    user_sm = client(server, "secretsmanager", key)
    assert user_sm.get_secret_value(SecretId="tagged/app", VersionStage="AWSPREVIOUS")["SecretString"] == "v1"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        user_sm.get_secret_value(SecretId="tagged/app")
    assert error_code(e.value) == "AccessDeniedException"

    with pytest.raises(botocore.exceptions.ClientError) as e:
        client(server, "cloudtrail", key).lookup_events()
    assert error_code(e.value) == "AccessDeniedException"


def test_encryption_context_condition_and_key_policy_delegation(server):
    iam = server.client("iam")
    key = server.client("kms").create_key(Description="ctx")["KeyMetadata"]["Arn"]
    iam.create_user(UserName="ctx-user")
    iam.put_user_policy(
        UserName="ctx-user",
        PolicyName="ctx",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["kms:Encrypt", "kms:Decrypt"],
                        "Resource": key,
                        "Condition": {"StringEquals": {"kms:EncryptionContext:app": "payments"}},
                    }
                ],
            }
        ),
    )
    creds = iam.create_access_key(UserName="ctx-user")["AccessKey"]
    kms = client(server, "kms", creds)
    blob = kms.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"app": "payments"})["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={"app": "payments"})["Plaintext"] == b"x"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"app": "search"})
    assert error_code(e.value) == "AccessDeniedException"
    # The identity policy names one key: another key of the account (whose policy delegates to
    # IAM) is refused.
    own = server.client("kms").create_key(
        Description="root only",
        Policy=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": "kms:*", "Resource": "*"}]}
        ),
        BypassPolicyLockoutSafetyCheck=True,
    )["KeyMetadata"]["Arn"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.encrypt(KeyId=own, Plaintext=b"x", EncryptionContext={"app": "payments"})
    assert error_code(e.value) == "AccessDeniedException"


def test_permissions_boundary_limits_identity_policies(server):
    iam = server.client("iam")
    ssm = server.client("ssm")
    ssm.put_parameter(Name="/bounded/a", Value="a", Type="String")
    boundary = iam.create_policy(
        PolicyName="only-ssm-get",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*"}]}),
    )["Policy"]["Arn"]
    iam.create_user(UserName="bounded", PermissionsBoundary=boundary)
    assert iam.get_user(UserName="bounded")["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    iam.put_user_policy(
        UserName="bounded",
        PolicyName="everything",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
    )
    key = iam.create_access_key(UserName="bounded")["AccessKey"]
    user_ssm = client(server, "ssm", key)
    assert user_ssm.get_parameter(Name="/bounded/a")["Parameter"]["Value"] == "a"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        user_ssm.put_parameter(Name="/bounded/b", Value="b", Type="String")
    assert error_code(e.value) == "AccessDeniedException"
    assert "permissions boundary" in str(e.value)
    iam.delete_user_permissions_boundary(UserName="bounded")
    user_ssm.put_parameter(Name="/bounded/b", Value="b", Type="String")


def test_issued_secrets_do_not_reach_the_audit_trail_or_disk(start_server):
    server = start_server()
    iam = server.client("iam")
    iam.create_user(UserName="audited")
    key = iam.create_access_key(UserName="audited")["AccessKey"]
    iam.create_role(
        RoleName="audited-role",
        AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": "sts:AssumeRole"}]}
        ),
    )
    creds = server.client("sts").assume_role(RoleArn=f"arn:aws:iam::{A}:role/audited-role", RoleSessionName="audit")["Credentials"]
    events = server.client("cloudtrail").lookup_events(MaxResults=50)["Events"]
    names = {e["EventName"] for e in events}
    assert {"CreateAccessKey", "AssumeRole"} <= names
    trail = json.dumps([e.get("CloudTrailEvent", "") for e in events])
    assert key["SecretAccessKey"] not in trail
    assert creds["SecretAccessKey"] not in trail
    for path in server.data_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert key["SecretAccessKey"].encode() not in data, path
            assert creds["SecretAccessKey"].encode() not in data, path


def test_aws_managed_policies(server):
    iam = server.client("iam")
    arn = "arn:aws:iam::aws:policy/SecretsManagerReadWrite"
    assert iam.get_policy(PolicyArn=arn)["Policy"]["PolicyName"] == "SecretsManagerReadWrite"
    assert arn in {p["Arn"] for p in iam.list_policies(Scope="AWS")["Policies"]}
    doc = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]["Document"]
    assert "secretsmanager:*" in doc["Statement"][0]["Action"]
    iam.create_group(GroupName="secret-admins")
    iam.attach_group_policy(GroupName="secret-admins", PolicyArn=arn)
    iam.create_user(UserName="secret-admin")
    iam.add_user_to_group(GroupName="secret-admins", UserName="secret-admin")
    key = iam.create_access_key(UserName="secret-admin")["AccessKey"]
    client(server, "secretsmanager", key).create_secret(Name="managed-policy/app", SecretString="x")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        client(server, "ssm", key).get_parameter(Name="/anything")
    assert error_code(e.value) == "AccessDeniedException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.delete_policy(PolicyArn=arn)
    assert error_code(e.value) == "InvalidInput"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.attach_user_policy(UserName="secret-admin", PolicyArn="arn:aws:iam::aws:policy/NoSuchPolicy")
    assert error_code(e.value) == "NoSuchEntity"
