"""`coffer bench` against a spawned server: every operation runs without errors, reports what it
measured, and leaves nothing behind."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from coffer_harness import ACCESS_KEY, SECRET_KEY, coffer_binary


def _bench(server, *args: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }
    return subprocess.run(
        [str(coffer_binary()), "bench", "--endpoint-url", server.endpoint, *args],
        env=env, capture_output=True, text=True, timeout=120,
    )


@pytest.mark.parametrize(
    "operation",
    ["get-secret-value", "get-parameter", "get-parameters-by-path", "put-secret-value", "kms-decrypt", "mixed"],
)
def test_every_operation_measures_and_cleans_up(server, operation):
    proc = _bench(server, "--operation", operation, "-n", "120", "-c", "6", "--value-size", "256", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    assert result["requests"] == 120
    assert result["errors"] == {}
    assert result["requests_per_second"] > 0
    lat = result["latency_ms"]
    assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"]
    prefix = result["seeded_prefix"]
    names = [s["Name"] for s in server.client("secretsmanager").list_secrets(IncludePlannedDeletion=True)["SecretList"]]
    assert not any(n.startswith(prefix) for n in names)
    params = server.client("ssm").get_parameters_by_path(Path=f"/{prefix}", Recursive=True)["Parameters"]
    assert params == []


def test_table_output_and_errors_are_reported(server):
    proc = _bench(server, "-n", "50", "-c", "2")
    assert proc.returncode == 0, proc.stderr
    assert "requests/s" in proc.stdout and "p99" in proc.stdout
    bad = _bench(server, "--operation", "nope")
    assert bad.returncode != 0 and "possible values" in bad.stderr
