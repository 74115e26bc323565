"""``coffer sync``: a Secrets Store CSI objects list as files, against a real server."""

from __future__ import annotations

import os
import stat
import subprocess
import time
from pathlib import Path

import pytest

from client_harness import client_env, coffer
from coffer_harness import _LIVE, coffer_binary

# The seed document's SecretProviderClass, unchanged, plus a parameter.
SPC = """\
apiVersion: secrets-store.csi.x-k8s.io/v1
kind: SecretProviderClass
metadata:
  name: payments-secrets
  namespace: payments
spec:
  provider: aws
  parameters:
    objects: |
      - objectName: "prod/payments-api/database"
        objectType: "secretsmanager"
        jmesPath:
          - path: username
            objectAlias: db-username
          - path: password
            objectAlias: db-password
      - objectName: "/prod/payments-api/database-url"
        objectType: "ssmparameter"
        objectAlias: database-url
  secretObjects:
    - secretName: payments-database-secret
      type: Opaque
      data:
        - objectName: db-username
          key: username
"""


@pytest.fixture(scope="module")
def srv(server):
    return server


@pytest.fixture(scope="module", autouse=True)
def seeded(sm, ssm):
    sm.create_secret(
        Name="prod/payments-api/database",
        SecretString='{"username":"payments","password":"initial-password","port":5432}',
    )
    ssm.put_parameter(Name="/prod/payments-api/database-url", Value="postgres://db:5432/payments", Type="String")


def mode_of(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_once_writes_every_file_with_mode_0600(srv, tmp_path):
    objects = tmp_path / "spc.yaml"
    objects.write_text(SPC)
    out = tmp_path / "mnt" / "secrets"
    r = coffer(["sync", "--objects", str(objects), "--dir", str(out), "--once"], client_env(srv, tmp_path / "h"))
    assert r.returncode == 0, r.stderr.decode()
    files = {p.name: p for p in out.iterdir()}
    assert set(files) == {"prod_payments-api_database", "db-username", "db-password", "database-url"}
    assert files["db-username"].read_text() == "payments"
    assert files["db-password"].read_text() == "initial-password"
    assert files["database-url"].read_text() == "postgres://db:5432/payments"
    assert '"port":5432' in files["prod_payments-api_database"].read_text()
    for p in files.values():
        assert mode_of(p) == 0o600, p
    assert mode_of(out) == 0o700


def test_mode_option_and_plain_list(srv, sm, tmp_path):
    sm.create_secret(Name="sync/plain", SecretString="plain-value")
    objects = tmp_path / "objects.yaml"
    objects.write_text("- objectName: sync/plain\n  objectType: secretsmanager\n  objectAlias: plain.txt\n")
    out = tmp_path / "out"
    r = coffer(["sync", "--objects", str(objects), "--dir", str(out), "--once", "--mode", "0640"],
               client_env(srv, tmp_path / "h"))
    assert r.returncode == 0, r.stderr.decode()
    assert (out / "plain.txt").read_text() == "plain-value"
    assert mode_of(out / "plain.txt") == 0o640


def test_once_is_all_or_nothing_and_names_the_failure(srv, tmp_path):
    objects = tmp_path / "objects.yaml"
    objects.write_text(
        "- objectName: prod/payments-api/database\n  objectType: secretsmanager\n  objectAlias: ok\n"
        "- objectName: sync/missing-secret\n  objectType: secretsmanager\n"
    )
    out = tmp_path / "out"
    r = coffer(["sync", "--objects", str(objects), "--dir", str(out), "--once"], client_env(srv, tmp_path / "h"))
    assert r.returncode != 0
    err = r.stderr.decode()
    assert "secretsmanager:sync/missing-secret" in err and "ResourceNotFoundException" in err
    assert "nothing was written" in err
    assert not out.exists() or list(out.iterdir()) == []


def test_bad_objects_file_fails_before_any_call(tmp_path):
    objects = tmp_path / "objects.yaml"
    objects.write_text("- objectName: x\n  objectType: secretsmanager\n  jmesPath:\n    - path: a\n")
    # No server at all: parsing must fail first.
    env = client_env(None, tmp_path / "h", AWS_ENDPOINT_URL="http://127.0.0.1:9")
    r = coffer(["sync", "--objects", str(objects), "--dir", str(tmp_path / "o"), "--once"], env)
    assert r.returncode != 0 and b"has no objectAlias" in r.stderr


def test_follows_a_new_version_and_runs_on_change(srv, sm, tmp_path):
    sm.create_secret(Name="sync/rotating", SecretString='{"password":"v1"}')
    objects = tmp_path / "objects.yaml"
    objects.write_text(
        "objects:\n"
        "  - objectName: sync/rotating\n"
        "    objectType: secretsmanager\n"
        "    jmesPath:\n"
        "      - path: password\n"
        "        objectAlias: password\n"
    )
    out = tmp_path / "out"
    marker = tmp_path / "changes.log"
    env = client_env(srv, tmp_path / "h", COFFER_LOG="debug")
    log = open(tmp_path / "sync.log", "wb")
    proc = subprocess.Popen(
        [str(coffer_binary()), "sync", "--objects", str(objects), "--dir", str(out), "--interval", "1s",
         "--on-change", f'echo "$COFFER_CHANGED_FILES" >> {marker}'],
        env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
    )
    _LIVE.add(proc)
    try:
        pw = out / "password"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not (pw.exists() and pw.read_text() == "v1"):
            time.sleep(0.05)
        assert pw.read_text() == "v1"
        # Several unchanged rounds: no rewrite, no on-change beyond the first.
        time.sleep(2.5)
        first_inode = pw.stat().st_ino
        assert sorted(marker.read_text().split()) == ["password", "sync_rotating"]

        sm.put_secret_value(SecretId="sync/rotating", SecretString='{"password":"v2"}')
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and pw.read_text() != "v2":
            time.sleep(0.05)
        assert pw.read_text() == "v2"
        assert pw.stat().st_ino != first_inode, "replaced by rename, not rewritten in place"
        assert mode_of(pw) == 0o600
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len(marker.read_text().split()) < 4:
            time.sleep(0.05)
        assert len(marker.read_text().split()) == 4
        # No temporary files left behind.
        assert sorted(p.name for p in out.iterdir()) == ["password", "sync_rotating"]
        # Unchanged rounds revalidate with DescribeSecret instead of fetching the value again.
        text = (tmp_path / "sync.log").read_text(errors="replace")
        assert "no change" in text
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
        _LIVE.discard(proc)
        log.close()


def test_on_change_failure_fails_once(srv, tmp_path):
    objects = tmp_path / "spc.yaml"
    objects.write_text(SPC)
    r = coffer(["sync", "--objects", str(objects), "--dir", str(tmp_path / "o"), "--once", "--on-change", "exit 3"],
               client_env(srv, tmp_path / "h"))
    assert r.returncode != 0 and b"exited with" in r.stderr
