"""coffer's server side calls out over https with the system roots plus AWS_CA_BUNDLE (issue 17):
OIDC discovery and JWKS for AssumeRoleWithWebIdentity, and alert webhooks.

A private CA (made with the openssl CLI) signs the certificate of a local https server; coffer
trusts it only when AWS_CA_BUNDLE names the CA.
"""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import botocore
import botocore.config
import botocore.exceptions
import pytest

from coffer_harness import ACCESS_KEY, SECRET_KEY, CofferServer, _clean_env, coffer_binary, error_code
from test_access_control import KeyPair
from test_limits import _metrics, _value

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl CLI makes the test CA")


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def _private_ca(d: Path) -> tuple[Path, Path, Path]:
    """A CA, and a certificate for 127.0.0.1 it signed: (ca.pem, cert.pem, key.pem)."""
    ca_key, ca, key, csr, cert = d / "ca.key", d / "ca.pem", d / "srv.key", d / "srv.csr", d / "srv.pem"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca), "-days", "2", "-subj", "/CN=outbound test CA")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    ext = d / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext))
    return ca, cert, key


class _HttpsServer:
    """Serves fixed documents over https, and records POSTed bodies."""

    def __init__(self, cert: Path, key: Path, documents: dict[str, bytes], on_post=None) -> None:
        self.documents = documents
        self.posted: list[tuple[str, bytes]] = []
        self.post_headers: list[dict[str, str]] = []
        self.on_post = on_post
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                body = outer.documents.get(self.path) or b""
                self.send_response(200 if self.path in outer.documents else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.posted.append((self.path, body))
                outer.post_headers.append({k.lower(): v for k, v in self.headers.items()})
                status = outer.on_post(body) if outer.on_post else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert), str(key))
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()


def _trust_policy(provider: str, host_path: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {f"{host_path}:aud": "sts.amazonaws.com"}},
                }
            ],
        }
    )


def _assume(server: CofferServer, issuer: str, key: KeyPair) -> dict:
    iam = server.client("iam")
    host_path = issuer.removeprefix("https://")
    provider = iam.create_open_id_connect_provider(Url=issuer, ClientIDList=["sts.amazonaws.com"], ThumbprintList=["a" * 40])[
        "OpenIDConnectProviderArn"
    ]
    iam.create_role(RoleName="Pod", AssumeRolePolicyDocument=_trust_policy(provider, host_path))
    now = int(time.time())
    token = key.token({"iss": issuer, "sub": "system:serviceaccount:ns:pod", "aud": "sts.amazonaws.com", "iat": now, "exp": now + 600})
    sts = boto3.Session(region_name="us-east-1").client(
        "sts",
        endpoint_url=server.endpoint,
        config=botocore.config.Config(signature_version=botocore.UNSIGNED, retries={"total_max_attempts": 1}),
    )
    return sts.assume_role_with_web_identity(RoleArn="arn:aws:iam::000000000000:role/Pod", RoleSessionName="pod", WebIdentityToken=token)


def test_jwks_by_discovery_over_https_needs_the_ca_bundle(tmp_path: Path) -> None:
    ca, cert, key = _private_ca(tmp_path)
    signer = KeyPair(tmp_path, "k1")
    https = _HttpsServer(cert, key, {})
    issuer = f"https://127.0.0.1:{https.port}/cluster"
    https.documents["/cluster/.well-known/openid-configuration"] = json.dumps(
        {"issuer": issuer, "jwks_uri": f"https://127.0.0.1:{https.port}/cluster/keys"}
    ).encode()
    https.documents["/cluster/keys"] = json.dumps({"keys": [signer.jwk]}).encode()
    try:
        # Without the CA, the issuer's certificate is not trusted: no verification key.
        untrusting = CofferServer(tmp_path / "untrusting").start()
        try:
            with pytest.raises(botocore.exceptions.ClientError) as e:
                _assume(untrusting, issuer, signer)
            assert error_code(e.value) == "InvalidIdentityToken"
        finally:
            untrusting.stop()
        # With AWS_CA_BUNDLE naming the CA: discovery, then the JWKS, both over https.
        trusting = CofferServer(tmp_path / "trusting", env={"AWS_CA_BUNDLE": str(ca)}).start()
        try:
            out = _assume(trusting, issuer, signer)
            assert out["SubjectFromWebIdentityToken"] == "system:serviceaccount:ns:pod"
        finally:
            trusting.stop()
        # A configured https JWKS URL works the same way.
        configured = CofferServer(
            tmp_path / "configured",
            env={"AWS_CA_BUNDLE": str(ca), "COFFER_OIDC_JWKS": f"{issuer}=https://127.0.0.1:{https.port}/cluster/keys"},
        ).start()
        try:
            assert _assume(configured, issuer, signer)["Credentials"]["AccessKeyId"]
        finally:
            configured.stop()
    finally:
        https.close()


def test_alert_webhook_over_https(tmp_path: Path) -> None:
    ca, cert, key = _private_ca(tmp_path)
    hook = _HttpsServer(cert, key, {})
    config = tmp_path / "coffer.toml"
    config.write_text(
        f"""
[audit]
webhook_url = "https://127.0.0.1:{hook.port}/alerts"

[[audit.alerts]]
name = "any-read"
event_names = ["GetSecretValue"]
"""
    )
    server = CofferServer(
        tmp_path / "srv",
        extra_args=["--config", str(config)],
        env={"AWS_CA_BUNDLE": str(ca), "COFFER_ALERT_WEBHOOK_SECRET": "hook-secret"},
    ).start()
    try:
        sm = server.client("secretsmanager")
        sm.create_secret(Name="watched", SecretString="v")
        sm.get_secret_value(SecretId="watched")
        deadline = time.monotonic() + 15
        while not hook.posted and time.monotonic() < deadline:
            time.sleep(0.2)
        assert hook.posted, "the alert reached the https webhook"
        path, body = hook.posted[0]
        assert path == "/alerts"
        assert b"any-read" in body
        assert b'"v"' not in body
    finally:
        server.stop()
        hook.close()


def _register_function(server: CofferServer, name: str, url: str) -> dict:
    env = dict(_clean_env(), AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY, AWS_REGION="us-east-1")
    out = subprocess.run(
        [str(coffer_binary()), "admin", "create-rotation-function", "--function-name", name, "--url", url, "--timeout-seconds", "20", "--endpoint-url", server.endpoint],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


class _LambdaLike:
    """A rotation function in the shape of a Lambda rotation handler: createSecret puts the new
    value as AWSPENDING, finishSecret moves AWSCURRENT to it; it calls coffer with its own client."""

    NEW = {"password": "rotated-over-https-9c1d"}

    def __init__(self, sm) -> None:
        self.sm = sm
        self.steps: list[str] = []

    def __call__(self, body: bytes) -> int:
        event = json.loads(body)
        sid, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
        self.steps.append(step)
        if step == "createSecret":
            try:
                self.sm.get_secret_value(SecretId=sid, VersionId=token, VersionStage="AWSPENDING")
            except botocore.exceptions.ClientError:
                self.sm.put_secret_value(SecretId=sid, ClientRequestToken=token, SecretString=json.dumps(self.NEW), VersionStages=["AWSPENDING"])
        elif step == "finishSecret":
            stages = self.sm.describe_secret(SecretId=sid)["VersionIdsToStages"]
            current = next(v for v, s in stages.items() if "AWSCURRENT" in s)
            if current != token:
                self.sm.update_secret_version_stage(SecretId=sid, VersionStage="AWSCURRENT", MoveToVersionId=token, RemoveFromVersionId=current)
        return 200


def _rotate(sm, name: str, function: str):
    try:
        sm.rotate_secret(SecretId=name, RotationLambdaARN=f"arn:aws:lambda:us-east-1:000000000000:function:{function}", RotateImmediately=True)
    except botocore.exceptions.ClientError as e:  # a failed first run may be reported at once
        return e
    return None


def test_http_rotation_function_over_https(tmp_path: Path) -> None:
    """A rotation function registered with an https URL is called over TLS, verified with the
    system roots plus AWS_CA_BUNDLE: with the CA it rotates the secret (each step signed); without
    it coffer does not trust the function's certificate and nothing reaches the function."""
    ca, cert, key = _private_ca(tmp_path)
    # Without the CA: the certificate is not trusted, the function is never reached.
    untrusting = CofferServer(tmp_path / "untrusting").start()
    lone = _HttpsServer(cert, key, {})
    try:
        sm = untrusting.client("secretsmanager")
        _register_function(untrusting, "HttpsRotator", f"https://127.0.0.1:{lone.port}/rotate")
        before = sm.create_secret(Name="app/https-rotated", SecretString=json.dumps({"password": "before"}))["VersionId"]
        _rotate(sm, "app/https-rotated", "HttpsRotator")
        deadline = time.monotonic() + 15
        while _value(_metrics(untrusting), "coffer_rotations_total", outcome="failed") < 1:
            assert time.monotonic() < deadline, "the rotation did not fail"
            time.sleep(0.3)
        assert lone.posted == [], "an untrusted function was sent the rotation event"
        assert sm.get_secret_value(SecretId="app/https-rotated")["VersionId"] == before
    finally:
        untrusting.stop()
        lone.close()
    # With AWS_CA_BUNDLE naming the CA: every step over https, and the secret rotated.
    server = CofferServer(tmp_path / "trusting", env={"AWS_CA_BUNDLE": str(ca)}).start()
    function = _LambdaLike(server.client("secretsmanager"))
    https = _HttpsServer(cert, key, {}, on_post=function)
    try:
        sm = server.client("secretsmanager")
        out = _register_function(server, "HttpsRotator", f"https://127.0.0.1:{https.port}/rotate")
        assert out["FunctionArn"].endswith(":function:HttpsRotator") and out["SigningKey"]
        sm.create_secret(Name="app/https-rotated", SecretString=json.dumps({"password": "before"}))
        _rotate(sm, "app/https-rotated", "HttpsRotator")
        deadline = time.monotonic() + 20
        while json.loads(sm.get_secret_value(SecretId="app/https-rotated")["SecretString"]) != _LambdaLike.NEW:
            assert time.monotonic() < deadline, f"the rotation did not complete (steps {function.steps})"
            time.sleep(0.3)
        assert function.steps == ["createSecret", "setSecret", "testSecret", "finishSecret"]
        assert {p for p, _ in https.posted} == {"/rotate"}
        assert all(h.get("x-coffer-signature", "").startswith("t=") and h.get("x-coffer-function") == "HttpsRotator" for h in https.post_headers)
        assert _value(_metrics(server), "coffer_rotations_total", outcome="completed") >= 1
    finally:
        server.stop()
        https.close()
