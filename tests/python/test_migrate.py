"""`coffer migrate`: a whole SQLite deployment copied into PostgreSQL — accounts, keys, secrets with
every version, parameters, IAM, the audit trail with its chain — then served from PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import uuid

from coffer_harness import CofferServer, coffer_binary

PG = os.environ.get("COFFER_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")


def _psql(sql: str) -> None:
    subprocess.run(["psql", PG, "-qc", sql], check=True, capture_output=True, timeout=60)


def test_migrate_sqlite_to_postgres(tmp_path):
    source = CofferServer(tmp_path / "sqlite").start()
    sm, ssm, kms, iam = (source.client(s) for s in ("secretsmanager", "ssm", "kms", "iam"))
    key = kms.create_key(Description="migrated")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/migrated", TargetKeyId=key)
    sm.create_secret(Name="app/db", SecretString="v1", KmsKeyId="alias/migrated")
    v2 = sm.put_secret_value(SecretId="app/db", SecretString="v2")["VersionId"]
    sm.create_secret(Name="app/bin", SecretBinary=b"\x00\x01")
    ssm.put_parameter(Name="/app/url", Value="postgres://x", Type="SecureString")
    ssm.put_parameter(Name="/app/url", Value="postgres://y", Type="SecureString", Overwrite=True)
    ssm.label_parameter_version(Name="/app/url", ParameterVersion=1, Labels=["old"])
    iam.create_user(UserName="alice")
    source.stop()

    schema = f"coffer_migrate_{uuid.uuid4().hex[:12]}"
    _psql(f"CREATE SCHEMA {schema}")
    target = f"{PG}?options[search_path]={schema}"
    try:
        proc = subprocess.run(
            [str(coffer_binary()), "migrate", "--from", f"sqlite://{source.data_dir / 'coffer.db'}",
             "--to", target, "--data-dir", str(source.data_dir)],
            capture_output=True, text=True, timeout=300,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "every table's row count matches" in proc.stdout
        assert "audit trail on the target intact" in proc.stdout

        # A second run into the now-full target is refused, changing nothing.
        again = subprocess.run(
            [str(coffer_binary()), "migrate", "--from", f"sqlite://{source.data_dir / 'coffer.db'}", "--to", target],
            capture_output=True, text=True, timeout=300,
        )
        assert again.returncode != 0 and "already holds data" in again.stderr

        served = CofferServer(tmp_path / "sqlite", extra_args=["--store", target]).start()
        try:
            sm = served.client("secretsmanager")
            assert sm.get_secret_value(SecretId="app/db")["SecretString"] == "v2"
            assert sm.get_secret_value(SecretId="app/db", VersionStage="AWSPREVIOUS")["SecretString"] == "v1"
            assert sm.get_secret_value(SecretId="app/db", VersionId=v2)["SecretString"] == "v2"
            assert sm.get_secret_value(SecretId="app/bin")["SecretBinary"] == b"\x00\x01"
            ssm = served.client("ssm")
            assert ssm.get_parameter(Name="/app/url", WithDecryption=True)["Parameter"]["Value"] == "postgres://y"
            assert ssm.get_parameter(Name="/app/url:old", WithDecryption=True)["Parameter"]["Value"] == "postgres://x"
            assert served.client("kms").describe_key(KeyId="alias/migrated")["KeyMetadata"]["KeyId"] == key
            assert served.client("iam").get_user(UserName="alice")["User"]["UserName"] == "alice"
            events = served.client("cloudtrail").lookup_events(
                LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateUser"}]
            )["Events"]
            assert len(events) == 1
        finally:
            served.kill()
    finally:
        _psql(f"DROP SCHEMA {schema} CASCADE")
