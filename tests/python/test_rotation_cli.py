"""The seed's rotation commands through the real ``aws`` CLI, verbatim plus ``--endpoint-url``,
against a private PostgreSQL this test starts with password (SCRAM) authentication: coffer's
built-in ``SecretsManagerRDSPostgreSQLRotationSingleUser`` really changes the database password.
Logins are checked with ``psql``. The coffer server runs as the seed's account 012345678901.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pytest

from coffer_harness import AwsCli, CofferServer, free_port
from helpers import shell

SEED_ACCOUNT = "012345678901"
SUPERUSER_PASSWORD = "pg-super-Secret-1"
OLD_PASSWORD = "payments-Old-Pass-1"


def _pg_bin() -> Path:
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not dirs:
        pytest.fail("PostgreSQL binaries are missing (apt-get install postgresql; .ci/run does)")
    return Path(dirs[-1]).parent


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class PrivatePostgres:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="coffer-pg-"))
        self.port = free_port()
        self.bin = _pg_bin()
        self.proc: subprocess.Popen | None = None

    def start(self) -> "PrivatePostgres":
        (self.dir / "pw").write_text(SUPERUSER_PASSWORD)
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", "postgres:postgres", str(self.dir)], check=True)
        subprocess.run(
            _as_postgres([str(self.bin / "initdb"), "-D", str(self.dir / "data"), "-U", "postgres",
                          "--auth=scram-sha-256", "-E", "UTF8", f"--pwfile={self.dir / 'pw'}"]),
            check=True, capture_output=True,
        )
        self.proc = subprocess.Popen(
            _as_postgres([str(self.bin / "postgres"), "-D", str(self.dir / "data"), "-p", str(self.port),
                          "-c", "listen_addresses=127.0.0.1", "-k", str(self.dir)]),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        )
        deadline = time.time() + 30
        while not self.login("postgres", SUPERUSER_PASSWORD):
            assert time.time() < deadline, "PostgreSQL did not start"
            time.sleep(0.2)
        return self

    def psql(self, user: str, password: str, sql: str) -> subprocess.CompletedProcess:
        env = {"PATH": os.environ.get("PATH", ""), "PGPASSWORD": password, "PGCONNECT_TIMEOUT": "5"}
        return subprocess.run(
            [str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", user, "-d", "postgres",
             "-w", "-Atc", sql],
            env=env, capture_output=True, text=True, timeout=30,
        )

    def login(self, user: str, password: str) -> bool:
        return self.psql(user, password, "SELECT 1").returncode == 0

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def pg() -> Iterator[PrivatePostgres]:
    p = PrivatePostgres().start()
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture(scope="module")
def seed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CofferServer]:
    s = CofferServer(tmp_path_factory.mktemp("coffer-rotation"), env={"COFFER_ACCOUNT_ID": SEED_ACCOUNT})
    s.start()
    try:
        yield s
    finally:
        s.kill()


@pytest.fixture(scope="module")
def aws(seed_server: CofferServer, tmp_path_factory: pytest.TempPathFactory) -> AwsCli:
    return AwsCli(seed_server, tmp_path_factory.mktemp("cli-home"))


def wait_current(aws: AwsCli, version: str) -> dict:
    deadline = time.time() + 60
    while True:
        v = aws.json("secretsmanager", "get-secret-value", "--secret-id", "prod/payments-api/database")
        if v["VersionId"] == version:
            return json.loads(v["SecretString"])
        assert time.time() < deadline, "rotation did not complete"
        time.sleep(0.3)


def test_seed_rotation_commands_rotate_a_real_postgres_password(aws: AwsCli, pg: PrivatePostgres, seed_server):
    assert pg.psql("postgres", SUPERUSER_PASSWORD, f"CREATE ROLE payments LOGIN PASSWORD '{OLD_PASSWORD}'").returncode == 0
    assert not pg.login("payments", "wrong"), "password authentication must be on"
    value = {"engine": "postgres", "host": "127.0.0.1", "port": pg.port, "username": "payments",
             "password": OLD_PASSWORD, "dbname": "postgres"}
    first = aws.json("secretsmanager", "create-secret", "--name", "prod/payments-api/database",
                     "--secret-string", json.dumps(value))["VersionId"]

    # The seed, verbatim.
    proc = shell(
        aws,
        "aws secretsmanager rotate-secret \\\n"
        " --secret-id prod/payments-api/database \\\n"
        " --rotation-lambda-arn arn:aws:lambda:us-east-1:012345678901:function:SecretsManagerRDSPostgreSQLRotationSingleUser \\\n"
        " --rotation-rules AutomaticallyAfterDays=30",
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["Name"] == "prod/payments-api/database"
    second = wait_current(aws, out["VersionId"])
    new_password = second["password"]
    assert new_password != OLD_PASSWORD
    assert pg.login("payments", new_password), "the new password logs in"
    assert not pg.login("payments", OLD_PASSWORD), "the old password no longer does"
    previous = aws.json("secretsmanager", "get-secret-value", "--secret-id", "prod/payments-api/database",
                        "--version-stage", "AWSPREVIOUS")
    assert previous["VersionId"] == first
    assert json.loads(previous["SecretString"])["password"] == OLD_PASSWORD

    described = aws.json("secretsmanager", "describe-secret", "--secret-id", "prod/payments-api/database")
    assert described["RotationEnabled"] is True
    assert described["RotationLambdaARN"].endswith(":function:SecretsManagerRDSPostgreSQLRotationSingleUser")
    assert described["RotationRules"] == {"AutomaticallyAfterDays": 30}
    assert "LastRotatedDate" in described and "NextRotationDate" in described
    listed = aws.json("secretsmanager", "list-secrets")["SecretList"]
    assert listed[0]["RotationEnabled"] is True and listed[0]["RotationRules"] == {"AutomaticallyAfterDays": 30}

    # "Trigger immediate rotation (test that rotation works)", verbatim.
    proc = shell(aws, "aws secretsmanager rotate-secret \\\n --secret-id prod/payments-api/database \\\n --rotate-immediately")
    assert proc.returncode == 0, proc.stderr
    third = wait_current(aws, json.loads(proc.stdout)["VersionId"])
    assert pg.login("payments", third["password"])
    assert not pg.login("payments", new_password)

    # Passwords never reach the server's log.
    log = seed_server.log_text()
    for secret in (OLD_PASSWORD, new_password, third["password"]):
        assert secret not in log

    # cancel-rotate-secret turns it off, as described by AWS.
    aws.json("secretsmanager", "cancel-rotate-secret", "--secret-id", "prod/payments-api/database")
    described = aws.json("secretsmanager", "describe-secret", "--secret-id", "prod/payments-api/database")
    assert described["RotationEnabled"] is False
    assert "NextRotationDate" not in described
