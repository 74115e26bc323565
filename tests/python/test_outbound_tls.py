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

from coffer_harness import CofferServer, error_code
from test_access_control import KeyPair

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

    def __init__(self, cert: Path, key: Path, documents: dict[str, bytes]) -> None:
        self.documents = documents
        self.posted: list[tuple[str, bytes]] = []
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
                self.send_response(200)
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
