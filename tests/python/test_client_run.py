"""``coffer run``: a command started with its secrets in a private directory or its environment."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from client_harness import client_env, coffer
from coffer_harness import _LIVE, coffer_binary, make_client, make_session

OBJECTS = """\
- objectName: run/database
  objectType: secretsmanager
  jmesPath:
    - path: password
      objectAlias: db-password
- objectName: /run/url
  objectType: ssmparameter
  objectAlias: url
"""


@pytest.fixture(scope="module", autouse=True)
def seeded(server):
    sm = make_client(make_session(), "secretsmanager", server.endpoint)
    ssm = make_client(make_session(), "ssm", server.endpoint)
    sm.create_secret(Name="run/database", SecretString='{"username":"app","password":"hunter2"}')
    ssm.put_parameter(Name="/run/url", Value="https://example.test", Type="String")


@pytest.fixture
def objects(tmp_path) -> Path:
    p = tmp_path / "objects.yaml"
    p.write_text(OBJECTS)
    return p


def test_files_in_a_private_dir_removed_afterwards(server, tmp_path, objects):
    report = tmp_path / "report"
    script = (
        'd="$COFFER_SECRETS_DIR"; echo "$d" > ' + str(report) + '; '
        'cat "$d/db-password" >> ' + str(report) + '; echo >> ' + str(report) + '; '
        'cat "$d/url" >> ' + str(report) + '; echo >> ' + str(report) + '; '
        'stat -c %a "$d" "$d/db-password" >> ' + str(report) + '; exit 7'
    )
    r = coffer(["run", "--objects", str(objects), "--", "sh", "-c", script], client_env(server, tmp_path / "h"))
    assert r.returncode == 7, r.stderr.decode()
    lines = report.read_text().splitlines()
    secrets_dir = Path(lines[0])
    assert lines[1] == "hunter2"
    assert lines[2] == "https://example.test"
    assert lines[3:] == ["700", "600"]
    assert not secrets_dir.exists(), "the private directory must be removed"
    # The secrets never went through the environment.
    assert b"hunter2" not in r.stdout + r.stderr


def test_env_references(server, tmp_path):
    out = tmp_path / "env.txt"
    r = coffer(
        ["run",
         "--env", "DB_PASSWORD=secretsmanager:run/database:SecretString:password",
         "--env", "APP_URL={{resolve:ssm:/run/url}}/login",
         "--", "sh", "-c", f'printf "%s|%s" "$DB_PASSWORD" "$APP_URL" > {out}'],
        client_env(server, tmp_path / "h"),
    )
    assert r.returncode == 0, r.stderr.decode()
    assert out.read_text() == "hunter2|https://example.test/login"


def test_nothing_starts_when_a_reference_fails(server, tmp_path, objects):
    marker = tmp_path / "started"
    r = coffer(["run", "--env", "X=secretsmanager:run/missing", "--", "touch", str(marker)],
               client_env(server, tmp_path / "h"))
    assert r.returncode != 0
    assert b"run/missing" in r.stderr and b"not started" in r.stderr
    assert not marker.exists()

    bad_objects = tmp_path / "bad.yaml"
    bad_objects.write_text("- objectName: run/missing\n  objectType: secretsmanager\n")
    r = coffer(["run", "--objects", str(bad_objects), "--tmpdir", str(tmp_path), "--", "touch", str(marker)],
               client_env(server, tmp_path / "h"))
    assert r.returncode != 0 and b"secretsmanager:run/missing" in r.stderr
    assert not marker.exists()
    assert not list(tmp_path.glob("coffer-run-*")), "the private directory is removed on failure too"


def test_signals_reach_the_command_and_the_dir_is_still_removed(server, tmp_path, objects):
    report = tmp_path / "report"
    script = (
        f'echo "$COFFER_SECRETS_DIR" > {report}; '
        f'trap \'echo term >> {report}; exit 3\' TERM; '
        'while true; do sleep 0.1; done'
    )
    proc = subprocess.Popen(
        [str(coffer_binary()), "run", "--objects", str(objects), "--", "sh", "-c", script],
        env=client_env(server, tmp_path / "h"), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    _LIVE.add(proc)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not report.exists():
            time.sleep(0.05)
        time.sleep(0.3)
        secrets_dir = Path(report.read_text().splitlines()[0])
        assert (secrets_dir / "db-password").exists()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 3
        assert report.read_text().splitlines()[1] == "term"
        assert not secrets_dir.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        _LIVE.discard(proc)


def test_needs_something_to_inject_and_a_command(server, tmp_path):
    r = coffer(["run", "--", "true"], client_env(server, tmp_path / "h"))
    assert r.returncode != 0 and b"nothing to inject" in r.stderr
    r = coffer(["run", "--env", "A=ssm:x"], client_env(server, tmp_path / "h"))
    assert r.returncode != 0
