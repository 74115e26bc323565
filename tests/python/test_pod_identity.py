"""EKS Pod Identity (coffer issue 21): `coffer agent --pod-identity` serves the container
credentials endpoint. boto3, configured only through AWS_CONTAINER_CREDENTIALS_FULL_URI and
AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (plus the endpoint and Region), gets short-lived
credentials of the role its service account is associated with — and nothing for a service
account without an association or a token that is not the cluster's.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from coffer_harness import CofferServer, _clean_env, coffer_binary, free_port
from test_access_control import A, ISSUER, ISSUER_HOST, KeyPair

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl CLI makes the test OIDC key pair")

SCRIPT = textwrap.dedent(
    """
    import json, boto3
    s = boto3.Session()
    who = s.client("sts").get_caller_identity()["Arn"]
    value = s.client("secretsmanager").get_secret_value(SecretId="pod/db")["SecretString"]
    print(json.dumps({"who": who, "value_length": len(value)}))
    """
)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("podid")
    key, stranger = KeyPair(tmp, "k1"), KeyPair(tmp, "k2")
    jwks = tmp / "jwks.json"
    jwks.write_text(json.dumps({"keys": [key.jwk]}))
    server = CofferServer(tmp / "server", env={"COFFER_OIDC_JWKS": f"{ISSUER}={jwks}"}).start()
    iam = server.client("iam")
    provider = iam.create_open_id_connect_provider(Url=ISSUER, ClientIDList=["pods.eks.amazonaws.com"], ThumbprintList=["a" * 40])[
        "OpenIDConnectProviderArn"
    ]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {f"{ISSUER_HOST}:sub": "system:serviceaccount:payments:api"}},
            }
        ],
    }
    iam.create_role(RoleName="PodApi", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(
        RoleName="PodApi",
        PolicyName="read",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}),
    )
    server.client("secretsmanager").create_secret(Name="pod/db", SecretString="pod-identity-secret-value")
    associations = tmp / "associations.json"
    associations.write_text(json.dumps({"payments/api": f"arn:aws:iam::{A}:role/PodApi", "payments/other": f"arn:aws:iam::{A}:role/PodApi"}))
    port = free_port()
    env = _clean_env()
    log = open(tmp / "agent.log", "wb")
    agent = subprocess.Popen(
        [str(coffer_binary()), "agent", "--pod-identity", "--pod-identity-associations", str(associations),
         "--listen", f"127.0.0.1:{port}", "--endpoint-url", server.endpoint, "--region", "us-east-1"],
        env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1)
            break
        except Exception:  # noqa: BLE001 (not up yet)
            assert agent.poll() is None, (tmp / "agent.log").read_text()
            assert time.monotonic() < deadline, "the agent did not start"
            time.sleep(0.1)
    yield {"server": server, "key": key, "stranger": stranger, "port": port, "tmp": tmp}
    agent.terminate()
    agent.wait(timeout=10)
    log.close()
    server.kill()


def _token(key: KeyPair, sa: str) -> str:
    now = int(time.time())
    return key.token({"iss": ISSUER, "sub": f"system:serviceaccount:payments:{sa}", "aud": "pods.eks.amazonaws.com", "iat": now, "exp": now + 600})


def _run_sdk(cluster, token: str) -> subprocess.CompletedProcess:
    token_file = cluster["tmp"] / f"token-{time.monotonic_ns()}"
    token_file.write_text(token)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(cluster["tmp"]),
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": f"http://127.0.0.1:{cluster['port']}/v1/credentials",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(token_file),
        "AWS_ENDPOINT_URL": cluster["server"].endpoint,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
        "NO_PROXY": "127.0.0.1",
        "no_proxy": "127.0.0.1",
    }
    return subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60)


def test_sdk_gets_its_roles_credentials(cluster):
    out = _run_sdk(cluster, _token(cluster["key"], "api"))
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["who"].startswith(f"arn:aws:sts::{A}:assumed-role/PodApi/eks-pod-identity-payments-api")
    assert got["value_length"] == len("pod-identity-secret-value")


def test_no_credentials_without_an_association_or_a_valid_token(cluster):
    # No association for the service account.
    out = _run_sdk(cluster, _token(cluster["key"], "unassociated"))
    assert out.returncode != 0 and "no Pod Identity association" in out.stderr
    # Associated, but the role does not trust this service account: STS refuses.
    out = _run_sdk(cluster, _token(cluster["key"], "other"))
    assert out.returncode != 0 and "AccessDenied" in out.stderr
    # A token signed by someone other than the cluster's issuer.
    out = _run_sdk(cluster, _token(cluster["stranger"], "api"))
    assert out.returncode != 0 and "InvalidIdentityToken" in out.stderr
    # No token at all.
    req = urllib.request.Request(f"http://127.0.0.1:{cluster['port']}/v1/credentials")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=5)
    assert e.value.code == 401


def test_no_secret_in_the_agent_log(cluster):
    _run_sdk(cluster, _token(cluster["key"], "api"))
    log = (Path(cluster["tmp"]) / "agent.log").read_bytes()
    assert b"pod-identity-secret-value" not in log
    assert b"SecretAccessKey" not in log
