"""Request quotas, connection limits, slow clients and /metrics, against a spawned server.

Issue 17: throttling per account and operation answered with AWS's ThrottlingException (the SDKs'
retries take over below the quota); `[limits]` bounds connections, header and body read times,
idle keep-alive connections and header sizes; `/metrics` counts what happened, with no secret
name or value in it.
"""

from __future__ import annotations

import re
import socket
import time
import urllib.request
from pathlib import Path

import botocore.config
import pytest
from botocore.exceptions import ClientError

from coffer_harness import CofferServer, error_code, http_status

# The harness turns quotas off for the other suites; these servers keep them.
THROTTLED = {"COFFER_NO_THROTTLE": "false"}
NO_RETRIES = botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"})
SDK_RETRIES = botocore.config.Config(retries={"max_attempts": 10, "mode": "standard"})


def _server(tmp_path: Path, config: str = "", *, env=None, args=()) -> CofferServer:
    extra = list(args)
    if config:
        path = tmp_path / "coffer.toml"
        path.write_text(config)
        extra += ["--config", str(path)]
    return CofferServer(tmp_path / "srv", extra_args=extra, env=env).start()


def _metrics(server: CofferServer) -> str:
    with urllib.request.urlopen(f"{server.endpoint}/metrics", timeout=10) as r:
        assert r.status == 200
        return r.read().decode()


def _value(text: str, name: str, **labels: str) -> float:
    """The sample `name{labels...}` (labels matched as a subset); 0 when absent."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        if all(got.get(k) == v for k, v in labels.items()):
            total += float(m.group(3))
    return total


def _burst(call, n: int) -> tuple[int, list[ClientError]]:
    ok, refused = 0, []
    for _ in range(n):
        try:
            call()
            ok += 1
        except ClientError as e:
            refused.append(e)
    return ok, refused


def test_default_quotas_are_aws_and_sdk_retries_succeed_below_them(tmp_path: Path) -> None:
    """PutParameter's AWS quota (3/s, standard throughput) applies out of the box."""
    server = _server(tmp_path, env=THROTTLED)
    try:
        ssm = server.client("ssm", config=NO_RETRIES)
        ok, refused = _burst(lambda: ssm.put_parameter(Name="/q/p", Value="v", Type="String", Overwrite=True), 20)
        assert refused, "20 PutParameter calls at once must pass AWS's 3/s quota"
        assert ok >= 3
        for e in refused:
            assert error_code(e) == "ThrottlingException"
            assert http_status(e) == 400
            assert e.response["Error"]["Message"] == "Rate exceeded"
        # GetSecretValue's quota is 10,000/s: a burst of 50 is nowhere near it.
        sm = server.client("secretsmanager", config=NO_RETRIES)
        sm.create_secret(Name="q", SecretString="v")
        ok, refused = _burst(lambda: sm.get_secret_value(SecretId="q"), 50)
        assert (ok, refused) == (50, [])
        # The SDK's standard retries wait out the throttling: every call succeeds.
        retrying = server.client("ssm", config=SDK_RETRIES)
        for i in range(12):
            retrying.put_parameter(Name=f"/q/r{i}", Value="v", Type="String")
        names = [f"/q/r{i}" for i in range(10)]
        assert len(retrying.get_parameters(Names=names)["Parameters"]) == 10
        text = _metrics(server)
        assert _value(text, "coffer_throttled_requests_total", service="ssm", operation="PutParameter") >= len(refused) + 1
        assert _value(text, "coffer_requests_total", operation="PutParameter", status="400") >= 1
    finally:
        server.stop()


def test_configured_quotas_per_operation_and_default(tmp_path: Path) -> None:
    config = """
[throttle]
default_rps = 1000
[throttle.operations]
GetSecretValue = 5
"sts:GetCallerIdentity" = 2
"""
    server = _server(tmp_path, config, env=THROTTLED)
    try:
        sm = server.client("secretsmanager", config=NO_RETRIES)
        sm.create_secret(Name="c", SecretString="v")
        ok, refused = _burst(lambda: sm.get_secret_value(SecretId="c"), 30)
        assert 5 <= ok <= 10 and len(refused) >= 20, (ok, len(refused))
        assert {error_code(e) for e in refused} == {"ThrottlingException"}
        # DescribeSecret now has its own bucket at default_rps.
        ok, refused = _burst(lambda: sm.describe_secret(SecretId="c"), 30)
        assert (ok, refused) == (30, [])
        # Below the quota the SDK's retries make every call succeed.
        retrying = server.client("secretsmanager", config=SDK_RETRIES)
        for _ in range(15):
            assert retrying.get_secret_value(SecretId="c")["SecretString"] == "v"
        # The query protocol answers with its own code.
        sts = server.client("sts", config=NO_RETRIES)
        ok, refused = _burst(sts.get_caller_identity, 10)
        assert refused and {error_code(e) for e in refused} == {"Throttling"}
        assert refused[0].response["Error"]["Message"] == "Rate exceeded"
    finally:
        server.stop()


def test_quotas_are_per_account(tmp_path: Path) -> None:
    server = _server(tmp_path, "[throttle.operations]\nGetCallerIdentity = 3\n", env=THROTTLED)
    try:
        root = server.client("sts", config=NO_RETRIES)
        _, refused = _burst(root.get_caller_identity, 10)
        assert refused
        iam = server.client("iam", config=NO_RETRIES)
        admin = server.client("secretsmanager")  # noqa: F841 - the root account exists already
        # Another account's caller has a full bucket of its own.
        created = subprocess_account(server)
        other = server.client("sts", access_key=created[0], secret_key=created[1], config=NO_RETRIES)
        ok, _ = _burst(other.get_caller_identity, 3)
        assert ok == 3
        del iam
    finally:
        server.stop()


def subprocess_account(server: CofferServer) -> tuple[str, str]:
    """A second account's administrator key, made with `coffer admin create-account`."""
    import json
    import subprocess

    from coffer_harness import ACCESS_KEY, SECRET_KEY, _clean_env, coffer_binary

    env = dict(
        _clean_env(),
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_DEFAULT_REGION="us-east-1",
    )
    out = subprocess.run(
        [str(coffer_binary()), "admin", "--endpoint-url", server.endpoint, "create-account", "--account-id", "111122223333"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    key = doc.get("AccessKey", doc)
    return key["AccessKeyId"], key["SecretAccessKey"]


def test_dev_mode_is_not_throttled(tmp_path: Path) -> None:
    server = _server(tmp_path, "[throttle.operations]\nGetCallerIdentity = 1\n", env=THROTTLED, args=["--dev"])
    try:
        sts = server.client("sts", config=NO_RETRIES)
        ok, refused = _burst(sts.get_caller_identity, 10)
        assert (ok, refused) == (10, [])
    finally:
        server.stop()


def test_metrics_counters_move_and_hold_no_secrets(tmp_path: Path) -> None:
    server = _server(tmp_path)
    try:
        before = _metrics(server)
        assert 'coffer_build_info{version="' in before
        sm = server.client("secretsmanager")
        name, value = "metrics-probe-name-4711", "metrics-probe-value-0815"
        sm.create_secret(Name=name, SecretString=value)
        for _ in range(3):
            assert sm.get_secret_value(SecretId=name)["SecretString"] == value
        with pytest.raises(ClientError):
            sm.get_secret_value(SecretId="no-such-secret-xyz")
        after = _metrics(server)
        grew = lambda metric, **l: _value(after, metric, **l) - _value(before, metric, **l)  # noqa: E731
        assert grew("coffer_requests_total", service="secretsmanager", operation="GetSecretValue", status="200") == 3
        assert grew("coffer_requests_total", service="secretsmanager", operation="GetSecretValue", status="400") == 1
        assert grew("coffer_requests_total", service="secretsmanager", operation="CreateSecret", status="200") == 1
        assert grew("coffer_request_duration_seconds_count", operation="GetSecretValue") == 4
        assert grew("coffer_audit_batch_records_count") >= 1
        assert grew("coffer_audit_batch_records_sum") >= 5
        assert grew("coffer_audit_commit_duration_seconds_count") >= 1
        assert grew("coffer_cache_lookups_total", cache="signing_key", result="hit") >= 3
        assert _value(after, "coffer_connections_open") >= 1
        assert name not in after and value not in after
        assert "no-such-secret" not in after
        # A request for an operation nobody has counts as unknown: labels stay bounded.
        req = urllib.request.Request(
            server.endpoint + "/",
            data=b"{}",
            headers={"X-Amz-Target": "secretsmanager.NoSuchOp" + "x" * 50, "Content-Type": "application/x-amz-json-1.1"},
        )
        try:
            urllib.request.urlopen(req, timeout=10)
        except urllib.error.HTTPError:
            pass
        final = _metrics(server)
        assert "NoSuchOp" not in final
        assert _value(final, "coffer_requests_total", service="unknown") >= 1
    finally:
        server.stop()


LIMITS = """
[limits]
max_connections = 8
header_read_timeout_seconds = 2
request_timeout_seconds = 2
idle_timeout_seconds = 3
max_header_bytes = 16384
max_headers = 50
"""


def _closed_after(sock: socket.socket, limit: float) -> float:
    """Seconds until the server closes `sock` (reading and discarding whatever it sends)."""
    sock.settimeout(limit)
    start = time.monotonic()
    try:
        while sock.recv(65536):
            pass
    except (ConnectionResetError, socket.timeout):
        pass
    return time.monotonic() - start


def _connect(server: CofferServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=5)


def test_slow_and_idle_clients_are_cut_off(tmp_path: Path) -> None:
    server = _server(tmp_path, LIMITS)
    try:
        sm = server.client("secretsmanager")
        sm.create_secret(Name="alive", SecretString="v")
        # Headers sent a piece at a time: closed at the header timeout.
        s = _connect(server)
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
        assert 1.5 < _closed_after(s, 10) < 5
        # A body that never completes: 408 at the request timeout.
        s = _connect(server)
        s.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: secretsmanager.ListSecrets\r\n"
            b"Content-Type: application/x-amz-json-1.1\r\nContent-Length: 1000\r\n\r\n{"
        )
        s.settimeout(10)
        start = time.monotonic()
        head = s.recv(4096)
        assert 1.5 < time.monotonic() - start < 5
        assert head.startswith(b"HTTP/1.1 408"), head[:100]
        assert b"RequestTimeout" in head
        # An idle keep-alive connection, and one that never sends anything: closed when idle.
        s = _connect(server)
        assert 2.5 < _closed_after(s, 10) < 6
        # Meanwhile normal requests are answered.
        assert sm.get_secret_value(SecretId="alive")["SecretString"] == "v"
    finally:
        server.stop()


def _open(sock: socket.socket) -> bool:
    """Whether the server still holds `sock` open (nothing to read, no end of stream)."""
    sock.setblocking(False)
    try:
        return sock.recv(1) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.settimeout(5)


def _hold(server: CofferServer, n: int) -> list[socket.socket]:
    """`n` connections the server has accepted and keeps open.

    The health check's connection can still hold its slot for a moment after the harness closed
    it; a connection opened meanwhile is refused (closed) and its slot would go to the next one
    (seen in CI). Such a connection is replaced until all `n` are held.
    """
    held: list[socket.socket] = []
    for _ in range(5):
        held += [_connect(server) for _ in range(n - len(held))]
        # Time for the server to accept them all (0.3 s was too little on a loaded machine).
        time.sleep(1.5)
        alive = [s for s in held if _open(s)]
        for s in held:
            if s not in alive:
                s.close()
        held = alive
        if len(held) == n:
            return held
    raise AssertionError(f"the server held only {len(held)} of {n} connections")


def test_connection_limit_closes_the_excess_and_recovers(tmp_path: Path) -> None:
    # Timeouts far past the test's length: with LIMITS' 2 s header timeout an idle held
    # connection could be closed before the ninth arrived, freeing its slot (seen in CI).
    server = _server(tmp_path, LIMITS.replace("= 2\n", "= 60\n").replace("= 3\n", "= 60\n"))
    try:
        held = _hold(server, 8)
        extra = _connect(server)
        assert _closed_after(extra, 5) < 1, "past max_connections a connection is closed at once"
        for s in held:
            s.close()
        time.sleep(0.3)
        sm = server.client("secretsmanager")
        sm.create_secret(Name="after", SecretString="v")
        assert _value(_metrics(server), "coffer_connections_refused_total") >= 1
    finally:
        server.stop()


def test_oversized_and_too_many_headers_are_refused_not_failed(tmp_path: Path) -> None:
    server = _server(tmp_path, LIMITS)
    try:
        for headers in (
            b"X-Big: " + b"a" * 40000 + b"\r\n",
            b"".join(b"X-H%d: v\r\n" % i for i in range(80)),
        ):
            s = _connect(server)
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n" + headers + b"Content-Length: 0\r\n\r\n")
            s.settimeout(10)
            answer = s.recv(4096)
            assert answer.startswith(b"HTTP/1.1 431"), answer[:80]
            s.close()
        assert server.running
        server.client("secretsmanager").list_secrets()
    finally:
        server.stop()


def test_limits_config_is_checked(tmp_path: Path) -> None:
    server = CofferServer(tmp_path / "bad", extra_args=["--config", str(tmp_path / "bad.toml")])
    (tmp_path / "bad.toml").write_text("[limits]\nmax_connections = 0\n")
    with pytest.raises(RuntimeError, match="max_connections"):
        server.start()
    (tmp_path / "bad.toml").write_text("[throttle]\ndefault_rps = -3\n")
    with pytest.raises(RuntimeError, match="default_rps"):
        server.start()
