"""External Secrets Operator's AWS provider, replayed against coffer.

Every call ESO's AWS provider makes (providers/v1/aws: auth, secretsmanager, parameterstore) for
the seed's ClusterSecretStore (``auth.jwt.serviceAccountRef`` external-secrets/external-secrets)
and ExternalSecret (``prod/payments-api/database``, properties ``username``/``password``), and
for the PushSecret and ``find`` flows, made here with boto3 with the parameters ESO passes. Each
answer is read the way ESO reads it (gjson properties, the ``managed-by: external-secrets`` tag,
the error codes it tells apart), so a shape ESO would choke on fails here.

Authentication is ESO's too: a service account token (audience ``sts.amazonaws.com``) exchanged
with AssumeRoleWithWebIdentity under the session name ESO uses, against an OIDC provider
registered in coffer's IAM.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import time
import uuid

import boto3
import botocore
import botocore.config
import pytest
from botocore.exceptions import ClientError

from coffer_harness import ACCOUNT, CLIENT_CONFIG, REGION, CofferServer, error_code, make_client, make_session

ISSUER = "https://oidc.cluster.example/id/EXAMPLE"
ISSUER_HOST = "oidc.cluster.example/id/EXAMPLE"
ESO_SUB = "system:serviceaccount:external-secrets:external-secrets"
ESO_SESSION = "external-secrets-provider-aws"  # auth.go: stscreds.NewWebIdentityRoleProvider(..., "external-secrets-provider-aws", ...)
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/external-secrets"
MANAGED_BY = {"Key": "managed-by", "Value": "external-secrets"}
INITIAL_VERSION = "00000000-0000-0000-0000-000000000001"  # the ClientRequestToken of ESO's CreateSecret
ESO_DESCRIPTION = "secret 'managed-by:external-secrets'"
SEED_SECRET = "prod/payments-api/database"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _openssl(*args, input=None) -> bytes:
    return subprocess.run(["openssl", *args], input=input, capture_output=True, check=True).stdout


class ServiceAccountIssuer:
    """The cluster's service account token issuer: an RSA key (openssl CLI) and its JWKS."""

    def __init__(self, directory):
        self.pem = directory / "sa-signer.pem"
        _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(self.pem))
        modulus = _openssl("rsa", "-in", str(self.pem), "-noout", "-modulus").decode().strip().split("=", 1)[1]
        self.jwks = {"keys": [{"kty": "RSA", "kid": "sa", "use": "sig", "alg": "RS256", "n": _b64(bytes.fromhex(modulus)), "e": "AQAB"}]}

    def token(self, sub: str, aud: str = "sts.amazonaws.com") -> str:
        """What the TokenRequest API hands ESO for the service account."""
        now = int(time.time())
        claims = {"iss": ISSUER, "sub": sub, "aud": [aud], "iat": now, "nbf": now, "exp": now + 3600,
                  "kubernetes.io": {"namespace": sub.split(":")[2], "serviceaccount": {"name": sub.split(":")[3]}}}
        header = {"alg": "RS256", "typ": "JWT", "kid": "sa"}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        return f"{signing_input}.{_b64(_openssl('dgst', '-sha256', '-sign', str(self.pem), input=signing_input.encode()))}"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A coffer server trusting the cluster's issuer, the seed's secret, and ESO's role."""
    if shutil.which("openssl") is None:
        pytest.fail("the openssl CLI signs the service account tokens")
    base = tmp_path_factory.mktemp("eso")
    issuer = ServiceAccountIssuer(base)
    (base / "jwks.json").write_text(json.dumps(issuer.jwks))
    server = CofferServer(base / "coffer", env={"COFFER_OIDC_JWKS": f"{ISSUER}={base / 'jwks.json'}"})
    server.start()
    try:
        iam = server.client("iam")
        provider = iam.create_open_id_connect_provider(Url=ISSUER, ClientIDList=["sts.amazonaws.com"], ThumbprintList=["0" * 40])
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Federated": provider["OpenIDConnectProviderArn"]},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {f"{ISSUER_HOST}:sub": ESO_SUB, f"{ISSUER_HOST}:aud": "sts.amazonaws.com"}}}]}
        iam.create_role(RoleName="external-secrets", AssumeRolePolicyDocument=json.dumps(trust))
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["secretsmanager:*", "ssm:*"], "Resource": "*"}]}
        iam.put_role_policy(RoleName="external-secrets", PolicyName="eso", PolicyDocument=json.dumps(policy))
        admin_sm = server.client("secretsmanager")
        admin_sm.create_secret(Name=SEED_SECRET, SecretString=json.dumps({"username": "payments", "password": "s3cr3t-v1"}))
        yield server, issuer
    finally:
        server.kill()


def assume_as_eso(server: CofferServer, token: str) -> dict:
    sts = boto3.Session(region_name=REGION).client(
        "sts", endpoint_url=server.endpoint,
        config=botocore.config.Config(signature_version=botocore.UNSIGNED, retries={"total_max_attempts": 1}))
    return sts.assume_role_with_web_identity(RoleArn=ROLE_ARN, RoleSessionName=ESO_SESSION, WebIdentityToken=token)["Credentials"]


@pytest.fixture(scope="module")
def eso(cluster):
    """boto3 clients holding the credentials ESO gets for the seed's ClusterSecretStore."""
    server, issuer = cluster
    creds = assume_as_eso(server, issuer.token(ESO_SUB))
    session = boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                            aws_session_token=creds["SessionToken"], region_name=REGION)
    return {svc: make_client(session, svc, server.endpoint) for svc in ("secretsmanager", "ssm", "sts")}


@pytest.fixture(scope="module")
def admin(cluster):
    server, _ = cluster
    return {svc: server.client(svc) for svc in ("secretsmanager", "ssm")}


# -- ESO's reading of answers ------------------------------------------------------------------


def gjson_get(payload: str, prop: str):
    """ESO's property lookup: a key with dots is tried escaped (whole) first, then as a path."""
    doc = json.loads(payload)
    if prop in doc:
        node = doc[prop]
    else:
        node = doc
        for part in prop.split("."):
            if not isinstance(node, dict) or part not in node:
                raise KeyError(f"key {prop} does not exist in secret")
            node = node[part]
    return node if isinstance(node, str) else json.dumps(node, separators=(",", ":"))


def payload(out: dict) -> bytes:
    """GetSecretValue's SecretString, else SecretBinary, as ESO takes it."""
    if out.get("SecretString") is not None:
        return out["SecretString"].encode()
    if out.get("SecretBinary") is not None:
        return out["SecretBinary"]
    raise AssertionError("invalid secret received. no secret string nor binary")


def eso_fetch(sm, key: str, version: str = "") -> dict:
    """secretsmanager.go constructSecretValue: VersionStage, or VersionId for ``uuid/...``."""
    ver = version or "AWSCURRENT"
    if ver.startswith("uuid/"):
        return sm.get_secret_value(SecretId=key, VersionId=ver[len("uuid/"):])
    return sm.get_secret_value(SecretId=key, VersionStage=ver)


def secret_map(raw: bytes) -> dict:
    """GetSecretMap (dataFrom.extract): strings as they are, anything else as its JSON."""
    return {k: v if isinstance(v, str) else json.dumps(v, separators=(",", ":")) for k, v in json.loads(raw).items()}


def is_managed(tags) -> bool:
    return any(t["Key"] == "managed-by" and t["Value"] == "external-secrets" for t in tags or [])


def code_of(call, **kwargs) -> str:
    with pytest.raises(ClientError) as e:
        call(**kwargs)
    return error_code(e.value)


def name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# -- auth --------------------------------------------------------------------------------------


def test_eso_web_identity_auth(cluster, eso):
    server, issuer = cluster
    ident = eso["sts"].get_caller_identity()
    assert ident["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/external-secrets/{ESO_SESSION}"
    # Another service account's token is not ESO's role's.
    with pytest.raises(ClientError) as e:
        assume_as_eso(server, issuer.token("system:serviceaccount:payments:default"))
    assert error_code(e.value) == "AccessDenied"


# -- ExternalSecret: data (the seed's), dataFrom extract, versions ------------------------------


def test_seed_external_secret(eso, admin):
    sm = eso["secretsmanager"]
    out = eso_fetch(sm, SEED_SECRET)  # one call: ESO caches KEY#AWSCURRENT for both properties
    data = {"username": gjson_get(payload(out).decode(), "username"), "password": gjson_get(payload(out).decode(), "password")}
    assert data == {"username": "payments", "password": "s3cr3t-v1"}
    assert out["Name"] == SEED_SECRET and out["ARN"].startswith(f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{SEED_SECRET}-")
    assert "AWSCURRENT" in out["VersionStages"]

    # A rotation: the next refresh sees the new value; AWSPREVIOUS and uuid/ still name the old.
    old_version = out["VersionId"]
    admin["secretsmanager"].put_secret_value(SecretId=SEED_SECRET, SecretString=json.dumps({"username": "payments", "password": "s3cr3t-v2"}))
    assert gjson_get(payload(eso_fetch(sm, SEED_SECRET)).decode(), "password") == "s3cr3t-v2"
    assert gjson_get(payload(eso_fetch(sm, SEED_SECRET, "AWSPREVIOUS")).decode(), "password") == "s3cr3t-v1"
    assert gjson_get(payload(eso_fetch(sm, SEED_SECRET, f"uuid/{old_version}")).decode(), "password") == "s3cr3t-v1"


def test_properties_extract_and_binary(eso, admin):
    sm, key = eso["secretsmanager"], name("prod/payments-api/config")
    doc = {"host": "db.internal", "port": 5432, "tls": {"mode": "verify-full"}, "a.b": "dotted", "list": [1, 2]}
    admin["secretsmanager"].create_secret(Name=key, SecretString=json.dumps(doc))
    raw = payload(eso_fetch(sm, key)).decode()
    assert gjson_get(raw, "port") == "5432" and gjson_get(raw, "tls.mode") == "verify-full" and gjson_get(raw, "a.b") == "dotted"
    assert secret_map(raw.encode()) == {"host": "db.internal", "port": "5432", "tls": '{"mode":"verify-full"}', "a.b": "dotted", "list": "[1,2]"}
    # No property: the whole value; a binary secret comes back as its bytes.
    assert json.loads(raw) == doc
    bkey = name("prod/payments-api/keystore")
    admin["secretsmanager"].create_secret(Name=bkey, SecretBinary=b"\x00\x01binary\xff")
    assert payload(eso_fetch(sm, bkey)) == b"\x00\x01binary\xff"


def test_missing_and_deleted_secrets(eso, admin):
    sm = eso["secretsmanager"]
    # ResourceNotFoundException is what ESO turns into "secret does not exist" (NoSecretErr).
    assert code_of(eso_fetch, sm=sm, key=name("prod/absent")) == "ResourceNotFoundException"
    key = name("prod/doomed")
    admin["secretsmanager"].create_secret(Name=key, SecretString="x")
    admin["secretsmanager"].delete_secret(SecretId=key, RecoveryWindowInDays=7)
    with pytest.raises(ClientError) as e:
        eso_fetch(sm, key)
    assert error_code(e.value) == "InvalidRequestException" and "marked for deletion" in e.value.response["Error"]["Message"]


def test_metadata_policy_fetch(eso, admin):
    key = name("prod/tagged")
    admin["secretsmanager"].create_secret(Name=key, SecretString="v", Tags=[{"Key": "team", "Value": "payments"}, {"Key": "tier", "Value": "1"}])
    out = eso["secretsmanager"].describe_secret(SecretId=key)
    assert {t["Key"]: t["Value"] for t in out["Tags"]} == {"team": "payments", "tier": "1"}
    assert out["Name"] == key and "ARN" in out and "CreatedDate" in out


# -- ExternalSecret: dataFrom.find -------------------------------------------------------------


@pytest.fixture(scope="module")
def findable(admin):
    prefix = name("find")
    names = {}
    for suffix, tags in (("app/db", {"team": "payments", "env": "prod"}), ("app/api-key", {"team": "payments", "env": "dev"}),
                         ("other/token", {"team": "search", "env": "prod"})):
        n = f"{prefix}/{suffix}"
        admin["secretsmanager"].create_secret(Name=n, SecretString=f"value-of-{suffix}",
                                              Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
        names[suffix] = n
    return prefix, names


def test_find_by_name_without_path_lists_then_gets(eso, findable):
    sm, (prefix, names) = eso["secretsmanager"], findable
    matcher = re.compile(re.escape(prefix) + r"/app/.*")
    data, token, pages = {}, None, 0
    while True:  # findByName: ListSecrets(Filters=[], NextToken) until no token, GetSecretValue per match
        it = sm.list_secrets(Filters=[], **({"NextToken": token} if token else {}))
        pages += 1
        for s in it["SecretList"]:
            if matcher.search(s["Name"]):
                data[s["Name"]] = payload(eso_fetch(sm, s["Name"])).decode()
        token = it.get("NextToken")
        if not token:
            break
    assert data == {names["app/db"]: "value-of-app/db", names["app/api-key"]: "value-of-app/api-key"}


def batch_find(sm, filters, matcher=None) -> dict:
    """fetchWithBatch: BatchGetSecretValue(Filters, NextToken) until no token."""
    data, token = {}, None
    while True:
        it = sm.batch_get_secret_value(Filters=filters, **({"NextToken": token} if token else {}))
        assert it.get("Errors", []) == []
        for s in it["SecretValues"]:
            if matcher is None or matcher.search(s["Name"]):
                data[s["Name"]] = payload(s).decode()
        token = it.get("NextToken")
        if not token:
            return data


def test_find_by_name_with_path_and_by_tags_use_batch_get(eso, findable):
    sm, (prefix, names) = eso["secretsmanager"], findable
    got = batch_find(sm, [{"Key": "name", "Values": [f"{prefix}/app"]}], re.compile(r"db$"))
    assert got == {names["app/db"]: "value-of-app/db"}
    # findByTags: a tag-key and a tag-value filter per tag, plus the path as a name filter.
    got = batch_find(sm, [{"Key": "tag-key", "Values": ["team"]}, {"Key": "tag-value", "Values": ["payments"]},
                          {"Key": "name", "Values": [prefix]}])
    assert got == {names["app/db"]: "value-of-app/db", names["app/api-key"]: "value-of-app/api-key"}


# -- PushSecret and its deletionPolicy (Secrets Manager) ---------------------------------------


def eso_push(sm, key: str, value: bytes, *, fmt: str = "binary", tags: dict | None = None, prop: str = "") -> str:
    """secretsmanager.go PushSecret; returns what it did."""
    body = (lambda v: {"SecretString": v.decode()}) if fmt == "string" else (lambda v: {"SecretBinary": v})
    want_tags = dict(tags or {}, **{"managed-by": "external-secrets"})
    try:
        desc = sm.describe_secret(SecretId=key)
    except ClientError as e:
        assert error_code(e) == "ResourceNotFoundException"
        new = json.dumps({prop: value.decode()}).encode() if prop else value
        sm.create_secret(Name=key, Tags=[{"Key": k, "Value": v} for k, v in want_tags.items()], Description=ESO_DESCRIPTION,
                         ClientRequestToken=INITIAL_VERSION, KmsKeyId="alias/aws/secretsmanager", **body(new))
        return "created"
    if not is_managed(desc.get("Tags")):
        raise RuntimeError("secret not managed by external-secrets")
    assert desc.get("VersionIdsToStages"), "ESO would PutSecretValue with the initial version"
    current = sm.get_secret_value(SecretId=key)
    new = value
    if prop:
        doc = json.loads(payload(current))
        doc[prop] = value.decode()
        new = json.dumps(doc).encode()
    if current.get("SecretBinary") == new or (current.get("SecretString") is not None and current["SecretString"].encode() == new):
        return "unchanged"
    sm.put_secret_value(SecretId=key, ClientRequestToken=str(uuid.uuid4()), **body(new))
    have = {t["Key"]: t["Value"] for t in desc.get("Tags", [])}
    remove = [k for k in have if k not in want_tags]
    if remove:
        sm.untag_resource(SecretId=key, TagKeys=remove)
    if any(have.get(k) != v for k, v in want_tags.items() if k != "managed-by"):
        sm.tag_resource(SecretId=key, Tags=[{"Key": k, "Value": v} for k, v in want_tags.items()])
    try:  # manageResourcePolicy without a policy in the metadata
        sm.delete_resource_policy(SecretId=key)
    except ClientError as e:
        assert error_code(e) == "ResourceNotFoundException"
    return "updated"


def eso_delete(sm, key: str, force: bool) -> str:
    """secretsmanager.go DeleteSecret (PushSecret deletionPolicy: Delete)."""
    try:
        current = sm.get_secret_value(SecretId=key)
    except ClientError as e:
        assert error_code(e) == "ResourceNotFoundException"
        return "absent"
    if not is_managed(sm.describe_secret(SecretId=key).get("Tags")):
        return "not managed"
    sm.delete_secret(SecretId=current["ARN"], **({"ForceDeleteWithoutRecovery": True} if force else {"RecoveryWindowInDays": 7}))
    return "deleted"


def test_push_secret_lifecycle(eso, admin):
    sm, key = eso["secretsmanager"], name("pushed/payments/token")
    assert eso_push(sm, key, b"tok-1", tags={"team": "payments"}) == "created"
    first = admin["secretsmanager"].get_secret_value(SecretId=key)
    assert first["SecretBinary"] == b"tok-1" and first["VersionId"] == INITIAL_VERSION
    desc = admin["secretsmanager"].describe_secret(SecretId=key)
    assert desc["Description"] == ESO_DESCRIPTION and is_managed(desc["Tags"])
    assert eso_push(sm, key, b"tok-1", tags={"team": "payments"}) == "unchanged"
    assert eso_push(sm, key, b"tok-2", tags={"team": "checkout"}) == "updated"
    now = admin["secretsmanager"].get_secret_value(SecretId=key)
    assert now["SecretBinary"] == b"tok-2" and now["VersionId"] != INITIAL_VERSION
    assert {t["Key"]: t["Value"] for t in admin["secretsmanager"].describe_secret(SecretId=key)["Tags"]} == {"team": "checkout", "managed-by": "external-secrets"}
    # The previous version stays readable as AWSPREVIOUS.
    assert admin["secretsmanager"].get_secret_value(SecretId=key, VersionStage="AWSPREVIOUS")["SecretBinary"] == b"tok-1"
    assert eso_delete(sm, key, force=True) == "deleted"
    # SecretExists after the delete: GetSecretValue answers ResourceNotFoundException.
    assert code_of(sm.get_secret_value, SecretId=key) == "ResourceNotFoundException"
    assert eso_delete(sm, key, force=True) == "absent"


def test_push_secret_string_property_and_unmanaged(eso, admin):
    sm, key = eso["secretsmanager"], name("pushed/payments/db")
    assert eso_push(sm, key, b"alice", fmt="string", prop="username") == "created"
    assert eso_push(sm, key, b"pw-1", fmt="string", prop="password") == "updated"
    assert json.loads(admin["secretsmanager"].get_secret_value(SecretId=key)["SecretString"]) == {"username": "alice", "password": "pw-1"}
    # A secret ESO did not create is neither overwritten nor deleted.
    theirs = name("pushed/not-eso")
    admin["secretsmanager"].create_secret(Name=theirs, SecretString="keep")
    with pytest.raises(RuntimeError, match="not managed"):
        eso_push(sm, theirs, b"x")
    assert eso_delete(sm, theirs, force=False) == "not managed"
    assert eso_delete(sm, key, force=False) == "deleted"
    assert "DeletedDate" in admin["secretsmanager"].describe_secret(SecretId=key)


def test_push_secret_resource_policy(eso):
    sm, key = eso["secretsmanager"], name("pushed/with-policy")
    assert eso_push(sm, key, b"v") == "created"
    arn = sm.describe_secret(SecretId=key)["ARN"]
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                                                      "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}
    sm.put_resource_policy(SecretId=arn, ResourcePolicy=json.dumps(policy), BlockPublicPolicy=True)
    # manageResourcePolicy compares the current policy's JSON with the wanted one.
    assert json.loads(sm.get_resource_policy(SecretId=arn)["ResourcePolicy"]) == policy


# -- Parameter Store -------------------------------------------------------------------------


def test_parameter_store_get_find_and_metadata(eso, admin):
    ssm, prefix = eso["ssm"], "/" + name("eso")
    admin["ssm"].put_parameter(Name=f"{prefix}/db/url", Value="postgres://db", Type="String", Tags=[{"Key": "team", "Value": "payments"}])
    admin["ssm"].put_parameter(Name=f"{prefix}/db/password", Value="pw-1", Type="SecureString")
    admin["ssm"].put_parameter(Name=f"{prefix}/db/password", Value="pw-2", Type="SecureString", Overwrite=True)
    admin["ssm"].put_parameter(Name=f"{prefix}/json", Value=json.dumps({"user": "u", "port": 1}), Type="String")
    get = lambda n: ssm.get_parameter(Name=n, WithDecryption=True)["Parameter"]["Value"]  # noqa: E731
    assert get(f"{prefix}/db/password") == "pw-2" and get(f"{prefix}/db/password:1") == "pw-1"
    assert gjson_get(get(f"{prefix}/json"), "port") == "1"
    assert code_of(ssm.get_parameter, Name=f"{prefix}/absent", WithDecryption=True) == "ParameterNotFound"
    # findByName: GetParametersByPath(Path, Recursive, WithDecryption) paging, names matched.
    found, token = {}, None
    while True:
        it = ssm.get_parameters_by_path(Path=prefix, Recursive=True, WithDecryption=True, **({"NextToken": token} if token else {}))
        found.update({p["Name"]: p["Value"] for p in it["Parameters"] if re.search(r"/db/", p["Name"])})
        token = it.get("NextToken")
        if not token:
            break
    assert found == {f"{prefix}/db/url": "postgres://db", f"{prefix}/db/password": "pw-2"}
    # findByTags: DescribeParameters with tag:KEY Equals and the path, then GetParameter each.
    it = ssm.describe_parameters(ParameterFilters=[{"Key": "tag:team", "Option": "Equals", "Values": ["payments"]},
                                                   {"Key": "Path", "Option": "Recursive", "Values": [prefix]}])
    assert [p["Name"] for p in it["Parameters"]] == [f"{prefix}/db/url"]
    # metadataPolicy Fetch: ListTagsForResource.
    tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=f"{prefix}/db/url")["TagList"]
    assert {t["Key"]: t["Value"] for t in tags} == {"team": "payments"}


def ps_push(ssm, key: str, value: str, *, secure: bool = False, tags: dict | None = None) -> str:
    """parameterstore.go PushSecret."""
    want = dict(tags or {}, **{"managed-by": "external-secrets"})
    req = {"Name": key, "Value": value, "Type": "SecureString" if secure else "String", "Description": ESO_DESCRIPTION}
    if secure:
        req["KeyId"] = "alias/aws/ssm"
    try:
        existing = ssm.get_parameter(Name=key, WithDecryption=True)["Parameter"]
    except ClientError as e:
        assert error_code(e) == "ParameterNotFound"
        ssm.put_parameter(**req, Overwrite=False, Tags=[{"Key": k, "Value": v} for k, v in want.items()])
        return "created"
    have = {t["Key"]: t["Value"] for t in ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=existing["Name"])["TagList"]}
    if have.get("managed-by") != "external-secrets":
        raise RuntimeError("secret not managed by external-secrets")
    if existing["Value"] == value:
        return "unchanged"
    ssm.put_parameter(**req, Overwrite=True)
    remove = [k for k in have if k not in want]
    if remove:
        ssm.remove_tags_from_resource(ResourceType="Parameter", ResourceId=existing["Name"], TagKeys=remove)
    if any(have.get(k) != v for k, v in want.items()):
        ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId=existing["Name"], Tags=[{"Key": k, "Value": v} for k, v in want.items()])
    return "updated"


def test_parameter_store_push_and_delete(eso, admin):
    ssm, key = eso["ssm"], "/" + name("pushed") + "/api-key"
    assert ps_push(ssm, key, "k-1", secure=True, tags={"team": "payments", "old": "x"}) == "created"
    p = admin["ssm"].get_parameter(Name=key, WithDecryption=True)["Parameter"]
    assert (p["Type"], p["Value"], p["Version"]) == ("SecureString", "k-1", 1)
    assert ps_push(ssm, key, "k-1", secure=True, tags={"team": "payments", "old": "x"}) == "unchanged"
    assert ps_push(ssm, key, "k-2", secure=True, tags={"team": "checkout"}) == "updated"
    p = admin["ssm"].get_parameter(Name=key, WithDecryption=True)["Parameter"]
    assert (p["Value"], p["Version"]) == ("k-2", 2)
    tags = admin["ssm"].list_tags_for_resource(ResourceType="Parameter", ResourceId=key)["TagList"]
    assert {t["Key"]: t["Value"] for t in tags} == {"team": "checkout", "managed-by": "external-secrets"}
    desc = admin["ssm"].describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [key]}])["Parameters"][0]
    assert desc["Description"] == ESO_DESCRIPTION and desc["KeyId"] == "alias/aws/ssm"
    # A parameter ESO did not create is refused; deletionPolicy Delete removes ESO's own.
    theirs = "/" + name("theirs")
    admin["ssm"].put_parameter(Name=theirs, Value="keep", Type="String")
    with pytest.raises(RuntimeError, match="not managed"):
        ps_push(ssm, theirs, "x")
    existing = ssm.get_parameter(Name=key)["Parameter"]
    tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=existing["Name"])["TagList"]
    assert is_managed(tags)
    ssm.delete_parameter(Name=key)
    # SecretExists afterwards: GetParameter answers ParameterNotFound.
    assert code_of(ssm.get_parameter, Name=key) == "ParameterNotFound"


def test_no_value_reached_the_server_log(cluster):
    """Last in the module: nothing ESO read or pushed shows up in coffer's (debug) log."""
    server, _ = cluster
    log = server.log_bytes()
    assert log.count(b"request_id") > 50, "the log is not the one the calls went to"
    for value in (b"s3cr3t-v1", b"s3cr3t-v2", b"value-of-app/db", b"verify-full", b"tok-1", b"tok-2", b"postgres://db", b"binary\xff"):
        assert value not in log
