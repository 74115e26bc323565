"""Helpers the test modules share: expected errors, unique names, keys, raw clients, the aws CLI
in a shell, and the leak checks of the hygiene tests. One copy here; ``conftest.py`` builds its
fixtures from it and test modules import what they call (``from helpers import ...``)."""

from __future__ import annotations

import base64
import json
import re
import shlex
import subprocess
import uuid

import botocore.config
import pytest
from botocore.exceptions import ClientError

from coffer_harness import AwsCli, CofferServer, error_code, files_under, http_status, make_client, make_session, stored_bytes

# -- names -----------------------------------------------------------------------------------


def unique(prefix: str) -> str:
    """``PREFIX-<10 hex>``: a name no other test of a shared server uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def unique_path(prefix: str) -> str:
    """``/PREFIX-<10 hex>``: a unique Parameter Store name (a path)."""
    return "/" + unique(prefix)


# -- errors ----------------------------------------------------------------------------------


def expect_error(code: str, call, status: int = 400, **kwargs) -> ClientError:
    """``call(**kwargs)`` fails with the AWS error ``code`` and HTTP ``status``."""
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    err = info.value
    assert error_code(err) == code, err.response
    assert http_status(err) == status, err.response
    return err


def expect_error_in(codes: set[str], call, **kwargs) -> ClientError:
    """For cases where AWS documents that the call fails but not with which of a few codes."""
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    err = info.value
    assert error_code(err) in codes, err.response
    assert 400 <= http_status(err) < 500, err.response
    return err


def error_of(stderr: str) -> str:
    """The AWS error code in the aws CLI's stderr."""
    m = re.search(r"An error occurred \(([A-Za-z0-9]+)\)", stderr)
    assert m, f"no AWS error on stderr: {stderr!r}"
    return m.group(1)


def fails(aws: AwsCli, *args: str) -> str:
    """Run the aws CLI, expect it to fail, return its stderr."""
    code, out, err = aws(*args)
    assert code != 0, out
    return err


# -- clients and KMS keys --------------------------------------------------------------------


def raw_client(server: CofferServer, service: str):
    """A client that skips botocore's client-side checks (and retries), so coffer's own
    validation is what answers."""
    config = botocore.config.Config(parameter_validation=False, retries={"total_max_attempts": 1})
    return make_client(make_session(), service, server.endpoint, config=config)


def new_key(kms, **kwargs) -> dict:
    """CreateKey's KeyMetadata."""
    return kms.create_key(**kwargs)["KeyMetadata"]


# -- the aws CLI in a shell ------------------------------------------------------------------


def shell(aws: AwsCli, command: str, *, pipefail: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run a shell command (a seed command as written) in which the first ``aws `` is the real CLI
    pointed at the server."""
    prefix = f"{shlex.quote(aws.exe)} --endpoint-url {shlex.quote(aws.server.endpoint)}"
    script = command.replace("aws ", prefix + " ", 1)
    if pipefail:
        script = "set -o pipefail\n" + script
    return subprocess.run(
        ["bash", "-c", script], env=aws.env(), cwd=aws.home, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=timeout,
    )


# -- leak checks -----------------------------------------------------------------------------


def _aligned_base64(secret: bytes) -> list[bytes]:
    """The base64 of ``secret`` at each of the three byte alignments it could have inside a larger
    encoded blob (such as a whole request body), without the partial groups at either end."""
    out = []
    for pad in range(3):
        enc = base64.b64encode(b"\x00" * pad + secret)
        start = 4 if pad else 0
        end = len(enc) - 4
        if end - start >= 16:
            out.append(enc[start:end])
    return out


def leak_forms(secret: bytes) -> dict[str, bytes]:
    """The ways a value could leak: raw, base64 (as on the wire; every alignment), hex (both cases),
    UTF-16 (as some stores keep text), JSON-escaped (as a log line would quote it)."""
    text = secret.decode("utf-8", "replace")
    forms = {
        "raw": secret,
        "hex": secret.hex().encode(),
        "HEX": secret.hex().upper().encode(),
        "utf-16-le": text.encode("utf-16-le"),
        "utf-16-be": text.encode("utf-16-be"),
        "json": json.dumps(text)[1:-1].encode(),
    }
    for i, b in enumerate(_aligned_base64(secret)):
        forms[f"base64@{i}"] = b
    return forms


def assert_nowhere(secret: bytes, server: CofferServer, what: str) -> None:
    """``secret`` is in no file of the data dir (WAL included) and not in the server's log."""
    places = [(p, stored_bytes(p)) for p in files_under(server.data_dir)]
    places.append((server.log_path, server.log_bytes()))
    assert any(p.name.endswith("-wal") for p, _ in places) or not server.running, (
        "no WAL file under the data dir while running: is the store where the test looks?"
    )
    for form, needle in leak_forms(secret).items():
        for path, content in places:
            assert needle not in content, f"{what} ({form}) found in {path.name}"


# -- raw signed KMS calls --------------------------------------------------------------------


def kms_call(server: CofferServer, target: str, body: dict) -> tuple[int, dict]:
    """``TrentService.TARGET`` signed with the root key and sent with urllib, for what an SDK
    hides (an absent error member, say). Returns (status, parsed JSON body)."""
    return json_call(server, "kms", f"TrentService.{target}", body)


def json_call(server: CofferServer, signing_name: str, target: str, body: dict) -> tuple[int, dict]:
    """An awsJson 1.1 call (``X-Amz-Target: TARGET``) signed for SIGNING_NAME with the root key
    and sent with urllib, exactly as given: nothing is filled in (the SDKs add idempotency
    tokens, for one). Returns (status, parsed JSON body)."""
    import urllib.error
    import urllib.request

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from coffer_harness import ACCESS_KEY, REGION, SECRET_KEY

    request = AWSRequest(
        method="POST",
        url=f"{server.endpoint}/",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target},
    )
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), signing_name, REGION).add_auth(request)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    req = urllib.request.Request(request.url, data=request.body, headers=dict(request.headers.items()), method="POST")
    try:
        with opener.open(req, timeout=10) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    return status, json.loads(raw.decode())
