"""SigV4 authentication against a real coffer server: SDK clients, hand-signed raw requests,
generated root credentials and ``--dev`` mode."""

from __future__ import annotations

import configparser
import datetime
import json
import stat
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from unittest import mock

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from coffer_harness import (
    ACCESS_KEY,
    ACCOUNT,
    REGION,
    SECRET_KEY,
    CofferServer,
    error_code,
    files_under,
    http_status,
    make_client,
    make_session,
)

UNKNOWN_ACCESS_KEY = "AKIAUNKNOWNKEY000000"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# -- SDK clients with wrong credentials --------------------------------------------------------


def test_wrong_secret_is_refused(server: CofferServer):
    kms = server.client("kms", secret_key="not-the-secret")
    with pytest.raises(ClientError) as e:
        kms.list_keys()
    assert error_code(e.value) == "InvalidSignatureException"
    assert http_status(e.value) == 400
    assert "does not match the signature you provided" in e.value.response["Error"]["Message"]
    assert SECRET_KEY not in str(e.value.response)

    sts = server.client("sts", secret_key="not-the-secret")
    with pytest.raises(ClientError) as e:
        sts.get_caller_identity()
    assert error_code(e.value) == "SignatureDoesNotMatch"
    assert http_status(e.value) == 403


def test_unknown_access_key_is_refused(server: CofferServer):
    kms = server.client("kms", access_key=UNKNOWN_ACCESS_KEY)
    with pytest.raises(ClientError) as e:
        kms.list_keys()
    assert error_code(e.value) == "UnrecognizedClientException"
    assert http_status(e.value) == 400

    sts = server.client("sts", access_key=UNKNOWN_ACCESS_KEY)
    with pytest.raises(ClientError) as e:
        sts.get_caller_identity()
    assert error_code(e.value) == "InvalidClientTokenId"
    assert http_status(e.value) == 403


# -- raw requests, signed by botocore's SigV4Auth and sent with urllib ------------------------


def sign_kms(
    endpoint: str,
    target: str,
    body: str = "{}",
    *,
    access_key: str = ACCESS_KEY,
    secret_key: str = SECRET_KEY,
    at: datetime.datetime | None = None,
) -> AWSRequest:
    """A KMS JSON request signed for us-east-1 at ``at`` (naive UTC; default now)."""
    request = AWSRequest(
        method="POST",
        url=f"{endpoint}/",
        data=body.encode(),
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"TrentService.{target}"},
    )
    signer = SigV4Auth(Credentials(access_key, secret_key), "kms", REGION)
    if at is None:
        signer.add_auth(request)
    else:
        # botocore takes the signing time from botocore.auth.get_current_datetime.
        with mock.patch("botocore.auth.get_current_datetime", return_value=at):
            signer.add_auth(request)
    return request


def send(request: AWSRequest, body: bytes | None = None) -> tuple[int, dict, object]:
    """Send as-is (optionally with a different body). Returns (status, headers, parsed JSON or text)."""
    data = request.body if body is None else body
    if isinstance(data, str):
        data = data.encode()
    req = urllib.request.Request(request.url, data=data, headers=dict(request.headers.items()), method=request.method)
    try:
        with _OPENER.open(req, timeout=10) as resp:
            status, headers, raw = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        status, headers, raw = err.code, err.headers, err.read()
    headers = {k.lower(): v for k, v in headers.items()}
    text = raw.decode(errors="replace")
    try:
        return status, headers, json.loads(text)
    except ValueError:
        return status, headers, text


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def test_correctly_signed_raw_request_is_accepted(server: CofferServer):
    status, headers, body = send(sign_kms(server.endpoint, "ListKeys", '{"Limit": 5}'))
    assert status == 200, body
    assert isinstance(body, dict) and isinstance(body["Keys"], list)
    assert headers["content-type"].startswith("application/x-amz-json-1.1")
    assert headers["x-amzn-requestid"]


def test_signature_from_20_minutes_ago_has_expired(server: CofferServer):
    signed_at = utc_now() - datetime.timedelta(minutes=20)
    request = sign_kms(server.endpoint, "ListKeys", at=signed_at)
    assert request.headers["X-Amz-Date"] == signed_at.strftime("%Y%m%dT%H%M%SZ")
    status, _, body = send(request)
    assert status == 400, body
    assert body["__type"].endswith("InvalidSignatureException"), body
    message = body.get("message") or body.get("Message")
    assert message.startswith("Signature expired: "), message
    assert signed_at.strftime("%Y%m%dT%H%M%SZ") in message
    assert message.endswith(" - 15 min.)"), message


def test_signature_from_the_future_is_not_yet_current(server: CofferServer):
    request = sign_kms(server.endpoint, "ListKeys", at=utc_now() + datetime.timedelta(minutes=20))
    status, _, body = send(request)
    assert status == 400, body
    assert body["__type"].endswith("InvalidSignatureException"), body
    assert (body.get("message") or body.get("Message")).startswith("Signature not yet current: ")


def test_signature_within_the_skew_window_is_accepted(server: CofferServer):
    status, _, body = send(sign_kms(server.endpoint, "ListKeys", at=utc_now() - datetime.timedelta(minutes=10)))
    assert status == 200, body


def test_body_changed_after_signing_is_refused(server: CofferServer):
    request = sign_kms(server.endpoint, "ListKeys", '{"Limit": 1}')
    status, _, body = send(request, body=b'{"Limit": 2}')
    assert status == 400, body
    assert body["__type"].endswith("InvalidSignatureException"), body


def test_signed_header_changed_after_signing_is_refused(server: CofferServer):
    request = sign_kms(server.endpoint, "ListKeys")
    request.headers.replace_header("X-Amz-Target", "TrentService.ListAliases")
    status, _, body = send(request)
    assert status == 400, body
    assert body["__type"].endswith("InvalidSignatureException"), body


def test_signature_for_another_service_is_refused(server: CofferServer):
    request = AWSRequest(
        method="POST",
        url=f"{server.endpoint}/",
        data=b"{}",
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.ListKeys"},
    )
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "sts", REGION).add_auth(request)
    status, _, body = send(request)
    assert status in (400, 403), body
    assert isinstance(body, dict) and body["__type"].endswith(("InvalidSignatureException", "IncompleteSignatureException")), body


def test_missing_authorization_is_refused(server: CofferServer):
    request = AWSRequest(
        method="POST",
        url=f"{server.endpoint}/",
        data=b"{}",
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.ListKeys"},
    )
    status, _, body = send(request)
    assert status == 400, body
    assert body["__type"].endswith("MissingAuthenticationTokenException"), body


def test_malformed_authorization_is_refused(server: CofferServer):
    request = AWSRequest(
        method="POST",
        url=f"{server.endpoint}/",
        data=b"{}",
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "TrentService.ListKeys",
            "Authorization": f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20260101/us-east-1/kms/aws4_request",
        },
    )
    status, _, body = send(request)
    assert status == 400, body
    assert body["__type"].endswith("IncompleteSignatureException"), body


def test_signed_sts_query_request(server: CofferServer):
    """STS speaks the query protocol: a form-encoded POST, answered in XML."""
    request = AWSRequest(
        method="POST",
        url=f"{server.endpoint}/",
        data=urllib.parse.urlencode({"Action": "GetCallerIdentity", "Version": "2011-06-15"}).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "sts", REGION).add_auth(request)
    status, _, body = send(request)
    assert status == 200, body
    assert "<GetCallerIdentityResponse" in body
    assert f"<Account>{ACCOUNT}</Account>" in body


# -- generated root credentials ----------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _read_credentials(path: Path) -> tuple[str, str]:
    parser = configparser.ConfigParser()
    parser.read(path)
    assert parser.sections(), f"{path} has no profile:\n{path.read_text()}"
    section = parser["default"] if parser.has_section("default") else parser[parser.sections()[0]]
    return section["aws_access_key_id"], section["aws_secret_access_key"]


def test_generated_credentials(start_server, monkeypatch: pytest.MonkeyPatch):
    server: CofferServer = start_server(root_credentials=False)
    creds_file = server.data_dir / "credentials"
    assert creds_file.is_file(), sorted(p.name for p in server.data_dir.iterdir())
    access_key, secret_key = _read_credentials(creds_file)
    assert access_key != ACCESS_KEY and 16 <= len(access_key) <= 128
    assert len(secret_key) >= 30

    # Some traffic so the database has its WAL and shared-memory files.
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds_file))
    profile_session = boto3.Session(region_name=REGION)
    sts = make_client(profile_session, "sts", server.endpoint)
    me = sts.get_caller_identity()
    assert me["Account"] == ACCOUNT
    assert me["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    kms = make_client(profile_session, "kms", server.endpoint)
    kms.create_key(Description="with generated credentials")

    # Permissions while running: the directory is private and so is every file in it.
    assert _mode(server.data_dir) == 0o700
    assert _mode(creds_file) == 0o600
    names = {p.name for p in files_under(server.data_dir)}
    assert {"master.key", "coffer.db", "credentials"} <= names, names
    for path in files_under(server.data_dir):
        assert _mode(path) == 0o600, f"{path.name} has mode {oct(_mode(path))}"
    assert secret_key not in server.log_text(), "the generated secret key was written to the log"

    # A second start on the same dir keeps the file as it is, and the credentials still work.
    before = creds_file.stat()
    before_bytes = creds_file.read_bytes()
    server.restart()
    after = creds_file.stat()
    assert creds_file.read_bytes() == before_bytes
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert _mode(creds_file) == 0o600
    sts = make_client(profile_session, "sts", server.endpoint)
    assert sts.get_caller_identity()["Account"] == ACCOUNT

    # The old known credentials were never configured for this server.
    with pytest.raises(ClientError) as e:
        server.client("sts").get_caller_identity()
    assert error_code(e.value) == "InvalidClientTokenId"

    server.stop()
    for path in files_under(server.data_dir):
        assert _mode(path) == 0o600, f"{path.name} has mode {oct(_mode(path))} after shutdown"


def test_generated_credentials_differ_between_data_dirs(start_server):
    a = start_server(root_credentials=False, name="a")
    b = start_server(root_credentials=False, name="b")
    creds_a = _read_credentials(a.data_dir / "credentials")
    creds_b = _read_credentials(b.data_dir / "credentials")
    assert creds_a[0] != creds_b[0]
    assert creds_a[1] != creds_b[1]
    # Credentials from one server are not valid on the other.
    with pytest.raises(ClientError) as e:
        make_client(make_session(*creds_a), "sts", b.endpoint).get_caller_identity()
    assert error_code(e.value) == "InvalidClientTokenId"


# -- --dev mode --------------------------------------------------------------------------------


def test_dev_mode_accepts_any_key_and_selects_the_account(start_server):
    server: CofferServer = start_server(extra_args=["--dev"])

    # Any access key and any secret are accepted; a non-numeric key id means the default account.
    anyone = server.client("sts", access_key="AKIAANYTHINGATALL000", secret_key="whatever")
    assert anyone.get_caller_identity()["Account"] == ACCOUNT
    # Even the configured root key with a wrong secret.
    assert server.client("sts", secret_key="wrong").get_caller_identity()["Account"] == ACCOUNT

    # A 12-digit access key id selects that account.
    me = server.client("sts", access_key="111111111111", secret_key="x").get_caller_identity()
    assert me["Account"] == "111111111111"
    assert me["Arn"] == "arn:aws:iam::111111111111:root"

    kms_1 = server.client("kms", access_key="111111111111", secret_key="x")
    key = kms_1.create_key(Description="account one")["KeyMetadata"]
    assert key["AWSAccountId"] == "111111111111"
    assert f":111111111111:key/{key['KeyId']}" in key["Arn"]
    kms_1.create_alias(AliasName="alias/one", TargetKeyId=key["KeyId"])
    blob = kms_1.encrypt(KeyId="alias/one", Plaintext=b"account one only")["CiphertextBlob"]
    assert key["KeyId"] in {k["KeyId"] for k in kms_1.list_keys()["Keys"]}

    # Another account sees none of it.
    kms_2 = server.client("kms", access_key="222222222222", secret_key="y")
    assert kms_2.list_keys()["Keys"] == []
    assert "alias/one" not in {a["AliasName"] for a in kms_2.list_aliases()["Aliases"]}
    with pytest.raises(ClientError) as e:
        kms_2.describe_key(KeyId="alias/one")
    assert error_code(e.value) == "NotFoundException"
    with pytest.raises(ClientError):
        kms_2.decrypt(CiphertextBlob=blob)
    # And the default account neither.
    assert key["KeyId"] not in {k["KeyId"] for k in server.client("kms").list_keys()["Keys"]}


def test_dev_mode_still_needs_a_signature(start_server):
    server: CofferServer = start_server(extra_args=["--dev"])
    request = AWSRequest(
        method="POST",
        url=f"{server.endpoint}/",
        data=b"{}",
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.ListKeys"},
    )
    status, _, body = send(request)
    assert status == 400, body
    assert body["__type"].endswith("MissingAuthenticationTokenException"), body


# -- presigned (query-string) requests ---------------------------------------------------------


def _open(url: str, method: str, data: bytes | None = None) -> tuple[int, str]:
    try:
        with _OPENER.open(urllib.request.Request(url, data=data, method=method), timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_presigned_sts_url_from_boto3(server: CofferServer):
    """boto3's presigned GetCallerIdentity (the method stays POST, as in the STS model)."""
    url = server.client("sts").generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=60)
    assert "X-Amz-Signature=" in url and "Authorization" not in url
    status, body = _open(url, "POST", b"")
    assert status == 200, body
    assert f"<Account>{ACCOUNT}</Account>" in body
    # The method is signed: the same URL fetched with GET does not verify.
    status, body = _open(url, "GET")
    assert status == 403, body
    assert "<Code>SignatureDoesNotMatch</Code>" in body


def test_presigned_get_request(server: CofferServer):
    """The Go SDK / aws-iam-authenticator style: a GET presigned with the query-string signer."""
    from botocore.auth import SigV4QueryAuth

    def presign(at: datetime.datetime | None = None, expires: int = 60, secret: str = SECRET_KEY) -> str:
        req = AWSRequest(method="GET", url=f"{server.endpoint}/?Action=GetCallerIdentity&Version=2011-06-15")
        signer = SigV4QueryAuth(Credentials(ACCESS_KEY, secret), "sts", REGION, expires=expires)
        with mock.patch("botocore.auth.get_current_datetime", return_value=at or utc_now()):
            signer.add_auth(req)
        return req.url

    status, body = _open(presign(), "GET")
    assert status == 200, body
    assert f"<Arn>arn:aws:iam::{ACCOUNT}:root</Arn>" in body

    status, body = _open(presign(secret="wrong"), "GET")
    assert status == 403, body
    assert "<Code>SignatureDoesNotMatch</Code>" in body

    # Signed two minutes ago, valid for one: expired.
    status, body = _open(presign(at=utc_now() - datetime.timedelta(minutes=2), expires=60), "GET")
    assert status in (400, 403), body
    assert "expired" in body.lower() and "<Account>" not in body
    # Signed two minutes ago, valid for an hour: fine.
    status, body = _open(presign(at=utc_now() - datetime.timedelta(minutes=2), expires=3600), "GET")
    assert status == 200, body
    # Tampering with a signed query parameter breaks the signature.
    status, body = _open(presign().replace("X-Amz-Expires=60", "X-Amz-Expires=600"), "GET")
    assert status == 403, body
