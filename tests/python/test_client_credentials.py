"""The client's credential chain and endpoint/region resolution, through ``coffer resolve``.

Web identity needs STS ``AssumeRoleWithWebIdentity``, which coffer does not serve yet: a small
local stand-in for AWS STS records the request and answers with coffer's root keys, so the rest
of the path (signing with the returned credentials, calling coffer) runs for real.
"""

from __future__ import annotations

import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from client_harness import client_env, coffer
from coffer_harness import ACCESS_KEY, SECRET_KEY, make_client, make_session

TEMPLATE = b"{{resolve:secretsmanager:creds/secret}}"


@pytest.fixture(scope="module", autouse=True)
def seeded(server):
    make_client(make_session(), "secretsmanager", server.endpoint).create_secret(
        Name="creds/secret", SecretString="creds-ok")


def no_env_keys(server, tmp_path, **extra):
    return client_env(server, tmp_path / "h", AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None, **extra)


def test_profile_from_shared_files(server, tmp_path):
    creds = tmp_path / "credentials"
    creds.write_text(f"[default]\naws_access_key_id = AKIAWRONG\naws_secret_access_key = wrong\n\n"
                     f"[dev]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n")
    config = tmp_path / "config"
    config.write_text(f"[profile dev]\nregion = eu-central-1\nendpoint_url = {server.endpoint}\n")
    env = no_env_keys(server, tmp_path, AWS_SHARED_CREDENTIALS_FILE=str(creds), AWS_CONFIG_FILE=str(config),
                      AWS_PROFILE="dev", AWS_REGION=None, AWS_ENDPOINT_URL=None)
    # The secret lives in us-east-1; eu-central-1 from the profile is its own namespace.
    r = coffer(["resolve"], env, input=TEMPLATE)
    assert r.returncode != 0 and b"ResourceNotFoundException" in r.stderr
    r = coffer(["resolve", "--region", "us-east-1"], env, input=TEMPLATE)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == b"creds-ok"
    # --profile wins over environment keys; the default profile's keys are refused by coffer.
    env_keys = client_env(server, tmp_path / "h", AWS_SHARED_CREDENTIALS_FILE=str(creds),
                          AWS_CONFIG_FILE=str(config), AWS_ACCESS_KEY_ID="AKIANOPE", AWS_SECRET_ACCESS_KEY="nope")
    r = coffer(["resolve", "--profile", "dev", "--region", "us-east-1"], env_keys, input=TEMPLATE)
    assert r.returncode == 0, r.stderr.decode()
    r = coffer(["resolve", "--profile", "default"], env_keys, input=TEMPLATE)
    assert r.returncode != 0 and b"UnrecognizedClientException" in r.stderr
    r = coffer(["resolve", "--profile", "missing"], env_keys, input=TEMPLATE)
    assert r.returncode != 0 and b'"missing"' in r.stderr


def test_helpful_errors_without_region_or_credentials(server, tmp_path):
    r = coffer(["resolve"], no_env_keys(server, tmp_path), input=TEMPLATE)
    assert r.returncode != 0 and b"no AWS credentials" in r.stderr
    r = coffer(["resolve"], client_env(server, tmp_path / "h", AWS_REGION=None), input=TEMPLATE)
    assert r.returncode != 0 and b"AWS_REGION" in r.stderr
    r = coffer(["resolve"], client_env(None, tmp_path / "h", AWS_ENDPOINT_URL="http://127.0.0.1:9"), input=TEMPLATE)
    assert r.returncode != 0 and b"could not be reached" in r.stderr


class FakeSts(BaseHTTPRequestHandler):
    requests: list = []
    session_token: str | None = None

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        form = dict(urllib.parse.parse_qsl(body))
        FakeSts.requests.append((self.headers.get("Authorization"), form))
        token = f"<SessionToken>{FakeSts.session_token}</SessionToken>" if FakeSts.session_token else ""
        xml = (
            '<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            "<AssumeRoleWithWebIdentityResult><Credentials>"
            f"<AccessKeyId>{ACCESS_KEY}</AccessKeyId><SecretAccessKey>{SECRET_KEY}</SecretAccessKey>{token}"
            "<Expiration>2099-01-01T00:00:00Z</Expiration>"
            "</Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(xml)))
        self.end_headers()
        self.wfile.write(xml)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_sts():
    FakeSts.requests = []
    httpd = HTTPServer(("127.0.0.1", 0), FakeSts)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_web_identity_assumes_the_role_through_sts(server, tmp_path, fake_sts):
    token_file = tmp_path / "token"
    token_file.write_text("eyJhbGciOi.jwt.token\n")
    env = no_env_keys(server, tmp_path, AWS_WEB_IDENTITY_TOKEN_FILE=str(token_file),
                      AWS_ROLE_ARN="arn:aws:iam::000000000000:role/app", AWS_ROLE_SESSION_NAME="pod-1",
                      AWS_ENDPOINT_URL_STS=fake_sts)
    FakeSts.session_token = None
    r = coffer(["resolve"], env, input=TEMPLATE)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == b"creds-ok"
    assert len(FakeSts.requests) == 1
    auth, form = FakeSts.requests[0]
    assert auth is None, "AssumeRoleWithWebIdentity is not signed"
    assert form == {
        "Action": "AssumeRoleWithWebIdentity",
        "Version": "2011-06-15",
        "RoleArn": "arn:aws:iam::000000000000:role/app",
        "RoleSessionName": "pod-1",
        "WebIdentityToken": "eyJhbGciOi.jwt.token",
    }

    # Temporary credentials carry their session token to the server (which coffer, without STS
    # sessions yet, refuses as an unknown client).
    FakeSts.session_token = "FwoGZXIvYXdzEXAMPLE"
    r = coffer(["resolve"], env, input=TEMPLATE)
    assert r.returncode != 0 and b"UnrecognizedClientException" in r.stderr

    # A profile can name the role and token file as well.
    config = tmp_path / "config"
    config.write_text(f"[profile irsa]\nrole_arn = arn:aws:iam::000000000000:role/other\n"
                      f"web_identity_token_file = {token_file}\n")
    FakeSts.session_token = None
    env2 = no_env_keys(server, tmp_path, AWS_CONFIG_FILE=str(config), AWS_PROFILE="irsa",
                       AWS_ENDPOINT_URL_STS=fake_sts)
    r = coffer(["resolve"], env2, input=TEMPLATE)
    assert r.returncode == 0, r.stderr.decode()
    assert FakeSts.requests[-1][1]["RoleArn"] == "arn:aws:iam::000000000000:role/other"


def test_web_identity_sts_error_is_reported(server, tmp_path):
    # coffer's own STS does not implement AssumeRoleWithWebIdentity yet: its error comes through.
    token_file = tmp_path / "token"
    token_file.write_text("jwt")
    env = no_env_keys(server, tmp_path, AWS_WEB_IDENTITY_TOKEN_FILE=str(token_file),
                      AWS_ROLE_ARN="arn:aws:iam::000000000000:role/app")
    r = coffer(["resolve"], env, input=TEMPLATE)
    assert r.returncode != 0
    assert b"AssumeRoleWithWebIdentity" in r.stderr and b"arn:aws:iam::000000000000:role/app" in r.stderr
