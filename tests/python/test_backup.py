"""`coffer backup` / `coffer restore` (issue 23): an online, consistent, encrypted backup taken
while a writer keeps changing secrets and parameters, restored into a new data directory and into
PostgreSQL, served again with every secret, parameter, KMS key and audit record; tampered,
truncated and wrong-passphrase backups are refused and leave nothing behind."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from coffer_harness import ACCESS_KEY, SECRET_KEY, CofferServer, coffer_binary

PG = os.environ.get("COFFER_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
PASSPHRASE = "correct horse battery staple, twice"


def coffer(*args: str, env_extra: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "COFFER_"))}
    env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
    env.update(env_extra or {})
    return subprocess.run([str(coffer_binary()), *args], env=env, capture_output=True, text=True, timeout=timeout)


def psql(sql: str) -> None:
    subprocess.run(["psql", PG, "-qc", sql], check=True, capture_output=True, timeout=60)


class Writer(threading.Thread):
    """PutSecretValue and PutParameter in a loop until stopped; remembers what was acknowledged."""

    def __init__(self, server: CofferServer, tag: str) -> None:
        super().__init__(daemon=True)
        self.sm = server.client("secretsmanager")
        self.ssm = server.client("ssm")
        self.tag = tag
        self.stop_flag = threading.Event()
        self.written = 0
        self.errors: list[str] = []
        self.sm.create_secret(Name=f"load/{tag}", SecretString="0")

    def run(self) -> None:
        while not self.stop_flag.is_set():
            n = self.written + 1
            try:
                self.sm.put_secret_value(SecretId=f"load/{self.tag}", SecretString=str(n))
                self.ssm.put_parameter(Name=f"/load/{self.tag}/{n % 20}", Value=str(n), Type="SecureString", Overwrite=True)
                self.written = n
            except Exception as e:  # noqa: BLE001 - reported by the test
                self.errors.append(repr(e))
                return

    def finish(self) -> int:
        self.stop_flag.set()
        self.join(timeout=60)
        assert not self.errors, self.errors
        return self.written


def seed(server: CofferServer) -> dict:
    """Secrets, parameters, KMS keys and ciphertexts to find again after the restore."""
    sm, ssm, kms = (server.client(s) for s in ("secretsmanager", "ssm", "kms"))
    key = kms.create_key(Description="backed up")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/backed-up", TargetKeyId=key)
    kms.rotate_key_on_demand(KeyId=key)
    blobs = {f"plain-{i}".encode(): kms.encrypt(KeyId=key, Plaintext=f"plain-{i}".encode())["CiphertextBlob"] for i in range(5)}
    secrets = {}
    for i in range(30):
        name = f"app/secret-{i}"
        # Every other secret under the customer key, the rest under aws/secretsmanager.
        extra = {"KmsKeyId": "alias/backed-up"} if i % 2 else {}
        sm.create_secret(Name=name, SecretString=f"v1-{i}", **extra)
        sm.put_secret_value(SecretId=name, SecretString=f"v2-{i}")
        secrets[name] = f"v2-{i}"
    sm.create_secret(Name="app/binary", SecretBinary=b"\x00\xff\x01")
    params = {}
    for i in range(30):
        name = f"/app/param-{i}"
        ssm.put_parameter(Name=name, Value=f"p-{i}", Type="SecureString" if i % 2 else "String")
        params[name] = f"p-{i}"
    server.client("iam").create_user(UserName="restored-user")
    return {"key": key, "blobs": blobs, "secrets": secrets, "params": params}


def check_served(server: CofferServer, seeded: dict, load_tag: str, written: int) -> None:
    sm, ssm, kms = (server.client(s) for s in ("secretsmanager", "ssm", "kms"))
    for name, value in seeded["secrets"].items():
        assert sm.get_secret_value(SecretId=name)["SecretString"] == value
        assert sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"] == value.replace("v2", "v1")
    assert sm.get_secret_value(SecretId="app/binary")["SecretBinary"] == b"\x00\xff\x01"
    for name, value in seeded["params"].items():
        assert ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"] == value
    for plain, blob in seeded["blobs"].items():
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == plain
    assert kms.describe_key(KeyId="alias/backed-up")["KeyMetadata"]["KeyId"] == seeded["key"]
    # The snapshot is one point in time: the load secret's current value is some acknowledged
    # write, and every version it kept opens.
    current = int(sm.get_secret_value(SecretId=f"load/{load_tag}")["SecretString"])
    assert 0 <= current <= written
    versions = sm.list_secret_version_ids(SecretId=f"load/{load_tag}", IncludeDeprecated=True)["Versions"]
    for v in versions:
        sm.get_secret_value(SecretId=f"load/{load_tag}", VersionId=v["VersionId"])
    assert server.client("iam").get_user(UserName="restored-user")["User"]["UserName"] == "restored-user"
    events = server.client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateUser"}]
    )["Events"]
    assert len(events) == 1


def new_data_dir(base: Path, source: CofferServer) -> Path:
    """A data directory holding only the deployment's master key (what an operator copies)."""
    data = base / "data"
    data.mkdir(parents=True, mode=0o700)
    shutil.copy2(source.data_dir / "master.key", data / "master.key")
    os.chmod(data / "master.key", 0o600)
    return data


@pytest.fixture
def source(tmp_path):
    server = CofferServer(tmp_path / "source").start()
    yield server
    server.kill()


def test_backup_under_load_restores_into_sqlite_and_postgres(tmp_path, source):
    seeded = seed(source)
    writer = Writer(source, "w1")
    writer.start()
    while writer.written < 5:
        time.sleep(0.01)
    out = tmp_path / "coffer.backup"
    backup = coffer("backup", "--endpoint-url", source.endpoint, "--out", str(out))
    written_during = writer.written
    written = writer.finish()
    assert backup.returncode == 0, backup.stderr
    assert "backup written to" in backup.stdout
    assert written > written_during > 0, "the writer kept writing while the backup ran"
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    # Nothing readable in the file: values are sealed twice over, names and metadata encrypted.
    raw = out.read_bytes()
    assert raw.startswith(b"CFRBAK") and b"app/secret-1" not in raw and b"restored-user" not in raw
    assert not list((source.data_dir / "backups").glob("*.cbk")), "the server's copy is deleted"

    # Into a new data directory (SQLite).
    target = tmp_path / "restored"
    data = new_data_dir(target, source)
    restored = coffer("restore", "--from", str(out), "--data-dir", str(data))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "every table's row count matches the backup" in restored.stdout
    assert "audit trail intact" in restored.stdout
    assert oct((data / "coffer.db").stat().st_mode & 0o777) == "0o600"
    verify = coffer("audit", "verify", "--data-dir", str(data))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    served = CofferServer(target).start()
    try:
        check_served(served, seeded, "w1", written)
    finally:
        served.kill()

    # A second restore into the now used store is refused.
    again = coffer("restore", "--from", str(out), "--data-dir", str(data))
    assert again.returncode != 0 and "not empty" in again.stderr

    # Into PostgreSQL, in a schema of its own.
    schema = f"coffer_restore_{uuid.uuid4().hex[:12]}"
    psql(f"CREATE SCHEMA {schema}")
    url = f"{PG}?options[search_path]={schema}"
    try:
        pg_restore = coffer("restore", "--from", str(out), "--store", url, "--data-dir", str(source.data_dir))
        assert pg_restore.returncode == 0, pg_restore.stdout + pg_restore.stderr
        assert "audit trail intact" in pg_restore.stdout
        pg_node = tmp_path / "pg-node"
        new_data_dir(pg_node, source)
        served = CofferServer(pg_node, extra_args=["--store", url]).start()
        try:
            check_served(served, seeded, "w1", written)
        finally:
            served.kill()
        verify = coffer("audit", "verify", "--data-dir", str(source.data_dir), "--store", url)
        assert verify.returncode == 0, verify.stdout + verify.stderr
    finally:
        psql(f"DROP SCHEMA {schema} CASCADE")


def test_tampered_truncated_and_foreign_backups_are_refused(tmp_path, source):
    source.client("secretsmanager").create_secret(Name="t/one", SecretString="one")
    out = tmp_path / "good.backup"
    assert coffer("backup", "--endpoint-url", source.endpoint, "--out", str(out)).returncode == 0
    good = out.read_bytes()
    data = new_data_dir(tmp_path / "target", source)

    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0x01
    bad = tmp_path / "flipped.backup"
    bad.write_bytes(bytes(flipped))
    refused = coffer("restore", "--from", str(bad), "--data-dir", str(data))
    assert refused.returncode != 0
    assert "tampered" in refused.stderr and "nothing was written" in refused.stderr

    cut = tmp_path / "cut.backup"
    cut.write_bytes(good[: len(good) - 40])
    refused = coffer("restore", "--from", str(cut), "--data-dir", str(data))
    assert refused.returncode != 0 and "truncated" in refused.stderr

    header = bytearray(good)
    header[20] ^= 0x01  # the salt: the key check no longer matches
    hb = tmp_path / "header.backup"
    hb.write_bytes(bytes(header))
    refused = coffer("restore", "--from", str(hb), "--data-dir", str(data))
    assert refused.returncode != 0 and "wrong key" in refused.stderr

    # Another deployment's master key cannot open it.
    other = tmp_path / "other"
    other.mkdir(mode=0o700)
    (other / "master.key").write_bytes(os.urandom(32))
    os.chmod(other / "master.key", 0o600)
    refused = coffer("restore", "--from", str(out), "--data-dir", str(other))
    assert refused.returncode != 0 and "wrong key" in refused.stderr

    # After every refusal the target is still empty: the good file restores into it.
    ok = coffer("restore", "--from", str(out), "--data-dir", str(data))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    served = CofferServer(data.parent).start()
    try:
        assert served.client("secretsmanager").get_secret_value(SecretId="t/one")["SecretString"] == "one"
    finally:
        served.kill()


def test_passphrase_backups_need_the_passphrase(tmp_path, source):
    source.client("ssm").put_parameter(Name="/p/one", Value="one", Type="SecureString")
    out = tmp_path / "pass.backup"
    made = coffer("backup", "--endpoint-url", source.endpoint, "--out", str(out),
                  env_extra={"COFFER_BACKUP_PASSPHRASE": PASSPHRASE})
    assert made.returncode == 0, made.stderr
    assert "COFFER_BACKUP_PASSPHRASE" in made.stdout
    assert out.read_bytes()[8] == 2  # kdf: PBKDF2 of the passphrase
    data = new_data_dir(tmp_path / "target", source)

    missing = coffer("restore", "--from", str(out), "--data-dir", str(data))
    assert missing.returncode != 0 and "COFFER_BACKUP_PASSPHRASE" in missing.stderr
    wrong = coffer("restore", "--from", str(out), "--data-dir", str(data),
                   env_extra={"COFFER_BACKUP_PASSPHRASE": "not the passphrase at all"})
    assert wrong.returncode != 0 and "wrong key" in wrong.stderr and "passphrase" in wrong.stderr

    # The right passphrase, but a data directory with another master key: refused too.
    other = tmp_path / "other"
    other.mkdir(mode=0o700)
    (other / "master.key").write_bytes(os.urandom(32))
    os.chmod(other / "master.key", 0o600)
    foreign = coffer("restore", "--from", str(out), "--data-dir", str(other),
                     env_extra={"COFFER_BACKUP_PASSPHRASE": PASSPHRASE})
    assert foreign.returncode != 0 and "another master key" in foreign.stderr

    right = coffer("restore", "--from", str(out), "--data-dir", str(data),
                   env_extra={"COFFER_BACKUP_PASSPHRASE": PASSPHRASE})
    assert right.returncode == 0, right.stdout + right.stderr
    served = CofferServer(data.parent).start()
    try:
        got = served.client("ssm").get_parameter(Name="/p/one", WithDecryption=True)
        assert got["Parameter"]["Value"] == "one"
    finally:
        served.kill()


def test_only_the_default_root_backs_up(tmp_path, source):
    iam = source.client("iam")
    iam.create_user(UserName="operator")
    key = iam.create_access_key(UserName="operator")["AccessKey"]
    out = tmp_path / "denied.backup"
    denied = coffer("backup", "--endpoint-url", source.endpoint, "--out", str(out),
                    env_extra={"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]})
    assert denied.returncode != 0 and "AccessDeniedException" in denied.stderr
    assert not out.exists()


def test_a_backup_larger_than_one_chunk_streams_whole(tmp_path, source):
    ssm = source.client("ssm")
    for i in range(400):
        ssm.put_parameter(Name=f"/big/{i}", Value=f"{i:04d}" * 1000, Type="String")
    out = tmp_path / "big.backup"
    made = coffer("backup", "--endpoint-url", source.endpoint, "--out", str(out))
    assert made.returncode == 0, made.stderr
    assert out.stat().st_size > 2 * 1024 * 1024, "several GetBackupChunk calls"
    data = new_data_dir(tmp_path / "target", source)
    restored = coffer("restore", "--from", str(out), "--data-dir", str(data))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    served = CofferServer(data.parent).start()
    try:
        assert served.client("ssm").get_parameter(Name="/big/399")["Parameter"]["Value"] == "0399" * 1000
    finally:
        served.kill()


def test_a_postgres_deployment_backs_up_under_load_and_restores_into_postgres(tmp_path):
    source_schema, target_schema = (f"coffer_bk_{uuid.uuid4().hex[:12]}" for _ in range(2))
    for s in (source_schema, target_schema):
        psql(f"CREATE SCHEMA {s}")
    master = base64.b64encode(os.urandom(32)).decode()
    src_url = f"{PG}?options[search_path]={source_schema}"
    dst_url = f"{PG}?options[search_path]={target_schema}"
    node = CofferServer(tmp_path / "pg-source", extra_args=["--store", src_url], env={"COFFER_MASTER_KEY": master})
    try:
        node.start()
        seeded = seed(node)
        writer = Writer(node, "pg")
        writer.start()
        while writer.written < 5:
            time.sleep(0.01)
        out = tmp_path / "pg.backup"
        made = coffer("backup", "--endpoint-url", node.endpoint, "--out", str(out))
        written = writer.finish()
        assert made.returncode == 0, made.stderr
        restored = coffer("restore", "--from", str(out), "--store", dst_url, env_extra={"COFFER_MASTER_KEY": master})
        assert restored.returncode == 0, restored.stdout + restored.stderr
        assert "audit trail intact" in restored.stdout
        served = CofferServer(tmp_path / "pg-target", extra_args=["--store", dst_url], env={"COFFER_MASTER_KEY": master}).start()
        try:
            check_served(served, seeded, "pg", written)
        finally:
            served.kill()
    finally:
        node.kill()
        for s in (source_schema, target_schema):
            psql(f"DROP SCHEMA {s} CASCADE")
